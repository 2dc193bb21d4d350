"""Labelled records (KDEF, FER+, folders) -> face crops (cached on disk) -> augmented tensors.

Decoding 4900 studio photos and running the cascades takes minutes on a laptop, so the crops are
computed once per (folder, crop settings) and kept in one ``.npz`` in the user cache folder. Each
entry is keyed by the file's key, size and modification time: a changed or added file is
recomputed, the rest load in about a second.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from emotion_desktop.core.callbacks import CancelFn, StepFn
from emotion_desktop.core.data.splits import Record
from emotion_desktop.core.emotions import NUM_CLASSES
from emotion_desktop.core.errors import DatasetError, ImageError, TrainingCancelled
from emotion_desktop.core.files import atomic_write_bytes
from emotion_desktop.core.vision.faces import (
    CropSettings,
    FaceDetector,
    crop_face,
    locate_studio_face,
    whole_image_box,
)
from emotion_desktop.core.vision.images import is_blank, read_image, to_gray

log = logging.getLogger(__name__)
CACHE_VERSION = 3  # bump whenever face location or cropping changes


@dataclass
class FaceSet:
    """Crops and labels of the usable records, in record order, and what was left out."""

    keys: list[str]
    images: np.ndarray  # uint8 [N, S, S]
    labels: np.ndarray  # int64 [N]
    targets: np.ndarray  # float32 [N, 7]: soft labels (FER+ votes), one-hot elsewhere
    persons: list[str | None]
    detection: list[str]  # which path located each face (see prepare_face)
    skipped: dict[str, str] = field(default_factory=dict)  # key -> reason

    def __len__(self) -> int:
        return len(self.keys)

    def subset(self, keys: Sequence[str]) -> FaceSet:
        index = {k: i for i, k in enumerate(self.keys)}
        return self.rows([index[k] for k in keys if k in index])

    def rows(self, rows: Sequence[int]) -> FaceSet:
        rows = list(rows)
        return FaceSet(
            [self.keys[i] for i in rows],
            self.images[rows],
            self.labels[rows],
            self.targets[rows],
            [self.persons[i] for i in rows],
            [self.detection[i] for i in rows],
        )

    @classmethod
    def concatenate(cls, sets: Sequence[FaceSet], prefixes: Sequence[str]) -> FaceSet:
        """One set of several sources' faces; each key gets its source's prefix."""
        size = sets[0].images.shape[1:] if sets else (0, 0)
        return cls(
            [f"{p}/{k}" for s, p in zip(sets, prefixes) for k in s.keys],
            np.concatenate([s.images for s in sets]) if sets else np.zeros((0, *size), np.uint8),
            np.concatenate([s.labels for s in sets]) if sets else np.zeros(0, np.int64),
            np.concatenate([s.targets for s in sets])
            if sets
            else np.zeros((0, NUM_CLASSES), np.float32),
            [p for s in sets for p in s.persons],
            [d for s in sets for d in s.detection],
        )

    def detection_counts(self) -> dict[str, int]:
        return dict(Counter(self.detection))


def _signature(record: Record) -> str:
    stat = record.path.stat()
    return f"{record.key}:{stat.st_size}:{stat.st_mtime_ns}"


def cache_file(cache_dir: Path, folder: Path, settings: CropSettings, studio: bool) -> Path:
    """The crops of ``folder`` under ``settings``; ``studio``: it holds studio portraits, the
    only faces ``settings.studio`` changes (so FER+'s crops stay cached when it does)."""
    shaping = settings.to_dict()
    if not studio:
        del shaping["studio"]
    ident = json.dumps([CACHE_VERSION, str(folder.resolve()), shaping], sort_keys=True)
    return cache_dir / f"faces-{hashlib.sha1(ident.encode()).hexdigest()[:16]}.npz"


def _load_cache(path: Path) -> dict[str, tuple[np.ndarray | None, str]]:
    """signature -> (crop or None for a skipped file, detection path or skip reason)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {
                str(sig): (img if ok else None, str(note))
                for sig, img, ok, note in zip(
                    data["signatures"], data["images"], data["ok"], data["notes"]
                )
            }
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return {}  # no cache, or a damaged one (empty, cut short by a crash): recompute


def _save_cache(path: Path, entries: dict[str, tuple[np.ndarray | None, str]], size: int) -> None:
    """Store the crops; where the cache cannot be written (a full disk, a read-only folder)
    log why and go on: the crops are in memory, and the next run only crops again."""
    blank = np.zeros((size, size), np.uint8)
    sigs = list(entries)
    arrays = {
        "signatures": np.array(sigs),
        "images": np.stack([entries[s][0] if entries[s][0] is not None else blank for s in sigs]),
        "ok": np.array([entries[s][0] is not None for s in sigs]),
        "notes": np.array([entries[s][1] for s in sigs]),
    }
    try:  # a temporary file of its own: two processes caching one folder never share one
        atomic_write_bytes(path, lambda f: np.savez(f, **arrays))
    except OSError as exc:
        log.warning("could not cache face crops in %s: %s", path.parent, exc.strerror or exc)


CROP_SIDE = 64  # a "photo" this small is taken to be a face crop already


def is_face_crop(gray: np.ndarray) -> bool:
    """Whether an image is small enough to be a face crop already (FER's are 48x48)."""
    return max(gray.shape) <= CROP_SIDE


def crop_whole(gray: np.ndarray, settings: CropSettings) -> np.ndarray:
    """The whole image as the face: it is the face with its margin already, so none is added.
    Training and inference both frame such images here, so they frame them alike."""
    return crop_face(gray, whole_image_box(gray), replace(settings, margin=0.0))


def prepare_face(
    record: Record, settings: CropSettings, detector: FaceDetector
) -> tuple[np.ndarray, str]:
    """One image -> (crop, how the face was found); ImageError for unreadable or blank files.

    ``studio`` portraits go through :func:`locate_studio_face`; ``whole`` images (and ``photo``
    files no larger than a crop) are the face with its margin already, so they are only resized;
    other ``photo`` files take the largest Haar face, else the whole image.
    """
    gray = to_gray(read_image(record.path))
    if is_blank(gray):
        raise ImageError(f"{record.path.name} is blank (a placeholder with no face)")
    if record.framing == "studio":
        box, how = locate_studio_face(gray, detector, settings.studio)
        return crop_face(gray, box, settings), how
    is_crop = record.framing == "whole" or is_face_crop(gray)
    boxes = [] if is_crop else detector.detect(gray)
    if boxes:
        return crop_face(gray, boxes[0], settings), "frontal"
    return crop_whole(gray, settings), "whole"


def one_hot_or_target(record: Record) -> np.ndarray:
    target = np.zeros(NUM_CLASSES, np.float32)
    if record.target is None:
        target[record.label] = 1.0
    else:
        target[:] = record.target
    return target


def build_faces(
    records: Sequence[Record],
    folder: Path,
    settings: CropSettings,
    cache_dir: Path | None,
    step: StepFn | None = None,
    cancel: CancelFn | None = None,
) -> FaceSet:
    """Crops for ``records``, from the cache where they are there, computed (and cached) otherwise.

    Unreadable and blank images are skipped and reported in ``FaceSet.skipped``.
    """
    studio = any(r.framing == "studio" for r in records)
    path = cache_file(cache_dir, folder, settings, studio) if cache_dir else None
    cached = _load_cache(path) if path and path.exists() else {}
    detector = FaceDetector(detect_width=320, min_face=0.25)
    fresh: dict[str, tuple[np.ndarray | None, str]] = {}  # what the cache will hold afterwards
    results: list[tuple[Record, np.ndarray | None, str]] = []
    computed = 0
    for i, record in enumerate(records):
        if cancel and cancel():
            if path and computed:
                _save_cache(path, {**cached, **fresh}, settings.size)
            raise TrainingCancelled(
                "preparing faces was cancelled; the faces done so far are cached"
            )
        try:
            sig = _signature(record)
        except OSError as exc:
            results.append((record, None, f"cannot read: {exc.strerror}"))
            continue
        if sig not in cached:
            try:
                cached[sig] = prepare_face(record, settings, detector)
            except ImageError as exc:
                cached[sig] = (None, str(exc))
            computed += 1
        fresh[sig] = cached[sig]
        results.append((record, *cached[sig]))
        if step and (i % 25 == 0 or i == len(records) - 1):
            step((i + 1) / len(records), f"preparing faces {i + 1}/{len(records)}")
    if path and computed:
        _save_cache(path, fresh, settings.size)
    return _face_set(results, folder)


def _face_set(results: list[tuple[Record, np.ndarray | None, str]], folder: Path) -> FaceSet:
    """The usable faces of ``results`` (record, crop or None, how found or why not), once none
    of the images vanished meanwhile; DatasetError where some did, or where none is usable."""
    vanished = sum(1 for r, img, _ in results if img is None and not os.path.lexists(r.path))
    if vanished:  # the scan listed them: training on the rest would be silently wrong
        raise DatasetError(
            f"{vanished} of the {len(results)} images in {folder} vanished while their faces "
            "were prepared (was the folder moved, removed or unmounted?); the faces done are "
            "kept: start again once the folder is back"
        )
    keep = [(r, img, how) for r, img, how in results if img is not None]
    if not keep:
        reasons = Counter(note for _, img, note in results if img is None)
        raise DatasetError(
            f"none of the {len(results)} images in {folder} could be used: {dict(reasons)}"
        )
    return FaceSet(
        keys=[r.key for r, _, _ in keep],
        images=np.stack([img for _, img, _ in keep]),
        labels=np.array([r.label for r, _, _ in keep], dtype=np.int64),
        targets=np.stack([one_hot_or_target(r) for r, _, _ in keep]),
        persons=[r.person for r, _, _ in keep],
        detection=[how for _, _, how in keep],
        skipped={r.key: note for r, img, note in results if img is None},
    )


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 [N, S, S] -> float [N, 1, S, S] in 0..1."""
    return torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1).float().div_(255.0)


def augment(
    x: torch.Tensor,
    generator: torch.Generator,
    shift: float = 4.0,
    degrees: float = 10.0,
    brightness: float = 0.2,
    contrast: float = 0.2,
) -> torch.Tensor:
    """Random flip, shift, rotation, brightness and contrast for a whole batch at once.

    One affine grid per batch keeps this cheap on a CPU; faces are symmetric enough that a
    horizontal flip never changes the expression.
    """
    n, _, h, w = x.shape

    def rand(*shape: int) -> torch.Tensor:  # drawn on the CPU generator, used on x's device
        return torch.rand(*shape, generator=generator).to(x.device)

    angle = (rand(n) * 2 - 1) * math.radians(degrees)
    flip = torch.where(rand(n) < 0.5, -1.0, 1.0)
    tx = (rand(n) * 2 - 1) * shift * 2 / w
    ty = (rand(n) * 2 - 1) * shift * 2 / h
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    gain = 1 + (rand(n, 1, 1, 1) * 2 - 1) * contrast
    offset = (rand(n, 1, 1, 1) * 2 - 1) * brightness
    return ((x - mean) * gain + mean + offset).clamp_(0, 1)


def batches(
    n: int,
    batch_size: int,
    generator: torch.Generator | None = None,
    weights: torch.Tensor | None = None,
) -> list[torch.Tensor]:
    """Index batches over ``n`` items, shuffled when a generator is given.

    With per-item sampling ``weights`` (and a generator), an epoch draws ``round(sum(weights))``
    items with replacement, each in proportion to its weight: how sources of very different
    sizes are mixed (a weight of 2 shows a source's images twice per epoch on average).
    """
    if weights is not None and generator is not None:
        count = max(1, round(float(weights.sum())))
        order = torch.multinomial(weights, count, replacement=True, generator=generator)
    elif generator is not None:
        order = torch.randperm(n, generator=generator)
    else:
        order = torch.arange(n)
    return list(order.split(batch_size))
