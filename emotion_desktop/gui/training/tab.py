"""Training tab: retrain on KDEF (and optionally FER+ or a labelled folder) with live curves,
then pick the model to use.

A thin layer over ``core.train.run.train_from_folder``: the tab collects the folders (its
:class:`DataPanel`) and the parameters (its :class:`ParametersForm`), runs the call in a
:class:`Task`, and turns its progress events into a progress bar, curves, a reconstruction
preview and, at the end, the test figures and the model manager entry. Which unfinished run
resumes is :mod:`emotion_desktop.core.train.unfinished`'s to say; the tab keeps its registry in
the settings.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PySide6.QtCore import QElapsedTimer, QSettings, Qt, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from emotion_desktop.core import paths
from emotion_desktop.core.callbacks import Step, time_left
from emotion_desktop.core.data.prepare import DataOptions
from emotion_desktop.core.train import unfinished
from emotion_desktop.core.train.config import TrainConfig
from emotion_desktop.core.train.loop import Progress
from emotion_desktop.core.train.resume import resume_path
from emotion_desktop.core.train.run import TrainResult, train_from_folder
from emotion_desktop.gui.active_model import ActiveModel
from emotion_desktop.gui.format import duration
from emotion_desktop.gui.message_bar import MessageBar
from emotion_desktop.gui.settings import json_setting
from emotion_desktop.gui.training.data_panel import CHOOSE_FOLDER, DataPanel
from emotion_desktop.gui.training.models import ModelManager
from emotion_desktop.gui.training.parameters import PRESETS, ParametersForm
from emotion_desktop.gui.training.plots import TrainingCurves
from emotion_desktop.gui.training.result import ResultView
from emotion_desktop.gui.workers import Task

__all__ = ["PRESETS", "TrainingTab"]
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
    """``live_requested(path)``: the user wants the finished run's model in the Live tab;
    ``running_changed(bool)``: a run started (True) or ended, however (False)."""

    live_requested = Signal(Path)
    running_changed = Signal(bool)

    def __init__(self, active_model: ActiveModel, settings: QSettings) -> None:
        super().__init__()
        self.active_model = active_model
        self.settings = settings
        self.train_task = Task(self, background=True, keep_result=True)
        self.clock = QElapsedTimer()
        self._clock_fraction = 0.0  # the fraction done when the clock started
        self.result: TrainResult | None = None
        self.run_path: Path | None = None  # the model file of the latest run
        self.setAcceptDrops(True)
        self._build()
        self._connect()
        self._restore()

    # ----- build, connect, restore, shutdown -----------------------------------------------
    def _build(self) -> None:
        self.data = DataPanel(self.settings)
        self.params = ParametersForm(self.settings)
        self.start_button = QPushButton("&Start training")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip(
            "Stop after the current batch; Start resumes from the last finished epoch"
        )
        self.cancel_button.setEnabled(False)
        self.prepare_bar = QProgressBar()
        self.prepare_bar.setFormat("preparing faces %p%")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setFormat("training %p%")
        for bar in (self.prepare_bar, self.progress_bar):
            bar.setValue(0)  # a reset bar shows no text: an empty box that says nothing
        self.time_label = QLabel("")
        self.message = MessageBar()
        self.curves = TrainingCurves()
        self.preview = QLabel("Reconstructions appear here during the CAE stage.")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(100)
        self.result_view = ResultView()
        self.manager = ModelManager(self.active_model)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self._settings_column())
        split.addWidget(self._pages())
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(split)

    def _settings_column(self) -> QScrollArea:
        """Data, Parameters and Run, one above the other, scrolled where the window is low."""
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
        left_layout.addWidget(self.data)
        left_layout.addWidget(self.params)
        left_layout.addWidget(run)
        left_layout.addStretch()
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(left.minimumSizeHint().width() + bar + 4)
        return scroll

    def _pages(self) -> QTabWidget:
        """Curves (with the reconstruction preview), Result and Models."""
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
        return self.pages

    def _connect(self) -> None:
        self.start_button.clicked.connect(self._on_start_button_clicked)
        self.cancel_button.clicked.connect(self.train_task.cancel)
        self.result_view.live_requested.connect(self.live_requested)
        self.manager.model_moved.connect(self.result_view.model_moved)
        self.active_model.changed.connect(self._on_active_model_changed)
        self.train_task.progress_changed.connect(self._on_train_task_progress_changed)
        self.train_task.finished.connect(self._on_train_task_finished)
        self.train_task.failed.connect(self._on_train_task_failed)
        self.train_task.cancelled.connect(self._on_train_task_cancelled)
        self.train_task.stopped.connect(self._on_train_task_stopped)

    def _restore(self) -> None:
        self.params.restore()
        self.curves.reset(
            self.params.epochs_cae.value(), self.params.epochs_cnn.value()
        )  # the planned run
        self.data.restore()

    def shutdown(self) -> None:
        """Stop and join every worker thread (the run can be resumed next time)."""
        self.data.shutdown()
        self.train_task.stop()

    # ----- data ----------------------------------------------------------------------------
    def data_options(self) -> DataOptions:
        extra = self.data.extra_folder.text()
        return DataOptions(
            Path(self.data.folder_box.currentText()).expanduser(),
            self.params.protocol.currentText(),
            self.params.angles.currentText(),
            more=(Path(extra),) if extra else (),
            weights=(self.data.extra_weight.value(), 1.0) if extra else (),
        )

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt's name)
        urls = event.mimeData().urls()
        if urls and Path(urls[0].toLocalFile()).is_dir():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt's name)
        self.data.set_folder(event.mimeData().urls()[0].toLocalFile())
        event.acceptProposedAction()

    # ----- running -------------------------------------------------------------------------
    def _unfinished_runs(self) -> unfinished.Registry:
        """Each unfinished run's file by its request, for those whose resume file is there."""
        return unfinished.resumable(json_setting(self.settings, "training/unfinished", {}))

    def output_path(self, request: str | None = None) -> Path:
        """The unfinished run of these parameters and folders (``request``: the tab's now, where
        not given) when there is one (it resumes), else a new name: runs of other parameters
        stay resumable for when they come back."""
        request = request or unfinished.run_request(self.data_options(), self.params.config())
        return unfinished.output_path(self._unfinished_runs(), request, paths.models_dir())

    @Slot()
    def _on_start_button_clicked(self) -> None:
        self.start()

    def start(self) -> None:
        if self.train_task.is_running():
            return
        folder = self.data.folder_box.currentText()
        if not folder.strip():  # Path("") would be the working folder
            self.message.show_error(CHOOSE_FOLDER)
            return
        if folder != (self.data.recent_folders() or [""])[0]:  # typed, not chosen: remember it too
            self.data.set_folder(folder)
        options, config = self.data_options(), self.params.config()
        request = unfinished.run_request(options, config)
        out = self.run_path = self.output_path(request)
        registry = unfinished.remember(self._unfinished_runs(), request, out)
        self.settings.setValue("training/unfinished", json.dumps(registry))
        self._show_started(out, config)
        self.train_task.start(_training(options, config, out, paths.cache_dir()))
        self.running_changed.emit(True)

    def _show_started(self, out: Path, config: TrainConfig) -> None:
        self.curves.reset(config.epochs_cae, config.epochs_cnn)
        self.progress_bar.setValue(0)
        self.prepare_bar.setValue(0)
        self.message.clear()
        resuming = resume_path(out).is_file()
        self.message.show_note(f"{'Resuming' if resuming else 'Training'} {out.name}…")
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.clock.invalidate()

    @Slot(object)
    def _on_train_task_progress_changed(self, event: Progress | Step) -> None:
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

    @Slot(object)
    def _on_train_task_finished(self, result: TrainResult) -> None:
        self.result = result
        self.progress_bar.setValue(1000)
        self.result_view.show_run(
            result.path, result.card, self.active_model.name(), self.active_model.card()
        )
        self.pages.setCurrentWidget(self.result_page)
        self.manager.refresh()
        self.manager.select(result.path)
        self.message.show_note(f"Saved {result.path.name}: see Result, or press “Try it live”.")

    @Slot()
    def _on_active_model_changed(self) -> None:
        self.result_view.update_active(self.active_model.name(), self.active_model.card())

    @Slot(str)
    def _on_train_task_failed(self, text: str) -> None:
        self.message.show_error(text)

    @Slot()
    def _on_train_task_cancelled(self) -> None:
        self.message.show_note(
            "Cancelled. The active model is unchanged; Start continues from the last finished "
            "epoch."
        )

    @Slot()
    def _on_train_task_stopped(self) -> None:
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        # the time left was the stopped run's; the elapsed time before it still holds
        self.time_label.setText(self.time_label.text().split(" · about")[0])
        self.running_changed.emit(False)


def _training(options: DataOptions, config: TrainConfig, out: Path, cache: Path):  # noqa: ANN202
    """The training worker's function for one run: plain values in, nothing of the tab's."""

    def work(report, cancelled) -> TrainResult:  # noqa: ANN001 (a Task's function)
        return train_from_folder(
            options,
            config,
            out,
            cache,
            report,
            cancelled,
            step=lambda fraction, text: report(Step(fraction, text)),  # cropping faces
        )

    return work


def _scrolled(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    return area
