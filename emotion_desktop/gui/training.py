"""Training tab: retrain on a KDEF folder with live loss and accuracy curves."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from emotion_desktop.gui.models import ModelState


class TrainingTab(QWidget):
    def __init__(self, models: ModelState, settings: QSettings) -> None:
        super().__init__()
        self.models = models
        self.settings = settings
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Choose a KDEF folder to train on"))

    def shutdown(self) -> None:
        """Stop and join every worker thread of the tab."""
