"""Label folders of photos in bulk: lazy file walk -> faces -> emotions -> rows (CSV / JSON).

Everything streams: files are found one directory at a time, each image yields its rows as soon
as it is done, and the CSV writer flushes after every image. A folder of 100,000 files starts
producing rows at once and never sits in memory, and a crash loses at most the image in flight.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.errors import ImageError
from emotion_desktop.core.faces import Box
from emotion_desktop.core.inference import FaceResult, Predictor
from emotion_desktop.core.kdef import IMAGE_SUFFIXES

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
)


@dataclass(frozen=True)
class LabelRow:
    """One face of one image."""

    file: Path
    face: int
    result: FaceResult

    @property
    def box(self) -> Box:
        return self.result.box

    def as_record(self) -> dict[str, object]:
        b = self.result.box
        return {
            "file": str(self.file),
            "face": self.face,
            "x": b.x,
            "y": b.y,
            "w": b.w,
            "h": b.h,
            "emotion": self.result.label,
            "confidence": round(self.result.confidence, 4),
            **{n: round(p, 4) for n, p in zip(NAMES, self.result.probabilities)},
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
            yield from _walk(path)
        else:
            yield path


def _walk(folder: Path) -> Iterator[Path]:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path))
        elif entry.is_file():
            yield Path(entry.path)


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def label_file(path: Path, predictor: Predictor, whole_image: bool = False) -> list[Event]:
    """The rows of one file, or one Problem / Skipped saying why there are none."""
    if not is_image_file(path):
        return [Skipped(path)]
    try:
        faces = predictor.predict_image(path, whole_image)
    except ImageError as exc:
        return [Problem(path, str(exc))]
    if not faces:
        return [Problem(path, "no face found")]
    return [LabelRow(path, i, face) for i, face in enumerate(faces)]


def label_paths(
    paths: Iterable[Path | str],
    predictor: Predictor,
    whole_image: bool = False,
    cancel: Callable[[], bool] | None = None,
) -> Iterator[list[Event]]:
    """For each file below ``paths``, lazily, the events it produced; stops when ``cancel()``."""
    for path in iter_files(paths):
        if cancel is not None and cancel():
            return
        yield label_file(path, predictor, whole_image)


class CsvRowWriter:
    """Appends rows to a CSV file, header first, flushing after every image."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = self.path.open("w", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._file, fieldnames=CSV_COLUMNS)
        self._writer.writeheader()

    def write(self, rows: Iterable[LabelRow]) -> None:
        for row in rows:
            self._writer.writerow(row.as_record())
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> CsvRowWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_json(path: Path, rows: Iterable[LabelRow]) -> None:
    Path(path).write_text(json.dumps([r.as_record() for r in rows], indent=1))


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
