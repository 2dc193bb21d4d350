"""Where things live: the bundled default model and the user's data, cache and log folders.

The active model is recorded in a small JSON file in the user data folder rather than in
QSettings, because the headless CLI must find the same model as the window.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import sys
from pathlib import Path

from platformdirs import PlatformDirs

from emotion_desktop.core.files import atomic_write_text, read_json

APP_NAME = "emotion-desktop"
_dirs = PlatformDirs(APP_NAME, appauthor=False)
MAX_RECORD_BYTES = 2**16  # the active-model record holds one path


def _override(var: str, default: str) -> Path:
    """Tests and portable installs point a folder elsewhere with EMOTION_DESKTOP_*_DIR.

    Resolved, as the active model's record is: a relative or symlinked folder would otherwise
    never compare equal to it, and a renamed active model would fall back to the default."""
    return Path(os.environ.get(var) or default).expanduser().resolve()


def data_dir() -> Path:
    return _override("EMOTION_DESKTOP_DATA_DIR", _dirs.user_data_dir)


def cache_dir() -> Path:
    return _override("EMOTION_DESKTOP_CACHE_DIR", _dirs.user_cache_dir)


def log_dir() -> Path:
    return _override("EMOTION_DESKTOP_LOG_DIR", _dirs.user_log_dir)


def models_dir() -> Path:
    return data_dir() / "models"


def resources_dir() -> Path:
    """The shipped models, icons and launcher template: ``resources/`` in a PyInstaller
    bundle, else the package ``emotion_desktop.resources`` (the repository's top-level
    ``resources/`` in an editable install, package data in a wheel)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(str(importlib.resources.files("emotion_desktop.resources")))


def default_model_path() -> Path:
    return resources_dir() / "models" / "default.pt"


def shipped_model_paths() -> list[Path]:
    """The models that come with the app: the default first, then the others by name (the
    KDEF-only reproduction of the paper)."""
    others = sorted(p for p in (resources_dir() / "models").glob("*.pt") if p.name != "default.pt")
    default = default_model_path()
    return ([default] if default.is_file() else []) + others


def _active_file() -> Path:
    return data_dir() / "active_model.json"


def active_model_path() -> Path:
    """The model the user chose in the Training tab, or the shipped default."""
    try:
        chosen = Path(read_json(_active_file(), MAX_RECORD_BYTES)["path"])
    except (OSError, ValueError, KeyError, TypeError):
        return default_model_path()
    return chosen if chosen.is_file() else default_model_path()


def set_active_model(path: Path | None) -> None:
    """Make ``path`` the active model for the window and the CLI; None restores the default."""
    if path is None:
        _active_file().unlink(missing_ok=True)
        return
    atomic_write_text(_active_file(), json.dumps({"path": str(Path(path).resolve())}))
