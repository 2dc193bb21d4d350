"""The Batch tab's work, as plain functions for :class:`~emotion_desktop.gui.workers.Task`.

The labelling loop is the CLI's (``core.batch.labelling.label_paths``); this module only adds what a
window needs around it: chunks of results every 100 ms instead of a signal per face, a pause
gate, and the CSV written as the rows come. No widget is touched from here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emotion_desktop.core.batch.labelling import Event, iter_files, label_paths
from emotion_desktop.core.batch.results import CsvRowWriter, LabelRow, Problem, Skipped
from emotion_desktop.core.batch.video import Sampling, VideoProgress, is_video_file
from emotion_desktop.core.errors import CheckpointError
from emotion_desktop.core.model.checkpoints import load_model_for_inference
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.model.profile import read_profile
from emotion_desktop.core.outputs import check_results_output
from emotion_desktop.core.vision.faces import FaceDetector
from emotion_desktop.core.vision.images import is_image_file
from emotion_desktop.gui.workers import TaskFn

REPORT_EVERY_S = 0.1


@dataclass(frozen=True)
class BatchRequest:
    """What to label and how: the paths, the whole-image fallback, the live CSV if any, and
    which frames of a video are analysed.

    ``append`` continues ``csv_path`` rather than starting it afresh (a second run whose rows
    join those already in the table). ``profile``: the personal profile file applied to every
    face, whose name the rows carry.
    """

    paths: tuple[Path, ...]
    whole_image: bool = False
    csv_path: Path | None = None
    append: bool = False
    sampling: Sampling = Sampling()
    profile: Path | None = None


@dataclass(frozen=True)
class BatchChunk:
    """What the worker finished since its last report; ``seconds`` is time worked, not paused.
    ``videos``: the progress of the videos read since (the last of each, and every final one);
    ``videos_done``: videos finished, each a file done as a photo is."""

    rows: tuple[LabelRow, ...]
    problems: tuple[Problem, ...]
    images: int
    skipped: int
    seconds: float
    videos: tuple[VideoProgress, ...] = ()
    videos_done: int = 0


@dataclass(frozen=True)
class FileCount:
    """The files a run has to do: photos and videos below its paths."""

    images: int
    videos: int

    @property
    def files(self) -> int:
        return self.images + self.videos


class PauseGate:
    """Lets the GUI hold the worker between images without cancelling it."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()
        self._holding = threading.Event()

    def pause(self) -> None:
        self._open.clear()

    def resume(self) -> None:
        self._open.set()

    def is_paused(self) -> bool:
        return not self._open.is_set()

    def is_holding(self) -> bool:
        """The worker has stopped here (after reporting its last rows) and waits for resume."""
        return self._holding.is_set()

    def wait(self, cancelled: Callable[[], bool]) -> float:
        """Block while paused, until resumed or cancelled; the seconds spent waiting."""
        if self._open.is_set():
            return 0.0
        start = time.monotonic()
        self._holding.set()
        try:
            while not self._open.wait(0.05) and not cancelled():
                pass
        finally:
            self._holding.clear()
        return time.monotonic() - start


class _Pending:
    """Events gathered between two reports."""

    def __init__(self) -> None:
        self.rows: list[LabelRow] = []
        self.problems: list[Problem] = []
        self.images = 0
        self.skipped = 0
        self.videos: dict[Path, VideoProgress] = {}
        self.videos_done = 0

    def add(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, LabelRow):
                self.rows.append(event)
            elif isinstance(event, Problem):
                self.problems.append(event)
            elif isinstance(event, VideoProgress):
                self.videos[event.file] = event
                self.videos_done += event.done
        if events and isinstance(events[0], Skipped):
            self.skipped += 1
        elif events and is_image_file(events[0].file):  # as the count does: a folder that
            self.images += 1  # could not be listed, or is gone, is a problem, not an image

    def take(self, seconds: float) -> BatchChunk:
        chunk = BatchChunk(
            tuple(self.rows),
            tuple(self.problems),
            self.images,
            self.skipped,
            seconds,
            tuple(self.videos.values()),
            self.videos_done,
        )
        self.rows, self.problems, self.images, self.skipped = [], [], 0, 0
        self.videos, self.videos_done = {}, 0
        return chunk

    def __bool__(self) -> bool:
        return bool(self.images or self.skipped or self.rows or self.problems or self.videos)


def labelling_task(
    request: BatchRequest,
    model_path: Path,
    gate: PauseGate,
    after: threading.Event | None = None,
    ended: threading.Event | None = None,
) -> TaskFn:
    """The function a Task runs to label ``request.paths``, reporting :class:`BatchChunk`\\ s.

    The model is loaded and the predictor made on the worker thread (the GUI never waits on
    ``torch.load``), and the labelling loop gives each of its own
    threads a detector (OpenCV's cascades must not be shared between threads). The loop is the
    CLI's, batches and all, so the tab labels as fast; the live CSV gets each batch's rows.

    Runs follow each other through two events: the run waits for ``after`` (the previous run's
    ``ended``) before it opens the CSV, and sets ``ended`` when it is done. A cleared run ends
    on its own after its image in flight, so its last rows can never land in the next run's
    file, and the GUI thread never waits for it.
    """

    def run(report: Callable[[BatchChunk], None], cancelled: Callable[[], bool]) -> None:
        try:
            while after is not None and not after.wait(0.05):
                if cancelled():
                    return
            _label(request, model_path, gate, report, cancelled)
        finally:
            if after is not None:
                after.wait()  # a cleared run still waiting ends after its predecessor, not before
            if ended is not None:
                ended.set()

    return run


def _label(
    request: BatchRequest,
    model_path: Path,
    gate: PauseGate,
    report: Callable[[BatchChunk], None],
    cancelled: Callable[[], bool],
) -> None:
    """Load the model and label ``request``, reporting chunks; the body of a labelling run."""
    try:
        loaded = load_model_for_inference(model_path)
    except CheckpointError as exc:
        raise CheckpointError(f"{exc}. Pick a model in the Training tab.") from exc
    predictor = Predictor(loaded, FaceDetector())
    if request.profile is not None:  # one made with another model: refused, the run's message
        predictor = predictor.with_profile(read_profile(request.profile))
    if request.csv_path:  # the CLI's policy: never a photo, an input or a special file
        inputs = [*request.paths, loaded.path]
        existing = "append" if request.append else "overwrite"
        check_results_output(request.csv_path, inputs, existing, in_place=True)
    writer = CsvRowWriter(request.csv_path, request.append) if request.csv_path else None
    start = time.monotonic()
    paused = 0.0
    last_report = float("-inf")
    pending = _Pending()
    try:
        events_of = label_paths(
            request.paths,
            predictor,
            request.whole_image,
            cancelled,
            sampling=request.sampling,
        )
        for events in events_of:
            if writer is not None:
                writer.write(e for e in events if isinstance(e, LabelRow))
            pending.add(events)
            now = time.monotonic()
            if now - last_report >= REPORT_EVERY_S:
                report(pending.take(now - start - paused))
                last_report = now
            if gate.is_paused():  # report what is done before holding, never after
                if pending:
                    report(pending.take(now - start - paused))
                paused += gate.wait(cancelled)
    finally:  # rows already in the CSV reach the table too, even when the walk fails
        try:
            if writer is not None:
                writer.close()  # a full disk fails here too, after the failed write
        finally:
            if pending:
                report(pending.take(time.monotonic() - start - paused))


def counting_task(paths: tuple[Path, ...]) -> TaskFn:
    """The function a Task runs to count the photos and videos below ``paths``, for the bar
    and the ETA (a :class:`FileCount`).

    Runs beside the labelling walk rather than before it, so rows never wait for the count.
    """

    def run(report: Callable[[int], None], cancelled: Callable[[], bool]) -> FileCount:
        images = videos = 0
        for path in iter_files(paths):
            if cancelled():
                break
            images += is_image_file(path)
            videos += is_video_file(path)
        return FileCount(images, videos)

    return run
