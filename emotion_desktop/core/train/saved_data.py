"""A saved model's sources prepared again as its training prepared them, for the runs that
start from saved models: ensembles, the class balance and the choice of a pair."""

from __future__ import annotations

from pathlib import Path

from emotion_desktop.core.callbacks import StepFn
from emotion_desktop.core.data.prepare import PreparedData, prepare_data
from emotion_desktop.core.errors import CheckpointError
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
    card = loaded.require_card()
    data = prepare_data(
        card.data_options(folders),
        loaded.crop,
        val_fraction_of(loaded),
        cache_dir,
        step,
        splits=loaded.saved_splits(),
    )
    trained = card.trained_sources()  # a fine-tune's splits also hold its base's sources
    if set(data.names) != set(trained):
        raise CheckpointError(
            f"{loaded.path.name} was trained on {sorted(trained)}; the folders given hold "
            f"{data.names}"
        )
    weights = card.source_weights()
    for source in data.sources:
        source.weight = weights.get(source.name, source.weight)
    return data


def val_fraction_of(loaded: LoadedModel) -> float:
    """The share of training faces a saved model drew for validation (with its split's seed);
    the default for cards older than it. CheckpointError where the card cannot be read."""
    val_fraction = loaded.require_card().training.val_fraction
    return TrainConfig.val_fraction if val_fraction is None else val_fraction
