"""The shipped and the user's models: name, date, test accuracy on each source, and which one is
active. A double click (or "Use this model") makes a model active."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from emotion_desktop.core import paths
from emotion_desktop.core.checkpoints import read_card
from emotion_desktop.gui.models import ModelState, source_accuracy

COLUMNS = ("", "name", "created", "KDEF test", "FER+ test", "KDEF split", "data")


class ModelManager(QWidget):
    def __init__(self, models: ModelState) -> None:
        super().__init__()
        self.models = models
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.doubleClicked.connect(lambda _: self._on_use_clicked())
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.use_button = QPushButton("Use this model")
        self.default_button = QPushButton("Restore default")
        self.use_button.clicked.connect(self._on_use_clicked)
        self.default_button.clicked.connect(self._on_default_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.default_button)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self._paths: list[Path] = []
        models.changed.connect(self.refresh)
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
        active = self.models.path()
        self.table.setRowCount(len(self._paths))
        for row, path in enumerate(self._paths):
            card = read_card(path)
            name = str(card.get("name", path.stem)) if path in shipped else path.stem
            sources = card.get("data", {}).get("sources")
            names = (
                [str(s.get("name")) for s in sources if isinstance(s, dict)]
                if isinstance(sources, list)
                else []
            )
            cells = (
                "●" if path == active else "",
                f"{name} (shipped)" if path in shipped else name,
                str(card.get("created", ""))[:16].replace("T", " "),
                source_accuracy(card, "kdef"),
                source_accuracy(card, "ferplus"),
                str(card.get("split", {}).get("protocol", "")),
                ", ".join(names) or str(card.get("data", {}).get("folder", "")),
            )
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))

    def select(self, path: Path) -> None:
        self.table.selectRow(self._paths.index(path))

    def _on_use_clicked(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            path = self._paths[rows[0].row()]
            self.models.set_active(None if path == paths.default_model_path() else path)

    def _on_default_clicked(self) -> None:
        self.models.set_active(None)
