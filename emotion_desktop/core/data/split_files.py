"""The split file saved beside a model: each source's split, by source name.

It is what lets ``evaluate`` reproduce a card's test figure from the same images, and what
keeps a fine-tune or an ensemble from testing on faces that trained it.
"""

from __future__ import annotations

import json
from pathlib import Path

from emotion_desktop.core.data.splits import MAX_SPLIT_BYTES, Split
from emotion_desktop.core.errors import DatasetError
from emotion_desktop.core.files import atomic_write_text, read_json


def save_splits(path: Path, splits: dict[str, Split]) -> None:
    """A split per source name, even for one source: a bare split reads back as KDEF's."""
    data = {"sources": {name: s.to_dict() for name, s in splits.items()}}
    atomic_write_text(path, json.dumps(data, indent=1))


def load_splits(path: Path, single: str) -> dict[str, Split]:
    """Splits by source name. A bare split (files written before every split was named) is the
    one source ``single`` (the card's only source: KDEF, or another where the card says so)."""
    try:
        data = read_json(Path(path), MAX_SPLIT_BYTES)
        if isinstance(data, dict) and "sources" in data:
            return {name: Split.from_dict(s) for name, s in data["sources"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DatasetError(f"cannot read the split file {path}: {exc}") from exc
    return {single: Split.load(path)}
