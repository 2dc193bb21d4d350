"""Saving and loading models: atomic writes, safe loads, a format version and a JSON model card.

A checkpoint is a plain dict of tensors and numbers, loaded with ``weights_only=True`` so a file
carrying a pickle payload is refused instead of executed. It records the network and crop
settings, so inference prepares faces exactly as training did. Its card (``NAME.json`` beside
``NAME.pt``) is what people read: data, split, figures, training time, versions, terms of use.
"""

from __future__ import annotations

import os
import pickle
import threading
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from emotion_desktop.core.data.split_files import load_splits, save_splits
from emotion_desktop.core.data.splits import Split
from emotion_desktop.core.emotions import NUM_CLASSES
from emotion_desktop.core.errors import CheckpointError
from emotion_desktop.core.files import atomic_write_bytes
from emotion_desktop.core.model.card import ModelCard, read_card, write_card
from emotion_desktop.core.model.networks import Classifier, EmotionCNN, EnsembleCNN, ModelConfig
from emotion_desktop.core.vision.faces import (
    BEFORE_STUDIO,
    EQUALIZE_MODES,
    STUDIO_FRAMINGS,
    CropSettings,
)

FORMAT_VERSION = 1
KIND = "emotion_desktop.EmotionCNN"
# Bounds of what this app ever saves, checked before anything is built from a file: a 1.5 KB
# file claiming 100,000 members, or a card-sized input of 960 pixels, would otherwise build
# networks until memory runs out, and a huge file would be read whole before being refused.
# The default model is 21 MB; a 5-seed float32 ensemble at the largest input, 128 pixels, 650 MB.
MAX_MODEL_BYTES = 2**30
MAX_MEMBERS = 16
INPUT_SIZES = range(16, 129)  # the CLI's --input-size range
# How a file torch.save writes begins (a zip archive), and how a bare pickle does (protocol 2+).
ZIP_MAGIC = b"PK\x03\x04"
PICKLE_MAGIC = b"\x80"


def split_path(checkpoint: Path) -> Path:
    """The faces a model was trained, validated and tested on (``split_files.save_splits``)."""
    return Path(checkpoint).with_suffix(".split.json")


@dataclass
class LoadedModel:
    """A model as loaded, with its card: an empty one where the card cannot be read
    (``card_error`` says why), which labelling faces does not need."""

    model: Classifier
    crop: CropSettings
    card: ModelCard
    path: Path
    card_error: str = ""

    def require_card(self) -> ModelCard:
        """The model's card, where it can be read: it alone says which sources trained the
        model. Read as empty, every source would look never learnt and its training faces
        would score the model as test faces: CheckpointError instead."""
        if self.card_error:
            raise CheckpointError(
                f"{self.path.name} has no readable card: {self.card_error}. The card says "
                "which faces trained the model, so its test faces cannot be told apart"
            )
        return self.card

    def saved_splits(self) -> dict[str, Split]:
        """The splits saved beside the model; CheckpointError where the file is missing."""
        path = split_path(self.path)
        if not path.is_file():
            raise CheckpointError(f"{self.path.name} has no split file beside it ({path.name})")
        learnt = self.card.trained_sources()  # names the sources of a split file older than them
        return load_splits(path, learnt[0] if len(learnt) == 1 else "kdef")


def save_model(
    path: Path, model: Classifier, crop: CropSettings, card: ModelCard, half: bool = False
) -> None:
    """Write the checkpoint and then its card, each atomically.

    ``half`` stores the weights as float16, halving the file; they are float32 again once
    loaded, so the figures must be measured after :func:`half_round_trip` (see its doc).
    """
    dtype = torch.float16 if half else torch.float32
    payload = {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "model_config": model.config.to_dict(),
        "members": len(model.members) if isinstance(model, EnsembleCNN) else 1,
        "crop": crop.to_dict(),
        "state_dict": {k: v.detach().cpu().to(dtype) for k, v in model.state_dict().items()},
        "class_bias": model.class_bias.tolist(),
    }
    atomic_write_bytes(path, lambda f: torch.save(payload, f))
    write_card(path, replace(card, model_config=model.config.to_dict(), crop=crop.to_dict()))


def save_with_splits(
    out: Path,
    model: torch.nn.Module,
    crop: CropSettings,
    card: ModelCard,
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


def safe_torch_load(path: Path, max_bytes: int | None = MAX_MODEL_BYTES, mmap: bool = False) -> Any:
    """``torch.load(weights_only=True)`` with every failure turned into one CheckpointError.

    ``max_bytes`` refuses a larger file unread; None for a file this app wrote for itself (a
    run's resume file holds the network four times over: best weights and the optimiser's).
    Only the zip archives torch.save writes are read, and only with their entries stored: a
    compressed entry is never inflated (9 MB of deflated zeros unpacked to 2 GB). ``mmap``
    maps the weights instead of reading them, so a file's claims can be checked against the
    network (:func:`load_model`) before any of it is in memory."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no model file at {path}")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise CheckpointError(
            f"{path} is {size / 2**20:.0f} MB, more than any model this app makes "
            f"({max_bytes // 2**20} MB); it was not read"
        )
    _check_archive(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path} holds Python objects other than weights and was not loaded (it could run "
            "code): use a model saved by emotion_desktop"
        ) from exc
    except Exception as exc:  # an untrusted file can fail in any part of the unpickler
        raise CheckpointError(f"{path} is truncated or not a PyTorch file ({exc})") from exc


def _check_archive(path: Path) -> None:
    """CheckpointError unless ``path`` is a zip archive of stored (uncompressed) entries, as
    torch.save writes; a file that is no pickle at all (a photo) is not said to run code."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(ZIP_MAGIC))
        if head != ZIP_MAGIC:
            if head.startswith(PICKLE_MAGIC):
                raise CheckpointError(
                    f"{path} is a bare Python pickle, not a model saved by emotion_desktop, and "
                    "was not loaded (it could run code)"
                )
            raise CheckpointError(
                f"{path} is not a PyTorch model file: give a .pt model saved by emotion_desktop"
            )
        with zipfile.ZipFile(path) as archive:
            packed = [
                i.filename for i in archive.infolist() if i.compress_type != zipfile.ZIP_STORED
            ]
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise CheckpointError(f"{path} is truncated or not a PyTorch file ({exc})") from exc
    if packed:
        raise CheckpointError(
            f"{path} holds compressed entries ({packed[0]}), which torch.save never writes; it "
            "was not unpacked (it could fill memory): use a model saved by emotion_desktop"
        )


def load_model(path: Path) -> LoadedModel:
    """Rebuild the network a checkpoint describes; CheckpointError for anything else."""
    path = Path(path)
    payload = safe_torch_load(path, mmap=True)
    if not isinstance(payload, dict) or payload.get("kind") != KIND:
        raise CheckpointError(f"{path} is not an emotion_desktop model (no '{KIND}' header)")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format version {payload.get('format_version')}; this version of the app "
            f"reads version {FORMAT_VERSION}"
        )
    try:
        config = ModelConfig(**payload["model_config"])
        crop = CropSettings(**{**BEFORE_STUDIO, **payload["crop"]})
        members = int(payload.get("members", 1))
        if not 1 <= members <= MAX_MEMBERS or config.input_size not in INPUT_SIZES:
            raise ValueError(
                f"{members} members of input size {config.input_size} (this app makes 1 to "
                f"{MAX_MEMBERS} members of {INPUT_SIZES.start} to {INPUT_SIZES.stop - 1} pixels)"
            )
        _check_crop(crop, config)
        weights = _checked_weights(payload["state_dict"], config, members)
        weights = {k: v.float() for k, v in weights.items()}
        if not all(bool(torch.isfinite(v).all()) for v in weights.values()):
            raise CheckpointError(
                f"{path} holds weights that are not numbers (NaN or infinite): its training "
                "diverged or the file is damaged; retrain it or use another model"
            )
        model = EmotionCNN(config) if members == 1 else EnsembleCNN.empty(config, members)
        model.load_state_dict(weights)
        model.class_bias.copy_(_class_bias(payload.get("class_bias")))
    except (TypeError, KeyError, ValueError, RuntimeError, AttributeError) as exc:
        raise CheckpointError(
            f"{path} is damaged or of another architecture: {str(exc).splitlines()[0]}"
        ) from exc
    model.eval()
    try:
        return LoadedModel(model, crop, read_card(path), path)
    except CheckpointError as exc:
        return LoadedModel(model, crop, ModelCard(), path, str(exc))


def _checked_weights(
    state_dict: object, config: ModelConfig, members: int
) -> dict[str, torch.Tensor]:
    """``state_dict`` if it holds a tensor of the network's shape under each of its names;
    ValueError otherwise. Checked on the mapped file before anything is converted or copied:
    a 5 KB file can hold a tensor of a billion elements over one stored number (stride 0),
    which ``.float()`` would have made 4 GB. The shapes come from the network built on the
    meta device, which allocates nothing."""
    with torch.device("meta"):
        skeleton = EmotionCNN(config) if members == 1 else EnsembleCNN.empty(config, members)
    expected = {k: v.shape for k, v in skeleton.state_dict().items()}
    if not isinstance(state_dict, dict):
        raise ValueError("it holds no weights")
    if state_dict.keys() != expected.keys():
        names = sorted(expected.keys() - state_dict.keys()) or ["none"]
        raise ValueError(
            f"weights missing: {names[0]}; unexpected: {len(state_dict.keys() - expected.keys())}"
        )
    for name, shape in expected.items():
        tensor = state_dict[name]
        if not isinstance(tensor, torch.Tensor) or tensor.shape != shape:
            found = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor)
            raise ValueError(f"{name} is {found}, where this network has {tuple(shape)}")
    return state_dict


def _check_crop(crop: CropSettings, config: ModelConfig) -> None:
    """ValueError unless ``crop`` makes the network's input: a 100,000-pixel crop size or a NaN
    margin in a file would otherwise allocate gigabytes or fail on every face."""
    if type(crop.size) is not int or type(config.input_size) is not int:
        raise ValueError(f"sizes must be whole numbers, not {crop.size!r}, {config.input_size!r}")
    if crop.size != config.input_size:
        raise ValueError(f"crop size {crop.size!r} is not the input size {config.input_size}")
    if type(crop.margin) not in (int, float) or not 0 <= crop.margin <= 1:
        raise ValueError(f"crop margin {crop.margin!r} is not between 0 and 1")
    if crop.equalize not in EQUALIZE_MODES:
        raise ValueError(f"unknown equalisation {crop.equalize!r}")
    if crop.studio not in STUDIO_FRAMINGS:
        raise ValueError(f"unknown studio framing {crop.studio!r}")


def _class_bias(value: object) -> torch.Tensor:
    """A saved ``class_bias``: zeros where absent (files older than it), ValueError unless
    seven finite numbers."""
    if value is None:
        return torch.zeros(NUM_CLASSES)
    bias = torch.tensor(value, dtype=torch.float32)
    if bias.shape != (NUM_CLASSES,) or not bool(torch.isfinite(bias).all()):
        raise ValueError(f"class_bias must be {NUM_CLASSES} finite numbers")
    return bias


_recent: dict[tuple[Path, int, int], LoadedModel] = {}
_recent_lock = threading.Lock()


def load_model_for_inference(path: Path) -> LoadedModel:
    """:func:`load_model`, kept for the next caller while the file is unchanged.

    Each Live start and each Batch run loads the active model on its worker; building 20-40 MB
    of weights every time left the heap fragmented (the process grew by megabytes per Start).
    The cached model is only ever run in eval mode without gradients, which is safe from several
    threads; one entry is kept, the model in use.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return load_model(path)  # says what is wrong with it
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size)
    with _recent_lock:
        loaded = _recent.get(key)
        if loaded is None:
            loaded = load_model(path)
            _recent.clear()
            _recent[key] = loaded
        return loaded


def half_round_trip(model: Classifier) -> Classifier:
    """The model as ``save_model(half=True)`` stores it: every weight rounded to float16."""
    with torch.no_grad():
        for tensor in model.state_dict().values():
            tensor.copy_(tensor.half().float())
    return model
