"""Live tab: the camera with a box and an emotion label over every face."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from emotion_desktop.gui.models import ModelState


class LiveTab(QWidget):
    def __init__(self, models: ModelState, settings: QSettings) -> None:
        super().__init__()
        self.models = models
        self.settings = settings
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Live camera view"))

    def open_video_dialog(self) -> None:
        """Ask for a video file to use as the camera."""

    def shutdown(self) -> None:
        """Stop and join every worker thread of the tab."""
