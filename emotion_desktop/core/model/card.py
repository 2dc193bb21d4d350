"""What a saved model's card says about its data: the sources it learnt, with which angles,
weights and validation share, and the splits saved beside it.

Evaluating, fine-tuning, averaging or balancing a saved model reads these so that no face
that trained it is counted as a test face. The card is written by ``train.card``.
"""

from __future__ import annotations

from pathlib import Path

from emotion_desktop.core.data.prepare import DataOptions
from emotion_desktop.core.data.split_files import load_splits
from emotion_desktop.core.data.splits import Split
from emotion_desktop.core.errors import CheckpointError
from emotion_desktop.core.model.checkpoints import LoadedModel, card_path, read_card, split_path


def angles_of(card: dict) -> str:
    """Which angles a saved model was trained on, from its card ("all" for older cards and
    for a value this app never writes)."""
    angles = card.get("data", {}).get("angles", "all")
    return angles if angles in ("all", "frontal") else "all"


def saved_data_options(card: dict, folders: list[Path]) -> DataOptions:
    """The data options a saved model was trained with, on ``folders``: its angles."""
    return DataOptions(folders[0], angles=angles_of(card), more=tuple(folders[1:]))


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
