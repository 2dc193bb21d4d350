"""The user's profiles: kept in the user data folder under the model they were made with,
listed for a model, renamed, deleted and exported.

A profile's folder is named by its model's fingerprint, not its file name: a renamed or moved
model keeps its profiles, and a retrained one (another file) never sees profiles that do not
describe it. Names follow the models' rules (:data:`library.NAME_PATTERN`).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from emotion_desktop.core import paths
from emotion_desktop.core.errors import ProfileError
from emotion_desktop.core.model.library import NAME_PATTERN
from emotion_desktop.core.model.profile import (
    SUFFIX,
    Profile,
    model_fingerprint,
    read_profile,
    write_profile,
)
from emotion_desktop.core.outputs import check_profile_output


def profiles_dir(model: Path) -> Path:
    """The folder of the profiles made with the model at ``model``."""
    return paths.data_dir() / "profiles" / model_fingerprint(model)[:16]


def list_profiles(model: Path) -> list[Path]:
    """The profile files made with ``model``, by name (none where the folder is missing)."""
    folder = profiles_dir(model)
    return sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []


def _checked_name(name: str) -> str:
    name = name.strip()
    if not NAME_PATTERN.fullmatch(name):
        raise ProfileError(
            "a profile name is 1-80 letters, digits, spaces or . + - _, starting with a letter "
            "or digit"
        )
    return name


def save_profile(profile: Profile, model: Path, replace_existing: bool = False) -> Path:
    """Keep ``profile`` (made with ``model``) in the user's profiles; returns its file.
    ProfileError where one of that name exists, unless ``replace_existing``."""
    target = profiles_dir(model) / f"{_checked_name(profile.name)}{SUFFIX}"
    if target.exists() and not replace_existing:
        raise ProfileError(f"a profile named {profile.name} already exists")
    try:
        write_profile(profile, target)
    except OSError as exc:
        raise ProfileError(f"could not save {profile.name}: {exc.strerror or exc}") from exc
    return target


def rename_profile(path: Path, name: str) -> Path:
    """Give the profile at ``path`` the name ``name`` (its file and the name inside it)."""
    path, name = Path(path), _checked_name(name)
    target = path.with_name(f"{name}{SUFFIX}")
    profile = read_profile(path)
    if target == path:
        return path
    if target.exists():
        raise ProfileError(f"a profile named {name} already exists")
    try:
        write_profile(replace(profile, name=name), target)
        path.unlink()
    except OSError as exc:
        raise ProfileError(f"could not rename {path.stem}: {exc.strerror or exc}") from exc
    return target


def delete_profile(path: Path) -> None:
    try:
        Path(path).unlink()
    except OSError as exc:
        raise ProfileError(f"could not delete {Path(path).stem}: {exc.strerror or exc}") from exc


def export_profile(path: Path, target: Path) -> Path:
    """Copy the profile at ``path`` to ``target`` (``.profile`` added where missing); returns
    the file written. An existing file there is the caller's to confirm, as for models."""
    path, target = Path(path), Path(target)
    if target.suffix.lower() != SUFFIX:
        target = target.with_name(target.name + SUFFIX)
    check_profile_output(target, [path])
    try:
        shutil.copyfile(path, target)
    except OSError as exc:
        raise ProfileError(f"could not export to {target.parent}: {exc.strerror or exc}") from exc
    return target
