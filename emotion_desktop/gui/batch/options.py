"""The Batch tab's options: the whole-image fallback, which frames of a video are analysed,
the personal profile applied, and the CSV written as the rows come (Write as I go).
Remembered under ``batch/``, but the profile: a folder of one person's faces is not the
next folder's, so each session starts without one."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from emotion_desktop.core.batch.video import Sampling
from emotion_desktop.gui.active_model import ActiveModel
from emotion_desktop.gui.profiles import ProfileBox
from emotion_desktop.gui.settings import setting

EVERY_FRAME, EVERY_NTH, PER_SECOND = "every", "nth", "fps"
_MODES = ((EVERY_FRAME, "every frame"), (EVERY_NTH, "every N-th frame"), (PER_SECOND, "N a second"))


class BatchOptions(QWidget):
    """One row of options; :meth:`sampling` and :meth:`live_csv_path` are what a run takes."""

    def __init__(self, settings: QSettings, active_model: ActiveModel) -> None:
        super().__init__()
        self.settings = settings
        self.active_model = active_model
        # the Write-as-I-go file the user just chose (and agreed to replace) in the dialog; any
        # other existing file, a typed one or one remembered from an earlier session, is
        # appended to, never emptied
        self.live_csv_replace: Path | None = None
        self._build()
        self._connect()
        self._restore()

    def _build(self) -> None:
        self.whole_image_box = QCheckBox("Treat the &whole image as the face when none is found")
        self.whole_image_box.setToolTip("For folders of photos already cropped to one face")
        self.sampling_box = QComboBox()
        for key, text in _MODES:
            self.sampling_box.addItem(text, key)
        self.sampling_box.setToolTip("Which frames of a video are analysed")
        self.sampling_n = QSpinBox(minimum=1, maximum=1000, value=5)
        self.sampling_n.setToolTip("N: analyse every N-th frame, or N frames a second")
        self.profile_box = ProfileBox()
        self.live_csv_box = QCheckBox("Write as I &go to")
        self.live_csv_box.setToolTip(
            "Append the rows to this CSV as each batch of eight images is done, so a crash "
            "loses at most the images in flight"
        )
        self.live_csv_edit = QLineEdit(placeholderText="results.csv")
        self.live_csv_button = QPushButton("Choose…")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.whole_image_box)
        layout.addSpacing(12)
        layout.addWidget(QLabel("&Videos:", buddy=self.sampling_box))
        layout.addWidget(self.sampling_box)
        layout.addWidget(self.sampling_n)
        layout.addSpacing(12)
        layout.addWidget(QLabel("&Profile:", buddy=self.profile_box))
        layout.addWidget(self.profile_box)
        layout.addStretch(1)
        layout.addWidget(self.live_csv_box)
        layout.addWidget(self.live_csv_edit, 1)
        layout.addWidget(self.live_csv_button)

    def _connect(self) -> None:
        self.live_csv_button.clicked.connect(self._on_live_csv_button_clicked)
        self.live_csv_box.toggled.connect(self._on_live_csv_box_toggled)
        self.sampling_box.currentIndexChanged.connect(self._on_sampling_box_changed)
        self.active_model.changed.connect(self._on_active_model_changed)

    def _restore(self) -> None:
        s = self.settings
        self.whole_image_box.setChecked(setting(s, "batch/whole_image", False))
        mode = setting(s, "batch/video_sampling", EVERY_FRAME)
        self.sampling_box.setCurrentIndex(max(0, self.sampling_box.findData(mode)))
        n = self.sampling_n
        n.setValue(setting(s, "batch/video_n", 5, n.minimum(), n.maximum()))
        self._on_sampling_box_changed()
        self.profile_box.show_model(self.active_model.path())
        self.live_csv_edit.setText(setting(s, "batch/live_csv", ""))
        self.live_csv_box.blockSignals(True)  # restoring, not ticking: no dialog at start-up
        self.live_csv_box.setChecked(
            setting(s, "batch/write_as_you_go", False) and bool(self.live_csv_edit.text())
        )
        self.live_csv_box.blockSignals(False)

    def save(self) -> None:
        s = self.settings
        s.setValue("batch/whole_image", self.whole_image_box.isChecked())
        s.setValue("batch/video_sampling", self.sampling_box.currentData())
        s.setValue("batch/video_n", self.sampling_n.value())
        s.setValue("batch/write_as_you_go", self.live_csv_box.isChecked())
        s.setValue("batch/live_csv", self.live_csv_edit.text())

    def shutdown(self) -> None:
        self.profile_box.shutdown()

    def sampling(self) -> Sampling:
        """The frames of a video a run analyses."""
        mode, n = self.sampling_box.currentData(), self.sampling_n.value()
        if mode == EVERY_NTH:
            return Sampling(every=n)
        if mode == PER_SECOND:
            return Sampling(fps=float(n))
        return Sampling()

    def live_csv_path(self) -> Path | None:
        """The Write-as-I-go file, or None where the box is not ticked."""
        if not self.live_csv_box.isChecked():
            return None
        text = self.live_csv_edit.text().strip()  # asked for when the box was ticked
        if not text:
            self.live_csv_box.setChecked(False)
            return None
        return Path(text).expanduser()

    @Slot()
    def _on_active_model_changed(self) -> None:
        """The new model's profiles: another model's profile never applies to its faces."""
        self.profile_box.select(None)
        self.profile_box.show_model(self.active_model.path())

    @Slot()
    def _on_sampling_box_changed(self) -> None:
        self.sampling_n.setEnabled(self.sampling_box.currentData() != EVERY_FRAME)

    @Slot(bool)
    def _on_live_csv_box_toggled(self, checked: bool) -> None:
        """Ask for the file when the box is ticked without one: a dialog belongs to the user's
        click, never to the end of a run that starts the next queued folder."""
        if checked and not self.live_csv_edit.text().strip():
            self._on_live_csv_button_clicked()
            if not self.live_csv_edit.text().strip():
                self.live_csv_box.setChecked(False)

    @Slot()
    def _on_live_csv_button_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Write rows as they come to", self.live_csv_edit.text(), "CSV (*.csv)"
        )
        if path:
            self.live_csv_replace = Path(path).expanduser()  # the dialog asked before replacing
            self.live_csv_edit.setText(path)
            self.live_csv_box.setChecked(True)
