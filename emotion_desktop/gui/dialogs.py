"""Questions the app asks: before a step that loses the user's work, and for the new name or
the export file of something the user keeps (a model, a profile)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget


def confirm(parent: QWidget, title: str, question: str) -> bool:
    """Yes or Cancel, Cancel by default: a stray Enter keeps the work."""
    answer = QMessageBox.question(
        parent,
        title,
        question,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


def ask_new_name(parent: QWidget, title: str, current: str) -> str | None:
    """The name typed in place of ``current``; None when cancelled, empty or unchanged."""
    name, ok = QInputDialog.getText(parent, title, "New name:", text=current)
    name = name.strip()
    return name if ok and name and name != current else None


def ask_export_path(
    parent: QWidget, title: str, suggested: Path, file_filter: str, suffix: str
) -> Path | None:
    """Where to export, ending in ``suffix``; None when cancelled. The dialog asks before
    replacing the name typed; a name it had to complete is asked about here."""
    target, _ = QFileDialog.getSaveFileName(parent, title, str(suggested), file_filter)
    if not target:
        return None
    if not target.endswith(suffix):  # the dialog asked about the name typed, not this one
        target += suffix
        question = f"{Path(target).name} already exists. Replace it?"
        if Path(target).exists() and not confirm(parent, title, question):
            return None
    return Path(target)
