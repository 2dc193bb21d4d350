"""Progress on a terminal: one self-rewriting line, or a line per 10% into a file or pipe."""

from __future__ import annotations

import sys
import time

from emotion_desktop.core.batch.video import VideoProgress
from emotion_desktop.core.callbacks import time_left


class ProgressBar:
    """One self-rewriting line on a terminal; a line per 10% when stderr is a file or pipe.

    The time left is the pace since the phase began (preparing faces, then training) times the
    fraction left: a resumed run starts past 50%, and its pace must not count the epochs that
    an earlier run did.
    """

    def __init__(self, stream=sys.stderr, width: int = 30) -> None:  # noqa: ANN001
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self._origin: tuple[float, float] | None = None  # (time, fraction) the phase began at
        self._last_fraction = 0.0
        self._last_decile = -1

    def update(self, fraction: float, message: str) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        now = time.monotonic()
        if self._origin is None or fraction < self._last_fraction:  # a new phase begins
            self._origin = (now, fraction)
        self._last_fraction = fraction
        began, first = self._origin
        left = time_left(now - began, first, fraction)
        eta = "" if left is None else f" eta {left:.0f}s"
        filled = round(self.width * fraction)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {fraction:6.1%} {message}{eta}"
        if self.tty:
            self.stream.write("\r" + line[:120].ljust(120))
            self.stream.flush()
        elif int(fraction * 10) != self._last_decile:
            self._last_decile = int(fraction * 10)
            print(line, file=self.stream, flush=True)

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
        self._origin, self._last_fraction, self._last_decile = None, 0.0, -1


def show_video_progress(bar: ProgressBar, progress: VideoProgress) -> None:
    """A video's frames done of its total, its rate and (from the bar) the time left."""
    if progress.done:
        bar.done()
        return
    total = f"/{progress.total}" if progress.total else ""
    message = f"{progress.file.name} frame {progress.read}{total} ({progress.rate:.0f} frames/s)"
    bar.update(progress.fraction if progress.fraction is not None else 0.0, message)
