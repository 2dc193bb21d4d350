"""Ensembles: models trained on one split with different seeds, averaged into one model file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from emotion_desktop.core.callbacks import StepFn
from emotion_desktop.core.data.splits import Split
from emotion_desktop.core.errors import CheckpointError
from emotion_desktop.core.files import same_file
from emotion_desktop.core.model.card import EnsemblePart, MemberFigures
from emotion_desktop.core.model.checkpoints import (
    MAX_MEMBERS,
    LoadedModel,
    half_round_trip,
    load_model,
    save_with_splits,
)
from emotion_desktop.core.model.networks import EmotionCNN, EnsembleCNN
from emotion_desktop.core.train.card import card_test_sections, now
from emotion_desktop.core.train.evaluate import score_faces
from emotion_desktop.core.train.loop import History
from emotion_desktop.core.train.run import TrainResult
from emotion_desktop.core.train.saved_data import prepare_saved_data, val_fraction_of


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

    def figures(member: LoadedModel) -> MemberFigures:
        training = member.card.training
        return MemberFigures(
            name=member.card.name or member.path.stem,
            seed=training.seed if isinstance(training.seed, int) else None,
            test_accuracy=score_faces(member.model, data.first.test, True).accuracy,
            validation_accuracy=score_faces(member.model, val, True).accuracy,
            seconds_total=training.seconds_total or 0.0,
        )

    member_figures = tuple(figures(m) for m in loaded)
    model = EnsembleCNN([m.model for m in loaded])
    if half:
        half_round_trip(model)
    tests = {s.name: score_faces(model, s.test, True) for s in data.sources}
    plain = score_faces(model, data.first.test, False)
    card = replace(
        first.card,
        history=None,  # the curves stay per member
        created=now(),
        name=out.stem,
        method=f"{first.card.method or ''}; ensemble of {len(members)} seeds",
        ensemble=EnsemblePart(
            weights="float16" if half else "float32",
            validation_accuracy=score_faces(model, val, True).accuracy,
            members=member_figures,
        ),
        training=replace(
            first.card.training,
            seed=tuple(f.seed for f in member_figures if f.seed is not None),
            seconds_total=round(sum(f.seconds_total or 0.0 for f in member_figures), 1),
        ),
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
    splits = [m.saved_splits() for m in loaded]
    first, split, angles = loaded[0], splits[0], loaded[0].card.angles
    val_fraction = val_fraction_of(first)
    for path, other, other_split in zip(members, loaded, splits):
        if not isinstance(other.model, EmotionCNN) or other_split != split:
            raise CheckpointError(f"{path.name} is not a single model trained on the same split")
        if other.model.class_bias.any():
            raise CheckpointError(
                f"{path.name} is class-balanced: average the unbalanced members, then balance "
                "the ensemble"
            )
        if (other.model.config, other.crop, other.card.angles) != (
            first.model.config,
            first.crop,
            angles,
        ):
            raise CheckpointError(f"{path.name} differs in network, crop settings or angles")
        if val_fraction_of(other) != val_fraction:  # other validation faces
            raise CheckpointError(f"{path.name} drew another share of validation faces")
    return loaded, split
