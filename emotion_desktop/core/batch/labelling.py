"""Label folders of photos and videos in bulk: lazy file walk -> faces -> emotions -> rows.

Everything streams: files are found one directory at a time, a few images ahead are decoded
and searched on worker threads, each batch of images yields its rows as soon as it is classified,
and the CSV writer flushes after every batch. A folder of 100,000 files starts producing rows at
once and never sits in memory, and a crash loses at most the images in flight. A video met on
the way is read frame by frame in its place (:mod:`emotion_desktop.core.batch.video`).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion_desktop.core.batch.results import LabelRow, Problem, Skipped
from emotion_desktop.core.batch.video import Sampling, VideoProgress, is_video_file, label_video
from emotion_desktop.core.data.dataset import is_face_crop
from emotion_desktop.core.errors import ImageError
from emotion_desktop.core.files import unreadable_reason, walk
from emotion_desktop.core.model.inference import FaceResult, Predictor
from emotion_desktop.core.runtime import Work, use_threads
from emotion_desktop.core.vision.faces import MIN_DETECT_SIDE, Box, FaceDetector
from emotion_desktop.core.vision.images import is_image_file, read_gray

BATCH_IMAGES = 8  # images whose faces share one classifier call: ~2x the speed of one by one
Event = LabelRow | Problem | Skipped | VideoProgress


def iter_files(paths: Iterable[Path | str]) -> Iterator[Path]:
    """Every file below ``paths`` (files pass through), one directory listing at a time."""
    for path in map(Path, paths):
        if path.is_dir():
            yield from walk(path)
        else:
            yield path


@dataclass(frozen=True)
class _Found:
    """An image decoded and searched, its face crops waiting for the classifier."""

    path: Path
    boxes: list[Box]
    crops: list[np.ndarray]


def _find_faces(
    path: Path, predictor: Predictor, detector: FaceDetector, whole_image: bool
) -> _Found | list[Event]:
    """Decode (a large JPEG at a reduced size), detect and crop: the part that runs on the
    worker threads, since OpenCV releases the GIL while it works."""
    # the walk gives a folder only when it could not list it; os.path.isdir, unlike
    # Path.is_dir before Python 3.12, never raises (PermissionError in an unenterable folder)
    if os.path.isdir(path):
        return [Problem(path, str(unreadable_reason(path)))]
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        # a Recent folder since removed, an unplugged drive
        return [Problem(path, "no such file or folder")]
    except OSError:  # there, but in a folder that can be listed and not entered
        return [Problem(path, str(unreadable_reason(path)))]
    if not is_image_file(path):
        return [Skipped(path)]
    try:
        gray, factor = read_gray(path, reduce_to=detector.detect_width)
    except ImageError as exc:
        return [Problem(path, str(exc))]
    boxes, crops = predictor.frame(gray, whole_image, detector)
    if not boxes:
        return [Problem(path, _no_face_reason(gray, factor))]
    return _Found(path, [b.scaled(factor) for b in boxes], crops)


def _no_face_reason(gray: np.ndarray, factor: float) -> str:
    """Why an image gave no face; for one too small to search, what its size allows."""
    if factor != 1 or not is_face_crop(gray):  # read reduced: a large image
        return "no face found"
    h, w = gray.shape
    if min(h, w) < MIN_DETECT_SIDE:
        return f"no face: {w}x{h} pixels is too small to hold one"
    return (
        f"no face searched: {w}x{h} pixels is a face crop's size; label it with the whole image "
        "as the face if it is one"
    )


def _classify(pending: list[_Found | list[Event]], predictor: Predictor) -> list[list[Event]]:
    """One classifier call for the faces of every pending image; events in file order."""
    found = [p for p in pending if isinstance(p, _Found)]
    crops = [c for p in found for c in p.crops]
    probs = iter(predictor.predict(np.stack(crops)) if crops else ())
    model = predictor.path.stem if predictor.path else ""
    out: list[list[Event]] = []
    for item in pending:
        if isinstance(item, _Found):
            out.append(
                [
                    LabelRow(
                        item.path,
                        i,
                        FaceResult(box, tuple(float(p) for p in next(probs))),
                        model,
                        profile=predictor.profile_name,
                    )
                    for i, box in enumerate(item.boxes)
                ]
            )
        else:
            out.append(item)
    return out


def label_workers() -> int:
    """Threads that decode and detect: one per core (at most four; the classifier, batched on
    the calling thread, is the smaller part of the work)."""
    return max(1, min(4, os.cpu_count() or 1))


def _finder(predictor: Predictor, whole_image: bool) -> Callable[[Path], _Found | list[Event]]:
    """:func:`_find_faces` for the pool's threads, each with its own detector (OpenCV's
    cascades are not shared between threads)."""
    local = threading.local()

    def find(path: Path) -> _Found | list[Event]:
        detector = getattr(local, "detector", None)
        if detector is None:
            detector = local.detector = predictor.detector.clone()
        return _find_faces(path, predictor, detector, whole_image)

    return find


def label_paths(
    paths: Iterable[Path | str],
    predictor: Predictor,
    whole_image: bool = False,
    cancel: Callable[[], bool] | None = None,
    batch_size: int = BATCH_IMAGES,
    workers: int | None = None,
    files: Iterable[Path] | None = None,
    sampling: Sampling = Sampling(),
) -> Iterator[list[Event]]:
    """For each file below ``paths``, lazily and in order, the events it produced; stops when
    ``cancel()``, after giving the images already done.

    The one labelling path of the CLI and the Batch tab. ``workers`` threads decode and detect
    a few images ahead (each with its own detector: OpenCV's cascades are not shared), and the
    faces of ``batch_size`` images go through the classifier in one call, several times faster
    per face on a CPU than one by one. ``files`` replaces the walk of ``paths`` (a shard). A
    video gives a list of events per analysed frame, its frames chosen by ``sampling``, once
    the photos before it are done.
    """
    use_threads(Work.LABELLING)  # the CLI's and the Batch tab's thread alike
    workers = workers or label_workers()
    find = _finder(predictor, whole_image)
    ahead: deque[Future[_Found | list[Event]]] = deque()
    pending: list[_Found | list[Event]] = []
    images = 0
    with ThreadPoolExecutor(workers, thread_name_prefix="label") as pool:
        try:
            walk = iter(files) if files is not None else iter_files(paths)
            while True:
                stop = cancel is not None and cancel()
                path = None if stop else next(walk, None)
                if path is not None and is_video_file(path):
                    pending += [future.result() for future in ahead]  # photos keep their order
                    ahead.clear()
                    yield from _classify(pending, predictor)
                    pending, images = [], 0
                    yield from label_video(path, predictor, sampling, cancel)
                    continue
                if path is not None:
                    ahead.append(pool.submit(find, path))
                    if len(ahead) <= 2 * workers:
                        continue
                elif stop or not ahead:
                    break
                item = ahead.popleft().result()
                pending.append(item)
                images += isinstance(item, _Found)
                if images >= batch_size:
                    yield from _classify(pending, predictor)
                    pending, images = [], 0
            yield from _classify(pending, predictor)
        finally:
            for future in ahead:
                future.cancel()


def shard(files: Iterable[Path], index: int, count: int) -> Iterator[Path]:
    """The ``index``-th of ``count`` shares of ``files`` (1-based), every ``count``-th file.

    The walk is sorted, so the same folder gives every machine the same order: the shards do
    not overlap and together hold every file, whatever ``count`` machines run them.
    """
    if not 1 <= index <= count:
        raise ValueError(f"shard {index}/{count}: the index runs from 1 to {count}")
    for position, path in enumerate(files):
        if position % count == index - 1:
            yield path


@dataclass
class LabelSummary:
    """What a run labelled, from the events :func:`label_paths` gives."""

    images: int = 0
    faces: int = 0
    problems: int = 0
    skipped: int = 0
    videos: int = 0
    frames: int = 0  # video frames analysed

    def add(self, events: list[Event]) -> None:
        kinds = {type(e) for e in events}
        if LabelRow in kinds:
            self.faces += len(events)
            self.images += events[0].frame is None  # a video frame's rows: counted at its end
        elif Problem in kinds:
            self.problems += 1
        elif VideoProgress in kinds:
            done = [e for e in events if e.done and e.read]  # one that could not be opened:
            self.videos += len(done)  # a problem
            self.frames += sum(e.analysed for e in done)
        else:
            self.skipped += 1
