"""The callables long core work takes from its caller (the CLI's bar, a GUI worker), one
definition each: the same name never means two things."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

StepFn = Callable[[float, str], None]  # a fraction done and what is being done, for a bar
CancelFn = Callable[[], bool]  # polled between batches: True asks the work to stop


@dataclass(frozen=True)
class Step:
    """A :data:`StepFn` call as an event, for work whose calls cross a queue (a GUI worker
    reports it beside training's :class:`~emotion_desktop.core.training.Progress`)."""

    fraction: float
    message: str
