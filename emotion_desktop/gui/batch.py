"""Batch tab: drop folders of photos, get every face labelled, export the results."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from emotion_desktop.gui.models import ModelState


class BatchTab(QWidget):
    def __init__(self, models: ModelState, settings: QSettings) -> None:
        super().__init__()
        self.models = models
        self.settings = settings
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Drop folders of photos here"))

    def add_folder_dialog(self) -> None:
        """Ask for a folder of photos to label."""

    def export_dialog(self) -> None:
        """Ask where to save the results."""

    def shutdown(self) -> None:
        """Stop and join every worker thread of the tab."""
