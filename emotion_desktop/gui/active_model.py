"""The active model, shared by the tabs: which checkpoint, its card, and swapping it live."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from emotion_desktop.core import paths
from emotion_desktop.core.model.card import ModelCard, shown_card
from emotion_desktop.core.model.checkpoints import LoadedModel, load_model_for_inference


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

    def card(self) -> ModelCard:
        """The active model's card; an empty one where it cannot be read."""
        return shown_card(self.path())

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


def source_accuracy(card: ModelCard, source: str) -> str:
    """A source's test accuracy from a card, '' where it was not measured."""
    figures = card.tests_by_source().get(source)
    return f"{figures.accuracy:.1%}" if figures is not None else ""


def test_figures(card: ModelCard) -> str:
    """Each measured source's test accuracy, e.g. ``KDEF 87.0%, FER+ 83.1%``."""
    figures = ((title, source_accuracy(card, s)) for s, title in SOURCE_TITLES.items())
    return ", ".join(f"{title} {value}" for title, value in figures if value)
