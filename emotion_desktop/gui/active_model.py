"""The active model, shared by the tabs: which checkpoint, its card, and swapping it live."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from emotion_desktop.core import paths
from emotion_desktop.core.model.checkpoints import LoadedModel, load_model_for_inference, read_card


class ActiveModel(QObject):
    """Which checkpoint is active, and a signal that tells the tabs when the user picks another.

    Workers load the active path themselves (``load_model_for_inference``, which keeps the model
    while its file is unchanged), so a swap reaches the Live and Batch tabs without a restart.
    """

    changed = Signal()

    def path(self) -> Path:
        return paths.active_model_path()

    def loaded(self) -> LoadedModel:
        """The active model; CheckpointError when it is missing or damaged."""
        return load_model_for_inference(self.path())

    def card(self) -> dict:
        return read_card(self.path())

    def is_default(self) -> bool:
        return self.path() == paths.default_model_path()

    def name(self) -> str:
        return "default" if self.is_default() else self.path().stem

    def description(self) -> str:
        figures = test_figures(self.card())
        return self.name() + (f" (test accuracy {figures})" if figures else "")

    def set_active(self, path: Path | None) -> None:
        """Make ``path`` active (None: the shipped default) for every tab and the CLI."""
        paths.set_active_model(path)
        self.changed.emit()


SOURCE_TITLES = {"kdef": "KDEF", "ferplus": "FER+"}


def card_tests(card: dict) -> dict[str, dict]:
    """A card's test figures per source. Cards older than sources hold KDEF's alone, under
    ``test``; damaged sections are left out."""
    tests = card.get("tests") or {"kdef": card.get("test")}
    if not isinstance(tests, dict):
        return {}
    return {str(k): v for k, v in tests.items() if isinstance(v, dict)}


def source_accuracy(card: dict, source: str) -> str:
    """A source's test accuracy from a card, '' where it was not measured."""
    figures = card_tests(card).get(source)
    accuracy = figures.get("accuracy") if isinstance(figures, dict) else None
    return f"{accuracy:.1%}" if isinstance(accuracy, float) else ""


def test_figures(card: dict) -> str:
    """Each measured source's test accuracy, e.g. ``KDEF 87.0%, FER+ 83.1%``."""
    figures = ((title, source_accuracy(card, s)) for s, title in SOURCE_TITLES.items())
    return ", ".join(f"{title} {value}" for title, value in figures if value)
