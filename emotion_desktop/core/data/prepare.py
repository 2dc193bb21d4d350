"""What a run trains and tests on: every source scanned, split and cropped into faces.

Training, evaluation, ensembles and the class balance all start here, so a saved model's
sources are prepared again exactly as its training prepared them (the same split, the same
validation faces, the same faces dropped as copies of a test face).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from emotion_desktop.core.callbacks import CancelFn, StepFn
from emotion_desktop.core.data.dataset import FaceSet, build_faces
from emotion_desktop.core.data.kdef import filter_angles
from emotion_desktop.core.data.sources import Scan, scan_source, source_names
from emotion_desktop.core.data.splits import Record, Split, make_split, stratified_partition
from emotion_desktop.core.errors import DatasetError
from emotion_desktop.core.vision.faces import CropSettings


@dataclass(frozen=True)
class DataOptions:
    """Which images and which protocol: what a user picks before training or evaluating.

    ``folder`` is the first source (its test figure is the card's ``test``); ``more`` adds
    sources (FER+, labelled folders, another KDEF copy). ``protocol`` and ``angles`` apply to KDEF
    sources; a source with official parts (FER+ Train/Valid/Test) keeps them. ``weights`` give
    each source's sampling weight, in order (1 each where absent).
    """

    folder: Path
    protocol: str = "random"  # "random" (the paper's 80/20) or "person" (person-disjoint folds)
    angles: str = "all"  # "all" five angles or "frontal" only
    seed: int = 0
    fold: int = 0
    folds: int = 5
    more: tuple[Path, ...] = ()
    weights: tuple[float, ...] = ()

    @property
    def folders(self) -> tuple[Path, ...]:
        return (Path(self.folder), *map(Path, self.more))

    def weight(self, index: int) -> float:
        return self.weights[index] if index < len(self.weights) else 1.0


@dataclass
class SourceData:
    """One source's faces on each side of its split."""

    name: str
    scan: Scan
    split: Split
    weight: float
    train: FaceSet
    val: FaceSet
    test: FaceSet
    skipped: dict[str, str]  # file key -> why it could not be used (unreadable, blank)
    test_duplicates_removed: int = 0  # training faces pixel-identical to a test face

    @property
    def absent_test_images(self) -> int:
        """Test images its (saved) split lists that the folder does not hold: another or a
        trimmed copy of the source, whose test figures are then on the rest."""
        return len(set(self.split.test) - {r.key for r in self.scan.records})


@dataclass(frozen=True)
class Absent:
    """A source whose folder lacks test images of the split it was scored on."""

    name: str
    folder: Path
    absent: int
    listed: int  # test images the split lists


@dataclass
class PreparedData:
    sources: list[SourceData]

    @property
    def first(self) -> SourceData:
        return self.sources[0]

    @property
    def split(self) -> Split:
        return self.first.split

    @cached_property
    def train(self) -> FaceSet:
        """Every source's training faces in one set (concatenated once)."""
        return FaceSet.concatenate([s.train for s in self.sources], self.names)

    @cached_property
    def val(self) -> FaceSet:
        return FaceSet.concatenate([s.val for s in self.sources], self.names)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.sources]

    def splits(self) -> dict[str, Split]:
        return {s.name: s.split for s in self.sources}

    @cached_property
    def absences(self) -> list[Absent]:
        """The sources whose folders lack test images of their (saved) splits (read by the
        card and by the result, found once)."""
        absent = [(s, s.absent_test_images) for s in self.sources]
        return [Absent(s.name, s.scan.folder, n, len(s.split.test)) for s, n in absent if n]

    def sample_weights(self) -> np.ndarray | None:
        """Per training face, its source's weight; None where every weight is 1."""
        if all(s.weight == 1.0 for s in self.sources):
            return None
        return np.concatenate([np.full(len(s.train), s.weight) for s in self.sources])


def prepare_data(
    options: DataOptions,
    crop: CropSettings,
    val_fraction: float,
    cache_dir: Path | None,
    step: StepFn | None = None,
    cancel: CancelFn | None = None,
    splits: dict[str, Split] | None = None,
    scans: list[Scan] | None = None,
) -> PreparedData:
    """Scan, split and crop every source; ``splits`` (saved with a model) replace fresh ones,
    and ``scans`` (of ``options.folders``, in order), where the caller has them, a fresh scan.

    A source with its own validation part (FER+ Valid) validates on it; the others keep
    ``val_fraction`` of their training part. Training and validation faces pixel-identical to a
    test face of any source (FER2013 holds hundreds within itself, and shares every photo with
    FER+) are dropped, so no test face trains or chooses.
    """
    scans = scans or [scan_source(f) for f in options.folders]
    names = source_names(scans)
    prepared = []
    for index, (name, found) in enumerate(zip(names, scans)):
        split, (train_records, val_records, test_records) = _split_source(
            found, options, (splits or {}).get(name), val_fraction
        )

        def on_step(fraction: float, message: str, i: int = index, n: str = name) -> None:
            if step is not None:
                step((i + fraction) / len(scans), f"{n}: {message}")

        faces = build_faces(
            train_records + val_records + test_records,
            found.folder,
            crop,
            cache_dir,
            on_step,
            cancel,
        )
        prepared.append(
            SourceData(
                name,
                found,
                split,
                options.weight(index),
                faces.subset([r.key for r in train_records]),
                faces.subset([r.key for r in val_records]),
                faces.subset([r.key for r in test_records]),
                {**found.unreadable, **faces.skipped},
            )
        )
    _drop_test_copies(prepared)
    return PreparedData(prepared)


def _split_source(
    found: Scan, options: DataOptions, saved: Split | None, val_fraction: float
) -> tuple[Split, tuple[list[Record], list[Record], list[Record]]]:
    """A source's split (``saved``, else a fresh one by ``options``) and its train, validation
    and test records; DatasetError where a side it needs is empty."""
    records = found.records
    if found.kind == "kdef":
        records = filter_angles(records, options.angles)
        if not records:
            raise DatasetError(f"no {options.angles} images in {found.folder}")
    split = saved or make_split(
        records, options.protocol, options.seed, options.fold, options.folds
    )
    train_records, val_records, test_records = split.select(records)
    if not test_records or (not train_records and split.protocol != "whole"):
        raise DatasetError(f"the split leaves no training or no test images in {found.folder}")
    if not val_records and val_fraction > 0:  # the split's seed: a saved split, the same
        train_records, val_records = stratified_partition(  # validation faces again
            train_records, val_fraction, split.seed
        )
    return split, (train_records, val_records, test_records)


def _drop_test_copies(prepared: list[SourceData]) -> None:
    """Drop training and validation faces pixel-identical to a test face of any source, once
    every source is read: FER2013 and FER+ hold the same photos, so one source's test face can
    be another's training face."""
    seen = {image.tobytes() for source in prepared for image in source.test.images}
    for source in prepared:
        train, val = _without(source.train, seen), _without(source.val, seen)
        source.test_duplicates_removed = len(source.train) + len(source.val) - len(train) - len(val)
        source.train, source.val = train, val


def _without(faces: FaceSet, images: set[bytes]) -> FaceSet:
    """``faces`` less those whose pixels are among ``images``."""
    return faces.rows([i for i, image in enumerate(faces.images) if image.tobytes() not in images])
