"""Changing the model while Live runs: the worker asks between frames, and loads a model only
when the user has picked another one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from emotion_desktop.core.live.loop import Mailbox
from emotion_desktop.core.model.inference import Predictor

LoadFn = Callable[[Path], Predictor]  # builds a predictor on the thread that calls it


class ModelSwap:
    """The predictor for the newest model path posted to ``paths``, for one run's worker.

    Built and called on the worker: :meth:`first` loads the model posted when the run began, and
    each call (``process_frames``' ``swap_predictor``) returns a predictor for a newly posted
    path, or None while the path is the one in use. The tab only posts paths.
    """

    def __init__(self, paths: Mailbox[Path], load: LoadFn) -> None:
        self._paths = paths
        self._load = load
        self.path = paths.read()

    def first(self) -> Predictor:
        return self._load(self.path)

    def __call__(self) -> Predictor | None:
        latest = self._paths.read()
        if latest == self.path:
            return None
        self.path = latest
        return self._load(latest)
