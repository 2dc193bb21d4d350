"""Training tab: retrain on KDEF (and optionally FER+ or a labelled folder) with live curves,
then pick the model to use.

A thin layer over ``core.pipeline.train_from_folder``: the tab collects the folders and the
parameters, runs the call in a :class:`Task`, and turns its progress events into a progress bar,
curves, a reconstruction preview and, at the end, the test figures and the model manager entry.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QElapsedTimer, QSettings, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from emotion_desktop.core import paths
from emotion_desktop.core.callbacks import Step, time_left
from emotion_desktop.core.data.kdef import ScanResult
from emotion_desktop.core.data.sources import Scan, scan_source
from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.train.loop import Progress, TrainConfig
from emotion_desktop.core.train.run import DataOptions, TrainResult, resume_path, train_from_folder
from emotion_desktop.gui.active_model import ActiveModel
from emotion_desktop.gui.format import duration
from emotion_desktop.gui.settings import json_setting, setting
from emotion_desktop.gui.training.models import ModelManager
from emotion_desktop.gui.training.plots import TrainingCurves
from emotion_desktop.gui.training.result import ResultView
from emotion_desktop.gui.workers import Task

PRESETS: dict[str, TrainConfig] = {
    "Quick": TrainConfig(epochs_cae=2, epochs_cnn=15),
    "Paper": TrainConfig(),  # each network of the shipped KDEF-only model (kdef-paper)
    "KDEF + FER+": TrainConfig(epochs_cae=2, epochs_cnn=64),  # the shipped default model
}
MAX_RECENT = 8
CHOOSE_FOLDER = "Choose the folder that holds your copy of KDEF."
PREVIEW_WIDTH = 360  # pixels for the 8 reconstruction pairs, whatever the input size


def _image_to_pixmap(gray: np.ndarray, scale: int) -> QPixmap:
    gray = np.ascontiguousarray(gray)
    image = QImage(
        gray.data, gray.shape[1], gray.shape[0], gray.strides[0], QImage.Format.Format_Grayscale8
    )
    return QPixmap.fromImage(image.copy()).scaled(
        gray.shape[1] * scale, gray.shape[0] * scale, Qt.AspectRatioMode.KeepAspectRatio
    )


class TrainingTab(QWidget):
    """``try_live(path)``: the user wants the finished run's model in the Live tab."""

    try_live = Signal(Path)

    def __init__(self, active_model: ActiveModel, settings: QSettings) -> None:
        super().__init__()
        self.active_model = active_model
        self.settings = settings
        self.scan_task = Task(self)
        self.extra_scan_task = Task(self)
        self.train_task = Task(self, background=True, keep_result=True)
        self.clock = QElapsedTimer()
        self._clock_fraction = 0.0  # the fraction done when the clock started
        self.result: TrainResult | None = None
        self._applying = False  # parameters being set from a preset, not edited by the user
        self._rescan = False  # the folder changed while a scan was running
        self._extra_scanning = ""  # the second source the running scan reads
        self._closing = False  # shutdown began: a stopped scan starts no other
        self.run_path: Path | None = None  # the model file of the latest run
        self.setAcceptDrops(True)

        self.folder_box = QComboBox()
        self.folder_box.setEditable(True)
        self.folder_box.setPlaceholderText("Folder with your KDEF images (drop it here)")
        self.folder_box.setToolTip(
            "Your copy of KDEF (either layout), a FER+ folder or a folder with one sub-folder "
            "per emotion; recent folders are in the list"
        )
        choose = QPushButton("Choose…")
        choose.clicked.connect(self.choose_folder_dialog)
        self.folder_box.activated.connect(lambda _: self.set_folder(self.folder_box.currentText()))
        self.found_label = QLabel(CHOOSE_FOLDER)
        self.found_label.setWordWrap(True)
        self.counts = QTableWidget(len(NAMES), 0)
        self.counts.setVerticalHeaderLabels(list(NAMES))
        self.counts.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.counts.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.counts.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.counts.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.counts.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.counts.setSizeAdjustPolicy(QTableWidget.SizeAdjustPolicy.AdjustToContents)
        self.counts.setToolTip("Images found per emotion and angle (KDEF) or per part")

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
        self.extra_choose.clicked.connect(self.choose_extra_dialog)
        self.extra_clear = QPushButton("Remove")
        self.extra_clear.clicked.connect(lambda: self.set_extra_folder(""))
        self.extra_weight = QDoubleSpinBox(decimals=1, minimum=0.1, maximum=10.0, singleStep=0.5)
        self.extra_weight.setToolTip(
            "How often the first folder's images are shown per epoch against the second's "
            "(2: twice). KDEF has 4.9 k images, FER+ 31 k; each unit of weight adds the first "
            "folder's images to every epoch's time."
        )
        self.extra_weight.setValue(3.0)
        self.extra_weight.valueChanged.connect(
            lambda value: self.settings.setValue("training/extra_weight", value)
        )
        self.extra_label = QLabel("")
        self.extra_label.setWordWrap(True)

        self.preset = QComboBox()
        self.preset.addItems([*PRESETS, "Custom"])
        self.preset.currentTextChanged.connect(self._on_preset_changed)
        self.epochs_cae = self._spin(0, 2000)
        self.epochs_cnn = self._spin(1, 5000)
        self.batch_size = self._spin(4, 1024)
        self.lr = QDoubleSpinBox(decimals=4, minimum=0.0001, maximum=0.1, singleStep=0.0005)
        self.input_size = QComboBox()
        self.input_size.addItems(["24", "32", "48", "64", "96"])
        self.protocol = QComboBox()
        self.protocol.addItems(["random", "person"])
        self.angles = QComboBox()
        self.angles.addItems(["all", "frontal"])
        self.augment = QCheckBox("augmentation (flip, shift, rotation, brightness)")
        self.use_cae = QCheckBox("CAE pre-training (the paper's first stage)")
        for widget, tip in (
            (
                self.preset,
                "Quick: a first model in minutes. Paper: the paper's recipe on KDEF. "
                "KDEF + FER+: the shipped default's recipe (about 70 min on 2 cores).",
            ),
            (
                self.epochs_cae,
                "Epochs of the auto-encoder that pre-trains the convolutions "
                "(stage 1); each costs about as much as 2-3 CNN epochs. 0 skips nothing: untick "
                "CAE pre-training for that.",
            ),
            (
                self.epochs_cnn,
                "Epochs of the classifier (stage 2): the time grows in proportion; "
                "more epochs help until the validation curve flattens.",
            ),
            (
                self.batch_size,
                "Faces per training step. Larger batches run a little faster per "
                "epoch on a CPU but may need more epochs; 64 is the tested value.",
            ),
            (
                self.lr,
                "Peak learning rate of the classifier's one-cycle schedule; too high "
                "diverges, too low needs more epochs. No effect on time per epoch.",
            ),
            (
                self.input_size,
                "Side of the face crop in pixels. 48 is the tested value; 96 takes "
                "about 4x the time per epoch, 24 about a quarter, usually less accurately.",
            ),
            (
                self.protocol,
                "random: the paper's 80/20 split of the images. person: test faces "
                "come from people never seen in training (the honest figure; same time).",
            ),
            (
                self.angles,
                "all: KDEF's five camera angles. frontal: the straight-on images only "
                "(a fifth of the images, a fifth of the time).",
            ),
            (
                self.augment,
                "Random flips, shifts, rotations and brightness changes while "
                "training: more accurate on new faces, no extra time worth measuring.",
            ),
            (
                self.use_cae,
                "Pre-train the convolutions as an auto-encoder first (the paper's "
                "method); unticked, stage 1 is skipped and training is shorter.",
            ),
        ):
            widget.setToolTip(tip)
        for widget in (self.lr, self.input_size, self.protocol, self.angles):
            signal = (
                widget.valueChanged
                if hasattr(widget, "valueChanged")
                else (widget.currentTextChanged)
            )
            signal.connect(self._on_parameter_edited)
        for box in (self.augment, self.use_cae):
            box.toggled.connect(self._on_parameter_edited)

        self.start_button = QPushButton("&Start training")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip(
            "Stop after the current batch; Start resumes from the last finished epoch"
        )
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.train_task.cancel)
        self.prepare_bar = QProgressBar()
        self.prepare_bar.setFormat("preparing faces %p%")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setFormat("training %p%")
        for bar in (self.prepare_bar, self.progress_bar):
            bar.setValue(0)  # a reset bar shows no text: an empty box that says nothing
        self.time_label = QLabel("")
        self.message = QLabel("")
        self.message.setWordWrap(True)

        self.curves = TrainingCurves()
        self.preview = QLabel("Reconstructions appear here during the CAE stage.")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(100)
        self.result_view = ResultView()
        self.result_view.try_live.connect(self.try_live)
        self.manager = ModelManager(active_model)
        self.manager.model_moved.connect(self.result_view.model_moved)
        active_model.changed.connect(self._on_active_model_changed)

        self._build_layout(choose)
        self._connect_tasks()
        self._restore()

    # ----- layout --------------------------------------------------------------------------
    @staticmethod
    def _spin(low: int, high: int) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        return spin

    def _build_layout(self, choose: QPushButton) -> None:
        data = QGroupBox("Data")
        data_layout = QVBoxLayout(data)
        row = QHBoxLayout()
        row.addWidget(self.folder_box, 1)
        row.addWidget(choose)
        data_layout.addLayout(row)
        data_layout.addWidget(self.found_label)
        data_layout.addWidget(self.counts)
        extra = QHBoxLayout()
        extra.addWidget(self.extra_folder, 1)
        extra.addWidget(self.extra_choose)
        extra.addWidget(self.extra_clear)
        data_layout.addLayout(extra)
        weight = QFormLayout()
        weight.addRow("Weight of the first folder", self.extra_weight)
        data_layout.addLayout(weight)
        data_layout.addWidget(self.extra_label)

        params = QGroupBox("Parameters")
        form = QFormLayout(params)
        form.addRow("Preset", self.preset)
        form.addRow("CAE epochs", self.epochs_cae)
        form.addRow("CNN epochs", self.epochs_cnn)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Learning rate", self.lr)
        form.addRow("Input size", self.input_size)
        form.addRow("Split", self.protocol)
        form.addRow("Angles", self.angles)
        form.addRow(self.augment)
        form.addRow(self.use_cae)
        for spin in (self.epochs_cae, self.epochs_cnn, self.batch_size):
            spin.valueChanged.connect(self._on_parameter_edited)

        run = QGroupBox("Run")
        run_layout = QGridLayout(run)
        run_layout.addWidget(self.start_button, 0, 0)
        run_layout.addWidget(self.cancel_button, 0, 1)
        run_layout.addWidget(self.prepare_bar, 1, 0, 1, 2)
        run_layout.addWidget(self.progress_bar, 2, 0, 1, 2)
        run_layout.addWidget(self.time_label, 3, 0, 1, 2)
        run_layout.addWidget(self.message, 4, 0, 1, 2)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(data)
        left_layout.addWidget(params)
        left_layout.addWidget(run)
        left_layout.addStretch()
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(left.minimumSizeHint().width() + bar + 4)

        curves_page = QSplitter(Qt.Orientation.Vertical)
        curves_page.addWidget(self.curves)
        curves_page.addWidget(self.preview)
        curves_page.setStretchFactor(0, 3)
        curves_page.setStretchFactor(1, 1)
        self.pages = QTabWidget()
        self.pages.addTab(curves_page, "Curves")
        self.result_page = _scrolled(self.result_view)
        self.pages.addTab(self.result_page, "Result")
        self.pages.addTab(self.manager, "Models")

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(self.pages)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(split)

    def _connect_tasks(self) -> None:
        self.scan_task.finished.connect(self._on_scan_finished)
        self.scan_task.failed.connect(self._on_scan_failed)
        self.scan_task.stopped.connect(self._on_scan_stopped)
        self.extra_scan_task.finished.connect(self._on_extra_scan_finished)
        self.extra_scan_task.failed.connect(self._on_extra_scan_failed)
        self.extra_scan_task.stopped.connect(self._on_extra_scan_stopped)
        self.train_task.progress_changed.connect(self._on_train_progress)
        self.train_task.finished.connect(self._on_train_finished)
        self.train_task.failed.connect(self._on_train_failed)
        self.train_task.cancelled.connect(self._on_train_cancelled)
        self.train_task.stopped.connect(self._on_train_stopped)

    # ----- parameters and settings ---------------------------------------------------------
    def config(self) -> TrainConfig:
        return replace(
            PRESETS["Paper"],
            epochs_cae=self.epochs_cae.value(),
            epochs_cnn=self.epochs_cnn.value(),
            batch_size=self.batch_size.value(),
            lr=self.lr.value(),
            input_size=int(self.input_size.currentText()),
            augment=self.augment.isChecked(),
            use_cae=self.use_cae.isChecked(),
        )

    def data_options(self) -> DataOptions:
        extra = self.extra_folder.text()
        return DataOptions(
            Path(self.folder_box.currentText()).expanduser(),
            self.protocol.currentText(),
            self.angles.currentText(),
            more=(Path(extra),) if extra else (),
            weights=(self.extra_weight.value(), 1.0) if extra else (),
        )

    def apply_config(self, config: TrainConfig) -> None:
        self._applying = True
        self.epochs_cae.setValue(config.epochs_cae)
        self.epochs_cnn.setValue(config.epochs_cnn)
        self.batch_size.setValue(config.batch_size)
        self.lr.setValue(config.lr)
        self.input_size.setCurrentText(str(config.input_size))
        self.augment.setChecked(config.augment)
        self.use_cae.setChecked(config.use_cae)
        self._applying = False

    def _check_ranges(self, config: TrainConfig) -> None:
        """ValueError where a saved parameter lies outside its box's range: a spin box takes no
        int beyond Qt's (2**70 raised OverflowError) and would clamp the rest to another run."""
        for spin, value in (
            (self.epochs_cae, config.epochs_cae),
            (self.epochs_cnn, config.epochs_cnn),
            (self.batch_size, config.batch_size),
        ):
            if not spin.minimum() <= value <= spin.maximum():
                raise ValueError(f"a saved training parameter is out of range: {value!r}")

    def _on_preset_changed(self, name: str) -> None:
        if name in PRESETS:
            self.apply_config(PRESETS[name])
        self._save_parameters()

    def _on_parameter_edited(self, *_: object) -> None:
        if self._applying:
            return
        matching = [n for n, c in PRESETS.items() if c == self.config()]
        self.preset.blockSignals(True)
        self.preset.setCurrentText(matching[0] if matching else "Custom")
        self.preset.blockSignals(False)
        self._save_parameters()

    def _save_parameters(self) -> None:
        values = {
            **self.config().to_dict(),
            "protocol": self.protocol.currentText(),
            "angles": self.angles.currentText(),
            "preset": self.preset.currentText(),
        }
        self.settings.setValue("training/parameters", json.dumps(values))

    def _restore(self) -> None:
        values = json_setting(self.settings, "training/parameters", {})
        try:
            config = TrainConfig.checked(values)
            self._check_ranges(config)
        except (ValueError, TypeError):
            values, config = {}, PRESETS["Quick"]  # damaged: the defaults
        self.apply_config(config if values else PRESETS["Quick"])
        self.protocol.setCurrentText(str(values.get("protocol", "random")))
        self.angles.setCurrentText(str(values.get("angles", "all")))
        self.preset.blockSignals(True)
        self.preset.setCurrentText(str(values.get("preset", "Quick")))
        self.preset.blockSignals(False)
        self.curves.reset(self.epochs_cae.value(), self.epochs_cnn.value())  # the planned run
        recent = self.recent_folders()
        self.folder_box.addItems(recent)
        if recent:
            self.set_folder(recent[0])
        weight = self.extra_weight
        self.extra_weight.setValue(
            setting(self.settings, "training/extra_weight", 3.0, weight.minimum(), weight.maximum())
        )
        self.set_extra_folder(setting(self.settings, "training/extra_folder", ""))

    def recent_folders(self) -> list[str]:
        return setting(self.settings, "training/recent", [])

    # ----- data folder ---------------------------------------------------------------------
    def choose_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with KDEF images")
        if folder:
            self.set_folder(folder)

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

    def choose_extra_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "FER+ folder or one folder per emotion")
        if folder:
            self.set_extra_folder(folder)

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

    def _on_extra_scan_finished(self, result: Scan) -> None:
        if self._extra_scanning == self.extra_folder.text():
            self.extra_label.setText(f"Second source: {result.summary()}")

    def _on_extra_scan_failed(self, message: str) -> None:
        if self._extra_scanning == self.extra_folder.text():
            self.extra_label.setText(message)

    def _on_extra_scan_stopped(self) -> None:
        folder = self.extra_folder.text()
        if self._closing:  # the window's close joined the scan: no new one after it
            return
        if folder and folder != self._extra_scanning:  # changed while it ran
            self.set_extra_folder(folder)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt's name)
        urls = event.mimeData().urls()
        if urls and Path(urls[0].toLocalFile()).is_dir():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt's name)
        self.set_folder(event.mimeData().urls()[0].toLocalFile())
        event.acceptProposedAction()

    def _on_scan_stopped(self) -> None:
        if self._rescan and not self._closing:
            self._rescan = False
            self.set_folder(self.folder_box.currentText())

    def _on_scan_finished(self, result: Scan) -> None:
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

    def _on_scan_failed(self, message: str) -> None:
        if self._rescan:
            return
        self.found_label.setText(message)
        self.counts.clearContents()

    # ----- running -------------------------------------------------------------------------
    @staticmethod
    def _run_request(options: DataOptions, config: TrainConfig) -> str:
        """What Start trains, as text: an unfinished run resumes only for its own request.
        The core would start afresh on another and write over the saved epochs."""
        request = {"config": config.to_dict(), "data": vars(options)}
        return json.dumps(request, sort_keys=True, default=str)  # folders as text

    def _unfinished_runs(self) -> dict[str, str]:
        """Each unfinished run's file by its request, for those whose resume file is there."""
        runs = json_setting(self.settings, "training/unfinished", {})  # damaged: none
        return {
            request: out
            for request, out in runs.items()
            if isinstance(out, str) and resume_path(Path(out)).is_file()
        }

    def output_path(self, request: str | None = None) -> Path:
        """The unfinished run of these parameters and folders (``request``: the tab's now, where
        not given) when there is one (it resumes), else a new name: runs of other parameters
        stay resumable for when they come back."""
        request = request or self._run_request(self.data_options(), self.config())
        unfinished = self._unfinished_runs().get(request)
        if unfinished:
            return Path(unfinished)
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        return paths.models_dir() / f"kdef-{stamp}.pt"

    def start(self) -> None:
        if self.train_task.is_running():
            return
        folder = self.folder_box.currentText()
        if not folder.strip():  # Path("") would be the working folder
            self._on_train_failed(CHOOSE_FOLDER)
            return
        if folder != (self.recent_folders() or [""])[0]:  # typed, not chosen: remember it too
            self.set_folder(folder)
        options, config = self.data_options(), self.config()
        request = self._run_request(options, config)
        out = self.run_path = self.output_path(request)
        unfinished = {**self._unfinished_runs(), request: str(out)}
        self.settings.setValue("training/unfinished", json.dumps(unfinished))
        self.curves.reset(config.epochs_cae, config.epochs_cnn)
        self.progress_bar.setValue(0)
        self.prepare_bar.setValue(0)
        self.message.setStyleSheet("")
        resuming = resume_path(out).is_file()
        self.message.setText(f"{'Resuming' if resuming else 'Training'} {out.name}…")
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.clock.invalidate()
        cache = paths.cache_dir()

        def work(report, cancelled) -> TrainResult:  # noqa: ANN001
            return train_from_folder(
                options,
                config,
                out,
                cache,
                report,
                cancelled,
                step=lambda fraction, text: report(Step(fraction, text)),  # cropping faces
            )

        self.train_task.start(work)

    def _on_train_progress(self, event: Progress | Step) -> None:
        if isinstance(event, Step):
            self.prepare_bar.setValue(round(event.fraction * 100))
            return
        self.prepare_bar.setValue(100)
        if not self.clock.isValid():
            self.clock.start()
            self._clock_fraction = event.fraction  # past 0 where a run resumes
        self.progress_bar.setValue(round(event.fraction * 1000))
        self.curves.add(event)
        if event.preview is not None:
            scale = max(1, PREVIEW_WIDTH // event.preview.shape[1])
            self.preview.setPixmap(_image_to_pixmap(event.preview, scale))
        elapsed = self.clock.elapsed() / 1000
        eta = time_left(elapsed, self._clock_fraction, event.fraction)
        self.time_label.setText(
            f"{event.stage.upper()} epoch {event.epoch + 1}/{event.epochs} · elapsed "
            f"{duration(elapsed)}" + (f" · about {duration(eta)} left" if eta else "")
        )

    def _on_train_finished(self, result: TrainResult) -> None:
        self.result = result
        self.progress_bar.setValue(1000)
        self.result_view.show_run(
            result.path, result.card, self.active_model.name(), self.active_model.card()
        )
        self.pages.setCurrentWidget(self.result_page)
        self.manager.refresh()
        self.manager.select(result.path)
        self.message.setText(f"Saved {result.path.name}: see Result, or press “Try it live”.")

    def _on_active_model_changed(self) -> None:
        self.result_view.update_active(self.active_model.name(), self.active_model.card())

    def _on_train_failed(self, text: str) -> None:
        self.message.setStyleSheet("color: #c0392b")
        self.message.setText(text)

    def _on_train_cancelled(self) -> None:
        self.message.setText(
            "Cancelled. The active model is unchanged; Start continues from the last finished "
            "epoch."
        )

    def _on_train_stopped(self) -> None:
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        # the time left was the stopped run's; the elapsed time before it still holds
        self.time_label.setText(self.time_label.text().split(" · about")[0])

    def shutdown(self) -> None:
        """Stop and join both worker threads (the run can be resumed next time).

        A folder picked while its scan ran is scanned when that scan stops; here it must not
        be, or a thread starts after the join, which the window's close never waits for."""
        self._closing = True
        self.scan_task.stop()
        self.extra_scan_task.stop()
        self.train_task.stop()


def _scrolled(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    return area
