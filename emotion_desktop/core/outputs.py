"""One output-safety policy for every file the app writes on a user's say: the CLI's --out,
the Batch tab's exports and Write as I go, the model manager's Export.

Each check refuses, before anything is written, an output that would destroy data: an input
(by path, link or hard link), a model's card or split file, a special file, or a photo.
"""

from __future__ import annotations

import os
from pathlib import Path

from emotion_desktop.core.errors import OutputError
from emotion_desktop.core.files import same_file
from emotion_desktop.core.model.card import card_path
from emotion_desktop.core.model.checkpoints import split_path
from emotion_desktop.core.vision.images import is_image_file


def check_output(out: Path, inputs: list[Path], existing: str) -> None:
    """Refuse an output that would destroy data: one of the inputs (by path, link or hard
    link), a special file (a device, a pipe), or an existing file unless ``existing`` is
    "append" or "overwrite"."""
    target = Path(os.path.realpath(out))  # never raises, unlike resolve() on a symlink loop
    if any(target == Path(os.path.realpath(p)) or same_file(out, p) for p in inputs):
        raise OutputError(f"{out} is one of the inputs: choose another file to write")
    if out.exists() and not out.is_file():
        raise OutputError(f"{out} is not a regular file: choose another file to write")
    if out.exists() and existing == "refuse":
        raise OutputError(f"{out} exists: give --append to add to it or --overwrite to replace it")


def check_model_output(out: Path, models: list[Path], data: list[Path]) -> None:
    """Refuse a model ``out`` whose model, card or split file would replace an input: one of
    ``models`` or their cards and split files (``balance m.pt --out m.split.pt``, or an Export
    of m to ``m.split.pt``, would write a card over m's split), or a ``data`` folder. A model
    file ends in .pt, so its card (.json) and split file (.split.json) are its own."""
    if out.suffix.lower() != ".pt":
        raise OutputError(f"{out}: a model file ends in .pt (its card and split file go beside it)")
    inputs = [*data, *(f(m) for m in models for f in (Path, card_path, split_path))]
    for written in (out, card_path(out), split_path(out)):
        check_output(written, inputs, "overwrite")


def check_profile_output(out: Path, inputs: list[Path]) -> None:
    """Refuse a profile ``out`` not named ``*.profile`` (so it can never replace a photo, a
    model, its card or results) or that would replace one of ``inputs``; an earlier profile at
    ``out`` is replaced, as a model's Export replaces an earlier export."""
    if out.suffix.lower() != ".profile":
        raise OutputError(f"{out}: a profile file ends in .profile")
    check_output(out, inputs, "overwrite")


def check_results_output(out: Path, inputs: list[Path], existing: str, in_place: bool) -> None:
    """:func:`check_output` for a results file (.csv or .json) of labelled ``inputs``. It also
    must not be named as a photo (one in a labelled folder, or a link to one) nor, where rows
    are written into the file itself (``in_place``: a CSV as it goes, not an atomic export),
    have other names (hard links), each of which would change with it."""
    check_output(out, inputs, existing)
    if is_image_file(out) or is_image_file(os.path.realpath(out)):
        raise OutputError(f"{out} is named as an image: write the labels to a .csv or .json")
    if in_place and out.is_file() and out.stat().st_nlink > 1:
        raise OutputError(f"{out} has other names (hard links): write to another file")
