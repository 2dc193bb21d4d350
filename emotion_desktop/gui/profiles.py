"""The choice of a personal profile, shared by Live and Batch: "No profile" and the profiles
made with one model.

The profiles of a model sit in a folder named by the model file's SHA-256
(:mod:`~emotion_desktop.core.model.profile_library`): the first listing for a model hashes its
20 MB file (~50 ms), so it runs on a worker, once the box is first shown (a tab never looked at
hashes nothing). The hash is then kept for the process, and later listings (each time the list
is opened, so a profile made or renamed elsewhere shows) are a glob of one folder, done on the
GUI thread.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QComboBox

from emotion_desktop.core.model.profile_library import list_profiles
from emotion_desktop.gui.workers import Task

NO_PROFILE = "No profile"


class ProfileBox(QComboBox):
    """``listed``: the profiles of the model given to :meth:`show_model` are in the list.
    ``activated`` (QComboBox's) is the user's choice; :meth:`select` never emits it."""

    listed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setToolTip(
            "A personal profile corrects the model's readings for one person's face; "
            "make one with Calibrate in the Live tab"
        )
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.setMinimumContentsLength(10)
        self.addItem(NO_PROFILE, None)
        self.model: Path | None = None  # whose profiles are listed (or being listed)
        self._pending = False  # the model's profiles are to be listed once the box shows
        self._hashed: Path | None = None  # a model whose listing ran on the worker
        self._lister = Task(self)
        self._lister.finished.connect(self._on_lister_finished)

    def show_model(self, model: Path) -> None:
        """List ``model``'s profiles (once the box is shown): on a worker the first time, at
        once afterwards; ``listed`` follows."""
        self.model, self._pending = Path(model), True
        if self.isVisible():
            self._list()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._pending:
            self._list()

    def _list(self) -> None:
        self._pending = False
        if self._hashed == self.model:
            self._fill(_listed(self.model))
            self.listed.emit()
            return
        self._lister.retire()
        self._lister.start(lambda report, cancelled, model=self.model: _listed(model))

    def refresh(self) -> None:
        """List the model's profiles again (made, renamed or deleted since)."""
        if self.model is not None and self._hashed == self.model:
            self._fill(_listed(self.model))

    @Slot(object)
    def _on_lister_finished(self, found: list[Path]) -> None:
        self._hashed = self.model
        self._fill(found)
        self.listed.emit()

    def _fill(self, found: list[Path]) -> None:
        """The items, keeping the chosen profile where it is still there (else none)."""
        chosen = self.current_path()
        self.blockSignals(True)
        self.clear()
        self.addItem(NO_PROFILE, None)
        for path in found:
            self.addItem(path.stem, path)
        self.blockSignals(False)
        self.select(chosen)

    def showPopup(self) -> None:  # noqa: N802 (Qt's name)
        self.refresh()
        super().showPopup()

    def current_path(self) -> Path | None:
        """The chosen profile's file, None for no profile."""
        return self.currentData()

    def profile_paths(self) -> list[Path]:
        return [self.itemData(i) for i in range(1, self.count())]

    def select(self, path: Path | None) -> bool:
        """Show ``path`` (None: no profile) as chosen; False where it is not in the list."""
        index = 0 if path is None else self._index(Path(path))
        self.blockSignals(True)
        self.setCurrentIndex(max(index, 0))
        self.blockSignals(False)
        return index >= 0

    def _index(self, path: Path) -> int:
        """The item of ``path``, -1 where none (findData compares Python objects by identity)."""
        return next((i for i in range(1, self.count()) if self.itemData(i) == path), -1)

    def is_listing(self) -> bool:
        return self._lister.is_running()

    def shutdown(self) -> None:
        self._lister.stop()


def _listed(model: Path) -> list[Path]:
    """The profiles made with ``model``; none where the model file is gone (the active model's
    record then falls back to the default, which is listed next)."""
    try:
        return list_profiles(model)
    except OSError:
        return []
