"""The live pipeline without Qt: newest-frame buffer, per-frame step, timing, CSV recording.

Two loops share a one-slot buffer: :func:`capture_frames` puts every frame the source delivers,
:func:`process_frames` takes the newest one, detects, classifies and tracks. When the model is
slower than the camera the frames in between are dropped (and counted) instead of queued, so
the overlay never lags behind the picture. The GUI runs each loop in a worker; the benchmark
and the tests call the same functions.
"""

from __future__ import annotations

import contextlib
import csv
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

from emotion_desktop.core.callbacks import CancelFn
from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.errors import OutputError
from emotion_desktop.core.live.pacing import Pacer
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.runtime import Work, use_threads
from emotion_desktop.core.stream.frames import LivePipeline, StepTimings
from emotion_desktop.core.stream.tracking import FaceTracker, TrackedFace
from emotion_desktop.core.stream.video import FrameSource

ReportFn = Callable[[object], None]
T = TypeVar("T")


class Mailbox(Generic[T]):
    """One immutable value that one thread replaces and another reads when it is ready.

    The only thing the Live tab shares with its worker: the tab posts a new snapshot (a frozen
    dataclass, a path) when the user moves a slider or picks a model, and the worker applies it
    between frames to objects it owns. No widget-owned object is ever touched by the worker.
    """

    def __init__(self, value: T) -> None:
        self._lock = threading.Lock()
        self._value = value

    def post(self, value: T) -> None:
        with self._lock:
            self._value = value

    def read(self) -> T:
        with self._lock:
            return self._value


@dataclass(frozen=True)
class TrackingSettings:
    """The sliders' values: smoothing of the probabilities and the "uncertain" threshold."""

    smoothing: float = 0.6
    threshold: float = 0.45

    def apply(self, tracker: FaceTracker) -> None:
        tracker.smoothing = self.smoothing
        tracker.threshold = self.threshold


@dataclass(frozen=True, eq=False)  # eq=False: comparing frames pixel by pixel is never meant
class CapturedFrame:
    image: np.ndarray  # BGR
    index: int
    timestamp: float  # time.time() when captured


@dataclass(frozen=True, eq=False)
class LiveResult:
    """Everything the overlay paints for one processed frame, sent from the worker."""

    frame: CapturedFrame
    faces: tuple[TrackedFace, ...]
    timings: StepTimings
    capture_fps: float
    processed_fps: float
    dropped: int
    model: Path | None  # the checkpoint that classified this frame (it changes on a swap)
    paced: int = 0  # frames taken but left unanalysed by the pace (see core.live.pacing)
    max_fps: float | None = None  # the pace in force: at most this many frames a second


class RateMeter:
    """Events per second over the last ``window`` seconds."""

    def __init__(self, window: float = 2.0) -> None:
        self.window = window
        self._times: deque[float] = deque()

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._times.append(now)
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()

    def rate(self) -> float:
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


class LatestFrame:
    """A one-slot buffer: ``put`` replaces an untaken frame (counted as dropped)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._frame: CapturedFrame | None = None
        self._closed = False
        self._rate = RateMeter()
        self.captured = 0
        self.dropped = 0

    def put(self, image: np.ndarray) -> None:
        with self._condition:
            if self._frame is not None:
                self.dropped += 1
            self._frame = CapturedFrame(image, self.captured, time.time())
            self.captured += 1
            self._rate.tick()
            self._condition.notify()

    def take(self, timeout: float = 0.1) -> CapturedFrame | None:
        """The newest frame not yet taken, waiting up to ``timeout`` s; None if none came."""
        with self._condition:
            self._condition.wait_for(lambda: self._frame is not None or self._closed, timeout)
            frame, self._frame = self._frame, None
            return frame

    def close(self) -> None:
        """No more frames will come; a waiting ``take`` returns at once."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    @property
    def finished(self) -> bool:
        """Closed and empty: the processing loop can end."""
        with self._condition:
            return self._closed and self._frame is None

    def capture_fps(self) -> float:
        with self._condition:
            return self._rate.rate()


def capture_frames(source: FrameSource, buffer: LatestFrame, cancelled: CancelFn) -> int:
    """Read ``source`` into ``buffer`` until its end or ``cancelled()``; the number read.

    The source is opened here, on the calling (worker) thread, because opening a camera can
    take a second. The buffer is closed whatever happens, so the processing loop ends too.
    """
    try:
        source.open()
        while not cancelled():
            frame = source.read(cancelled)
            if frame is None:
                break
            buffer.put(frame)
    finally:
        source.close()
        buffer.close()
    return buffer.captured


def process_frames(
    buffer: LatestFrame,
    pipeline: LivePipeline,
    report: ReportFn,
    cancelled: CancelFn,
    swap_predictor: Callable[[], Predictor | None] = lambda: None,
    tracking: Mailbox[TrackingSettings] | None = None,
    recording: Mailbox[CsvRecorder | None] | None = None,
    pace: Mailbox[float | None] | None = None,
) -> int:
    """Take the newest frames from ``buffer`` and ``report`` a :class:`LiveResult` for each.

    ``swap_predictor`` is asked between frames and returns a new predictor when the user has
    picked another model, so the model changes without stopping the camera; the latest
    ``tracking`` settings are applied to the pipeline's own tracker before each frame, and each
    result goes to the ``recording`` recorder while there is one. While ``pace`` holds a rate,
    at most that many frames a second are analysed and the others passed over (counted as
    ``paced``), so that other work in the app keeps the cores (:mod:`.pacing`). Returns
    the number of frames processed once the buffer is finished or the loop is cancelled.
    """
    use_threads(Work.LIVE)
    processed = RateMeter()
    pacer = Pacer()
    count = paced = 0
    while not cancelled() and not buffer.finished:
        frame = buffer.take()
        if frame is None:
            continue
        pacer.max_fps = pace.read() if pace is not None else None
        if not pacer.admit():
            paced += 1
            continue
        replacement = swap_predictor()
        if replacement is not None:
            pipeline.predictor = replacement
        if tracking is not None:
            tracking.read().apply(pipeline.tracker)
        faces, timings = pipeline.step(frame.image)
        processed.tick()
        count += 1
        result = LiveResult(
            frame=frame,
            faces=faces,
            timings=timings,
            capture_fps=buffer.capture_fps(),
            processed_fps=processed.rate(),
            dropped=buffer.dropped,
            model=pipeline.predictor.path,
            paced=paced,
            max_fps=pacer.max_fps,
        )
        recorder = recording.read() if recording is not None else None
        if recorder is not None:
            try:
                recorder.write(result)
            except OutputError as exc:  # a full disk ends the recording, not the camera
                report(RecordingFailed(recorder.path, str(exc)))
        report(result)
    return count


RECORD_COLUMNS = ("timestamp", "frame", "face_id", "x", "y", "w", "h", "label", *NAMES)


@dataclass(frozen=True)
class RecordingFailed:
    """Reported by :func:`process_frames` when the recorder could not write (a full disk): the
    recorder is closed, its rows so far kept, and the frames go on."""

    path: Path
    message: str


class CsvRecorder:
    """Writes one row per face per processed frame: time, face id, box, probabilities.

    Made on the GUI thread (so a folder that cannot be written is a message there) and written
    by the Live worker; a lock lets the tab close it while the worker writes, and rows for a
    closed recorder are dropped. Each frame's rows are flushed: a crash loses none of them.
    A write that fails (a full disk) closes it and is an :class:`OutputError` naming the file,
    as is a close that cannot write the rows still buffered.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(RECORD_COLUMNS)
        self._lock = threading.Lock()
        self.rows = 0

    def write(self, result: LiveResult) -> None:
        rows = [
            (
                f"{result.frame.timestamp:.3f}",
                result.frame.index,
                face.id,
                face.box.x,
                face.box.y,
                face.box.w,
                face.box.h,
                face.label,
                *(f"{p:.4f}" for p in face.probabilities),
            )
            for face in result.faces
            if not face.missed  # a face in its grace period was not seen in this frame
        ]
        with self._lock:
            if self._file.closed:
                return
            try:
                self._writer.writerows(rows)
                self._file.flush()
            except OSError as exc:
                with contextlib.suppress(OSError):  # the same error, raised below
                    self._file.close()  # closes even when its flush of the same rows fails
                raise self._unwritable(exc) from exc
            self.rows += len(rows)

    def _unwritable(self, exc: OSError) -> OutputError:
        return OutputError(f"cannot write the recording {self.path}: {exc.strerror or exc}")

    def close(self) -> None:
        """Close the file (again: nothing); OutputError where its last rows cannot be written."""
        with self._lock:
            try:
                self._file.close()
            except OSError as exc:
                raise self._unwritable(exc) from exc
