"""How many camera frames Live analyses a second while other work in the app needs the cores.

A training run computes on every core, and each of its parallel regions waits for its slowest
thread: whenever Live's threads take a core, both of training's wait. Analysing every frame of
a 24 fps camera beside a Quick run made that run 1.7 times slower than alone; analysing 16
frames a second (two of every three) kept it near 1.3 times while the picture stays fluid
(``benchmarks/live_window.py``, case ``training``). The frames left out are not "dropped": the
camera keeps its rate and the newest frame is always the one analysed.
"""

from __future__ import annotations

import time

# The analysed rate while a training run shares the cores: the floor is 15 fps, and a
# 24 fps camera gives 16 as two frames in every three.
SHARED_FPS = 16.0
BUCKET = 2.0


class Pacer:
    """A token bucket: :meth:`admit` says whether a frame arriving now may be analysed, so that
    at most ``max_fps`` frames a second are, spread as evenly as the camera's frames allow (a
    24 fps camera at 16: two in every three, not bursts of 16 and then a gap).

    The bucket holds two tokens, not one: with one, the part of a token that comes between
    two frames is lost whenever the bucket is full, and a 24 fps camera paced at 16 gave 12.
    ``max_fps`` None admits every frame."""

    def __init__(self, max_fps: float | None = None) -> None:
        self.max_fps = max_fps
        self._credit = 1.0
        self._last: float | None = None

    def admit(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if self.max_fps is None:
            self._last = now
            return True
        if self._last is not None:
            self._credit = min(BUCKET, self._credit + (now - self._last) * self.max_fps)
        self._last = now
        if self._credit >= 1.0 - 1e-6:  # a frame interval's rounding never loses a token
            self._credit -= 1.0
            return True
        return False
