"""Reading saved settings: every value goes through :func:`setting`, which checks it against its
default's type and falls back to the default (logging why) where it does not fit.

A hand-edited or damaged settings file (``[live] smoothing=abc``) must never stop the window
from opening; the worst it may cost is a remembered choice.
"""

from __future__ import annotations

import logging
import math
from typing import TypeVar

from PySide6.QtCore import QSettings

log = logging.getLogger(__name__)
T = TypeVar("T", bool, int, float, str, list)

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


def setting(settings: QSettings, key: str, default: T) -> T:
    """The saved value of ``key`` as the type of ``default``; ``default`` where it is absent or
    does not convert."""
    raw = settings.value(key, default)
    try:
        return _convert(raw, default)
    except (TypeError, ValueError) as exc:
        log.warning("ignoring the saved setting %s (%s); using %r", key, exc, default)
        return default
