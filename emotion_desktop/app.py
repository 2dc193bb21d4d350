"""Entry point of the launcher: builds the QApplication and the main window.

Also installs a log file and a global exception hook, so an unexpected error shows one dialog and
is written to the log instead of killing the window silently.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from logging.handlers import RotatingFileHandler
from types import TracebackType

from PySide6.QtWidgets import QApplication, QMessageBox

from emotion_desktop import __version__
from emotion_desktop.core import paths

log = logging.getLogger("emotion_desktop")


def setup_logging() -> None:
    folder = paths.log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(folder / "emotion-desktop.log", maxBytes=2_000_000, backupCount=3)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
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
    return parser.parse_known_args(argv)[0]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parse_args(argv)
    setup_logging()
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setOrganizationName("emotion-desktop")
    app.setApplicationName("Emotion Desktop")
    sys.excepthook = show_exception

    from emotion_desktop.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    return app.exec()
