"""The user's model files as one unit: ``NAME.pt`` with its card ``NAME.json`` and its splits
``NAME.split.json``, renamed, deleted and exported together.

A model without its split file can no longer be evaluated on the faces it was tested on (the CLI
refuses it), so every operation here moves or copies all three, and none touches a shipped model.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

from emotion_desktop.core import paths
from emotion_desktop.core.errors import CheckpointError, ModelFileError
from emotion_desktop.core.model.card import card_path, read_card, write_card
from emotion_desktop.core.model.checkpoints import split_path
from emotion_desktop.core.outputs import check_model_output

NAME_PATTERN = re.compile(r"[\w][\w .+-]{0,79}")


def companions(model: Path) -> list[Path]:
    """The model file and the files beside it that belong to it, those that exist."""
    model = Path(model)
    files = (model, card_path(model), split_path(model))
    return [f for f in files if f.is_file()]


def is_shipped(model: Path) -> bool:
    return Path(model).resolve().parent == (paths.resources_dir() / "models").resolve()


def _user_model(model: Path) -> Path:
    model = Path(model)
    if is_shipped(model):
        raise ModelFileError(f"{model.stem} comes with the app and cannot be changed")
    if not model.is_file():
        raise ModelFileError(f"{model} no longer exists")
    return model


def rename_model(model: Path, name: str) -> Path:
    """Rename a user's model (and its card and splits) to ``name``; returns the new path.

    The card's ``name`` follows, and the active model stays active under its new name.
    """
    model = _user_model(model)
    name = name.strip()
    if not NAME_PATTERN.fullmatch(name) or name.endswith(".partial"):
        raise ModelFileError(
            "a model name is 1-80 letters, digits, spaces or . + - _, starting with a letter "
            "or digit"
        )
    target = model.with_name(f"{name}.pt")
    if target == model:
        return model
    if companions(target):
        raise ModelFileError(f"a model named {name} already exists")
    was_active = paths.active_model_path() == model
    try:
        for old in companions(model):
            old.rename(target.with_name(name + old.name[len(model.stem) :]))
        try:
            card = read_card(target)
        except CheckpointError:  # none, or damaged: it moves with the model as it is
            card = None
        if card is not None:
            write_card(target, replace(card, name=name))
    except OSError as exc:
        raise ModelFileError(f"could not rename {model.stem}: {exc}") from exc
    if was_active:
        paths.set_active_model(target)
    return target


def delete_model(model: Path) -> None:
    """Delete a user's model, its card and its splits; the default becomes active if it was."""
    model = _user_model(model)
    was_active = paths.active_model_path() == model
    try:
        for file in companions(model):
            file.unlink()
    except OSError as exc:
        raise ModelFileError(f"could not delete {model.stem}: {exc}") from exc
    if was_active:
        paths.set_active_model(None)


def export_model(model: Path, target: Path) -> list[Path]:
    """Copy a model (shipped or not) with its card and splits to ``target`` (a ``.pt`` path).

    Returns the files written. An existing file at the target is the caller's to confirm: the
    save dialog asks before this is called. One of the model's own files is refused
    (OutputError), as the CLI refuses it.
    """
    model, target = Path(model), Path(target)
    if target.suffix != ".pt":
        target = target.with_name(target.name + ".pt")
    check_model_output(target, [model], [])  # Export of m to m.split.pt: m's card over its split
    written = []
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for file in companions(model):
            dest = target.with_name(target.stem + file.name[len(model.stem) :])
            shutil.copyfile(file, dest)
            written.append(dest)
    except OSError as exc:
        raise ModelFileError(f"could not export to {target.parent}: {exc.strerror or exc}") from exc
    return written
