"""The Live tab's side panel: the largest face's seven probabilities as bars, and their last
30 seconds as a timeline."""

from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QWidget

from emotion_desktop.core.emotions import EMOTIONS
from emotion_desktop.core.stream.tracking import TrackedFace

TIMELINE_SECONDS = 30.0


class ProbabilityPanel(QWidget):
    """The seven probabilities of one face as horizontal bars in the emotion colours."""

    def __init__(self) -> None:
        super().__init__()
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("No face")
        layout.addWidget(self.title, 0, 0, 1, 2)
        self.bars: list[QProgressBar] = []
        for row, emotion in enumerate(EMOTIONS, start=1):
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setValue(0)  # a reset bar (value -1) hides its text, and the name with it
            bar.setFormat(f"{emotion.title} %p%")
            bar.setStyleSheet(f"QProgressBar::chunk {{ background-color: {emotion.colour}; }}")
            layout.addWidget(bar, row, 0, 1, 2)
            self.bars.append(bar)

    def show_face(self, face: TrackedFace | None) -> None:
        """Show ``face``'s probabilities (none: zeros), 24 times a second. A progress bar paints
        itself at once on each new value; with its updates off while it takes the value, each
        bar is painted once, later, with the rest of the window (the seven paints on the spot
        took 3.7 ms of the GUI thread a frame). Turned off per bar: off on the panel, every
        bar was painted twice."""
        for bar in self.bars:
            bar.setUpdatesEnabled(False)
        try:
            self._show(face)
        finally:
            for bar in self.bars:
                bar.setUpdatesEnabled(True)

    def _show(self, face: TrackedFace | None) -> None:
        if face is None:
            self.title.setText("No face")
            for bar in self.bars:
                bar.setValue(0)
            return
        self.title.setText(f"Face {face.id}: {'uncertain' if face.uncertain else face.label}")
        for bar, p in zip(self.bars, face.probabilities):
            bar.setValue(round(p * 1000))

    def values(self) -> tuple[float, ...]:
        return tuple(bar.value() / 1000 for bar in self.bars)


EMPTY_TIMELINE = f"The largest face's emotions over\nthe last {TIMELINE_SECONDS:.0f} s appear here"


class Timeline(pg.PlotWidget):
    """The largest face's probabilities over the last 30 s; one curve per emotion, made once."""

    def __init__(self) -> None:
        super().__init__(background="w")
        self.setMinimumHeight(160)
        self.setYRange(0, 1, padding=0.03)  # without padding the top label "1.0" is cut
        self.setXRange(-TIMELINE_SECONDS, 0, padding=0)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.setLabel("bottom", "seconds ago")
        self._curves = [self.plot([], [], pen=pg.mkPen(e.colour, width=2)) for e in EMOTIONS]
        self._empty = pg.TextItem(EMPTY_TIMELINE, color="#666", anchor=(0.5, 0.5))
        self._empty.setPos(-TIMELINE_SECONDS / 2, 0.5)
        self.addItem(self._empty)
        self._times: deque[float] = deque()
        self._values: deque[tuple[float, ...]] = deque()
        self._dirty = False

    def append(self, timestamp: float, probabilities: tuple[float, ...]) -> None:
        self._times.append(timestamp)
        self._values.append(probabilities)
        while self._times and timestamp - self._times[0] > TIMELINE_SECONDS:
            self._times.popleft()
            self._values.popleft()
        self._dirty = True

    def clear_data(self) -> None:
        self._times.clear()
        self._values.clear()
        self._dirty = True

    def refresh(self) -> None:
        """Hand the buffered points to the curves (setData), only when something changed."""
        if not self._dirty:
            return
        self._dirty = False
        self._empty.setVisible(not self._times)
        if not self._times:
            for curve in self._curves:
                curve.setData([], [])
            return
        x = np.fromiter(self._times, float, len(self._times)) - self._times[-1]
        values = np.array(self._values, dtype=float)
        for index, curve in enumerate(self._curves):
            curve.setData(x, values[:, index])

    def point_count(self) -> int:
        return len(self._times)
