"""The per-face summary of a video's rows: Qt-free, on hand-made rows."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from emotion_desktop.core.batch.results import LabelRow
from emotion_desktop.core.batch.summary import face_timeline, summarise
from emotion_desktop.core.batch.video import VideoProgress, read_frame
from emotion_desktop.core.emotions import EMOTIONS, NAMES
from emotion_desktop.core.errors import VideoSourceError
from emotion_desktop.core.model.inference import FaceResult
from emotion_desktop.core.vision.faces import Box
from tests.core.test_video_analysis import write_video

VIDEO = Path("clip.mp4")


def probs(top: str, p: float = 0.7) -> tuple[float, ...]:
    rest = (1 - p) / (len(EMOTIONS) - 1)
    return tuple(p if n == top else rest for n in NAMES)


def row(face: int, frame: int, top: str, file: Path = VIDEO, fps: float | None = 10) -> LabelRow:
    time = None if fps is None else frame / fps
    return LabelRow(file, face, FaceResult(Box(0, 0, 10, 10), probs(top)), "m", frame, time)


def test_each_face_gets_its_frames_shares_means_and_times() -> None:
    happy, sad = NAMES.index("happy"), NAMES.index("sad")
    rows = [row(1, f, "happy") for f in range(6)] + [row(1, f, "sad") for f in range(6, 8)]
    rows += [row(2, f, "sad") for f in range(4, 8)]
    rows += [row(1, 0, "angry", file=Path("other.mp4"))]  # another video's: left out
    done = VideoProgress(VIDEO, 10, 10, 10, 2, 1.0, done=True)
    summary = summarise(VIDEO, rows, done)
    assert (summary.analysed, summary.faceless, summary.read, summary.total) == (10, 2, 10, 10)
    one, two = summary.faces
    assert (one.face, one.frames, two.face, two.frames) == (1, 8, 2, 4)
    assert one.shares[happy] == pytest.approx(0.75) and one.shares[sad] == pytest.approx(0.25)
    assert sum(one.shares) == pytest.approx(1) and one.top == happy and two.top == sad
    assert one.mean[happy] == pytest.approx((6 * 0.7 + 2 * 0.05) / 8)
    assert (one.first, one.last) == pytest.approx((0.0, 0.7))
    assert (two.first, two.last) == pytest.approx((0.4, 0.7))


def test_a_video_without_its_final_progress_or_frame_times() -> None:
    rows = [row(3, f, NAMES[0], fps=None) for f in range(3)]
    summary = summarise(VIDEO, rows)
    assert summary.analysed is None and summary.faceless is None
    assert summary.faces[0].frames == 3 and summary.faces[0].first is None
    assert summarise(VIDEO, []).faces == ()


def test_the_timeline_of_one_face_is_in_frame_order() -> None:
    rows = [row(1, f, "happy") for f in (4, 0, 2)] + [row(2, 1, "sad")]
    x, y = face_timeline(VIDEO, rows, 1)
    assert x.tolist() == pytest.approx([0.0, 0.2, 0.4]) and y.shape == (3, len(EMOTIONS))
    assert np.allclose(y[:, NAMES.index("happy")], 0.7)
    x, _ = face_timeline(VIDEO, [row(1, f, "sad", fps=None) for f in (5, 3)], 1)
    assert x.tolist() == [3.0, 5.0]  # no frame times: frame indices
    x, y = face_timeline(VIDEO, rows, 9)
    assert x.shape == (0,) and y.shape == (0, len(EMOTIONS))


def test_read_frame_gives_the_frame_a_row_names(tmp_path) -> None:
    frames = [np.full((48, 64, 3), 20 * i, np.uint8) for i in range(8)]
    video = write_video(tmp_path / "grey.avi", frames)
    got = read_frame(video, 5)
    assert got.shape == (48, 64, 3) and abs(int(cv2.mean(got)[0]) - 100) <= 3
    with pytest.raises(VideoSourceError):
        read_frame(video, 50)
