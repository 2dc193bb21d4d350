"""The Batch tab's Recent button: the folders labelled before, remembered under
``batch/recent_folders``; ``folder_chosen(object)`` gives the Path picked from its menu."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QPushButton

from emotion_desktop.gui.settings import setting

RECENT_FOLDERS = 8


class RecentButton(QPushButton):  # a QToolButton's arrow covered its text
    folder_chosen = Signal(object)

    def __init__(self, settings: QSettings) -> None:
        super().__init__("&Recent")
        self.settings = settings
        self.setToolTip("Label a folder you labelled before")
        self.menu_ = QMenu(self)
        self.setMenu(self.menu_)
        self._fill()

    def folders(self) -> list[str]:
        return setting(self.settings, "batch/recent_folders", [])

    def remember(self, paths: list[Path]) -> None:
        """Put the folders of ``paths`` (a file's own folder) first in the list."""
        folders = [str(p if p.is_dir() else p.parent) for p in paths]
        recent = list(dict.fromkeys(folders[::-1] + self.folders()))[:RECENT_FOLDERS]
        self.settings.setValue("batch/recent_folders", recent)
        self._fill()

    def _fill(self) -> None:
        self.menu_.clear()
        for folder in self.folders():
            action = QAction(folder, self.menu_)
            action.triggered.connect(lambda _=False, f=folder: self.folder_chosen.emit(Path(f)))
            self.menu_.addAction(action)
        self.setEnabled(bool(self.folders()))
