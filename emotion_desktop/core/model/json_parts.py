"""Frozen dataclasses read from JSON and written back, every value checked on the way in.

A model card is read from a file anyone can edit. Each of its parts is a frozen dataclass whose
type hints say what a value must be; :func:`read_part` checks every value against them and
refuses the first that does not fit with :class:`Damaged`, naming where it is
(``data.sources[1].weight is 'x', where a number belongs``). Readers then use fields, never
keys, and never meet a string where a mapping belongs.

A field's JSON key is its name, or ``metadata={"key": ...}``. A field without a default must
be present. A part with a field named ``extra`` keeps the keys it does not name there, so a
file written by a newer app or a benchmark's figures survive a read and a write; values that
are ``Any`` (and ``extra``) may be any JSON nested at most :data:`MAX_DEPTH` deep.
:func:`write_part` leaves out every field equal to its default, so a part is written back as it
was read.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, fields, is_dataclass
from typing import Any, Literal, TypeVar

T = TypeVar("T")
EXTRA = "extra"
# Deeper than any card this app writes (figures nest 4 deep): a hand-made card nested
# thousands deep is refused here rather than failing when a run writes it back.
MAX_DEPTH = 16


class Damaged(ValueError):
    """A value that does not fit its part; the message says where it is and what belongs."""


def read_part(cls: type[T], raw: object, where: str = "") -> T:
    """``raw`` (parsed JSON) as the dataclass ``cls``; Damaged at the first value that does
    not fit. ``where`` is the part's place in the file, for the message."""
    if not isinstance(raw, dict):
        raise Damaged(f"{where or 'the card'} is {_kind(raw)}, where a mapping belongs")
    hints, values, named = _hints(cls), {}, set()
    for f in fields(cls):
        if f.name == EXTRA:
            continue
        key = f.metadata.get("key", f.name)
        named.add(key)
        if key in raw:
            values[f.name] = _read(hints[f.name], raw[key], _at(where, key))
        elif f.default is MISSING and f.default_factory is MISSING:
            raise Damaged(f"{where or 'the card'} has no {key}")
    rest = {k: v for k, v in raw.items() if k not in named}
    if EXTRA in hints:
        values[EXTRA] = {k: _free(v, _at(where, k), 1) for k, v in rest.items()}
    elif rest:
        raise Damaged(f"{_at(where, next(iter(rest)))} does not belong in {where or 'the card'}")
    try:
        return cls(**values)
    except ValueError as exc:  # a part's own check (__post_init__), e.g. a matrix's shape
        raise Damaged(f"{where or 'the card'}: {exc}") from exc


def write_part(part: object) -> dict:
    """A part as JSON: its fields that differ from their defaults, then its ``extra`` (first,
    where the part's ``extra_first`` says so)."""
    out, extra = {}, {}
    for f in fields(part):
        value = getattr(part, f.name)
        if f.name == EXTRA:
            extra = {k: _plain(v) for k, v in value.items()}
        elif f.default is MISSING or value != f.default:
            out[f.metadata.get("key", f.name)] = _plain(value)
    return {**extra, **out} if getattr(part, "extra_first", False) else {**out, **extra}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _read(hint: Any, raw: object, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return _free(raw, where, 1)
    if origin in (typing.Union, types.UnionType):
        return _read_union(args, raw, where)
    if origin is Literal:
        if raw not in args or type(raw) is not type(args[0]):
            raise Damaged(f"{where} is {raw!r}, where {' or '.join(map(repr, args))} belongs")
        return raw
    if is_dataclass(hint):
        return read_part(hint, raw, where)
    if origin in (tuple, list):
        if not isinstance(raw, list):
            raise Damaged(f"{where} is {_kind(raw)}, where a list belongs")
        items = [_read(args[0], v, f"{where}[{i}]") for i, v in enumerate(raw)]
        return tuple(items) if origin is tuple else items
    if origin in (dict, Mapping):
        if not isinstance(raw, dict):
            raise Damaged(f"{where} is {_kind(raw)}, where a mapping belongs")
        return {k: _read(args[1], v, _at(where, k)) for k, v in raw.items()}
    return _read_scalar(hint, raw, where)


def _read_union(args: tuple, raw: object, where: str) -> Any:
    """``X | None`` is X where the key is given; of several arms, the first that fits."""
    arms = [a for a in args if a is not type(None)]
    if raw is None and len(arms) < len(args):
        return None
    if len(arms) == 1:
        return _read(arms[0], raw, where)  # its own message says what is wrong inside
    for arm in arms:
        try:
            return _read(arm, raw, where)
        except Damaged:
            continue
    raise Damaged(f"{where} is {_shown(raw)}, where {' or '.join(map(_name, arms))} belongs")


def _read_scalar(hint: type, raw: object, where: str) -> Any:
    """A bool, int, float or str; a float field takes a whole number, never a bool (JSON's
    true is no number). NaN stays: a run without validation faces records it."""
    if hint is float and type(raw) in (int, float):
        return float(raw)
    if type(raw) is not hint:
        raise Damaged(f"{where} is {_shown(raw)}, where {_name(hint)} belongs")
    return raw


def _free(raw: object, where: str, depth: int) -> Any:
    """Any JSON value nested at most MAX_DEPTH deep, as it is."""
    if depth > MAX_DEPTH:
        raise Damaged(f"{where} is nested deeper than any card this app writes")
    if isinstance(raw, dict):
        for k, v in raw.items():
            _free(v, _at(where, k), depth + 1)
    elif isinstance(raw, list):
        for i, v in enumerate(raw):
            _free(v, f"{where}[{i}]", depth + 1)
    return raw


def _plain(value: object) -> Any:
    if is_dataclass(value):
        return write_part(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(raw: object) -> str:
    return {dict: "a mapping", list: "a list", str: "text", type(None): "null"}.get(
        type(raw), _shown(raw)
    )


def _shown(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 40 else f"{type(raw).__name__} {text[:37]}..."


def _name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (tuple, list):
        return "a list"
    if origin in (dict, Mapping) or is_dataclass(hint):
        return "a mapping"
    if origin is Literal:
        return " or ".join(map(repr, typing.get_args(hint)))
    return {bool: "true or false", int: "a whole number", float: "a number", str: "text"}.get(
        hint, str(hint)
    )
