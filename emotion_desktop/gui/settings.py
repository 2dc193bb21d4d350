"""Reading saved settings: every value goes through :func:`setting` (or :func:`json_setting`),
which checks it against its default's type and the widget's range, and falls back to the
default (logging why) where it does not fit.

A hand-edited or damaged settings file (``[live] smoothing=abc``, ``[window] tab=2147483648``,
a JSON value nested 100,000 deep) must never stop the window from opening; the worst it may
cost is a remembered choice.
"""

from __future__ import annotations

import json
import logging
import math
from typing import TypeVar

from PySide6.QtCore import QSettings

log = logging.getLogger(__name__)
T = TypeVar("T", bool, int, float, str, list)
J = TypeVar("J", dict, list)

C_INT = (-(2**31), 2**31 - 1)  # what a Qt int argument takes; more raises OverflowError
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def _convert(raw: object, default: T) -> T:
    if isinstance(default, bool):
        text = str(raw).strip().lower()
        if isinstance(raw, bool) or text in _TRUE | _FALSE:
            return raw if isinstance(raw, bool) else text in _TRUE
        raise ValueError(f"not a yes/no value: {raw!r}")
    if isinstance(default, int):
        return int(str(raw))
    if isinstance(default, float):
        value = float(str(raw))
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {raw!r}")
        return value
    if isinstance(default, str):
        if not isinstance(raw, str):
            raise ValueError(f"not text: {raw!r}")
        return raw
    # a list of strings: QSettings returns one item as a plain string
    items = [raw] if isinstance(raw, str) else list(raw or [])  # type: ignore[call-overload]
    if not all(isinstance(i, str) for i in items):
        raise ValueError(f"not a list of text: {raw!r}")
    return items


def setting(
    settings: QSettings,
    key: str,
    default: T,
    minimum: float | None = None,
    maximum: float | None = None,
) -> T:
    """The saved value of ``key`` as the type of ``default``; ``default`` where it is absent,
    does not convert, or (a number) lies outside ``minimum``..``maximum``, the range of the
    widget it goes to. An int is never outside what Qt takes, whatever the range.

    Out of range falls back to the default rather than to the nearest end: a smoothing of
    2**70 is damage, not a wish for the most smoothing, and the nearest end of a filter (a
    confidence of 100 %) would hide every row."""
    raw = settings.value(key, default)
    try:
        value = _convert(raw, default)
        if isinstance(value, int | float) and not isinstance(value, bool):
            low, high = C_INT if isinstance(value, int) else (-math.inf, math.inf)
            low = low if minimum is None else max(low, minimum)
            high = high if maximum is None else min(high, maximum)
            if not low <= value <= high:
                raise ValueError(f"{value!r} is outside {low}..{high}")
        return value
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        log.warning("ignoring the saved setting %s (%s); using %r", key, exc, default)
        return default


def json_setting(settings: QSettings, key: str, default: J) -> J:
    """The saved JSON text of ``key``, parsed, where it is of ``default``'s type (a dict or a
    list); ``default`` where it is absent, not JSON, nested too deep to parse, or another type.
    """
    text = setting(settings, key, "")
    if not text:
        return default
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:  # "[" * 100_000: RecursionError
        log.warning("ignoring the saved setting %s (%s); using %r", key, str(exc)[:80], default)
        return default
    if not isinstance(value, type(default)):
        log.warning("ignoring the saved setting %s (not a %s)", key, type(default).__name__)
        return default
    return value
