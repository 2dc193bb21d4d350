"""Install a desktop launcher (Linux ``.desktop`` entry) that starts this installation.

The entry is written from ``resources/emotion-desktop.desktop`` with the command that runs *this*
copy of the app: the bundle's executable when frozen by PyInstaller, else this Python
interpreter with ``-m emotion_desktop`` (so a virtual environment needs no activation).
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from emotion_desktop.core import paths

ENTRY_NAME = "emotion-desktop.desktop"


def launch_command() -> str:
    if getattr(sys, "frozen", False):
        return shlex.quote(sys.executable)
    return f"{shlex.quote(sys.executable)} -m emotion_desktop"


def desktop_entry() -> str:
    template = (paths.resources_dir() / ENTRY_NAME).read_text()
    icon = paths.resources_dir() / "icons" / "emotion-desktop.png"
    return template.replace("@EXEC@", launch_command()).replace("@ICON@", str(icon))


def applications_dir() -> Path:
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "applications"


def install_launcher() -> list[Path]:
    """Write the entry to the applications folder and, where one exists, onto the desktop."""
    text = desktop_entry()
    written = []
    desktop = Path(os.environ.get("XDG_DESKTOP_DIR") or Path.home() / "Desktop")
    for folder in (applications_dir(), desktop):
        if folder == desktop and not folder.is_dir():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / ENTRY_NAME
        target.write_text(text)
        target.chmod(0o755)  # desktops only launch entries marked executable
        written.append(target)
    return written
