"""A saved model's sources prepared again as its training prepared them, for the runs that
start from saved models: ensembles, the class balance and the choice of a pair."""

from __future__ import annotations

from pathlib import Path

from emotion_desktop.core.callbacks import StepFn
from emotion_desktop.core.data.prepare import PreparedData, prepare_data
from emotion_desktop.core.errors import CheckpointError
from emotion_desktop.core.model.card import (
    require_card,
    saved_data_options,
    saved_splits,
    saved_weights,
    trained_sources,
)
from emotion_desktop.core.model.checkpoints import LoadedModel
from emotion_desktop.core.train.config import TrainConfig


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
        options, loaded.crop, val_fraction_of(loaded), cache_dir, step, splits=splits
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


def val_fraction_of(loaded: LoadedModel) -> float:
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
