"""KDEF file names, folder scanning and the angle sets.

A KDEF name such as ``AF01ANS.JPG`` is session A, female, person 01, expression AN (angry),
angle S (straight). Users have either the original layout (one folder per session and person)
or one flat folder, with any extension case, so the scan walks any nesting. How a scan is
split into train and test is ``splits``' job, shared by every source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from emotion_desktop.core.emotions import EMOTIONS, INDEX_BY_CODE
from emotion_desktop.core.errors import DatasetError
from emotion_desktop.core.files import unreadable_reason, walk
from emotion_desktop.core.vision.images import IMAGE_SUFFIXES

ANGLES: tuple[str, ...] = ("S", "HL", "HR", "FL", "FR")
FRONTAL_ANGLES: tuple[str, ...] = ("S",)
ANGLE_SETS: dict[str, tuple[str, ...]] = {"all": ANGLES, "frontal": FRONTAL_ANGLES}
_NAME = re.compile(r"^([AB])([FM])(\d{2})(AF|AN|DI|HA|NE|SA|SU)(S|HL|HR|FL|FR)$")


@dataclass(frozen=True)
class KdefRecord:
    path: Path
    session: str  # "A" or "B"
    sex: str  # "F" or "M"
    number: int
    expression: str  # KDEF code, e.g. "AN"
    angle: str  # one of ANGLES

    @property
    def key(self) -> str:
        return f"{self.session}{self.sex}{self.number:02d}{self.expression}{self.angle}"

    @property
    def person(self) -> str:
        """The actor: the same person in sessions A and B, e.g. ``F01``."""
        return f"{self.sex}{self.number:02d}"

    @property
    def label(self) -> int:
        return INDEX_BY_CODE[self.expression]

    # What every labelled record tells the dataset (see sources.FaceRecord): a KDEF portrait
    # needs its face found, has no official split part and a one-hot target.
    framing = "studio"
    part = None
    target = None


def parse_name(path: Path) -> KdefRecord | None:
    """The record a KDEF file name describes, or None for any other name."""
    match = _NAME.match(path.stem.upper())
    if match is None:
        return None
    session, sex, number, expression, angle = match.groups()
    return KdefRecord(path, session, sex, int(number), expression, angle)


@dataclass
class ScanResult:
    """What a folder holds. Decoding problems (unreadable, blank) are found later, by pixels."""

    kind = "kdef"
    folder: Path
    records: list[KdefRecord]
    misnamed: list[Path] = field(default_factory=list)
    duplicates: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    other_files: int = 0
    unreadable: dict[str, str] = field(default_factory=dict)  # file (relative) -> why

    def label_counts(self) -> dict[str, dict[str, int]]:
        """Images per emotion, under one part (``all``), as ``SourceScan`` gives them."""
        row = dict.fromkeys((e.name for e in EMOTIONS), 0)
        for r in self.records:
            row[EMOTIONS[r.label].name] += 1
        return {"all": row}

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per expression (rows, by name) and angle (columns)."""
        table: dict[str, dict[str, int]] = {e.name: dict.fromkeys(ANGLES, 0) for e in EMOTIONS}
        for r in self.records:
            table[EMOTIONS[r.label].name][r.angle] += 1
        return table

    def summary(self) -> str:
        people = len({r.person for r in self.records})
        return (
            f"{len(self.records)} KDEF images of {people} people in {self.folder}; skipped "
            f"{len(self.misnamed)} misnamed, {len(self.duplicates)} duplicate, "
            f"{len(self.missing)} missing, {self.other_files} non-image files"
            + (f", {len(self.unreadable)} unreadable" if self.unreadable else "")
        )


def scan(folder: Path | str) -> ScanResult:
    """Find every KDEF-named image below ``folder``; raise DatasetError where there is none."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DatasetError(
            f"{folder} is not a folder: choose the folder that holds your KDEF images"
        )
    result = ScanResult(folder, [])
    seen: dict[str, Path] = {}
    for path in sorted(walk(folder)):
        reason = unreadable_reason(path)
        if reason is not None:
            result.unreadable[path.relative_to(folder).as_posix() or "."] = reason
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            result.other_files += 1
            continue
        record = parse_name(path)
        if record is None:
            result.misnamed.append(path)
        elif record.key in seen:
            result.duplicates.append(path)
        else:
            seen[record.key] = path
            result.records.append(record)
    if not result.records:
        unreadable = "".join(
            f"; {name}: {why}" for name, why in list(result.unreadable.items())[:3]
        )
        raise DatasetError(
            f"no KDEF images found in {folder} ({len(result.misnamed)} images with other names, "
            f"{result.other_files} other files, {len(result.unreadable)} unreadable"
            f"{unreadable}): expected names like AF01ANS.JPG"
        )
    result.missing = _missing_keys(result.records)
    return result


def _missing_keys(records: Sequence[KdefRecord]) -> list[str]:
    """Expected keys of each session+person present that have no file."""
    present = {r.key for r in records}
    sittings = {(r.session, r.sex, r.number) for r in records}
    return sorted(
        f"{s}{x}{n:02d}{e.kdef_code}{a}"
        for s, x, n in sittings
        for e in EMOTIONS
        for a in ANGLES
        if f"{s}{x}{n:02d}{e.kdef_code}{a}" not in present
    )


def filter_angles(records: Iterable[KdefRecord], angles: str) -> list[KdefRecord]:
    """Keep the records whose angle is in the named set: ``all`` or ``frontal``."""
    try:
        allowed = ANGLE_SETS[angles]
    except KeyError:
        raise DatasetError(
            f"unknown angle set {angles!r}: use one of {sorted(ANGLE_SETS)}"
        ) from None
    return [r for r in records if r.angle in allowed]
