"""Folder in, model and card out: the training run (from a CAE, or fine-tuning a saved model)
that the CLI and GUI share.

scan -> angle filter -> split -> cached face crops -> validation part -> two stages -> test
scores -> checkpoint, card and split file. The split is saved beside the model so that
``evaluate`` reproduces the card's test figure from the same images.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from emotion_desktop.core.callbacks import CancelFn, StepFn
from emotion_desktop.core.data.dataset import FaceSet
from emotion_desktop.core.data.prepare import Absent, DataOptions, PreparedData, prepare_data
from emotion_desktop.core.data.splits import Split
from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.errors import CheckpointError, DatasetError
from emotion_desktop.core.model.card import FineTunedFrom, ModelCard
from emotion_desktop.core.model.checkpoints import LoadedModel, load_model, save_with_splits
from emotion_desktop.core.model.metrics import Scores
from emotion_desktop.core.model.networks import EmotionCNN
from emotion_desktop.core.runtime import Work, use_threads
from emotion_desktop.core.train import distributed
from emotion_desktop.core.train.card import make_card
from emotion_desktop.core.train.config import TrainConfig
from emotion_desktop.core.train.evaluate import score_faces
from emotion_desktop.core.train.loop import History, ProgressFn, fit
from emotion_desktop.core.train.resume import ResumeFile, resume_path, run_identity
from emotion_desktop.core.vision.faces import CropSettings


@dataclass
class TrainResult:
    path: Path
    card: ModelCard
    scores: Scores
    history: History
    absent: list[Absent] = field(default_factory=list)  # scored on fewer test faces than listed


def check_writable(out: Path) -> None:
    """CheckpointError unless a model can be written at ``out``: its folder can be made and
    takes a file, and ``out`` is not a folder or a special file (a device, a pipe)."""
    if out.exists() and not out.is_file():
        raise CheckpointError(f"{out} is not a regular file: choose another --out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out.parent):
            pass
    except OSError as exc:
        raise CheckpointError(
            f"cannot write a model in {out.parent}: {exc.strerror or exc}"
        ) from exc


def train_from_folder(
    options: DataOptions,
    config: TrainConfig,
    out: Path,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    step: StepFn | None = None,
    base: Path | None = None,
) -> TrainResult:
    """Train both stages on every source and write ``out`` (.pt), its card and its splits.

    ``scores`` in the result (and ``test`` in the card) are the first source's test figures; the
    card's ``tests`` hold every source's. A run interrupted by a cancel or a crash resumes from
    ``out``'s ``.partial.pt`` file.

    ``base``, a saved one-network model, is fine-tuned instead of trained from a CAE: its
    network and crop settings must match ``config``'s, and its saved splits are kept, so faces
    it was tested on never train it.
    """
    out = Path(out)
    t0 = time.perf_counter()
    use_threads(Work.TRAINING)  # every core, whatever this thread computed with before
    check_writable(out)  # before the hours of training, not after them
    start = _fine_tune_base(base, config) if base is not None else None
    base_splits = start.saved_splits() if start is not None else {}
    crop = config.crop_settings()
    data = prepare_data(
        options, crop, config.val_fraction, cache_dir, step, cancel, splits=base_splits
    )
    identity = _data_identity(options, data, base)
    resume = resume_path(out)
    ResumeFile.check_owner(resume, run_identity(config, identity))
    train, val = data.train, data.val
    _check_expressions(train)
    model, history = fit(
        train.images,
        train.labels,
        val.images,
        val.labels,
        config,
        progress,
        cancel,
        resume,
        identity,
        train_targets=train.targets,
        sample_weights=data.sample_weights(),
        base=start.model if start else None,
    )
    tests = {s.name: score_faces(model, s.test, flip=True) for s in data.sources}
    plain = score_faces(model, data.first.test, flip=False)
    card = make_card(options, config, data, tests, plain, history, time.perf_counter() - t0)
    card = replace(card, name=out.stem)
    if start is not None:
        card = _fine_tuned(card, start)
    # a fine-tune keeps its base's splits of sources it did not see again: their training
    # faces are in its weights, and only their saved test faces may score it
    if distributed.is_main():
        _save_run(out, model.cpu(), crop, card, {**base_splits, **data.splits()}, resume)
    return TrainResult(out, card, tests[data.first.name], history, data.absences)


def _data_identity(options: DataOptions, data: PreparedData, base: Path | None) -> dict:
    """What, beside the settings, a resume file must match to be continued: the splits,
    angles and weights of the data, and the exact base file of a fine-tune."""
    return {
        "splits": {name: split.to_dict() for name, split in data.splits().items()},
        "angles": options.angles,
        "weights": [s.weight for s in data.sources],
        "base": _file_digest(base) if base is not None else None,
    }


def _check_expressions(train: FaceSet) -> None:
    """DatasetError unless the training faces show two expressions or more: one alone would
    train a classifier that answers it for every face."""
    present = sorted({NAMES[int(i)] for i in np.unique(train.labels)})
    if len(present) < 2:
        raise DatasetError(
            f"the training faces show one expression only ({', '.join(present) or 'none'}): "
            "a classifier needs at least two; check the folder holds the other expressions"
        )


def _fine_tuned(card: ModelCard, start: LoadedModel) -> ModelCard:
    """A fine-tune's card with its base recorded, and the sources in the base's weights, which
    ``ModelCard.learnt_sources`` reads so the fine-tune is never tested afresh on them."""
    return replace(
        card,
        method=f"{start.card.method or ''}; fine-tuned",
        fine_tuned_from=FineTunedFrom(
            name=start.path.stem,
            created=start.card.created,
            training=start.card.training,
            learnt=tuple(start.card.learnt_sources()),
            note="a class balance of the base is not carried over: run balance again",
        ),
    )


def _save_run(
    out: Path,
    model: EmotionCNN,
    crop: CropSettings,
    card: ModelCard,
    splits: dict[str, Split],
    resume: Path,
) -> None:
    """Save the model, card and splits, then drop the resume file; where the save fails, the
    resume file keeps the trained weights, so a second run saves them without training."""
    try:
        save_with_splits(out, model, crop, card, splits)
    except CheckpointError as exc:
        raise CheckpointError(
            f"{exc}. The trained weights are kept in {resume.name}: free some space and "
            "start again to save them."
        ) from exc
    resume.unlink(missing_ok=True)


def fine_tune_defaults(path: Path) -> TrainConfig:
    """The settings a fine-tune of the model at ``path`` starts from: its card's training
    settings, with the crops and network read from the model file itself, which alone is sure
    to hold them (the card may be missing, or older than a setting such as the framing)."""
    base = _one_network(path)
    try:
        config = TrainConfig.checked(base.card.training.settings())
    except TypeError as exc:
        raise CheckpointError(f"{path.name}'s card: {exc}") from exc
    crop, network = base.crop, base.model.config
    return replace(
        config,
        input_size=crop.size,
        margin=crop.margin,
        equalize=crop.equalize,
        studio=crop.studio,
        third_pool=network.third_pool,
        dropout=network.dropout,
    )


def _one_network(path: Path) -> LoadedModel:
    """A fine-tune's base: one network (an ensemble's members are fine-tuned one by one)."""
    base = load_model(path)
    if not isinstance(base.model, EmotionCNN):
        raise CheckpointError(f"{path.name} is an ensemble: fine-tune one of its members")
    return base


def _fine_tune_base(path: Path, config: TrainConfig) -> LoadedModel:
    """The model at ``path``, refused unless it is one network shaped as ``config`` asks."""
    base = _one_network(path)
    if (base.model.config.input_size, base.model.config.third_pool, base.crop) != (
        config.input_size,
        config.third_pool,
        config.crop_settings(),
    ):
        raise CheckpointError(
            f"{path.name} was trained on other crops or another network than these settings ask"
        )
    return base


def _file_digest(path: Path) -> str:
    """SHA-256 of a file: what a resumed fine-tune checks it still starts from."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
