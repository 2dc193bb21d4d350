"""The one place a tab shows what happened: a note, a failure, or a note above a failure.

A failure stays until :meth:`MessageBar.clear` (a new start), with Retry beside it where the
tab offers one; a note (a snapshot saved, a run started) replaces the previous note and keeps a
failure beneath it, so the failure is never hidden by what came after. The bar is hidden while
it has nothing to say.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

ERROR_STYLE = "color: #c0392b"


class MessageBar(QFrame):
    """``retry_clicked``: the user pressed Retry (shown only with a failure, where
    ``retry_text`` gave the bar a Retry button)."""

    retry_clicked = Signal()

    def __init__(self, retry_text: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.note = self._label()
        self.error = self._label()
        self.error.setStyleSheet(ERROR_STYLE)
        texts = QVBoxLayout()
        texts.setContentsMargins(0, 0, 0, 0)
        texts.addWidget(self.note)
        texts.addWidget(self.error)
        layout = QHBoxLayout(self)
        layout.addLayout(texts, 1)
        self.retry_button: QPushButton | None = None
        if retry_text is not None:
            self.retry_button = QPushButton(retry_text)
            self.retry_button.clicked.connect(self._on_retry_button_clicked)
            layout.addWidget(self.retry_button)
        self.clear()

    @staticmethod
    def _label() -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    def show_note(self, text: str) -> None:
        """``text`` in place of the previous note, above a failure still shown."""
        self.note.setText(text)
        self._update()

    def show_error(self, text: str) -> None:
        """``text`` as the failure, in place of what was shown, with Retry where there is one."""
        self.note.clear()
        self.error.setText(text)
        self._update()

    def clear(self) -> None:
        self.note.clear()
        self.error.clear()
        self._update()

    def has_error(self) -> bool:
        return bool(self.error.text())

    def text(self) -> str:
        """What the bar shows, the note above the failure; '' when it shows nothing."""
        return "\n".join(t for t in (self.note.text(), self.error.text()) if t)

    def _update(self) -> None:
        self.note.setVisible(bool(self.note.text()))
        self.error.setVisible(self.has_error())
        if self.retry_button is not None:
            self.retry_button.setVisible(self.has_error())
        self.setVisible(bool(self.text()))

    @Slot()
    def _on_retry_button_clicked(self) -> None:
        self.retry_clicked.emit()
