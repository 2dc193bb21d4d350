"""The one duration formatter the tabs share (gui.format), without a widget."""

from __future__ import annotations

from emotion_desktop.gui.format import duration


def test_durations_read_as_a_clock() -> None:
    assert duration(0) == "0:00"
    assert duration(65.4) == "1:05"
    assert duration(59 * 60 + 59.6) == "1:00:00"  # rounded up into the hour
    assert duration(2 * 3600 + 5 * 60 + 7) == "2:05:07"
    assert duration(-3) == "0:00"  # an ETA never goes negative on screen
