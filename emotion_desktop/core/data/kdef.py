"""KDEF file names, folder scanning and the train/test splits.

A KDEF name such as ``AF01ANS.JPG`` is session A, female, person 01, expression AN (angry),
angle S (straight). Users have either the original layout (one folder per session and person)
or one flat folder, with any extension case, so the scan walks any nesting.

Splits are stored as lists of file *keys* (the name without extension, e.g. ``AF01ANS``), not
paths, so a saved split reproduces on another machine or another layout of the same data.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from emotion_desktop.core.emotions import EMOTIONS, INDEX_BY_CODE
from emotion_desktop.core.errors import DatasetError
from emotion_desktop.core.files import read_json, unreadable_reason, walk

# A split file lists each face's key once per model: the shipped default's, of 36,000 faces,
# is 1 MB. Larger files are refused unread (see files.read_small_text).
MAX_SPLIT_BYTES = 64 * 2**20
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
ANGLES: tuple[str, ...] = ("S", "HL", "HR", "FL", "FR")
FRONTAL_ANGLES: tuple[str, ...] = ("S",)
ANGLE_SETS: dict[str, tuple[str, ...]] = {"all": ANGLES, "frontal": FRONTAL_ANGLES}
_NAME = re.compile(r"^([AB])([FM])(\d{2})(AF|AN|DI|HA|NE|SA|SU)(S|HL|HR|FL|FR)$")


class Record(Protocol):
    """What splits and the dataset read of a labelled face, whatever its source: a KdefRecord
    or a ``sources.FaceRecord``."""

    @property
    def path(self) -> Path: ...
    @property
    def key(self) -> str: ...
    @property
    def label(self) -> int: ...
    @property
    def person(self) -> str | None: ...
    @property
    def part(self) -> str | None: ...
    @property
    def framing(self) -> str: ...
    @property
    def target(self) -> tuple[float, ...] | None: ...


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


@dataclass(frozen=True)
class Split:
    """Which file keys train and which test; saved with the model so it can be reproduced."""

    protocol: str  # "random", "person", "official" (the source's own parts) or "whole"
    seed: int
    train: tuple[str, ...]
    test: tuple[str, ...]
    fold: int = 0
    folds: int = 1
    val: tuple[str, ...] = ()  # the source's own validation part; empty: drawn from train

    def to_dict(self) -> dict:
        data = {**self.describe(), "train": list(self.train), "test": list(self.test)}
        if self.val:
            data["val"] = list(self.val)
        return data

    def describe(self) -> dict:
        """The card's summary: everything but the key lists."""
        return {
            "protocol": self.protocol,
            "seed": self.seed,
            "fold": self.fold,
            "folds": self.folds,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Split:
        return cls(
            data["protocol"],
            int(data["seed"]),
            tuple(data["train"]),
            tuple(data["test"]),
            int(data.get("fold", 0)),
            int(data.get("folds", 1)),
            tuple(data.get("val", ())),
        )

    @classmethod
    def load(cls, path: Path) -> Split:
        try:
            return cls.from_dict(read_json(Path(path), MAX_SPLIT_BYTES))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"cannot read the split file {path}: {exc}") from exc

    def select(self, records: Iterable[Record]) -> tuple[list[Record], list[Record], list[Record]]:
        """Train, validation and test records, in split order; keys absent from ``records`` are
        dropped. Validation is empty unless the source has its own validation part."""
        by_key = {r.key: r for r in records}
        return (
            [by_key[k] for k in self.train if k in by_key],
            [by_key[k] for k in self.val if k in by_key],
            [by_key[k] for k in self.test if k in by_key],
        )


def random_split(records: Sequence[Record], test_fraction: float = 0.2, seed: int = 0) -> Split:
    """The paper's protocol: stratified by expression, random over images (people overlap)."""
    train, test = stratified_partition(records, test_fraction, seed)
    return Split("random", seed, tuple(r.key for r in train), tuple(r.key for r in test))


def stratified_partition(
    records: Sequence[Record], fraction: float, seed: int
) -> tuple[list[Record], list[Record]]:
    """Split ``records`` so that ``fraction`` of each expression goes to the second part."""
    if not 0 < fraction < 1:
        raise DatasetError(f"a split fraction must be between 0 and 1, not {fraction}")
    rng = random.Random(seed)
    by_label: dict[int, list[Record]] = defaultdict(list)
    for r in sorted(records, key=lambda r: r.key):
        by_label[r.label].append(r)
    first: list[Record] = []
    second: list[Record] = []
    for label in sorted(by_label):
        group = by_label[label]
        rng.shuffle(group)
        n = round(len(group) * fraction)
        if len(group) > 1:
            n = min(max(n, 1), len(group) - 1)
        second += group[:n]
        first += group[n:]
    if not first or not second:
        raise DatasetError(f"{len(records)} images are too few to split")
    return first, second


def person_split(
    records: Sequence[KdefRecord], folds: int = 5, fold: int = 0, seed: int = 0
) -> Split:
    """Person-disjoint k-fold: fold ``fold`` of the people is the test set, the rest train.

    No actor appears on both sides, which is what a webcam user (a new face) experiences.
    """
    people = sorted({r.person for r in records})
    if len(people) < folds or folds < 2:
        raise DatasetError(
            f"a person-disjoint split into {folds} folds needs at least {max(folds, 2)} people; "
            f"found {len(people)}"
        )
    if not 0 <= fold < folds:
        raise DatasetError(f"fold must be in 0..{folds - 1}, not {fold}")
    random.Random(seed).shuffle(people)
    test_people = set(people[fold::folds])
    ordered = sorted(records, key=lambda r: r.key)
    return Split(
        "person",
        seed,
        tuple(r.key for r in ordered if r.person not in test_people),
        tuple(r.key for r in ordered if r.person in test_people),
        fold,
        folds,
    )


def official_split(records: Sequence[Record]) -> Split:
    """The source's own train / valid / test parts (FER+, a folder with part sub-folders)."""
    ordered = sorted(records, key=lambda r: r.key)

    def part(name: str) -> tuple[str, ...]:
        return tuple(r.key for r in ordered if r.part == name)

    if not part("train") or not part("test"):
        found = sorted({str(r.part) for r in records})
        raise DatasetError(
            "a source split into parts needs both a train and a test part; it has "
            f"{' and '.join(found) or 'none'} (a folder with one sub-folder per emotion is split "
            "at random instead)"
        )
    return Split("official", 0, part("train"), part("test"), val=part("valid"))


def whole_split(records: Sequence[Record]) -> Split:
    """Every record a test face: a source that trains nothing, scored in full. Holding back
    80% of a user's labelled photos would score only a fifth of them, and no face of it can
    have trained a model that never learnt the source."""
    return Split("whole", 0, (), tuple(sorted(r.key for r in records)))


def make_split(
    records: Sequence[Record], protocol: str, seed: int = 0, fold: int = 0, folds: int = 5
) -> Split:
    """The split of one source: its official parts where it has them, else ``protocol``."""
    if any(r.part for r in records):
        return official_split(records)
    if protocol == "random":
        return random_split(records, 0.2, seed)
    if protocol == "person":
        if not all(r.person for r in records):
            raise DatasetError("a person-disjoint split needs a source that names its people")
        return person_split(records, folds, fold, seed)
    raise DatasetError(f"unknown split protocol {protocol!r}: use 'random' or 'person'")
