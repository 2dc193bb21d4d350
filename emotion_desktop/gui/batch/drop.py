"""The drop zone of the Batch tab: folders, photos and videos dragged from a file manager."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout


def local_paths(mime: QMimeData) -> list[Path]:
    """The local files and folders among dragged URLs; web links and the like are ignored."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class DropZone(QFrame):
    """A framed area that takes dropped folders and files and says so when one hovers over it.

    Signal: ``paths_dropped(list)`` with the dropped ``Path`` objects, in drop order.
    """

    paths_dropped = Signal(list)

    def __init__(self) -> None:
        super().__init__()
        self.setAcceptDrops(True)
        self.setObjectName("dropZone")
        self.setMinimumHeight(64)
        self.label = QLabel("Drop folders, photos or videos here")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        self._set_hover(False)

    def _set_hover(self, hover: bool) -> None:
        colour = "#3498db" if hover else "#9aa5ad"
        background = "#eaf4fb" if hover else "transparent"
        self.setStyleSheet(
            f"#dropZone {{ border: 2px dashed {colour}; border-radius: 8px;"
            f" background: {background}; }}"
        )

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt's name)
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
            self._set_hover(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        if local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dragLeaveEvent(self, event: object) -> None:  # noqa: N802
        self._set_hover(False)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self._set_hover(False)
        paths = local_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.paths_dropped.emit(paths)
