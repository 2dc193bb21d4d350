"""A confusion matrix as a heat-mapped table, with per-class accuracy in the last column.

Full emotion names head the columns and the table takes the size its contents need: abbreviated
headers were unreadable, and a scroll bar inside a 7x8 table hides the figures it exists for.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem

from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.model.metrics import Scores, percent


class ConfusionTable(QTableWidget):
    def __init__(self) -> None:
        super().__init__(len(NAMES), len(NAMES) + 1)
        self.setHorizontalHeaderLabels([*NAMES, "recall"])
        self.setVerticalHeaderLabels(list(NAMES))
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(0)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizeAdjustPolicy(QTableWidget.SizeAdjustPolicy.AdjustToContents)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setToolTip("Rows: true expression. Columns: predicted expression.")

    def show_scores(self, scores: Scores | None) -> None:
        """Fill the table from ``scores``; None empties it (nothing measured)."""
        self.clearContents()
        if scores is None:
            return
        for r, row in enumerate(scores.confusion):
            total = max(sum(row), 1)
            for c, value in enumerate(row):
                share = value / total
                item = QTableWidgetItem(str(value))
                shade = 255 - round(180 * share)
                colour = QColor(shade, shade, 255) if r == c else QColor(255, shade, shade)
                item.setBackground(colour)
                self.setItem(r, c, item)
            self.setItem(r, len(NAMES), QTableWidgetItem(percent(scores.per_class[NAMES[r]])))

    def value(self, row: int, column: int) -> str:
        item = self.item(row, column)
        return item.text() if item else ""
