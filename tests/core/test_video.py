"""VideoSource: files, looping, pacing, and the errors a user meets (no Qt, no camera)."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from emotion_desktop.core.errors import VideoSourceError
from emotion_desktop.core.stream.video import VideoSource, list_cameras

FRAMES = 5
FPS = 20


def write_video(path: Path, frames: int = FRAMES, fps: int = FPS) -> Path:
    """A tiny MJPG AVI whose frame i is uniformly grey at level 40 * i."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    return path


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.avi")


def read_all(source: VideoSource, limit: int = 100) -> list[np.ndarray]:
    frames = []
    while len(frames) < limit:
        frame = source.read()
        if frame is None:
            break
        frames.append(frame)
    return frames


def test_file_yields_every_frame_then_none(video: Path) -> None:
    with VideoSource(video) as source:
        frames = read_all(source)
        assert source.read() is None
    assert len(frames) == FRAMES
    assert frames[0].shape == (48, 64, 3) and frames[0].dtype == np.uint8
    levels = [round(float(f.mean()) / 40) for f in frames]
    assert levels == list(range(FRAMES))


def test_looping_file_starts_again_at_its_end(video: Path) -> None:
    with VideoSource(video, loop=True) as source:
        frames = read_all(source, limit=FRAMES * 2 + 1)
    assert len(frames) == FRAMES * 2 + 1
    assert abs(float(frames[FRAMES].mean()) - float(frames[0].mean())) < 5


def test_realtime_file_is_paced_at_its_frame_rate(video: Path) -> None:
    with VideoSource(video, realtime=True) as source:
        start = time.monotonic()
        read_all(source)
        elapsed = time.monotonic() - start
    assert source.fps == pytest.approx(FPS)
    assert elapsed >= (FRAMES - 1) / FPS


def test_shared_video_opens_and_decodes(shared_data: Path) -> None:
    with VideoSource(shared_data / "video" / "WolfgangLanger_Pexels.mp4") as source:
        frame = source.read()
    assert frame is not None and frame.shape == (360, 640, 3)
    assert source.description == "WolfgangLanger_Pexels.mp4"


def test_missing_file_is_a_video_source_error(tmp_path: Path) -> None:
    with pytest.raises(VideoSourceError, match="no video file"):
        VideoSource(tmp_path / "absent.mp4").open()


def test_file_that_is_not_a_video_is_refused_at_open(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.mp4"
    bogus.write_bytes(b"not a video" * 100)
    with pytest.raises(VideoSourceError, match="not a video"):
        VideoSource(bogus).open()


def test_file_whose_frames_do_not_decode_fails_on_first_read(video: Path) -> None:
    data = bytearray(video.read_bytes())
    start = data.find(b"\xff\xd8")  # wipe every JPEG frame, keep the AVI container
    while start >= 0:
        data[start : start + 200] = bytes(200)
        start = data.find(b"\xff\xd8", start + 200)
    video.write_bytes(bytes(data))
    source = VideoSource(video)
    source.open()
    with pytest.raises(VideoSourceError, match="could not be decoded"):
        source.read()
    source.close()


def test_read_before_open_is_an_error(video: Path) -> None:
    with pytest.raises(VideoSourceError, match="not open"):
        VideoSource(video).read()


def test_absent_camera_fails_with_a_retry_hint() -> None:
    source = VideoSource(63)
    assert source.is_camera and source.description == "camera 63"
    with pytest.raises(VideoSourceError, match="camera 63 could not be opened"):
        source.open()


def test_stream_url_is_described_by_its_address() -> None:
    source = VideoSource("rtsp://127.0.0.1:9/none")
    assert not source.is_camera and not source.is_file
    assert source.description == "rtsp://127.0.0.1:9/none"


def test_listing_cameras_returns_quickly() -> None:
    start = time.monotonic()
    cameras = list_cameras()
    assert time.monotonic() - start < 3.0
    assert all(isinstance(i, int) and 0 <= i < 4 for i in cameras)
    if not any(Path(f"/dev/video{i}").exists() for i in range(4)):
        assert cameras == []


def test_cancel_stops_a_stalled_cameras_retries() -> None:
    """A camera whose reads all fail is retried CAMERA_FAILURES_ALLOWED times before it is
    called gone; a cancel between retries ends the read at once instead of raising."""
    stalled, cancelled = VideoSource(0), VideoSource(0)
    for source in (stalled, cancelled):
        source._capture = cv2.VideoCapture()  # opened on nothing: every read fails, as a stall
    with pytest.raises(VideoSourceError, match="stopped delivering frames"):
        stalled.read(cancelled=lambda: False)
    checks = []
    assert cancelled.read(cancelled=lambda: checks.append(1) or True) is None
    assert len(checks) == 1


def test_frames_over_the_pixel_limit_are_refused_at_open(tmp_path: Path) -> None:
    """A 3 MB video of 10,000 x 10,000 frames took Live to 1.8 GB; stills stop at 80 MP."""
    path = tmp_path / "huge.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (9_000, 9_000))
    black = np.zeros((9_000, 9_000, 3), np.uint8)  # 81 M pixels
    for _ in range(2):
        writer.write(black)
    writer.release()
    assert path.stat().st_size < 10 * 2**20
    with pytest.raises(VideoSourceError, match="9000x9000 frames, more than 80,000,000 pixels"):
        VideoSource(path).open()


class _SilentHugeStream:
    """A capture that says nothing of its frame size at open, then delivers an 80,000,001-pixel
    frame (one row: 240 MB, not the 2 GB a square one would take)."""

    def __init__(self, *args: object) -> None:
        pass

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return True

    def get(self, prop: int) -> float:
        return 0.0

    def read(self) -> tuple[bool, np.ndarray]:
        return True, np.zeros((1, 80_000_001, 3), np.uint8)

    def release(self) -> None:
        pass


def test_a_frame_over_the_pixel_limit_is_refused_as_read(monkeypatch) -> None:
    """A stream need not say its frame size at open: each frame is checked as it arrives."""
    monkeypatch.setattr(cv2, "VideoCapture", _SilentHugeStream)
    source = VideoSource("rtsp://camera.local/stream")
    source.open()
    with pytest.raises(VideoSourceError, match="80000001x1 frames, more than 80,000,000"):
        source.read()
    source.close()
