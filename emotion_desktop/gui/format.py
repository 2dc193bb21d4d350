"""Text for numbers the tabs show, one way each."""

from __future__ import annotations


def duration(seconds: float) -> str:
    """``seconds`` as a clock reads: ``M:SS`` under an hour, ``H:MM:SS`` from an hour on (an
    ETA, the time a run has taken)."""
    minutes, secs = divmod(max(0, round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
