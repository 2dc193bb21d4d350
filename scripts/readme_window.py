"""What the README's pictures of a running window share (batch_video_png.py, calibration_png.py):
the shared video, a 1280x720 main window on the shipped default model with settings and data
of its own, waiting for it, and saving it.

Drawn offscreen (the widgets themselves) unless a display is there, e.g. under xvfb-run.
"""

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from emotion_desktop.gui.main_window import MainWindow  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def arguments(default_out: str) -> tuple[Path, Path]:
    """VIDEO and OUT.png from the command line, else the shared video and docs/screens/NAME."""
    video = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else ROOT.parent / "shared/data/video/WolfgangLanger_Pexels.mp4"
    )
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs/screens" / default_out
    return video, out


def open_window() -> tuple[QApplication, MainWindow]:
    """The window, shown at 1280x720, with empty settings and data folders of its own (the
    shipped default is the active model)."""
    home = Path(tempfile.mkdtemp())
    os.environ["EMOTION_DESKTOP_DATA_DIR"] = str(home / "data")
    app = QApplication([])
    settings = QSettings(str(home / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.resize(1280, 720)
    window.show()
    return app, window


def wait(app: QApplication, done: Callable[[], bool], seconds: float = 120) -> None:
    """Run the event loop until ``done()``; exit with a message after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    if not done():
        sys.exit(f"gave up after {seconds} s")


def save(app: QApplication, window: MainWindow, out: Path, settle: float = 2.0) -> None:
    """Let pending work show (``settle`` seconds of events), then save the window as ``out``."""
    end = time.monotonic() + settle
    wait(app, lambda: time.monotonic() >= end)
    window.grab().save(str(out))
    print(out)
