"""What labelling gives and where it goes: a row per face (of a photo, or of a video frame),
the files that gave none and why, and the CSV and JSON results files.

CSV and JSON carry the same columns. A photo's row leaves ``frame`` and ``time`` empty; a video
frame's row names the face by its track id, the same person through the video.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.errors import OutputError
from emotion_desktop.core.files import AtomicFile, atomic_write_text, path_text
from emotion_desktop.core.model.inference import FaceResult
from emotion_desktop.core.vision.faces import Box

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
    "model",  # after the photo columns: readers by position of those keep working
    "frame",
    "time",
    "profile",  # the personal profile applied (profile.py); empty where none
)


@dataclass(frozen=True)
class LabelRow:
    """One face of one image, or of one frame of a video (``frame``, its index, and ``time``,
    seconds into the video; ``face`` then is the face's track id); ``model``: the stem of the
    model file that labelled it; ``profile``: the name of the person's profile applied."""

    file: Path
    face: int
    result: FaceResult
    model: str = ""
    frame: int | None = None
    time: float | None = None
    profile: str = ""

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
            "frame": self.frame,
            "time": None if self.time is None else round(self.time, 3),
            "profile": self.profile,
        }


@dataclass(frozen=True)
class Problem:
    """A file that gave no row, and why: unreadable, too large, or no face in it; for a video,
    also one that ended early (its rows up to there are kept)."""

    file: Path
    reason: str


@dataclass(frozen=True)
class Skipped:
    """A file that is not an image by its extension; counted, not reported one by one."""

    file: Path


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
        if header and header == CSV_COLUMNS[: len(header)]:
            missing = ", ".join(CSV_COLUMNS[len(header) :])
            raise OutputError(
                f"{path} was written by an older version of this app, without the columns "
                f"{missing}: write the new rows to another file"
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


class JsonRowWriter:
    """Streams rows into a JSON list in a temporary file beside ``path``, renamed into place
    by :meth:`close`: an hour of video never holds its rows in memory, an interrupted run still
    leaves a whole list of the rows written, and a full disk keeps the earlier file whole."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self._out = AtomicFile(self.path, "w", encoding="utf-8")
            self._out.file.write("[")
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self._first = True

    def write(self, rows: Iterable[LabelRow]) -> None:
        try:
            for row in rows:
                separator = "\n" if self._first else ",\n"
                self._out.file.write(separator + json.dumps(row.as_record()))
                self._first = False
        except OSError as exc:
            self._fail(exc)

    def close(self) -> None:
        """Finish the list and put the file in place (an OutputError on a full disk)."""
        try:
            self._out.file.write("\n]\n")
            self._out.commit()
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        self._out.discard()
        raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
