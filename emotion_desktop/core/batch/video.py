"""Recorded videos read offline: every frame (or every N-th, or N a second) through Live's own
step, so a person keeps one face id through the video and each face gets the label Live gives.

Frames are decoded on a reader thread a few frames ahead of the step (OpenCV releases the GIL
while it decodes, so decoding and the network share the cores), frames that are not analysed
are only grabbed, never converted, rows stream out as they come and no frame is kept: memory
stays flat over an hour of video. Probabilities are not smoothed over time (Live smooths them
for the eye; a row is one frame's reading).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion_desktop.core.batch.results import LabelRow, Problem
from emotion_desktop.core.callbacks import CancelFn
from emotion_desktop.core.errors import VideoSourceError
from emotion_desktop.core.model.inference import FaceResult, Predictor
from emotion_desktop.core.stream.frames import LiveOptions, LivePipeline, live_detector
from emotion_desktop.core.stream.tracking import FaceTracker, TrackedFace
from emotion_desktop.core.stream.video import VideoSource
from emotion_desktop.core.vision.faces import Box
from emotion_desktop.core.vision.images import to_gray

# What OpenCV's FFmpeg backend opens; anything else is not taken for a video.
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ts"}
)
DETECTORS = 2  # threads searching frames ahead in a sparse sampling: a laptop's cores
QUEUE_BYTES = 32 * 2**20  # grey frames waiting for the step: 16 of 1080p, 1 of 8K
PROGRESS_SECONDS = 0.25  # how often a VideoProgress is given while a video is read


def is_video_file(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class Sampling:
    """Which frames of a video are analysed: every ``every``-th, or ``fps`` a second (by the
    frames' own time stamps, so a variable frame rate is sampled evenly in time)."""

    every: int = 1
    fps: float | None = None

    def __post_init__(self) -> None:
        if self.every < 1 or (self.fps is not None and not self.fps > 0):
            raise ValueError(f"sampling every {self.every} frames or {self.fps} a second")

    def describe(self) -> str:
        if self.fps is not None:
            return f"{self.fps:g} frames a second"
        return "every frame" if self.every == 1 else f"every {self.every}th frame"


@dataclass(frozen=True)
class VideoProgress:
    """How far one video is: ``read`` frames decoded of ``total`` (None where the file does
    not say), ``analysed`` of them through the model, ``faceless`` of those without a face."""

    file: Path
    read: int
    total: int | None
    analysed: int
    faceless: int
    seconds: float
    done: bool = False

    @property
    def rate(self) -> float:
        """Frames read a second."""
        return self.read / self.seconds if self.seconds > 0 else 0.0

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.read / self.total) if self.total else None


@dataclass(frozen=True, eq=False)
class _Frame:
    """A sampled frame, grey, with the search for its faces where it is a detection frame."""

    index: int
    time: float | None
    gray: np.ndarray
    found: Future[list[Box]] | None


class _End:
    """The reader's last item: why it stopped, if not at the end of the file."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error


class _Reader:
    """Grabs every frame of an open source on its own thread and converts the sampled ones to
    grey, into a queue bounded by bytes; the frames the step will detect on are searched ahead
    on another thread, or on ``DETECTORS`` threads where every sampled frame is searched (a
    sparse sampling: detection is then most of the work, and the network waits on it).
    ``stop()`` ends it at the next frame."""

    def __init__(self, source: VideoSource, sampling: Sampling, pipeline: LivePipeline) -> None:
        self.source = source
        self.sampling = sampling
        self.pipeline = pipeline
        self._detectors = threading.local()  # a cascade serves one thread
        threads = DETECTORS if pipeline.detect_every == 1 else 1  # else the network needs a core
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="video-detect")
        self.read = 0
        width, height = source.size()
        frame_bytes = max(width * height, 1)
        self.queue: queue.Queue[_Frame | _End] = queue.Queue(max(1, QUEUE_BYTES // frame_bytes))
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="video-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        end = _End()
        try:
            due = 0.0  # the time of the next frame to analyse, when sampling by rate
            sampled = 0
            while not self._stopped.is_set() and self.source.grab():
                index, self.read = self.read, self.read + 1
                when = self._time_of(index)
                if self.sampling.fps is not None:
                    if when is None:
                        raise VideoSourceError(
                            f"{self.source.description} gives no frame times: sample it by "
                            "frames (every N-th) instead"
                        )
                    if when + 1e-6 < due:
                        continue
                    due = max(due + 1 / self.sampling.fps, when)
                elif index % self.sampling.every:
                    continue
                image = self.source.retrieve()
                if image is None:
                    continue
                gray = to_gray(image)
                detects = self.pipeline.detects(sampled)
                found = self._pool.submit(self._detect, gray) if detects else None
                sampled += 1
                self._put(_Frame(index, when, gray, found))
        except (VideoSourceError, OSError) as exc:
            end = _End(exc)
        self._put(end)

    def _detect(self, gray: np.ndarray) -> list[Box]:
        detector = getattr(self._detectors, "detector", None)
        if detector is None:
            detector = self._detectors.detector = self.pipeline.predictor.detector.clone()
        return detector.detect(gray)

    def _time_of(self, index: int) -> float | None:
        """The frame's time stamp; from its index where the file gives none after its first
        frame (whose time stamp is 0), and None where it gives no frame rate either."""
        stamp = self.source.position()
        if stamp is not None or index == 0:
            return stamp or 0.0
        return index / self.source.fps if self.source.fps > 0 else None

    def _put(self, item: _Frame | _End) -> None:
        while not self._stopped.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
        self._pool.shutdown(cancel_futures=True)


def label_video(
    path: Path,
    predictor: Predictor,
    sampling: Sampling = Sampling(),
    cancel: CancelFn | None = None,
    options: LiveOptions = LiveOptions(),
) -> Iterator[list[LabelRow | Problem | VideoProgress]]:
    """The rows of each analysed frame of the video at ``path`` (one list per frame, faces by
    track id), a :class:`VideoProgress` now and then and once at the end (``done``; also after
    a video that cannot be opened), and a Problem for a video that cannot be read, or that
    ends before the frames its header announces.

    ``predictor``'s network runs with Live's detector settings (``options``), so the faces and
    labels are Live's on the same frames, without the smoothing.
    """
    source = VideoSource(Path(path))
    try:
        source.open()
        if source.size() == (0, 0):
            raise VideoSourceError("it holds no video stream (sound only?)")
    except VideoSourceError as exc:
        source.close()
        yield [Problem(path, str(exc))]
        yield [VideoProgress(path, 0, None, 0, 0, 0.0, done=True)]  # the file is done with
        return
    pipeline = _pipeline(predictor, options, sampling, source.fps)
    model, profile = Path(predictor.path).stem, predictor.profile_name
    total, start = source.frame_count(), time.monotonic()
    reader = _Reader(source, sampling, pipeline)
    analysed = faceless = 0
    last_report = start

    def progress(done: bool = False) -> VideoProgress:
        seconds = time.monotonic() - start
        return VideoProgress(path, reader.read, total, analysed, faceless, seconds, done)

    try:
        while True:
            if cancel is not None and cancel():
                return
            item = reader.queue.get()
            if isinstance(item, _End):
                break
            found = item.found.result() if item.found is not None else None
            faces, _ = pipeline.step(item.gray, found)
            seen = [f for f in faces if f.missed == 0]
            analysed += 1
            faceless += not seen
            if seen:
                yield [_row(path, f, model, profile, item) for f in seen]
            if time.monotonic() - last_report >= PROGRESS_SECONDS:
                last_report = time.monotonic()
                yield [progress()]
    finally:
        reader.stop()
        source.close()
    yield [progress(done=True)]
    problem = _ending_problem(path, item.error, reader.read, total)
    if problem is not None:
        yield [problem]


def _row(path: Path, face: TrackedFace, model: str, profile: str, frame: _Frame) -> LabelRow:
    result = FaceResult(face.box, face.probabilities)
    return LabelRow(path, face.id, result, model, frame.index, frame.time, profile)


def _pipeline(
    predictor: Predictor, options: LiveOptions, sampling: Sampling, fps: float
) -> LivePipeline:
    """Live's step for a video's sampled frames, unsmoothed. Live detects on every third
    camera frame; a sparser sampling detects as often in the video's own time (every sampled
    frame from every third frame on), so the boxes between detections are no staler."""
    detect_every = max(1, round(options.detect_every / sampling.every))
    if sampling.fps is not None and fps > 0:
        detect_every = max(1, round(options.detect_every * sampling.fps / fps))
    return LivePipeline(
        predictor.with_detector(live_detector(options), options.flip),
        FaceTracker(smoothing=0.0),
        detect_every,
    )


def read_frame(path: Path, index: int) -> np.ndarray:
    """The frame ``index`` of the video at ``path``, as BGR (a frame a row names, to show it);
    VideoSourceError where it cannot be read."""
    with VideoSource(Path(path)) as source:
        source.seek(index)
        frame = source.read()
    if frame is None:
        raise VideoSourceError(f"{Path(path).name} has no frame {index}")
    return frame


def _ending_problem(path: Path, error: Exception | None, read: int, total: int | None):
    """Why a video gave fewer frames than it should: an error while reading, no frame at all,
    or fewer frames than its header announces (a truncated file). None where it read whole."""
    if error is not None:
        return Problem(path, f"stopped after frame {read}: {error}")
    if read == 0:
        return Problem(
            path,
            "holds no frame that could be decoded (empty, damaged, or a codec OpenCV "
            "cannot read; convert it to MP4 (H.264))",
        )
    if total is not None and read < total - max(2, total // 100):
        return Problem(
            path,
            f"ended after {read} of the {total} frames its header announces (truncated?); "
            "the rows up to there are kept",
        )
    return None
