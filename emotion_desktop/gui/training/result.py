"""The end of a training run: its test figures and confusion matrix beside the active model's,
and one button that makes it active and goes to the Live tab (the flow Teachable Machine and
Lobe users know: train, compare, try)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from emotion_desktop.core.model.card import ModelCard
from emotion_desktop.core.model.metrics import Scores
from emotion_desktop.gui.active_model import SOURCE_TITLES
from emotion_desktop.gui.training.confusion import ConfusionTable

EMPTY_TEXT = (
    "When a run finishes, its test accuracy and confusion matrix appear here beside the active "
    "model's, with a button to try it live."
)


def summary(scores: Scores | None, protocol: str = "") -> str:
    if scores is None:
        return "not tested on these faces"
    split = f", {protocol} split" if protocol else ""
    return (
        f"<b>{scores.accuracy:.1%}</b> (macro {scores.macro_accuracy:.1%}) "
        f"on {scores.count} test faces{split}"
    )


class ModelColumn(QGroupBox):
    """One model's figures on the chosen source: a line of accuracy and its confusion matrix."""

    def __init__(self, title: str) -> None:
        super().__init__(title)
        self.figures = QLabel()
        self.figures.setWordWrap(True)
        self.confusion = ConfusionTable()
        layout = QVBoxLayout(self)
        layout.addWidget(self.figures)
        layout.addWidget(self.confusion)
        layout.addStretch()

    def show_card(self, card: ModelCard, source: str) -> None:
        figures = card.tests_by_source().get(source)
        protocol = card.split.protocol if source == "kdef" and card.split else ""
        self.figures.setText(summary(figures, protocol))
        self.confusion.show_scores(figures)


class ResultView(QWidget):
    """The finished run beside the active model, per test source; ``live_requested`` carries the
    run's model path when the user presses "Try it live"."""

    live_requested = Signal(Path)

    def __init__(self) -> None:
        super().__init__()
        self._card = ModelCard()
        self._active_card = ModelCard()
        self._path: Path | None = None
        self.message = QLabel(EMPTY_TEXT)
        self.message.setWordWrap(True)
        self.source = QComboBox()
        self.source.setToolTip("The test faces the figures below are measured on")
        self.source.currentIndexChanged.connect(self._show)
        self.try_button = QPushButton("Try it &live")
        self.try_button.setToolTip("Use this model in the Live and Batch tabs and go to Live")
        self.try_button.clicked.connect(self._on_try_button_clicked)
        self.run_column = ModelColumn("This run")
        self.active_column = ModelColumn("Active model")
        top = QHBoxLayout()
        top.addWidget(QLabel("Test faces:"))
        top.addWidget(self.source)
        top.addStretch()
        top.addWidget(self.try_button)
        self.columns = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.columns.addWidget(self.run_column)
        self.columns.addWidget(self.active_column)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addLayout(top)
        layout.addLayout(self.columns)
        layout.addStretch()
        self._set_shown(False)

    def _set_shown(self, shown: bool) -> None:
        for widget in (self.source, self.try_button, self.run_column, self.active_column):
            widget.setVisible(shown)

    def show_run(
        self, path: Path, card: ModelCard, active_name: str, active_card: ModelCard
    ) -> None:
        """Show a finished run's figures beside the active model's."""
        self._card, self._active_card = card, active_card
        self._name_run(path)
        self.active_column.setTitle(f"Active model: {active_name}")
        self.try_button.setEnabled(True)
        self.source.blockSignals(True)
        self.source.clear()
        for name in card.tests_by_source():
            self.source.addItem(SOURCE_TITLES.get(name, name), name)
        self.source.blockSignals(False)
        self._set_shown(True)
        self._show()

    def model_moved(self, old: Path, new: Path | None) -> None:
        """The run's model was renamed (``new``) or deleted (None) on the Models page: "Try it
        live" follows it, or is off. A stale path once made the shipped default active."""
        if self._path is None or old != self._path:
            return
        if new is None:
            self._path = None
            self.try_button.setEnabled(False)
            self.message.setText(f"<b>{old.stem}</b> was deleted. Its test figures were:")
            return
        self._name_run(new)

    def _name_run(self, path: Path) -> None:
        self._path = path
        self.message.setText(
            f"Saved <b>{path.stem}</b>. Its test figures, beside the active model:"
        )
        self.run_column.setTitle(f"This run: {path.stem}")

    def update_active(self, active_name: str, active_card: ModelCard) -> None:
        """The active model changed (the user picked another): compare against it instead."""
        self._active_card = active_card
        self.active_column.setTitle(f"Active model: {active_name}")
        self._show()

    def _show(self) -> None:
        source = self.source.currentData()
        if source is None:
            return
        self.run_column.show_card(self._card, source)
        self.active_column.show_card(self._active_card, source)

    @Slot()
    def _on_try_button_clicked(self) -> None:
        if self._path is not None:
            self.live_requested.emit(self._path)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        """Side by side where both matrices fit, one above the other where they do not."""
        needed = self.run_column.sizeHint().width() + self.active_column.sizeHint().width() + 40
        self.columns.setDirection(
            QBoxLayout.Direction.LeftToRight
            if event.size().width() >= needed
            else QBoxLayout.Direction.TopToBottom
        )
        super().resizeEvent(event)
