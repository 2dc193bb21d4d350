"""The Live tab's source list: the cameras found, the remembered video file and "Open video
file…", each item keyed ``camera:<index>``, ``file:<path>``, ``open`` or ``none``.

The cameras are found off the GUI thread, since each one costs an open that can take seconds;
the remembered video file and "Open video file…" are listed at once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal, Slot
from PySide6.QtWidgets import QComboBox

from emotion_desktop.core.stream.video import FrameSource, VideoSource
from emotion_desktop.gui.settings import setting
from emotion_desktop.gui.workers import Task

SourceFactory = Callable[[], FrameSource]
OPEN_FILE = "open"
NO_CAMERA = "none"


class SourceBox(QComboBox):
    """``cameras_listed()``: the camera search ended and its result is listed;
    ``open_file_chosen()``: the user picked "Open video file…". The choice is remembered in
    ``live/source``."""

    cameras_listed = Signal()
    open_file_chosen = Signal()

    def __init__(self, settings: QSettings, probe: Callable[[], list[int]]) -> None:
        super().__init__()
        self.settings = settings
        self.setMinimumWidth(220)
        self.looking = False  # the camera search is running (its result not yet listed)
        self._probe_fn = probe
        self._probe = Task(self)
        self._probe.finished.connect(self._on_probe_finished)
        self._probe.failed.connect(self._on_probe_failed)
        self.activated.connect(self._on_activated)

    def refresh(self) -> None:
        """List what is known now and look for the cameras (unless a search is running)."""
        self.looking = True
        self._fill(None)
        if not self._probe.is_running():
            probe = self._probe_fn
            self._probe.start(lambda report, cancelled: probe())

    def shutdown(self) -> None:
        self._probe.stop()

    @Slot(object)
    def _on_probe_finished(self, cameras: list[int]) -> None:
        self.looking = False
        self._fill(cameras)
        self.cameras_listed.emit()

    @Slot(str)
    def _on_probe_failed(self, _message: str) -> None:
        self._on_probe_finished([])  # none to list

    @Slot(int)
    def _on_activated(self, index: int) -> None:
        key = self.key(index)
        if key == OPEN_FILE:
            self.open_file_chosen.emit()
        elif key != NO_CAMERA:
            self.settings.setValue("live/source", key)

    def _remembered(self) -> str:
        return setting(self.settings, "live/source", "")

    def _fill(self, cameras: list[int] | None) -> None:
        """List ``cameras`` (None: still looking), the remembered choice kept."""
        remembered = self._remembered()
        self.clear()
        for index in cameras or ():
            self.addItem(f"Camera {index}", f"camera:{index}")
        if self.count() == 0:
            text = "Looking for cameras…" if cameras is None else "No camera found"
            self.addItem(text, NO_CAMERA)
        if remembered.startswith("file:") and Path(remembered[5:]).is_file():
            self._add_file(Path(remembered[5:]))
        self.addItem("Open video file…", OPEN_FILE)
        self.select_remembered()

    def _add_file(self, path: Path) -> int:
        """The index of ``path``'s item, added above "Open video file…" where it is new."""
        key = f"file:{path}"
        index = self.findData(key)
        if index < 0:
            index = self.count()
            if self.findData(OPEN_FILE) >= 0:
                index -= 1
            self.insertItem(index, path.name, key)
            self.setItemData(index, str(path), Qt.ItemDataRole.ToolTipRole)
        return index

    def set_video_file(self, path: Path) -> None:
        """Choose a video file as the source, and remember it."""
        path = Path(path).resolve()
        self.setCurrentIndex(self._add_file(path))
        self.settings.setValue("live/source", f"file:{path}")

    def select_remembered(self) -> None:
        """Select the remembered source, or the first where it is not listed."""
        self.setCurrentIndex(max(0, self.findData(self._remembered())))

    def key(self, index: int | None = None) -> str:
        """The key of the item at ``index`` (the current one where None)."""
        return str(self.currentData() if index is None else self.itemData(index))

    def is_camera(self) -> bool:
        """A camera, or the place of one not found: Retry looks for cameras again first."""
        key = self.key()
        return key == NO_CAMERA or key.startswith("camera:")

    def factory(self, loop: bool) -> SourceFactory | None:
        """How to open the selected source (a file played in a ``loop`` or once); None when
        there is nothing to open."""
        key = self.key()
        if key.startswith("camera:"):
            index = int(key.split(":", 1)[1])
            return lambda: VideoSource(index)
        if key.startswith("file:"):
            path = Path(key[5:])
            return lambda: VideoSource(path, loop=loop, realtime=True)
        return None
