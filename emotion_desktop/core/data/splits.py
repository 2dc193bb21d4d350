"""Train/test splits of any source, and the ``Record`` protocol they read of a labelled face.

Splits are stored as lists of file *keys* (the name without extension, e.g. ``AF01ANS``), not
paths, so a saved split reproduces on another machine or another layout of the same data.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from emotion_desktop.core.errors import DatasetError
from emotion_desktop.core.files import read_json

# A split file lists each face's key once per model: the shipped default's, of 36,000 faces,
# is 1 MB. Larger files are refused unread (see files.read_small_text).
MAX_SPLIT_BYTES = 64 * 2**20


class Record(Protocol):
    """What splits and the dataset read of a labelled face, whatever its source: a
    ``kdef.KdefRecord`` or a ``sources.FaceRecord``."""

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


def person_split(records: Sequence[Record], folds: int = 5, fold: int = 0, seed: int = 0) -> Split:
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
