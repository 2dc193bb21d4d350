"""Folder in, model and card out: the whole training and evaluation run the CLI and GUI share.

scan -> angle filter -> split -> cached face crops -> validation part -> two stages -> test
scores -> checkpoint, card and split file. The split is saved beside the model so that
``evaluate`` reproduces the card's test figure from the same images.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import tempfile
import time
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from emotion_desktop import __version__
from emotion_desktop.core.callbacks import CancelFn, StepFn
from emotion_desktop.core.data.dataset import FaceSet, build_faces, to_tensor
from emotion_desktop.core.data.kdef import (
    MAX_SPLIT_BYTES,
    Split,
    filter_angles,
    make_split,
    stratified_partition,
    whole_split,
)
from emotion_desktop.core.data.sources import Scan, scan_source, source_names
from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.errors import CheckpointError, DatasetError
from emotion_desktop.core.files import atomic_write_text, read_json, same_file
from emotion_desktop.core.model.checkpoints import (
    MAX_MEMBERS,
    LoadedModel,
    card_path,
    half_round_trip,
    load_model,
    read_card,
    save_model,
    split_path,
)
from emotion_desktop.core.model.networks import EmotionCNN, EnsembleCNN
from emotion_desktop.core.train import distributed
from emotion_desktop.core.train.loop import (
    History,
    ProgressFn,
    ResumeFile,
    TrainConfig,
    evaluate,
    fit,
    run_identity,
)
from emotion_desktop.core.train.metrics import Scores, score
from emotion_desktop.core.vision.faces import CropSettings

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


def save_splits(path: Path, splits: dict[str, Split]) -> None:
    """A split per source name, even for one source: a bare split reads back as KDEF's."""
    data = {"sources": {name: s.to_dict() for name, s in splits.items()}}
    atomic_write_text(path, json.dumps(data, indent=1))


def save_with_splits(
    out: Path,
    model: torch.nn.Module,
    crop: CropSettings,
    card: dict,
    splits: dict[str, Split],
    half: bool = False,
) -> None:
    """Write a model, its card and its splits; CheckpointError, saying why, where it fails.

    A model must never sit beside another run's splits (they would score it on faces it trained
    on): the splits are written first to a side file, and take their place by a rename once the
    model is saved, so a full disk at either step leaves the old model with its own splits."""
    final = split_path(out)
    pending = final.with_name(final.name + ".new")
    try:
        save_splits(pending, splits)
        save_model(Path(out), model, crop, card, half=half)
        os.replace(pending, final)
    except OSError as exc:
        pending.unlink(missing_ok=True)
        raise CheckpointError(f"could not save the model to {out}: {exc.strerror or exc}") from exc


def load_splits(path: Path, single: str) -> dict[str, Split]:
    """Splits by source name. A bare split (files written before every split was named) is the
    one source ``single`` (the card's only source: KDEF, or another where the card says so)."""
    try:
        data = read_json(Path(path), MAX_SPLIT_BYTES)
        if isinstance(data, dict) and "sources" in data:
            return {name: Split.from_dict(s) for name, s in data["sources"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DatasetError(f"cannot read the split file {path}: {exc}") from exc
    return {single: Split.load(path)}


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
        records = found.records
        if found.kind == "kdef":
            records = filter_angles(records, options.angles)
            if not records:
                raise DatasetError(f"no {options.angles} images in {found.folder}")
        split = (splits or {}).get(name) or make_split(
            records, options.protocol, options.seed, options.fold, options.folds
        )
        train_records, val_records, test_records = split.select(records)
        if not test_records or (not train_records and split.protocol != "whole"):
            raise DatasetError(f"the split leaves no training or no test images in {found.folder}")
        if not val_records and val_fraction > 0:  # the split's seed: a saved split, the same
            train_records, val_records = stratified_partition(  # validation faces again
                train_records, val_fraction, split.seed
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
    # after every source is read: FER2013 and FER+ hold the same photos, so one source's test
    # face can be another's training face
    seen = {image.tobytes() for source in prepared for image in source.test.images}
    for source in prepared:
        train, val = _without(source.train, seen), _without(source.val, seen)
        source.test_duplicates_removed = len(source.train) + len(source.val) - len(train) - len(val)
        source.train, source.val = train, val
    return PreparedData(prepared)


def _without(faces: FaceSet, images: set[bytes]) -> FaceSet:
    """``faces`` less those whose pixels are among ``images``."""
    return faces.rows([i for i, image in enumerate(faces.images) if image.tobytes() not in images])


def score_faces(model: torch.nn.Module, faces: FaceSet, flip: bool) -> Scores:
    """Test figures of ``model`` on ``faces``, on whichever device the model is."""
    device = next(model.parameters()).device
    x = to_tensor(faces.images).to(device)
    y = torch.from_numpy(faces.labels).to(device)
    result = evaluate(model, x, y, flip=flip)
    return score(faces.labels, result.predictions)


@dataclass
class TrainResult:
    path: Path
    card: dict
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
    check_writable(out)  # before the hours of training, not after them
    start = _fine_tune_base(base, config) if base is not None else None
    base_splits = saved_splits(base) if base is not None else {}
    data = prepare_data(
        options,
        config.crop_settings(),
        config.val_fraction,
        cache_dir,
        step,
        cancel,
        splits=base_splits,
    )
    identity = {
        "splits": {name: split.to_dict() for name, split in data.splits().items()},
        "angles": options.angles,
        "weights": [s.weight for s in data.sources],
        "base": _file_digest(base) if base is not None else None,
    }
    resume = resume_path(out)
    ResumeFile.check_owner(resume, run_identity(config, identity))
    train, val = data.train, data.val
    present = sorted({NAMES[int(i)] for i in np.unique(train.labels)})
    if len(present) < 2:
        raise DatasetError(
            f"the training faces show one expression only ({', '.join(present) or 'none'}): "
            "a classifier needs at least two; check the folder holds the other expressions"
        )
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
    card["name"] = out.stem
    if start is not None:
        card["method"] = f"{start.card.get('method', '')}; fine-tuned"
        card["fine_tuned_from"] = {
            "name": start.path.stem,
            "created": start.card.get("created"),
            "training": start.card.get("training", {}),
            "learnt": learnt_sources(start.card),
            "note": "a class balance of the base is not carried over: run balance again",
        }
    # a fine-tune keeps its base's splits of sources it did not see again: their training
    # faces are in its weights, and only their saved test faces may score it
    splits = {**base_splits, **data.splits()}
    if distributed.is_main():
        try:
            save_with_splits(out, model.cpu(), config.crop_settings(), card, splits)
        except CheckpointError as exc:
            raise CheckpointError(
                f"{exc}. The trained weights are kept in {resume.name}: free some space and "
                "start again to save them."
            ) from exc
        resume.unlink(missing_ok=True)
    return TrainResult(out, card, tests[data.first.name], history, data.absences)


def fine_tune_defaults(path: Path) -> TrainConfig:
    """The settings a fine-tune of the model at ``path`` starts from: its card's training
    settings, with the crops and network read from the model file itself, which alone is sure
    to hold them (the card may be missing, or older than a setting such as the framing)."""
    base = _one_network(path)
    try:
        config = TrainConfig.checked(base.card.get("training", {}))
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


def resume_path(out: Path) -> Path:
    """Where a run writing ``out`` keeps its state between epochs."""
    return Path(out).with_suffix(".partial.pt")


def _source_card(source: SourceData) -> dict:
    return {
        "name": source.name,
        "kind": source.scan.kind,
        "folder": str(source.scan.folder),
        "weight": source.weight,
        "found": len(source.scan.records),
        "split": source.split.describe(),
        "skipped": len(source.skipped),
        "skipped_files": dict(source.skipped),  # file -> why (unreadable, blank)
        "test_duplicates_removed": source.test_duplicates_removed,
        "counts": {
            "train": len(source.train),
            "validation": len(source.val),
            "test": len(source.test),
            "test_per_class": label_counts_from(source.test),
        },
    }


def card_test_sections(tests: dict[str, Scores], data: PreparedData, plain: Scores) -> dict:
    """The card's test figures: ``test`` (the first source), ``test_without_flip`` (the same
    faces without the mirrored average) and ``tests`` (every source, with the count of its
    split's test images that its folder lacked, where any did: the figures are on the rest)."""
    flipped = {name: {**t.to_dict(), "test_time_flip": True} for name, t in tests.items()}
    for a in data.absences:
        flipped[a.name]["absent_test_images"] = a.absent
    return {
        "test": flipped[data.first.name],
        "test_without_flip": plain.to_dict(),
        "tests": flipped,
    }


def make_card(
    options: DataOptions,
    config: TrainConfig,
    data: PreparedData,
    tests: dict[str, Scores],
    plain: Scores,
    history: History,
    seconds: float,
) -> dict:
    """The model card. Its ``data``, ``split`` and ``test`` describe the first source (KDEF in
    both shipped models); ``data.sources`` and ``tests`` cover every source."""
    first = data.first
    kinds = {s.scan.kind for s in data.sources}
    return {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "app_version": __version__,
        "method": "CAE-pretrained CNN (Wiranata, Pranowo & Santoso 2020)"
        if config.use_cae
        else "CNN from random initialisation (no CAE stage)",
        "data": {
            "folder": str(first.scan.folder),
            "found": len(first.scan.records),
            "angles": options.angles,
            "skipped": first.skipped,
            "missing": len(getattr(first.scan, "missing", ())),
            "counts": {
                "train": len(first.train),
                "validation": len(first.val),
                "test": len(first.test),
                "test_per_class": label_counts_from(first.test),
            },
            "face_location": _merge_counts(
                *(f for s in data.sources for f in (s.train, s.val, s.test))
            ),
            "sources": [_source_card(s) for s in data.sources],
        },
        "split": first.split.describe(),
        "training": {
            **config.to_dict(),
            "optimizer": "CAE: Adam; CNN: AdamW with one-cycle schedule",
            "targets": "FER+ vote distributions, one-hot elsewhere"
            if "ferplus" in kinds
            else "one-hot labels",
            "epochs_run_cnn": len(history.train_loss),
            "seconds": {k: round(v, 1) for k, v in history.seconds.items()},
            "seconds_total": round(seconds, 1),
            "processes": distributed.world_size(),
            "torch": torch.__version__,
            "machine": f"{platform.machine()} {torch.get_num_threads()} threads",
            "device": distributed.device_name(),
        },
        "history": {k: v for k, v in vars(history).items() if k != "seconds"},
        **card_test_sections(tests, data, plain),
        "terms_of_use": " ".join(TERMS[k] for k in sorted(kinds) if k in TERMS),
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
    folders: list[Path],
    out: Path,
    cache_dir: Path | None = None,
    step: StepFn | None = None,
    half: bool = True,
) -> TrainResult:
    """Average models trained on one split with different seeds into one model file.

    The members must be averageable (:func:`load_members`); ``folders`` are the sources they
    were trained on, in the same order. Its card keeps the first member's data and
    training settings and records each member's seed and figures beside the ensemble's own:
    test, validation, and the summed training time. ``half`` stores the weights as float16 (two
    members then take the room of one); the figures are measured as stored.
    """
    loaded, split = load_members(members)
    first = loaded[0]
    data = prepare_saved_data(first, folders, cache_dir, step)
    val = data.val

    def figures(model: torch.nn.Module, card: dict) -> dict:
        return {
            "name": card.get("name"),
            "seed": card.get("training", {}).get("seed"),
            "test_accuracy": score_faces(model, data.first.test, True).accuracy,
            "validation_accuracy": score_faces(model, val, True).accuracy,
            "seconds_total": card.get("training", {}).get("seconds_total", 0.0),
        }

    member_figures = [figures(m.model, m.card) for m in loaded]
    model = EnsembleCNN([m.model for m in loaded])
    if half:
        half_round_trip(model)
    tests = {s.name: score_faces(model, s.test, True) for s in data.sources}
    plain = score_faces(model, data.first.test, False)
    card = {k: v for k, v in first.card.items() if k != "history"}  # curves stay per member
    card.update(
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        name=out.stem,
        method=f"{card.get('method', '')}; ensemble of {len(members)} seeds",
        ensemble={
            "weights": "float16" if half else "float32",
            "validation_accuracy": score_faces(model, val, True).accuracy,
            "members": member_figures,
        },
        training={
            **card.get("training", {}),
            "seed": [f["seed"] for f in member_figures],
            "seconds_total": round(sum(f["seconds_total"] for f in member_figures), 1),
        },
        **card_test_sections(tests, data, plain),
    )
    save_with_splits(out, model, first.crop, card, split, half)
    return TrainResult(out, card, tests[data.first.name], History(), data.absences)


def load_members(members: list[Path]) -> tuple[list[LoadedModel], dict[str, Split]]:
    """Networks that can be averaged, and the split they share; CheckpointError unless they
    are two to MAX_MEMBERS single, unbalanced networks of one network shape, crop settings and
    angles, trained on the same split (the split file saved beside each), so that their average
    is tested on faces none of them saw."""
    if len(members) < 2:
        raise CheckpointError("an ensemble needs two or more member models")
    if len(members) > MAX_MEMBERS:  # every loader refuses the file (load_model): say so first
        raise CheckpointError(
            f"an ensemble holds at most {MAX_MEMBERS} member models, not {len(members)}: "
            "choose the members to keep"
        )
    if any(same_file(a, b) for i, a in enumerate(members) for b in members[i + 1 :]):
        raise CheckpointError("a member model is listed twice: give each network once")
    loaded = [load_model(p) for p in members]
    splits = [saved_splits(p) for p in members]
    first, split, angles = loaded[0], splits[0], _angles_of(loaded[0].card)
    val_fraction = _val_fraction_of(first)
    for path, other, other_split in zip(members, loaded, splits):
        if not isinstance(other.model, EmotionCNN) or other_split != split:
            raise CheckpointError(f"{path.name} is not a single model trained on the same split")
        if other.model.class_bias.any():
            raise CheckpointError(
                f"{path.name} is class-balanced: average the unbalanced members, then balance "
                "the ensemble"
            )
        if (other.model.config, other.crop, _angles_of(other.card)) != (
            first.model.config,
            first.crop,
            angles,
        ):
            raise CheckpointError(f"{path.name} differs in network, crop settings or angles")
        if _val_fraction_of(other) != val_fraction:  # other validation faces
            raise CheckpointError(f"{path.name} drew another share of validation faces")
    return loaded, split


def _angles_of(card: dict) -> str:
    """Which angles a saved model was trained on, from its card ("all" for older cards and
    for a value this app never writes)."""
    angles = card.get("data", {}).get("angles", "all")
    return angles if angles in ("all", "frontal") else "all"


def saved_data_options(card: dict, folders: list[Path]) -> DataOptions:
    """The data options a saved model was trained with, on ``folders``: its angles."""
    return DataOptions(folders[0], angles=_angles_of(card), more=tuple(folders[1:]))


def saved_weights(card: dict) -> dict[str, float]:
    """Each source's sampling weight by name, as the card records it (valid entries only)."""
    sources = card.get("data", {}).get("sources")
    weights = {}
    for source in sources if isinstance(sources, list) else []:
        if not isinstance(source, dict):
            continue
        name, weight = source.get("name"), source.get("weight")
        if isinstance(name, str) and isinstance(weight, (int, float)) and weight > 0:
            weights[name] = float(weight)
    return weights


def require_card(loaded: LoadedModel) -> dict:
    """The model's card, where it can be read: it alone says which sources trained the model.
    Read as empty (missing or damaged), every source would look never learnt and its training
    faces would score the model as test faces: CheckpointError instead."""
    if not loaded.card:
        raise CheckpointError(
            f"{loaded.path.name} has no readable card ({card_path(loaded.path).name}): it says "
            "which faces trained the model, so its test faces cannot be told apart"
        )
    return loaded.card


def prepare_saved_data(
    loaded: LoadedModel,
    folders: list[Path],
    cache_dir: Path | None = None,
    step: StepFn | None = None,
) -> PreparedData:
    """A saved model's sources prepared as its training prepared them: its splits (so the same
    validation and test faces), angles and sampling weights. ``folders`` are its sources, in
    any order across kinds; two of one kind (labelled folders: ``folder``, ``folder-2``) are
    named by position, so they keep their training order. CheckpointError where they hold
    others."""
    require_card(loaded)
    splits = saved_splits(loaded.path)
    options = saved_data_options(loaded.card, folders)
    data = prepare_data(
        options, loaded.crop, _val_fraction_of(loaded), cache_dir, step, splits=splits
    )
    trained = trained_sources(loaded.card)  # a fine-tune's splits also hold its base's sources
    if set(data.names) != set(trained):
        raise CheckpointError(
            f"{loaded.path.name} was trained on {sorted(trained)}; the folders given hold "
            f"{data.names}"
        )
    weights = saved_weights(loaded.card)
    for source in data.sources:
        source.weight = weights.get(source.name, source.weight)
    return data


def _val_fraction_of(loaded: LoadedModel) -> float:
    """The share of training faces a saved model drew for validation (with its split's seed);
    CheckpointError where its card gives no number (another fraction would draw other
    validation faces)."""
    training = loaded.card.get("training")
    val_fraction = (training if isinstance(training, dict) else {}).get(
        "val_fraction", TrainConfig.val_fraction
    )
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)):
        raise CheckpointError(
            f"{loaded.path.name}'s card gives its validation fraction as {val_fraction!r}"
        )
    return float(val_fraction)


def trained_sources(card: dict) -> list[str]:
    """The names of the sources a model learnt from (``kdef`` for cards older than sources, and
    for a damaged list)."""
    sources = card.get("data", {}).get("sources")
    if not isinstance(sources, list):
        return ["kdef"]
    names = [s.get("name") for s in sources if isinstance(s, dict)]
    if not names or not all(isinstance(n, str) for n in names):
        return ["kdef"]
    return names


def learnt_sources(card: dict) -> list[str]:
    """The sources whose faces are in a model's weights: those it was trained on, and a
    fine-tuned model's base's (recorded in its card), which it must not be tested on afresh."""
    names = trained_sources(card)
    base = card.get("fine_tuned_from")
    learnt = base.get("learnt") if isinstance(base, dict) else None
    if isinstance(learnt, list):
        names += [n for n in learnt if isinstance(n, str) and n not in names]
    return names


def saved_splits(model_path: Path) -> dict[str, Split]:
    """The splits saved beside a model; CheckpointError where the file is missing."""
    path = split_path(model_path)
    if not path.is_file():
        raise CheckpointError(f"{model_path.name} has no split file beside it ({path.name})")
    learnt = trained_sources(read_card(model_path))
    return load_splits(path, learnt[0] if len(learnt) == 1 else "kdef")


@dataclass(frozen=True)
class SourceScores:
    """A model's test figures on one source, on the split they were measured on."""

    name: str
    folder: Path
    scores: Scores
    split: Split
    seen_in_training: bool  # False: the model never learnt from this source
    absent: int = 0  # test images the split lists that the folder does not hold


def evaluate_on_folders(
    model_path: Path,
    folders: list[Path],
    options: DataOptions | None = None,
    cache_dir: Path | None = None,
    step: StepFn | None = None,
) -> list[SourceScores]:
    """Test scores of a saved model on each source's test split.

    Without ``options``, a source the model learnt from is tested on the split saved with the
    model (refused where that file is missing: a fresh split would score training faces as
    test); a source it never saw is tested on its own test part, or whole where it has no parts.
    """
    loaded = load_model(model_path)
    learnt = learnt_sources(require_card(loaded))
    splits: dict[str, Split] = {}
    scans: list[Scan] | None = None  # scanned once, here and for prepare_data
    if options is None:
        options = saved_data_options(loaded.card, folders)
        scans = [scan_source(f) for f in folders]
        names = source_names(scans)
        for name, found in zip(names, scans):
            if name not in learnt and not any(r.part for r in found.records):
                splits[name] = whole_split(found.records)
        needed = [n for n in names if n in learnt]
        if needed:
            saved = split_path(model_path)
            if not saved.is_file():
                raise CheckpointError(
                    f"{model_path.name} learnt from {', '.join(needed)} but has no split file "
                    f"beside it ({saved.name}): give --split to choose a split explicitly"
                )
            splits = {**splits, **saved_splits(model_path)}  # unlearnt sources stay whole
            if missing := [n for n in needed if n not in splits]:  # a fresh split: train faces
                raise CheckpointError(
                    f"{saved.name} holds no split of {', '.join(missing)}, which "
                    f"{model_path.name} learnt from: give --split to choose a split explicitly"
                )
    data = prepare_data(options, loaded.crop, 0.0, cache_dir, step, splits=splits, scans=scans)
    return [
        SourceScores(
            s.name,
            s.scan.folder,
            score_faces(loaded.model, s.test, flip=True),
            s.split,
            s.name in learnt,
            s.absent_test_images,
        )
        for s in data.sources
    ]
