"""The Training tab's data panel: the folder to train on (remembered, with the recent ones), a
second labelled source and its weight, and what each holds, scanned off the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from emotion_desktop.core.data.kdef import ScanResult
from emotion_desktop.core.data.sources import Scan, scan_source
from emotion_desktop.core.emotions import NAMES
from emotion_desktop.gui.settings import setting
from emotion_desktop.gui.workers import Task

MAX_RECENT = 8
CHOOSE_FOLDER = "Choose the folder that holds your copy of KDEF."


class DataPanel(QGroupBox):
    """The folders of the next run; each is scanned when it is set, one scan at a time per
    folder box, and a folder set while its scan runs is scanned once that scan stops."""

    def __init__(self, settings: QSettings) -> None:
        super().__init__("Data")
        self.settings = settings
        self.scan_task = Task(self)
        self.extra_scan_task = Task(self)
        self._rescan = False  # the folder changed while a scan was running
        self._extra_scanning = ""  # the second source the running scan reads
        self._closing = False  # shutdown began: a stopped scan starts no other
        self._build()
        self._connect()

    def _build(self) -> None:
        self.folder_box = QComboBox()
        self.folder_box.setEditable(True)
        self.folder_box.setPlaceholderText("Folder with your KDEF images (drop it here)")
        self.folder_box.setToolTip(
            "Your copy of KDEF (either layout), a FER+ folder or a folder with one sub-folder "
            "per emotion; recent folders are in the list"
        )
        self.choose_button = QPushButton("Choose…")
        self.found_label = QLabel(CHOOSE_FOLDER)
        self.found_label.setWordWrap(True)
        self.counts = _counts_table()
        self.extra_folder = QLineEdit()
        # the full hint is too wide for the column; the placeholder is cut to what shows
        self.extra_folder.setPlaceholderText("Second source (optional)")
        self.extra_folder.setToolTip("A FER+ folder or a folder with one sub-folder per emotion")
        self.extra_folder.setReadOnly(True)
        self.extra_choose = QPushButton("Add…")
        self.extra_choose.setToolTip(
            "Train on a second labelled source as well: a FER+ folder (FER2013Train/label.csv…) "
            "or a folder with one sub-folder per emotion. In-the-wild faces teach the model "
            "webcam faces that KDEF's studio portraits do not."
        )
        self.extra_clear = QPushButton("Remove")
        self.extra_weight = QDoubleSpinBox(decimals=1, minimum=0.1, maximum=10.0, singleStep=0.5)
        self.extra_weight.setToolTip(
            "How often the first folder's images are shown per epoch against the second's "
            "(2: twice). KDEF has 4.9 k images, FER+ 31 k; each unit of weight adds the first "
            "folder's images to every epoch's time."
        )
        self.extra_weight.setValue(3.0)
        self.extra_label = QLabel("")
        self.extra_label.setWordWrap(True)
        self._lay_out()

    def _lay_out(self) -> None:
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(self.folder_box, 1)
        row.addWidget(self.choose_button)
        layout.addLayout(row)
        layout.addWidget(self.found_label)
        layout.addWidget(self.counts)
        extra = QHBoxLayout()
        extra.addWidget(self.extra_folder, 1)
        extra.addWidget(self.extra_choose)
        extra.addWidget(self.extra_clear)
        layout.addLayout(extra)
        weight = QFormLayout()
        weight.addRow("Weight of the first folder", self.extra_weight)
        layout.addLayout(weight)
        layout.addWidget(self.extra_label)

    def _connect(self) -> None:
        self.choose_button.clicked.connect(self._on_choose_button_clicked)
        self.folder_box.activated.connect(self._on_folder_box_activated)
        self.extra_choose.clicked.connect(self._on_extra_choose_clicked)
        self.extra_clear.clicked.connect(self._on_extra_clear_clicked)
        self.extra_weight.valueChanged.connect(self._on_extra_weight_changed)
        self.scan_task.finished.connect(self._on_scan_task_finished)
        self.scan_task.failed.connect(self._on_scan_task_failed)
        self.scan_task.stopped.connect(self._on_scan_task_stopped)
        self.extra_scan_task.finished.connect(self._on_extra_scan_task_finished)
        self.extra_scan_task.failed.connect(self._on_extra_scan_task_failed)
        self.extra_scan_task.stopped.connect(self._on_extra_scan_task_stopped)

    def restore(self) -> None:
        recent = self.recent_folders()
        self.folder_box.addItems(recent)
        if recent:
            self.set_folder(recent[0])
        weight = self.extra_weight
        self.extra_weight.setValue(
            setting(self.settings, "training/extra_weight", 3.0, weight.minimum(), weight.maximum())
        )
        self.set_extra_folder(setting(self.settings, "training/extra_folder", ""))

    def shutdown(self) -> None:
        """Stop and join both scans. A folder picked while its scan ran is scanned when that
        scan stops; here it must not be, or a thread starts after the join, which the window's
        close never waits for."""
        self._closing = True
        self.scan_task.stop()
        self.extra_scan_task.stop()

    def recent_folders(self) -> list[str]:
        return setting(self.settings, "training/recent", [])

    # ----- the folder ----------------------------------------------------------------------
    @Slot()
    def _on_choose_button_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with KDEF images")
        if folder:
            self.set_folder(folder)

    @Slot(int)
    def _on_folder_box_activated(self, _index: int) -> None:
        self.set_folder(self.folder_box.currentText())

    def set_folder(self, folder: str | Path) -> None:
        """Remember ``folder`` and scan it (off the GUI thread) to show what it holds."""
        folder = str(folder)
        if not folder.strip():  # an emptied box: scanning "" would walk the working folder
            self._rescan = self.scan_task.is_running()  # a running scan's result is stale
            self.found_label.setText(CHOOSE_FOLDER)
            self.counts.clearContents()
            return
        recent = [folder] + [f for f in self.recent_folders() if f != folder]
        self.settings.setValue("training/recent", recent[:MAX_RECENT])
        self.folder_box.blockSignals(True)
        self.folder_box.clear()
        self.folder_box.addItems(recent[:MAX_RECENT])
        self.folder_box.setCurrentText(folder)
        self.folder_box.blockSignals(False)
        self.found_label.setText(f"Looking at {folder}…")
        if self.scan_task.is_running():
            self._rescan = True
        else:
            self.scan_task.start(lambda report, cancelled: scan_source(folder))

    @Slot()
    def _on_scan_task_stopped(self) -> None:
        if self._rescan and not self._closing:
            self._rescan = False
            self.set_folder(self.folder_box.currentText())

    @Slot(object)
    def _on_scan_task_finished(self, result: Scan) -> None:
        if self._rescan:
            return  # out of date: the folder changed while it ran
        self.found_label.setText(result.summary())
        if isinstance(result, ScanResult):
            table = result.counts()  # emotion -> angle -> images
        else:  # part -> emotion -> images, shown with the emotions as rows too
            by_part = result.label_counts()
            table = {n: {part: row[n] for part, row in by_part.items()} for n in NAMES}
        columns = list(table[NAMES[0]])
        self.counts.setColumnCount(len(columns))
        self.counts.setHorizontalHeaderLabels(columns)
        for r, name in enumerate(NAMES):
            for c, column in enumerate(columns):
                self.counts.setItem(r, c, QTableWidgetItem(str(table[name][column])))

    @Slot(str)
    def _on_scan_task_failed(self, message: str) -> None:
        if self._rescan:
            return
        self.found_label.setText(message)
        self.counts.clearContents()

    # ----- the second source ---------------------------------------------------------------
    @Slot()
    def _on_extra_choose_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "FER+ folder or one folder per emotion")
        if folder:
            self.set_extra_folder(folder)

    @Slot()
    def _on_extra_clear_clicked(self) -> None:
        self.set_extra_folder("")

    @Slot(float)
    def _on_extra_weight_changed(self, value: float) -> None:
        self.settings.setValue("training/extra_weight", value)

    def set_extra_folder(self, folder: str) -> None:
        """Remember the second source (empty: none) and scan it off the GUI thread."""
        self.settings.setValue("training/extra_folder", folder)
        self.extra_folder.setText(folder)
        self.extra_clear.setEnabled(bool(folder))
        self.extra_weight.setEnabled(bool(folder))
        if not folder:
            self.extra_label.setText("")
            return
        self.extra_label.setText(f"Looking at {folder}…")
        if not self.extra_scan_task.is_running():  # else the folder is scanned once it stops
            self._extra_scanning = folder
            self.extra_scan_task.start(lambda report, cancelled: scan_source(folder))

    @Slot(object)
    def _on_extra_scan_task_finished(self, result: Scan) -> None:
        if self._extra_scanning == self.extra_folder.text():
            self.extra_label.setText(f"Second source: {result.summary()}")

    @Slot(str)
    def _on_extra_scan_task_failed(self, message: str) -> None:
        if self._extra_scanning == self.extra_folder.text():
            self.extra_label.setText(message)

    @Slot()
    def _on_extra_scan_task_stopped(self) -> None:
        folder = self.extra_folder.text()
        if self._closing:  # the window's close joined the scan: no new one after it
            return
        if folder and folder != self._extra_scanning:  # changed while it ran
            self.set_extra_folder(folder)


def _counts_table() -> QTableWidget:
    counts = QTableWidget(len(NAMES), 0)
    counts.setVerticalHeaderLabels(list(NAMES))
    counts.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    counts.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    counts.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    counts.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    counts.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    counts.setSizeAdjustPolicy(QTableWidget.SizeAdjustPolicy.AdjustToContents)
    counts.setToolTip("Images found per emotion and angle (KDEF) or per part")
    return counts
