"""The seven KDEF expressions: their order in the model's output, codes, names and colours."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Emotion:
    name: str
    kdef_code: str
    colour: str  # hex RGB, used for overlay boxes and charts

    @property
    def title(self) -> str:
        return self.name.capitalize()


EMOTIONS: tuple[Emotion, ...] = (
    Emotion("afraid", "AF", "#8e44ad"),
    Emotion("angry", "AN", "#e74c3c"),
    Emotion("disgusted", "DI", "#27ae60"),
    Emotion("happy", "HA", "#f1c40f"),
    Emotion("neutral", "NE", "#95a5a6"),
    Emotion("sad", "SA", "#3498db"),
    Emotion("surprised", "SU", "#e67e22"),
)
NAMES: tuple[str, ...] = tuple(e.name for e in EMOTIONS)
NUM_CLASSES = len(EMOTIONS)
INDEX_BY_CODE: dict[str, int] = {e.kdef_code: i for i, e in enumerate(EMOTIONS)}
INDEX_BY_NAME: dict[str, int] = {e.name: i for i, e in enumerate(EMOTIONS)}
