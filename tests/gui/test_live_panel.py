"""The Live tab's probability panel: 24 new faces a second cost the GUI thread one later paint
each, never seven paints on the spot (a progress bar paints itself at once on a new value)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject

from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.stream.tracking import TrackedFace
from emotion_desktop.core.vision.faces import Box
from emotion_desktop.gui.live.panel import ProbabilityPanel


class PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


def face(happy: float) -> TrackedFace:
    probabilities = tuple(happy if n == "happy" else (1 - happy) / 6 for n in NAMES)
    return TrackedFace(1, Box(0, 0, 10, 10), probabilities, "happy", happy, False)


def test_a_new_face_paints_the_bars_later_and_once(qtbot) -> None:
    panel = ProbabilityPanel()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    counter = PaintCounter()
    for bar in panel.bars:
        bar.installEventFilter(counter)
    panel.show_face(face(0.8))
    assert counter.paints == 0  # none while the GUI thread handles the result
    assert panel.values()[NAMES.index("happy")] == 0.8
    qtbot.waitUntil(lambda: counter.paints >= len(panel.bars))
    qtbot.wait(200)  # every paint still due
    painted = counter.paints
    panel.show_face(face(0.3))
    assert counter.paints == painted
    qtbot.wait(200)
    assert painted < counter.paints <= painted + len(panel.bars)  # each bar once, in one paint
