"""Frames from a camera, a video file or a stream URL, behind one small interface.

The Live tab, the benchmark and the tests all read frames the same way, so a test can use a
video file (or a fake) where a user has a webcam. Nothing here knows about Qt or threads.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from emotion_desktop import MAX_IMAGE_PIXELS
from emotion_desktop.core.callbacks import CancelFn
from emotion_desktop.core.errors import VideoSourceError

# A camera that returns this many failed reads in a row is treated as gone (unplugged), rather
# than giving up on the first hiccup that some USB cameras produce after a mode switch.
CAMERA_FAILURES_ALLOWED = 5


class FrameSource(Protocol):
    """What the live pipeline needs from a source; tests pass fakes with the same methods."""

    description: str
    is_camera: bool

    def open(self) -> None: ...

    def read(self, cancelled: CancelFn | None = None) -> np.ndarray | None: ...

    def close(self) -> None: ...


class VideoSource:
    """A camera index, a video file or a stream URL, read as BGR frames.

    ``loop`` rewinds a file at its end instead of reporting the end. ``realtime`` delivers a
    file no faster than its frame rate, so a file behaves like a camera in the Live tab (the
    benchmark turns it off to measure every frame). Errors are :class:`VideoSourceError` with
    a message a user can act on.
    """

    def __init__(
        self, source: int | str | Path, loop: bool = False, realtime: bool = False
    ) -> None:
        self.source = source
        self.loop = loop
        self.realtime = realtime
        self.is_camera = isinstance(source, int)
        self.is_file = isinstance(source, Path) or (isinstance(source, str) and "://" not in source)
        if self.is_camera:
            self.description = f"camera {source}"
        elif self.is_file:
            self.description = Path(source).name
        else:
            self.description = str(source)
        self._capture: cv2.VideoCapture | None = None
        self._size = (0, 0)
        self._frames_read = 0
        self._failures = 0
        self._started = 0.0
        self.fps = 0.0

    def __enter__(self) -> VideoSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Open the device or file; VideoSourceError names the likely cause when it cannot."""
        if self.is_file and not Path(self.source).is_file():
            raise VideoSourceError(f"no video file at {self.source}")
        if self.is_camera:
            capture = _open_camera(int(self.source))
        else:
            capture = cv2.VideoCapture(str(self.source))
        if not capture.isOpened():
            capture.release()
            raise VideoSourceError(_open_failure(self))
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        self._size = (width, height)
        if width * height > MAX_IMAGE_PIXELS:
            capture.release()
            raise VideoSourceError(_too_large(self, width, height))
        self._capture = capture
        self.fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self._frames_read = 0
        self._failures = 0
        self._started = time.monotonic()

    def read(self, cancelled: CancelFn | None = None) -> np.ndarray | None:
        """The next BGR frame; None at the end of a file that does not loop, or when
        ``cancelled()`` turns true between a camera's retries (a stalled camera can block each
        read for OpenCV's timeout, and closing the window must not wait for all of them).

        A camera that stops delivering frames (unplugged, taken by another program), a stream
        that breaks off, a file whose first frame cannot be decoded and a frame over the still
        images' pixel limit (one whose size the source did not say at open) raise
        VideoSourceError.
        """
        if self._capture is None:
            raise VideoSourceError(f"{self.description} is not open")
        while True:
            ok, frame = self._capture.read()
            if not ok and self.is_file and self.loop and self._frames_read:
                self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = self._capture.read()
            if ok and frame is not None:
                break
            if (cancelled is not None and cancelled()) or not self._worth_retrying():
                return None
        if frame.shape[0] * frame.shape[1] > MAX_IMAGE_PIXELS:
            raise VideoSourceError(_too_large(self, frame.shape[1], frame.shape[0]))
        self._failures = 0
        self._frames_read += 1
        if self.realtime and self.is_file and self.fps > 0:
            self._wait_for_frame_time()
        return frame

    def grab(self) -> bool:
        """Decode the next frame of a file without converting it to BGR, for a reader that
        analyses only some frames (:meth:`retrieve` converts the one grabbed); False at the end.
        """
        if self._capture is None:
            raise VideoSourceError(f"{self.description} is not open")
        return bool(self._capture.grab())

    def retrieve(self) -> np.ndarray | None:
        """The frame last grabbed, as BGR; None where it cannot be converted."""
        if self._capture is None:
            raise VideoSourceError(f"{self.description} is not open")
        ok, frame = self._capture.retrieve()
        if not ok or frame is None:
            return None
        if frame.shape[0] * frame.shape[1] > MAX_IMAGE_PIXELS:
            raise VideoSourceError(_too_large(self, frame.shape[1], frame.shape[0]))
        return frame

    def seek(self, frame: int) -> None:
        """Make ``frame`` (its index) the next one a file reads."""
        if self._capture is None:
            raise VideoSourceError(f"{self.description} is not open")
        self._capture.set(cv2.CAP_PROP_POS_FRAMES, frame)

    def position(self) -> float | None:
        """Seconds into a file of the frame last grabbed, from the container's time stamps (so
        right for a variable frame rate); None where the file gives none."""
        if self._capture is None:
            return None
        milliseconds = float(self._capture.get(cv2.CAP_PROP_POS_MSEC) or 0.0)
        return milliseconds / 1000 if milliseconds > 0 else None

    def frame_count(self) -> int | None:
        """The frames a file's header announces; None where it does not say (a stream, some
        containers). An estimate: a truncated file holds fewer."""
        if self._capture is None:
            return None
        count = float(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0)
        return int(count) if 0 < count < 2**31 else None

    def size(self) -> tuple[int, int]:
        """(width, height) the source announced at open; (0, 0) where it did not say."""
        return self._size if self._capture is not None else (0, 0)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def _worth_retrying(self) -> bool:
        """After a failed read: True to read again, False at a file's end, else raise."""
        if self.is_camera:
            self._failures += 1
            if self._failures < CAMERA_FAILURES_ALLOWED:
                return True
            raise VideoSourceError(
                f"{self.description} stopped delivering frames (unplugged, or taken by another "
                "program); reconnect it and press Retry"
            )
        if not self.is_file:
            raise VideoSourceError(f"the stream {self.description} ended or was interrupted")
        if self._frames_read == 0:
            raise VideoSourceError(
                f"{self.description} could not be decoded: the file is damaged or uses a codec "
                "OpenCV cannot read; convert it to MP4 (H.264) and try again"
            )
        return False

    def _wait_for_frame_time(self) -> None:
        due = self._started + self._frames_read / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -1.0:  # fell far behind (a paused process): restart the clock
            self._started = time.monotonic() - self._frames_read / self.fps


def _open_camera(index: int) -> cv2.VideoCapture:
    # V4L2 directly on Linux: the default backend list also tries GStreamer, which is slow to
    # give up on a missing device.
    if sys.platform.startswith("linux"):
        return cv2.VideoCapture(index, cv2.CAP_V4L2)
    return cv2.VideoCapture(index)


def _open_failure(source: VideoSource) -> str:
    if source.is_camera:
        return (
            f"{source.description} could not be opened: it is not connected, or another program "
            "is using it; close that program and press Retry"
        )
    if source.is_file:
        return f"{source.description} is not a video OpenCV can open (damaged or unsupported)"
    return f"the stream {source.description} could not be opened (check the address)"


def _too_large(source: VideoSource, width: int, height: int) -> str:
    """Frames are held to the still images' pixel limit: each 10,000 x 10,000 frame of a 3 MB
    MJPEG file is 300 MB decoded, and Live's copies of it took the app to 1.8 GB."""
    return (
        f"{source.description} has {width}x{height} frames, more than {MAX_IMAGE_PIXELS:,} "
        "pixels; scale the video down first"
    )


def list_cameras(max_index: int = 4) -> list[int]:
    """Indices of the cameras that open and deliver a frame, probing 0..max_index-1.

    On Linux an index without a ``/dev/videoN`` node is skipped without asking OpenCV, so a
    machine with no camera answers at once instead of waiting on each backend in turn.
    """
    found = []
    for index in range(max_index):
        if sys.platform.startswith("linux") and not Path(f"/dev/video{index}").exists():
            continue
        capture = _open_camera(index)
        try:
            if capture.isOpened() and capture.read()[0]:
                found.append(index)
        finally:
            capture.release()
    return found
