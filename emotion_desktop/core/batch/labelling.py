"""Label folders of photos in bulk: lazy file walk -> faces -> emotions -> rows (CSV / JSON).

Everything streams: files are found one directory at a time, a few images ahead are decoded
and searched on worker threads, each batch of images yields its rows as soon as it is classified,
and the CSV writer flushes after every batch. A folder of 100,000 files starts producing rows at
once and never sits in memory, and a crash loses at most the images in flight.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from emotion_desktop.core.data.dataset import is_face_crop
from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.errors import ImageError, OutputError
from emotion_desktop.core.files import atomic_write_text, path_text, unreadable_reason, walk
from emotion_desktop.core.model.inference import FaceResult, Predictor
from emotion_desktop.core.vision.faces import MIN_DETECT_SIDE, Box, FaceDetector
from emotion_desktop.core.vision.images import IMAGE_SUFFIXES, read_gray

BATCH_IMAGES = 8  # images whose faces share one classifier call: ~2x the speed of one by one
CSV_COLUMNS: tuple[str, ...] = (
    "file",
    "face",
    "x",
    "y",
    "w",
    "h",
    "emotion",
    "confidence",
    *NAMES,
    "model",  # last: readers by position of the columns before it keep working
)


@dataclass(frozen=True)
class LabelRow:
    """One face of one image; ``model``: the stem of the model file that labelled it."""

    file: Path
    face: int
    result: FaceResult
    model: str = ""

    @property
    def box(self) -> Box:
        return self.result.box

    def as_record(self) -> dict[str, object]:
        b = self.result.box
        return {
            "file": path_text(self.file),
            "face": self.face,
            "x": b.x,
            "y": b.y,
            "w": b.w,
            "h": b.h,
            "emotion": self.result.label,
            "confidence": round(self.result.confidence, 4),
            **{n: round(p, 4) for n, p in zip(NAMES, self.result.probabilities)},
            "model": self.model,
        }


@dataclass(frozen=True)
class Problem:
    """A file that gave no row, and why: unreadable, too large, or no face in it."""

    file: Path
    reason: str


@dataclass(frozen=True)
class Skipped:
    """A file that is not an image by its extension; counted, not reported one by one."""

    file: Path


Event = LabelRow | Problem | Skipped


def iter_files(paths: Iterable[Path | str]) -> Iterator[Path]:
    """Every file below ``paths`` (files pass through), one directory listing at a time."""
    for path in map(Path, paths):
        if path.is_dir():
            yield from walk(path)
        else:
            yield path


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


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


def label_paths(
    paths: Iterable[Path | str],
    predictor: Predictor,
    whole_image: bool = False,
    cancel: Callable[[], bool] | None = None,
    batch_size: int = BATCH_IMAGES,
    workers: int | None = None,
    files: Iterable[Path] | None = None,
) -> Iterator[list[Event]]:
    """For each file below ``paths``, lazily and in order, the events it produced; stops when
    ``cancel()``, after giving the images already done.

    The one labelling path of the CLI and the Batch tab. ``workers`` threads decode and detect
    a few images ahead (each with its own detector: OpenCV's cascades are not shared), and the
    faces of ``batch_size`` images go through the classifier in one call, several times faster
    per face on a CPU than one by one. ``files`` replaces the walk of ``paths`` (a shard).
    """
    workers = workers or label_workers()
    local = threading.local()

    def find(path: Path) -> _Found | list[Event]:
        detector = getattr(local, "detector", None)
        if detector is None:
            detector = local.detector = predictor.detector.clone()
        return _find_faces(path, predictor, detector, whole_image)

    ahead: deque[Future[_Found | list[Event]]] = deque()
    pending: list[_Found | list[Event]] = []
    images = 0
    with ThreadPoolExecutor(workers, thread_name_prefix="label") as pool:
        try:
            walk = iter(files) if files is not None else iter_files(paths)
            while True:
                stop = cancel is not None and cancel()
                path = None if stop else next(walk, None)
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


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, behind a single quote (OWASP's
    rule for CSV injection): a photo named ``=cmd|' -C calc'!A0.jpg`` stays a file name."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class CsvRowWriter:
    """Appends rows to a CSV file, header first, flushing after every write (a batch's rows).

    ``append`` continues an existing file (no second header), so a second run of the GUI adds
    to the rows the first one wrote. A file that cannot be written (a full disk, a folder where
    the file should be) is an OutputError naming it: the user's to fix, not a bug.
    """

    def __init__(self, path: Path, append: bool = False) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            has_rows = append and self.path.is_file() and self.path.stat().st_size > 0
            if has_rows:
                self._check_header(self.path)
            header_unended = has_rows and self._header_unended(self.path)
            mode = "a" if has_rows else "w"
            self._file: IO[str] = self.path.open(mode, newline="", encoding="utf-8")
            self._writer = csv.DictWriter(self._file, fieldnames=CSV_COLUMNS)
            if not has_rows:
                self._writer.writeheader()
            elif header_unended:
                self._file.write("\r\n")
        except OSError as exc:
            raise self._unwritable(exc) from exc

    @staticmethod
    def _check_header(path: Path) -> None:
        """OutputError unless ``path`` starts with this app's CSV header (rows go on under it):
        another CSV, or one of an older version whose rows have other columns."""
        with path.open(newline="", encoding="utf-8", errors="replace") as f:
            header = tuple(next(csv.reader(f), ()))
        if header == CSV_COLUMNS:
            return
        if header == tuple(c for c in CSV_COLUMNS if c != "model"):
            raise OutputError(
                f"{path} was written by an older version of this app, without the model column: "
                "write the new rows to another file"
            )
        raise OutputError(f"{path} is not a results file of this app: not added to")

    @staticmethod
    def _header_unended(path: Path) -> bool:
        """Whether the file ends in its header without a line end (the row added goes on a new
        line). A file that ends in a row without one holds a row cut short by a full disk or a
        crash: rows added to it would be glued onto that row, so it is refused."""
        with path.open("rb") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) == b"\n":
                return False
        with path.open(newline="", encoding="utf-8", errors="replace") as f:
            records = csv.reader(f)
            if tuple(next(records, ())) == CSV_COLUMNS and next(records, None) is None:
                return True
        raise OutputError(
            f"{path} ends in a row cut short (a full disk or a crash?): remove its last line, "
            "or write to another file"
        )

    def write(self, rows: Iterable[LabelRow]) -> None:
        try:
            self._writer.writerows(_csv_record(row) for row in rows)
            self._file.flush()
        except OSError as exc:
            raise self._unwritable(exc) from exc

    def _unwritable(self, exc: OSError) -> OutputError:
        return OutputError(f"cannot write {self.path}: {exc.strerror or exc}")

    def close(self) -> None:
        """Close the file; rows still buffered that cannot be written (a full disk) are the
        same OutputError as in :meth:`write`, never a bare OSError."""
        try:
            self._file.close()
        except OSError as exc:
            raise self._unwritable(exc) from exc

    def __enter__(self) -> CsvRowWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _csv_record(row: LabelRow) -> dict[str, object]:
    return {k: spreadsheet_safe(v) for k, v in row.as_record().items()}


def write_csv(path: Path, rows: Iterable[LabelRow]) -> None:
    """All rows at once, atomically (an export): a full disk keeps the file's earlier contents
    whole, where :class:`CsvRowWriter` would leave half a file."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(_csv_record(row) for row in rows)
    atomic_write_text(Path(path), text.getvalue())


def write_json(path: Path, rows: Iterable[LabelRow]) -> None:
    """All rows at once, atomically: a full disk keeps the file's earlier results whole."""
    atomic_write_text(Path(path), json.dumps([r.as_record() for r in rows], indent=1))


@dataclass
class LabelSummary:
    images: int = 0
    faces: int = 0
    problems: int = 0
    skipped: int = 0

    def add(self, events: list[Event]) -> None:
        kinds = {type(e) for e in events}
        if LabelRow in kinds:
            self.images += 1
            self.faces += len(events)
        elif Problem in kinds:
            self.problems += 1
        else:
            self.skipped += 1
