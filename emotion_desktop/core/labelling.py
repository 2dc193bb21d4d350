"""Label folders of photos in bulk: lazy file walk -> faces -> emotions -> rows (CSV / JSON).

Everything streams: files are found one directory at a time, each image yields its rows as soon
as it is done, and the CSV writer flushes after every image. A folder of 100,000 files starts
producing rows at once and never sits in memory, and a crash loses at most the image in flight.
"""

from __future__ import annotations

import csv
import json
import os
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.errors import ImageError
from emotion_desktop.core.faces import (
    MAX_PIXELS,
    Box,
    check_regular_file,
    crop_face,
    read_image,
    to_gray,
    whole_image_box,
)
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
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(Path(entry.path))
            elif entry.is_file():
                yield Path(entry.path)
        except OSError:  # a symlink to itself (ELOOP) or a file gone meanwhile: not an image
            continue


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG, JPEG or BMP header, None for other formats or odd headers.

    Lets a huge image be refused before it is decoded: ``read_image`` can only check the pixel
    count after OpenCV has already allocated it, which for a 30,000 x 30,000 scan is gigabytes.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(26)
            if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
                return struct.unpack(">II", head[16:24])
            if head.startswith(b"BM") and len(head) >= 26:
                width, height = struct.unpack("<ii", head[18:26])
                return abs(width), abs(height)
            if head.startswith(b"\xff\xd8"):
                return _jpeg_size(f)
    except (OSError, struct.error):
        return None
    return None


def _jpeg_size(f: IO[bytes]) -> tuple[int, int] | None:
    """Walk the JPEG segments to the first start-of-frame marker, which holds the size."""
    f.seek(2)
    while True:
        marker = f.read(4)
        if len(marker) < 4 or marker[0] != 0xFF:
            return None
        kind, length = marker[1], struct.unpack(">H", marker[2:4])[0]
        if 0xC0 <= kind <= 0xCF and kind not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">xHH", f.read(5))
            return width, height
        f.seek(length - 2, os.SEEK_CUR)


def _refused(path: Path) -> Problem | None:
    """Why ``path`` is not decoded at all: not a regular file, or too many pixels."""
    try:
        check_regular_file(path)
    except ImageError as exc:
        return Problem(path, str(exc))
    size = image_size(path)
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        return Problem(
            path, f"{size[0]}x{size[1]} is more than {MAX_PIXELS:,} pixels; downscale it first"
        )
    return None


def label_file(path: Path, predictor: Predictor, whole_image: bool = False) -> list[Event]:
    """The rows of one file, or one Problem / Skipped saying why there are none."""
    if not is_image_file(path):
        return [Skipped(path)]
    if (problem := _refused(path)) is not None:
        return [problem]
    try:
        faces = predictor.predict_image(path, whole_image)
    except ImageError as exc:
        return [Problem(path, str(exc))]
    if not faces:
        return [Problem(path, "no face found")]
    return [LabelRow(path, i, face) for i, face in enumerate(faces)]


@dataclass(frozen=True)
class _Found:
    """An image decoded and searched, its face crops waiting for the classifier."""

    path: Path
    boxes: list[Box]
    crops: list[np.ndarray]


def _find_faces(path: Path, predictor: Predictor, whole_image: bool) -> _Found | list[Event]:
    if not is_image_file(path):
        return [Skipped(path)]
    if (problem := _refused(path)) is not None:
        return [problem]
    try:
        gray = to_gray(read_image(path))
    except ImageError as exc:
        return [Problem(path, str(exc))]
    boxes = predictor.detector.detect(gray)
    if not boxes and whole_image:
        boxes = [whole_image_box(gray)]
    if not boxes:
        return [Problem(path, "no face found")]
    return _Found(path, boxes, [crop_face(gray, b, predictor.crop) for b in boxes])


def _classify(pending: list[_Found | list[Event]], predictor: Predictor) -> list[list[Event]]:
    """One classifier call for the faces of every pending image; events in file order."""
    found = [p for p in pending if isinstance(p, _Found)]
    crops = [c for p in found for c in p.crops]
    probs = iter(predictor.predict(np.stack(crops)) if crops else ())
    out: list[list[Event]] = []
    for item in pending:
        if isinstance(item, _Found):
            out.append(
                [
                    LabelRow(item.path, i, FaceResult(box, tuple(float(p) for p in next(probs))))
                    for i, box in enumerate(item.boxes)
                ]
            )
        else:
            out.append(item)
    return out


def label_paths(
    paths: Iterable[Path | str],
    predictor: Predictor,
    whole_image: bool = False,
    cancel: Callable[[], bool] | None = None,
    batch_size: int = 1,
) -> Iterator[list[Event]]:
    """For each file below ``paths``, lazily, the events it produced; stops when ``cancel()``.

    ``batch_size`` > 1 classifies the faces of that many images in one call, several times
    faster per face on a CPU; the events of an image then arrive when its batch is done.
    """
    if batch_size <= 1:
        for path in iter_files(paths):
            if cancel is not None and cancel():
                return
            yield label_file(path, predictor, whole_image)
        return
    pending: list[_Found | list[Event]] = []
    images = 0
    for path in iter_files(paths):
        if cancel is not None and cancel():
            break
        item = _find_faces(path, predictor, whole_image)
        pending.append(item)
        images += isinstance(item, _Found)
        if images >= batch_size:
            yield from _classify(pending, predictor)
            pending, images = [], 0
    yield from _classify(pending, predictor)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, behind a single quote (OWASP's
    rule for CSV injection): a photo named ``=cmd|' -C calc'!A0.jpg`` stays a file name."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class CsvRowWriter:
    """Appends rows to a CSV file, header first, flushing after every image.

    ``append`` continues an existing file (no second header), so a second run of the GUI adds
    to the rows the first one wrote.
    """

    def __init__(self, path: Path, append: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        has_rows = append and self.path.is_file() and self.path.stat().st_size > 0
        mode = "a" if has_rows else "w"
        self._file: IO[str] = self.path.open(mode, newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._file, fieldnames=CSV_COLUMNS)
        if not has_rows:
            self._writer.writeheader()

    def write(self, rows: Iterable[LabelRow]) -> None:
        for row in rows:
            self._writer.writerow({k: spreadsheet_safe(v) for k, v in row.as_record().items()})
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
