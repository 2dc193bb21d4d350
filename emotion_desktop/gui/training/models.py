"""The shipped and the user's models: name, date, test accuracy on each source, training time,
and which one is active. A double click (or "Use this model") makes a model active; the user's
own models can be renamed and deleted, any model exported (its card and splits go with it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from emotion_desktop.core import paths
from emotion_desktop.core.errors import ModelFileError, OutputError
from emotion_desktop.core.model.card import ModelCard, shown_card
from emotion_desktop.core.model.library import delete_model, export_model, is_shipped, rename_model
from emotion_desktop.gui.active_model import ActiveModel, source_accuracy
from emotion_desktop.gui.dialogs import ask_export_path, ask_new_name, confirm

COLUMNS = ("", "name", "created", "KDEF test", "FER+ test", "trained in", "KDEF split", "data")


def training_time(card: ModelCard) -> str:
    """The card's total training time as ``1 h 12 min`` or ``9 min``, with the GPU it took
    where it was not the CPU (the shipped default's 7 minutes are hours on a CPU); '' where
    not recorded."""
    seconds, device = card.training.seconds_total, card.training.device
    if seconds is None or not seconds >= 0:
        return ""
    hours, minutes = divmod(round(seconds / 60), 60)
    spent = f"{hours} h {minutes} min" if hours else f"{max(minutes, 1)} min"
    return f"{spent} on {device}" if device not in (None, "cpu") else spent


class ModelManager(QWidget):
    """The models on disk, each with its test figures; ``model_moved(old, new)`` after a
    rename (``new`` the new path) or a delete (``new`` None), for views that hold a path."""

    model_moved = Signal(Path, object)

    def __init__(self, active_model: ActiveModel) -> None:
        super().__init__()
        self.active_model = active_model
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.activated.connect(self._on_table_activated)  # double click, Enter
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setToolTip(
            "Each model's test accuracy on every source it was tested on. Double-click (or "
            "Enter) to use a model in the Live and Batch tabs."
        )
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.use_button = QPushButton("&Use this model")
        self.default_button = QPushButton("Restore &default")
        self.rename_button = QPushButton("Re&name…")
        self.delete_button = QPushButton("Dele&te…")
        self.export_button = QPushButton("E&xport…")
        self.rename_button.setToolTip("Rename one of your models (the shipped ones keep theirs)")
        self.delete_button.setToolTip("Delete one of your models, its card and its splits")
        delete_key = QShortcut(QKeySequence.StandardKey.Delete, self.table)
        delete_key.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete_key.activated.connect(self.delete_dialog)
        self.export_button.setToolTip(
            "Copy the model file with its card and splits, e.g. to use it on another computer"
        )
        self.use_button.clicked.connect(self._on_use_button_clicked)
        self.default_button.clicked.connect(self._on_default_button_clicked)
        self.rename_button.clicked.connect(self.rename_dialog)
        self.delete_button.clicked.connect(self.delete_dialog)
        self.export_button.clicked.connect(self.export_dialog)
        buttons = QHBoxLayout()
        for button in (
            self.use_button,
            self.default_button,
            self.rename_button,
            self.delete_button,
            self.export_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self._paths: list[Path] = []
        active_model.changed.connect(self.refresh)
        self.refresh()

    @staticmethod
    def user_model_paths() -> list[Path]:
        """The user's models, newest first."""
        return sorted(
            (p for p in paths.models_dir().glob("*.pt") if not p.name.endswith(".partial.pt")),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )

    def refresh(self) -> None:
        shipped = paths.shipped_model_paths()
        self._paths = shipped + self.user_model_paths()
        active = self.active_model.path()
        self.table.setRowCount(len(self._paths))
        for row, path in enumerate(self._paths):
            card = shown_card(path)
            name = (card.name or path.stem) if path in shipped else path.stem
            cells = (
                "●" if path == active else "",
                f"{name} (shipped)" if path in shipped else name,
                (card.created or "")[:16].replace("T", " "),
                source_accuracy(card, "kdef"),
                source_accuracy(card, "ferplus"),
                training_time(card),
                card.split.protocol if card.split else "",
                ", ".join(s.name for s in card.data.sources or ()) or card.data.folder or "",
            )
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self._update_buttons()

    def select(self, path: Path) -> None:
        self.table.selectRow(self._paths.index(path))

    def selected(self) -> Path | None:
        rows = self.table.selectionModel().selectedRows()
        return self._paths[rows[0].row()] if rows else None

    def _update_buttons(self) -> None:
        path = self.selected()
        own = path is not None and not is_shipped(path)
        self.use_button.setEnabled(path is not None)
        self.rename_button.setEnabled(own)
        self.delete_button.setEnabled(own)
        self.export_button.setEnabled(path is not None)

    @Slot(QModelIndex)
    def _on_table_activated(self, _index: QModelIndex) -> None:
        self._on_use_button_clicked()

    @Slot()
    def _on_use_button_clicked(self) -> None:
        path = self.selected()
        if path is not None:
            self.active_model.set_active(None if path == paths.default_model_path() else path)

    @Slot()
    def _on_default_button_clicked(self) -> None:
        self.active_model.set_active(None)

    def rename_dialog(self) -> None:
        path = self.selected()
        if path is None or is_shipped(path):
            return
        name = ask_new_name(self, "Rename model", path.stem)
        if name is not None:
            self._apply(lambda: self.model_moved.emit(path, rename_model(path, name)))

    def delete_dialog(self) -> None:
        path = self.selected()
        if path is None or is_shipped(path):
            return
        question = f"Delete {path.stem}, its card and its splits? This cannot be undone."
        if confirm(self, "Delete model", question):

            def delete() -> None:
                delete_model(path)
                self.model_moved.emit(path, None)

            self._apply(delete)

    def export_dialog(self) -> None:
        path = self.selected()
        if path is None:
            return
        target = ask_export_path(
            self, "Export model", Path.home() / path.name, "Models (*.pt)", ".pt"
        )
        if target is not None:
            self._apply(lambda: export_model(path, target))

    def _apply(self, action: Callable[[], object]) -> None:
        """Run a file operation; its error is one message. The tabs hear of it either way: a
        rename or delete may have changed the active model's path."""
        try:
            action()
        except (ModelFileError, OutputError) as exc:
            QMessageBox.warning(self, "Models", str(exc))
        self.active_model.changed.emit()
