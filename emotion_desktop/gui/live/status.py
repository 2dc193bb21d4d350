"""Live's status line: rates, time per frame, dropped frames, the model, and any pace in force."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from PySide6.QtWidgets import QLabel

from emotion_desktop.core.live.loop import LiveResult

# Twice a second is as often as anyone reads a number. Each new text also cost a second full
# repaint of the video beside it (measured under Xvfb: 46 paints of the view a second at 24 fps,
# 24 without the changing line), about 26 ms of the GUI thread a second.
REFRESH_S = 0.5


def status_text(result: LiveResult, step_ms: Sequence[float]) -> str:
    paced = f" · at most {result.max_fps:.0f} fps while training" if result.max_fps else ""
    return (
        f"Capture {result.capture_fps:.1f} fps · processed {result.processed_fps:.1f} fps"
        f"{paced} · {np.mean(step_ms):.1f} ms per frame · {result.dropped} dropped"
        f" · model {result.model.stem if result.model else '?'}"
    )


class StatusLine(QLabel):
    """The line under Live's view; :meth:`show_result` changes it at most every REFRESH_S."""

    def __init__(self) -> None:
        super().__init__("Stopped")
        self._shown_at = -REFRESH_S

    def show_result(self, result: LiveResult, step_ms: Sequence[float], last: bool = False) -> None:
        """Show ``result``'s figures, unless the line changed less than REFRESH_S ago and
        ``result`` is not a run's ``last``."""
        now = time.monotonic()
        if last or now - self._shown_at >= REFRESH_S:
            self._shown_at = now
            self.setText(status_text(result, step_ms))
