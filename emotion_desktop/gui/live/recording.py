"""The Live tab's Record button and the CSV file it records to."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QPushButton

from emotion_desktop.core import paths
from emotion_desktop.core.errors import OutputError
from emotion_desktop.core.live.loop import CsvRecorder, Mailbox, RecordingFailed
from emotion_desktop.gui.live.snapshot import timestamped


class RecordButton(QPushButton):
    """Checked while a CSV row per face per processed frame is written.

    The processing worker writes the rows through :attr:`recording` (the tab hands it to each
    run); the button opens and closes the file on the GUI thread. ``noted(str)``: what to tell
    the user (recording to, saved to, could not).
    """

    noted = Signal(str)

    def __init__(self) -> None:
        super().__init__("&Record")
        self.setCheckable(True)
        self.recording: Mailbox[CsvRecorder | None] = Mailbox(None)  # written by the worker
        self.toggled.connect(self._on_toggled)

    @Slot(bool)
    def _on_toggled(self, checked: bool) -> None:
        if checked:
            try:
                path = self.start()
            except OSError as exc:
                self.stop()  # unchecks the button
                self.noted.emit(f"Could not start recording: {exc.strerror or exc}")
                return
            self.noted.emit(f"Recording faces to {path}")
        else:
            path = self.close()
            if path is not None:
                self.noted.emit(f"Recording saved to {path}")

    def start(self, path: Path | None = None) -> Path:
        """Record to ``path`` (a new file in the data folder where None) until :meth:`stop`."""
        self.close()
        path = Path(path) if path else timestamped(paths.data_dir() / "recordings", "csv")
        self.recording.post(CsvRecorder(path))
        self._set_checked(True)
        return path

    def stop(self) -> Path | None:
        """Close the CSV; returns its path, or None when nothing was being recorded."""
        self._set_checked(False)
        return self.close()

    def close(self) -> Path | None:
        """Close the CSV, leaving the button as it is; its path, or None where there was none
        or its last rows could not be written (said with ``noted``)."""
        recorder = self.recording.read()
        if recorder is None:
            return None
        self.recording.post(None)
        try:
            recorder.close()
        except OutputError as exc:  # its last rows could not be written: a full disk
            self.noted.emit(str(exc))
            return None
        return recorder.path

    def fail(self, failure: RecordingFailed) -> None:
        """The worker could not write the recording (a full disk): it is closed and Record is
        off. A recording started since is not this one: left alone."""
        recorder = self.recording.read()
        if recorder is not None and recorder.path == failure.path:
            self.stop()
        self.noted.emit(failure.message)

    def _set_checked(self, checked: bool) -> None:
        self.blockSignals(True)
        self.setChecked(checked)
        self.blockSignals(False)
