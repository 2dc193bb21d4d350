"""A confusion matrix as a heat-mapped table, with per-class accuracy in the last column."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem

from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.metrics import Scores


class ConfusionTable(QTableWidget):
    def __init__(self) -> None:
        super().__init__(len(NAMES), len(NAMES) + 1)
        self.setHorizontalHeaderLabels([n[:5] for n in NAMES] + ["recall"])
        self.setVerticalHeaderLabels(list(NAMES))
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setToolTip("Rows: true expression. Columns: predicted expression.")

    def show_scores(self, scores: Scores) -> None:
        for r, row in enumerate(scores.confusion):
            total = max(sum(row), 1)
            for c, value in enumerate(row):
                share = value / total
                item = QTableWidgetItem(str(value))
                shade = 255 - round(180 * share)
                colour = QColor(shade, shade, 255) if r == c else QColor(255, shade, shade)
                item.setBackground(colour)
                self.setItem(r, c, item)
            self.setItem(r, len(NAMES), QTableWidgetItem(f"{scores.per_class[NAMES[r]]:.0%}"))

    def value(self, row: int, column: int) -> str:
        item = self.item(row, column)
        return item.text() if item else ""
