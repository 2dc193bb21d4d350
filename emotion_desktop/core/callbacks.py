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
    reports it beside training's :class:`~emotion_desktop.core.train.loop.Progress`)."""

    fraction: float
    message: str


def time_left(elapsed: float, since: float, fraction: float) -> float | None:
    """Seconds left at the pace of the ``elapsed`` seconds in which the work went from ``since``
    to ``fraction`` done; None until it has moved by 1%. A resumed training run starts past
    half way, and the pace of the epochs an earlier run did must not count."""
    done = fraction - since
    return elapsed / done * (1 - fraction) if done > 0.01 else None
