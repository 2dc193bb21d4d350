"""Test figures of models on faces, and of a saved model on each source's test split.

A source a model learnt from is scored on the split saved with the model, never on a fresh
one (which would score its training faces as test faces).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from emotion_desktop.core.callbacks import StepFn
from emotion_desktop.core.data.dataset import FaceSet, to_tensor
from emotion_desktop.core.data.prepare import DataOptions, prepare_data
from emotion_desktop.core.data.sources import Scan, scan_source, source_names
from emotion_desktop.core.data.splits import Split, whole_split
from emotion_desktop.core.errors import CheckpointError
from emotion_desktop.core.model.checkpoints import load_model, split_path
from emotion_desktop.core.model.metrics import Scores, score
from emotion_desktop.core.train.loop import evaluate


def score_faces(model: torch.nn.Module, faces: FaceSet, flip: bool) -> Scores:
    """Test figures of ``model`` on ``faces``, on whichever device the model is."""
    device = next(model.parameters()).device
    x = to_tensor(faces.images).to(device)
    y = torch.from_numpy(faces.labels).to(device)
    result = evaluate(model, x, y, flip=flip)
    return score(faces.labels, result.predictions)


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
    card = loaded.require_card()
    learnt = card.learnt_sources()
    splits: dict[str, Split] = {}
    scans: list[Scan] | None = None  # scanned once, here and for prepare_data
    if options is None:
        options = card.data_options(folders)
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
            splits = {**splits, **loaded.saved_splits()}  # unlearnt sources stay whole
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
