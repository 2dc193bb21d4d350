"""Faces counted per emotion as horizontal bars in the emotion colours.

Horizontal, so the seven names stand one above the other at any width (side by side they ran
into each other in a narrow pane); the count axis starts at 0, and before the first face a line
of text says what will appear instead of an axis from -0.4 to 0.4.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from emotion_desktop.core.emotions import EMOTIONS

EMPTY_TEXT = "Faces found per emotion\nappear here as photos are labelled"


class EmotionChart(pg.PlotWidget):
    def __init__(self) -> None:
        super().__init__(background="w")
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.setMenuEnabled(False)
        self.setTitle("Faces by emotion", color="#333")
        rows = len(EMOTIONS)
        left = self.getAxis("left")
        left.setTicks([[(rows - 1 - i, e.title) for i, e in enumerate(EMOTIONS)]])  # top down
        self.setYRange(-0.6, rows - 0.4, padding=0)
        self.setLabel("bottom", "faces")
        self._counts = np.zeros(rows, dtype=np.int64)
        self._bars = pg.BarGraphItem(
            x0=0,
            y=np.arange(rows)[::-1],
            height=0.7,
            width=self._counts,
            brushes=[pg.mkBrush(e.colour) for e in EMOTIONS],
            pen=pg.mkPen(None),
        )
        self.addItem(self._bars)
        self._empty = pg.TextItem(EMPTY_TEXT, color="#666", anchor=(0.5, 0.5))
        self.addItem(self._empty)
        self.set_counts(self._counts)

    def set_counts(self, counts: np.ndarray) -> None:
        """Show ``counts`` (faces per emotion, in EMOTIONS order)."""
        self._counts = np.asarray(counts, dtype=np.int64).copy()
        self._bars.setOpts(width=self._counts)
        top = max(int(self._counts.max()), 1)
        self.setXRange(0, top * 1.05 if self._counts.any() else 10, padding=0)
        self._empty.setVisible(not self._counts.any())
        self._empty.setPos(5, (len(EMOTIONS) - 1) / 2)

    def counts(self) -> tuple[int, ...]:
        return tuple(int(c) for c in self._counts)

    def empty_text_shown(self) -> bool:
        return self._empty.isVisible()
