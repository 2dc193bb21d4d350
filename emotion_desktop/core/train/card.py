"""The model card a run writes beside its model: data, split, settings, machine, curves and
test figures, with the terms of use of the data it learnt from (read back by ``model.card``).
"""

from __future__ import annotations

import datetime as _dt
import platform

import numpy as np
import torch

from emotion_desktop import __version__
from emotion_desktop.core.data.dataset import FaceSet
from emotion_desktop.core.data.prepare import DataOptions, PreparedData, SourceData
from emotion_desktop.core.data.splits import Split
from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.model.card import (
    CardScores,
    Counts,
    DataPart,
    ModelCard,
    SourcePart,
    SplitPart,
    TrainingPart,
)
from emotion_desktop.core.model.metrics import Scores
from emotion_desktop.core.train import distributed
from emotion_desktop.core.train.config import TrainConfig
from emotion_desktop.core.train.loop import History

KDEF_TERMS = (
    "Trained on the Karolinska Directed Emotional Faces (KDEF; Lundqvist, Flykt & Ohman, 1998, "
    "Karolinska Institutet). KDEF may be used free of charge for non-commercial research; its "
    "images may not be redistributed. No KDEF image is included in this application."
)


FERPLUS_TERMS = (
    "Trained on FER2013 (Goodfellow et al., ICML 2013 challenge; research use) with the FER+ "
    "labels (Barsoum et al., 2016; MIT licence). No FER2013 image is included in this "
    "application."
)


TERMS = {"kdef": KDEF_TERMS, "ferplus": FERPLUS_TERMS}


def make_card(
    options: DataOptions,
    config: TrainConfig,
    data: PreparedData,
    tests: dict[str, Scores],
    plain: Scores,
    history: History,
    seconds: float,
) -> ModelCard:
    """The model card. Its ``data``, ``split`` and ``test`` describe the first source (KDEF in
    both shipped models); ``data.sources`` and ``tests`` cover every source."""
    first = data.first
    kinds = {s.scan.kind for s in data.sources}
    return ModelCard(
        created=now(),
        app_version=__version__,
        method="CAE-pretrained CNN (Wiranata, Pranowo & Santoso 2020)"
        if config.use_cae
        else "CNN from random initialisation (no CAE stage)",
        data=DataPart(
            folder=str(first.scan.folder),
            found=len(first.scan.records),
            angles=options.angles,
            skipped=dict(first.skipped),
            missing=len(getattr(first.scan, "missing", ())),
            counts=_counts(first),
            face_location=_merge_counts(
                *(f for s in data.sources for f in (s.train, s.val, s.test))
            ),
            sources=tuple(_source_part(s) for s in data.sources),
        ),
        split=_split_part(first.split),
        training=_training_part(config, history, seconds, "ferplus" in kinds),
        history={k: v for k, v in vars(history).items() if k != "seconds"},
        **card_test_sections(tests, data, plain),
        terms_of_use=" ".join(TERMS[k] for k in sorted(kinds) if k in TERMS),
    )


def now() -> str:
    """A card's ``created``: the time in UTC, to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _split_part(split: Split) -> SplitPart:
    return SplitPart(**split.describe())


def _training_part(
    config: TrainConfig, history: History, seconds: float, votes: bool
) -> TrainingPart:
    """The run's settings and what it took; ``votes``: FER+'s vote distributions were the
    targets of its faces."""
    return TrainingPart.from_settings(
        config.to_dict(),
        optimizer="CAE: Adam; CNN: AdamW with one-cycle schedule",
        targets="FER+ vote distributions, one-hot elsewhere" if votes else "one-hot labels",
        epochs_run_cnn=len(history.train_loss),
        seconds={k: round(v, 1) for k, v in history.seconds.items()},
        seconds_total=round(seconds, 1),
        processes=distributed.world_size(),
        torch=torch.__version__,
        machine=f"{platform.machine()} {torch.get_num_threads()} threads",
        device=distributed.device_name(),
    )


def _counts(source: SourceData) -> Counts:
    return Counts(
        train=len(source.train),
        validation=len(source.val),
        test=len(source.test),
        test_per_class=label_counts_from(source.test),
    )


def _source_part(source: SourceData) -> SourcePart:
    return SourcePart(
        name=source.name,
        kind=source.scan.kind,
        folder=str(source.scan.folder),
        weight=source.weight,
        found=len(source.scan.records),
        split=_split_part(source.split),
        skipped=len(source.skipped),
        skipped_files=dict(source.skipped),  # file -> why (unreadable, blank)
        test_duplicates_removed=source.test_duplicates_removed,
        counts=_counts(source),
    )


def card_test_sections(
    tests: dict[str, Scores], data: PreparedData, plain: Scores
) -> dict[str, CardScores | dict[str, CardScores]]:
    """The card's test figures, as :class:`ModelCard` fields: ``test`` (the first source),
    ``test_without_flip`` (the same faces without the mirrored average) and ``tests`` (every
    source, with the count of its split's test images that its folder lacked, where any did:
    the figures are on the rest)."""
    absent = {a.name: a.absent for a in data.absences}
    flipped = {
        name: card_scores(t, test_time_flip=True, absent_test_images=absent.get(name))
        for name, t in tests.items()
    }
    return {
        "test": flipped[data.first.name],
        "test_without_flip": card_scores(plain),
        "tests": flipped,
    }


def card_scores(scores: Scores, **flags: bool | int | None) -> CardScores:
    """``scores`` as a card holds them, with ``CardScores``' flags."""
    return CardScores(**vars(scores), **flags)


def label_counts_from(faces: FaceSet) -> dict[str, int]:
    counts = np.bincount(faces.labels, minlength=len(NAMES))
    return {n: int(c) for n, c in zip(NAMES, counts)}


def _merge_counts(*sets: FaceSet) -> dict[str, int]:
    total: dict[str, int] = {}
    for s in sets:
        for k, v in s.detection_counts().items():
            total[k] = total.get(k, 0) + v
    return total
