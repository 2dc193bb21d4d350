"""Folder in, model and card out: the whole training and evaluation run the CLI and GUI share.

scan -> angle filter -> split -> cached face crops -> validation part -> two stages -> test
scores -> checkpoint, card and split file. The split is saved beside the model so that
``evaluate`` reproduces the card's test figure from the same images.
"""

from __future__ import annotations

import datetime as _dt
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from emotion_desktop import __version__
from emotion_desktop.core import distributed
from emotion_desktop.core.checkpoints import LoadedModel, half_round_trip, load_model, save_model
from emotion_desktop.core.dataset import FaceSet, build_faces, to_tensor
from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.errors import CheckpointError, DatasetError
from emotion_desktop.core.faces import CropSettings
from emotion_desktop.core.kdef import (
    ScanResult,
    Split,
    filter_angles,
    make_split,
    scan,
    stratified_partition,
)
from emotion_desktop.core.metrics import Scores, score
from emotion_desktop.core.model import EmotionCNN, EnsembleCNN
from emotion_desktop.core.training import CancelFn, History, ProgressFn, TrainConfig, evaluate, fit

KDEF_TERMS = (
    "Trained on the Karolinska Directed Emotional Faces (KDEF; Lundqvist, Flykt & Ohman, 1998, "
    "Karolinska Institutet). KDEF may be used free of charge for non-commercial research; its "
    "images may not be redistributed. No KDEF image is included in this application."
)
StepFn = Callable[[float, str], None]


@dataclass(frozen=True)
class DataOptions:
    """Which images and which protocol: what a user picks before training or evaluating."""

    folder: Path
    protocol: str = "random"  # "random" (the paper's 80/20) or "person" (person-disjoint folds)
    angles: str = "all"  # "all" five angles or "frontal" only
    seed: int = 0
    fold: int = 0
    folds: int = 5


@dataclass
class PreparedData:
    scan: ScanResult
    split: Split
    train: FaceSet
    val: FaceSet
    test: FaceSet
    skipped: dict[str, str]  # file key -> why it could not be used (unreadable, blank)


def split_path(checkpoint: Path) -> Path:
    return Path(checkpoint).with_suffix(".split.json")


def prepare_data(
    options: DataOptions,
    crop: CropSettings,
    val_fraction: float,
    cache_dir: Path | None,
    step: StepFn | None = None,
    cancel: CancelFn | None = None,
    split: Split | None = None,
) -> PreparedData:
    """Scan, split and crop; ``split`` (e.g. from a card) replaces a freshly drawn one."""
    found = scan(options.folder)
    records = filter_angles(found.records, options.angles)
    if not records:
        raise DatasetError(f"no {options.angles} images in {options.folder}")
    if split is None:
        split = make_split(records, options.protocol, options.seed, options.fold, options.folds)
    train_records, test_records = split.select(records)
    if not train_records or not test_records:
        raise DatasetError(f"the split leaves no training or no test images in {options.folder}")
    faces = build_faces(train_records + test_records, options.folder, crop, cache_dir, step, cancel)
    if val_fraction > 0:
        fit_records, val_records = stratified_partition(train_records, val_fraction, options.seed)
    else:
        fit_records, val_records = train_records, []
    return PreparedData(
        found,
        split,
        faces.subset([r.key for r in fit_records]),
        faces.subset([r.key for r in val_records]),
        faces.subset([r.key for r in test_records]),
        faces.skipped,
    )


def score_faces(model: torch.nn.Module, faces: FaceSet, flip: bool) -> Scores:
    x = to_tensor(faces.images).to(distributed.device())
    y = torch.from_numpy(faces.labels).to(distributed.device())
    result = evaluate(model, x, y, flip=flip)
    return score(faces.labels, result.predictions)


@dataclass
class TrainResult:
    path: Path
    card: dict
    scores: Scores
    history: History


def train_from_folder(
    options: DataOptions,
    config: TrainConfig,
    out: Path,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    step: StepFn | None = None,
) -> TrainResult:
    """Train both stages on a KDEF folder and write ``out`` (.pt), its card and its split.

    A run interrupted by a cancel or a crash resumes from ``out``'s ``.partial.pt`` file.
    """
    out = Path(out)
    t0 = time.perf_counter()
    data = prepare_data(
        options, config.crop_settings(), config.val_fraction, cache_dir, step, cancel
    )
    identity = {"split": data.split.to_dict(), "angles": options.angles}
    resume = resume_path(out)
    model, history = fit(
        data.train.images,
        data.train.labels,
        data.val.images,
        data.val.labels,
        config,
        progress,
        cancel,
        resume,
        identity,
    )
    scores = score_faces(model, data.test, flip=True)
    plain = score_faces(model, data.test, flip=False)
    card = make_card(options, config, data, scores, plain, history, time.perf_counter() - t0)
    card["name"] = out.stem
    if distributed.is_main():
        try:
            data.split.save(split_path(out))
            save_model(out, model.cpu(), config.crop_settings(), card)
        except OSError as exc:
            raise CheckpointError(
                f"could not save the model to {out}: {exc.strerror or exc}. The trained weights "
                f"are kept in {resume.name}: free some space and start again to save them."
            ) from exc
        resume.unlink(missing_ok=True)
    return TrainResult(out, card, scores, history)


def resume_path(out: Path) -> Path:
    """Where a run writing ``out`` keeps its state between epochs."""
    return Path(out).with_suffix(".partial.pt")


def make_card(
    options: DataOptions,
    config: TrainConfig,
    data: PreparedData,
    scores: Scores,
    plain: Scores,
    history: History,
    seconds: float,
) -> dict:
    return {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "app_version": __version__,
        "method": "CAE-pretrained CNN (Wiranata, Pranowo & Santoso 2020)"
        if config.use_cae
        else "CNN from random initialisation (no CAE stage)",
        "data": {
            "folder": str(options.folder),
            "found": len(data.scan.records),
            "angles": options.angles,
            "skipped": data.skipped,
            "missing": len(data.scan.missing),
            "counts": {
                "train": len(data.train),
                "validation": len(data.val),
                "test": len(data.test),
                "test_per_class": label_counts_from(data.test),
            },
            "face_location": _merge_counts(data.train, data.val, data.test),
        },
        "split": {
            "protocol": data.split.protocol,
            "seed": data.split.seed,
            "fold": data.split.fold,
            "folds": data.split.folds,
        },
        "training": {
            **config.to_dict(),
            "optimizer": "CAE: Adam; CNN: AdamW with one-cycle schedule",
            "epochs_run_cnn": len(history.train_loss),
            "seconds": {k: round(v, 1) for k, v in history.seconds.items()},
            "seconds_total": round(seconds, 1),
            "processes": distributed.world_size(),
            "torch": torch.__version__,
            "machine": f"{platform.machine()} {torch.get_num_threads()} threads",
        },
        "history": {k: v for k, v in vars(history).items() if k != "seconds"},
        "test": {**scores.to_dict(), "test_time_flip": True},
        "test_without_flip": plain.to_dict(),
        "terms_of_use": KDEF_TERMS,
    }


def label_counts_from(faces: FaceSet) -> dict[str, int]:
    counts = np.bincount(faces.labels, minlength=len(NAMES))
    return {n: int(c) for n, c in zip(NAMES, counts)}


def _merge_counts(*sets: FaceSet) -> dict[str, int]:
    total: dict[str, int] = {}
    for s in sets:
        for k, v in s.detection_counts().items():
            total[k] = total.get(k, 0) + v
    return total


def combine_models(
    members: list[Path],
    folder: Path,
    out: Path,
    cache_dir: Path | None = None,
    step: StepFn | None = None,
    half: bool = True,
) -> TrainResult:
    """Average models trained on one split with different seeds into one model file.

    The members must share their network, crop settings, angles and split (the split file saved
    beside each), so the ensemble is tested on faces none of them saw. Its card keeps the first
    member's data and training settings and records each member's seed and figures beside the
    ensemble's own: test, validation, and the summed training time. ``half`` stores the weights
    as float16 (two members then take the room of one); the figures are measured as stored.
    """
    if len(members) < 2:
        raise CheckpointError("an ensemble needs two or more member models")
    loaded = [load_model(p) for p in members]
    splits = [_saved_split(p) for p in members]
    first, split, angles = loaded[0], splits[0], _angles_of(loaded[0])
    for path, other, other_split in zip(members, loaded, splits):
        if not isinstance(other.model, EmotionCNN) or other_split != split:
            raise CheckpointError(f"{path.name} is not a single model trained on the same split")
        if (other.model.config, other.crop, _angles_of(other)) != (
            first.model.config,
            first.crop,
            angles,
        ):
            raise CheckpointError(f"{path.name} differs in network, crop settings or angles")
    config = TrainConfig.from_dict(first.card.get("training", {}))
    options = DataOptions(folder, split.protocol, angles, split.seed)
    data = prepare_data(options, first.crop, config.val_fraction, cache_dir, step, split=split)

    def figures(model: torch.nn.Module, card: dict) -> dict:
        return {
            "name": card.get("name"),
            "seed": card.get("training", {}).get("seed"),
            "test_accuracy": score_faces(model, data.test, True).accuracy,
            "validation_accuracy": score_faces(model, data.val, True).accuracy,
            "seconds_total": card.get("training", {}).get("seconds_total", 0.0),
        }

    member_figures = [figures(m.model, m.card) for m in loaded]
    model = EnsembleCNN([m.model for m in loaded])
    if half:
        half_round_trip(model)
    scores, plain = score_faces(model, data.test, True), score_faces(model, data.test, False)
    card = {k: v for k, v in first.card.items() if k != "history"}  # curves stay per member
    card.update(
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        name=out.stem,
        method=f"{card.get('method', '')}; ensemble of {len(members)} seeds",
        ensemble={
            "weights": "float16" if half else "float32",
            "validation_accuracy": score_faces(model, data.val, True).accuracy,
            "members": member_figures,
        },
        training={
            **card.get("training", {}),
            "seed": [f["seed"] for f in member_figures],
            "seconds_total": round(sum(f["seconds_total"] for f in member_figures), 1),
        },
        test={**scores.to_dict(), "test_time_flip": True},
        test_without_flip=plain.to_dict(),
    )
    try:
        split.save(split_path(out))
        save_model(out, model, first.crop, card, half=half)
    except OSError as exc:
        raise CheckpointError(f"could not save the model to {out}: {exc.strerror or exc}") from exc
    return TrainResult(out, card, scores, History())


def _angles_of(loaded: LoadedModel) -> str:
    """Which angles a saved model was trained on, from its card ("all" for older cards)."""
    return loaded.card.get("data", {}).get("angles", "all")


def _saved_split(model_path: Path) -> Split:
    path = split_path(model_path)
    if not path.is_file():
        raise CheckpointError(f"{model_path.name} has no split file beside it ({path.name})")
    return Split.load(path)


def evaluate_on_folder(
    model_path: Path,
    options: DataOptions | None,
    folder: Path,
    cache_dir: Path | None = None,
    step: StepFn | None = None,
) -> tuple[Scores, Split]:
    """Test scores of a saved model: on ``options``' split, else on the split saved with it."""
    loaded = load_model(model_path)
    split = None
    if options is None:
        saved = split_path(model_path)
        options = DataOptions(folder, angles=_angles_of(loaded))
        if saved.is_file():
            split = Split.load(saved)
            options = replace(options, protocol=split.protocol, seed=split.seed)
    data = prepare_data(options, loaded.crop, 0.0, cache_dir, step, split=split)
    return score_faces(loaded.model, data.test, flip=True), data.split
