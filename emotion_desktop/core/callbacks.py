"""The callables long core work takes from its caller (the CLI's bar, a GUI worker), one
definition each: the same name never means two things."""

from __future__ import annotations

from collections.abc import Callable

StepFn = Callable[[float, str], None]  # a fraction done and what is being done, for a bar
CancelFn = Callable[[], bool]  # polled between batches: True asks the work to stop
