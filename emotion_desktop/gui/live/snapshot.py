"""Files the Live tab writes beside the view: the painted frame as a PNG, and new file names."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter

from emotion_desktop.core import paths
from emotion_desktop.core.errors import OutputError
from emotion_desktop.core.live.loop import LiveResult
from emotion_desktop.gui.live.view import paint_result


def render(result: LiveResult, mirrored: bool) -> QImage:
    """The frame of ``result`` with its overlay, at the frame's own resolution."""
    height, width = result.frame.image.shape[:2]
    image = QImage(width, height, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    paint_result(painter, QRectF(0, 0, width, height), result, mirrored)
    painter.end()
    return image


def save(result: LiveResult, mirrored: bool, path: Path | None = None) -> Path:
    """Save the frame of ``result`` with its overlay as a PNG at ``path`` (a new file in the
    data folder where None); OutputError with a message for the user where it cannot."""
    path = Path(path) if path else timestamped(paths.data_dir() / "snapshots", "png")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"Could not create {path.parent}: {exc.strerror or exc}") from exc
    if not render(result, mirrored).save(str(path), "PNG"):
        raise OutputError(f"Could not write {path}: check the folder is writable.")
    return path


def timestamped(folder: Path, suffix: str) -> Path:
    """A new file name in ``folder`` from the time, numbered where that second's is taken: two
    snapshots, or a stopped and restarted recording, in one second must not overwrite."""
    stem = f"live-{time.strftime('%Y%m%d-%H%M%S')}"
    path, number = folder / f"{stem}.{suffix}", 1
    while path.exists():
        number += 1
        path = folder / f"{stem}-{number}.{suffix}"
    return path
