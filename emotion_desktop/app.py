"""Entry point of the launcher: builds the QApplication and the main window.

Also installs a log file and a global exception hook, so an unexpected error shows one dialog and
is written to the log instead of killing the window silently.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType

from PySide6.QtWidgets import QApplication, QMessageBox

from emotion_desktop import __version__
from emotion_desktop.core import paths
from emotion_desktop.core.runtime import configure_torch
from emotion_desktop.gui.main_window import MainWindow
from emotion_desktop.gui.workers import (
    freeze_startup_heap,
    preload_training_imports,
    wait_for_workers,
)

log = logging.getLogger("emotion_desktop")


def setup_logging() -> None:
    folder = paths.log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / "emotion-desktop.log"
    root = logging.getLogger()
    if any(getattr(h, "baseFilename", None) == str(file) for h in root.handlers):
        return
    handler = RotatingFileHandler(file, maxBytes=2_000_000, backupCount=3)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def show_exception(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    """``sys.excepthook``: log the traceback and tell the user in one dialog."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    log.error("unhandled exception:\n%s", "".join(traceback.format_exception(kind, value, tb)))
    if QApplication.instance() is not None:
        QMessageBox.critical(
            None,
            "Unexpected error",
            f"Something went wrong: {value}\n\nThe app keeps running. Details are in the log: "
            f"{paths.log_dir() / 'emotion-desktop.log'}",
        )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="emotion-desktop", description="Emotion Desktop")
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "--smoke-test",
        nargs="?",
        const="",
        metavar="IMAGE",
        help="open the window offscreen, label the faces in IMAGE (or a generated image) and exit",
    )
    parser.add_argument(
        "--live",
        type=Path,
        metavar="VIDEO",
        help="open on the Live tab, playing VIDEO as the camera",
    )
    parser.add_argument(
        "--install-launcher",
        action="store_true",
        help="add Emotion Desktop to the applications menu (and the desktop) and exit",
    )
    return parser.parse_known_args(argv)[0]


def smoke_test(window: MainWindow, image: str) -> int:
    """Label ``image`` (or a generated face-like image, classified whole) with the active model."""
    import numpy as np

    from emotion_desktop.core.errors import EmotionDesktopError
    from emotion_desktop.core.model.inference import Predictor

    try:
        predictor = Predictor(window.active_model.loaded())
        if image:
            faces = predictor.predict_image(image, whole_image=True)
        else:
            gray = np.tile(np.linspace(40, 220, 96, dtype=np.uint8), (120, 1))
            faces = predictor.predict_gray(gray, whole_image=True)
    except EmotionDesktopError as exc:
        print(f"smoke test failed: {exc}", file=sys.stderr)
        return 2
    print(f"model: {window.active_model.path()}")
    for i, face in enumerate(faces):
        print(f"face {i}: {face.label} {face.confidence:.1%} at {face.box}")
    print(f"smoke test passed: window opened, {len(faces)} face(s) labelled")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.install_launcher:
        from emotion_desktop.launcher import install_launcher

        for path in install_launcher():
            print(f"installed {path}")
        return 0
    if args.smoke_test is not None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    setup_logging()
    configure_torch()
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setOrganizationName("emotion-desktop")
    app.setApplicationName("Emotion Desktop")
    sys.excepthook = show_exception

    window = MainWindow()
    window.show()
    window.activateWindow()  # take keyboard focus, so shortcuts work from the first key press
    freeze_startup_heap()
    if args.live is not None:
        window.play_live(args.live)
    if args.smoke_test is not None:
        code = smoke_test(window, args.smoke_test)
        window.close()
        return code
    preload = preload_training_imports()
    code = app.exec()
    preload.join()
    wait_for_workers()
    return code
