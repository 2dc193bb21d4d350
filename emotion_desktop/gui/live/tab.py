"""Live tab: the camera with a box and an emotion label over every face.

Two workers (the project's :class:`Task`) run the core loops of
:mod:`emotion_desktop.core.live.loop`: one reads the source into a one-slot newest-frame buffer,
the other detects, classifies and tracks the newest frame and reports a :class:`LiveResult`.
The GUI thread only keeps the latest result and paints it on a ~30 fps timer, so a fast camera
or a slow model never floods it.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from emotion_desktop.core.errors import CheckpointError, OutputError
from emotion_desktop.core.live.loop import (
    LatestFrame,
    LiveResult,
    Mailbox,
    RecordingFailed,
    TrackingSettings,
    capture_frames,
    process_frames,
)
from emotion_desktop.core.live.pacing import SHARED_FPS
from emotion_desktop.core.live.swap import ModelSwap
from emotion_desktop.core.model.checkpoints import LoadedModel, load_model_for_inference
from emotion_desktop.core.stream.frames import LiveOptions, live_pipeline, make_predictor
from emotion_desktop.core.stream.tracking import largest
from emotion_desktop.core.stream.video import list_cameras
from emotion_desktop.gui.active_model import ActiveModel
from emotion_desktop.gui.live import snapshot
from emotion_desktop.gui.live.calibration import CalibrationPane
from emotion_desktop.gui.live.panel import ProbabilityPanel, Timeline
from emotion_desktop.gui.live.recording import RecordButton
from emotion_desktop.gui.live.sources import SourceBox, SourceFactory
from emotion_desktop.gui.live.status import StatusLine
from emotion_desktop.gui.live.tracking_form import TrackingForm
from emotion_desktop.gui.live.view import FrameView
from emotion_desktop.gui.message_bar import MessageBar
from emotion_desktop.gui.settings import setting
from emotion_desktop.gui.workers import Task

REPAINT_MS = 33  # ~30 fps, whatever the camera's rate
TIMELINE_REFRESH_S = 0.1  # the timeline moves smoothly enough at 10 updates a second
VIDEO_FILTER = "Videos (*.mp4 *.avi *.mov *.mkv *.webm *.m4v);;All files (*)"


class LiveTab(QWidget):
    """Source chooser, start/stop, the painted view, the probability panel and timeline.

    ``started`` and ``stopped`` follow the two workers; ``failed(str)`` carries the message
    shown in the pane.
    """

    started = Signal()
    stopped = Signal()
    failed = Signal(str)

    def __init__(
        self, active_model: ActiveModel, settings: QSettings, options: LiveOptions | None = None
    ) -> None:
        super().__init__()
        self.active_model = active_model
        self.settings = settings
        self.options = options or LiveOptions()
        self._capture, self._process = Task(self), Task(self)
        self._start_after_probe = False
        self._buffer: LatestFrame | None = None
        self._retry_source: SourceFactory | None = None
        # what the worker reads between frames: immutable snapshots the tab replaces
        self._model_path: Mailbox[Path] = Mailbox(active_model.path())
        self._tracking: Mailbox[TrackingSettings] = Mailbox(TrackingSettings())
        self._pace: Mailbox[float | None] = Mailbox(None)
        self._latest: LiveResult | None = None
        self._shown: LiveResult | None = None
        self._step_ms: deque[float] = deque(maxlen=30)
        self._timeline_refreshed = 0.0
        self._build()
        self._connect()
        self._restore()

    # ---- build, connect, restore, shutdown ----------------------------------------------

    def _build(self) -> None:
        self.source_box = SourceBox(self.settings, list_cameras)
        self.loop_box = QCheckBox("&Loop video")
        self.loop_box.setChecked(True)
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Start or stop the camera or video (F5)")
        self.start_key = QShortcut(QKeySequence(Qt.Key.Key_F5), self)  # the button's text changes
        self.start_key.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.snapshot_button = QPushButton("Sna&pshot")
        self.record_button = RecordButton()
        self.mirror_box = QCheckBox("&Mirror")
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Source:"))
        controls.addWidget(self.source_box)
        for widget in (self.loop_box, self.start_button, self.snapshot_button):
            controls.addWidget(widget)
        controls.addWidget(self.record_button)
        controls.addWidget(self.mirror_box)
        controls.addStretch(1)

        self.view = FrameView()
        self.message_bar = MessageBar("Re&try")
        self.retry_button = self.message_bar.retry_button
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.view, 1)
        left_layout.addWidget(self.message_bar)

        self.panel = ProbabilityPanel()
        self.timeline = Timeline()
        self.tracking_form = TrackingForm()
        self.calibration = CalibrationPane(self)  # the profile row, and Calibrate's steps
        self.smoothing_slider = self.tracking_form.smoothing_slider
        self.threshold_slider = self.tracking_form.threshold_slider
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.calibration)
        side_layout.addWidget(self.panel)
        side_layout.addWidget(self.timeline, 1)
        side_layout.addWidget(self.tracking_form)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)

        self.status = StatusLine()
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)
        self._repaint = QTimer(self)
        self._repaint.setInterval(REPAINT_MS)

    def _connect(self) -> None:
        """Controls, then the workers: one pair of Tasks for the tab's life; a Task passes on
        only its current run's signals, so nothing of a stopped run reaches the next one."""
        self.source_box.cameras_listed.connect(self._on_source_box_cameras_listed)
        self.source_box.open_file_chosen.connect(self._on_source_box_open_file_chosen)
        self.loop_box.toggled.connect(self._on_loop_box_toggled)
        self.start_key.activated.connect(self._on_start_button_clicked)
        self.start_button.clicked.connect(self._on_start_button_clicked)
        self.snapshot_button.clicked.connect(self._on_snapshot_button_clicked)
        self.record_button.noted.connect(self.message_bar.show_note)
        self.mirror_box.toggled.connect(self._on_mirror_box_toggled)
        self.message_bar.retry_clicked.connect(self._on_message_bar_retry_clicked)
        self.tracking_form.tracking_changed.connect(self._on_tracking_form_tracking_changed)
        self.active_model.changed.connect(self._on_active_model_changed)
        self._repaint.timeout.connect(self._on_repaint_timeout)
        self._capture.failed.connect(self._on_capture_failed)
        self._capture.finished.connect(self._on_capture_finished)
        self._capture.stopped.connect(self._on_worker_stopped)
        self._process.progress_changed.connect(self._on_process_progress_changed)
        self._process.failed.connect(self._on_process_failed)
        self._process.stopped.connect(self._on_worker_stopped)

    def _restore(self) -> None:
        sliders = (
            (self.smoothing_slider, "live/smoothing", 60),
            (self.threshold_slider, "live/threshold", 45),
        )  # both read before either is set: setting one saves both
        saved = [setting(self.settings, k, d, s.minimum(), s.maximum()) for s, k, d in sliders]
        for (slider, _, _), value in zip(sliders, saved, strict=True):
            slider.setValue(value)
        self.mirror_box.setChecked(setting(self.settings, "live/mirror", False))
        self.loop_box.setChecked(setting(self.settings, "live/loop", True))
        self._on_tracking_form_tracking_changed(self.tracking_form.tracking())
        self.refresh_sources()

    def shutdown(self) -> None:
        """Stop and join every worker thread of the tab (window close)."""
        self.source_box.shutdown()
        self.calibration.shutdown()
        self._join_workers()
        self._repaint.stop()
        self.record_button.close()

    def _join_workers(self) -> None:
        if self._buffer is not None:
            self._buffer.close()
        self._capture.stop()
        self._process.stop()

    # ---- sources ------------------------------------------------------------------------

    def refresh_sources(self, then_start: bool = False) -> None:
        """List the remembered video file and "Open video file…" at once, and the cameras when
        the search off the GUI thread reports them. ``then_start`` starts the chosen source
        once the search is done."""
        self._start_after_probe = self._start_after_probe or then_start
        self.source_box.refresh()

    @Slot()
    def _on_source_box_cameras_listed(self) -> None:
        if self._start_after_probe:
            self._start_after_probe = False
            self.start(self._retry_source)

    def set_video_file(self, path: Path) -> None:
        """Choose a video file as the source (and remember it), as the file dialog does."""
        self.source_box.set_video_file(path)

    @Slot()
    def _on_source_box_open_file_chosen(self) -> None:
        self.open_video_dialog()

    def open_video_dialog(self) -> None:
        """Ask for a video file to use as the camera, then start it."""
        start_dir = setting(self.settings, "live/video_dir", str(Path.home()))
        name, _ = QFileDialog.getOpenFileName(self, "Open video file", start_dir, VIDEO_FILTER)
        if not name:
            self.source_box.select_remembered()
            return
        self.settings.setValue("live/video_dir", str(Path(name).parent))
        self.set_video_file(Path(name))
        self.start()

    # ---- running ------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self._capture.is_running() or self._process.is_running()

    @Slot(bool)
    def share_cores(self, training: bool) -> None:
        """While ``training`` (a run in this window computes on every core), analyse at most
        :data:`SHARED_FPS` frames a second, so that Live does not slow that run down much."""
        self._pace.post(SHARED_FPS if training else None)

    def latest(self) -> LiveResult | None:
        """The newest result received from the worker (painted at the next timer tick)."""
        return self._latest

    def start(self, source: SourceFactory | None = None) -> None:
        """Start the selected source, or ``source`` (a function returning a FrameSource)."""
        self._retry_source = source
        self.message_bar.clear()
        factory = source or self.source_box.factory(loop=self.loop_box.isChecked())
        if factory is None and self.source_box.looking:  # F5 at launch: start what the search finds
            self._start_after_probe = True
            self.message_bar.show_note("Looking for cameras…")
            return
        if factory is None:
            self._show_failure(
                "No camera found: connect one and press Retry, or choose Open video file…"
            )
            return
        if self._buffer is not None:
            self._buffer.close()
        self._capture.retire()  # the previous run ends on its own; the GUI does not wait
        self._process.retire()
        self._latest = self._shown = None
        self._step_ms.clear()
        self.timeline.clear_data()
        self.view.placeholder = "Starting…"
        self.view.show_result(None)
        self._buffer = buffer = LatestFrame()
        self._model_path.post(self.active_model.path())
        source_ = factory()
        self._process.start(self._process_work(buffer))
        self._capture.start(lambda report, cancelled: capture_frames(source_, buffer, cancelled))
        self.start_button.setText("Stop")
        self.status.setText(f"Opening {source_.description}…")
        self._repaint.start()
        self.started.emit()

    def _process_work(self, buffer: LatestFrame):  # noqa: ANN202 (a Task's function)
        """The processing worker's function for one run; it reads only the mailboxes."""
        options, model_path = self.options, self._model_path
        tracking, recording, pace = self._tracking, self.record_button.recording, self._pace
        link = self.calibration.link

        def process(report, cancelled) -> int:  # noqa: ANN001 (a Task's function)
            """On the worker: loads the model and owns the tracker."""
            models = ModelSwap(model_path, lambda path: make_predictor(_load(path), options))
            swap, report = link.attach(models, report, options.work_width)  # profile; crops
            pipeline = live_pipeline(swap.first(), options)
            return process_frames(
                buffer, pipeline, report, cancelled, swap, tracking, recording, pace
            )

        return process

    def stop(self) -> None:
        """Ask both workers to stop; the pane updates when they have ended."""
        self._capture.cancel()
        self._process.cancel()
        if self._buffer is not None:
            self._buffer.close()

    @Slot(object)
    def _on_process_progress_changed(self, result: LiveResult | RecordingFailed) -> None:
        if isinstance(result, RecordingFailed):
            self.record_button.fail(result)
            return
        if self.calibration.take(result):
            return
        self._latest = result
        self._step_ms.append(result.timings.total_ms)
        face = largest([f for f in result.faces if not f.missed])
        if face is not None:
            self.timeline.append(result.frame.timestamp, face.probabilities)

    @Slot()
    def _on_repaint_timeout(self) -> None:
        result = self._latest
        if result is not None and result is not self._shown:
            self._shown = result
            self.view.show_result(result)
            self.panel.show_face(largest(result.faces))
            self.status.show_result(result, self._step_ms)
        now = time.monotonic()
        if now - self._timeline_refreshed >= TIMELINE_REFRESH_S:
            self._timeline_refreshed = now
            self.timeline.refresh()

    @Slot(str)
    def _on_capture_failed(self, message: str) -> None:
        self._process.cancel()
        self._show_failure(message)

    @Slot(object)
    def _on_capture_finished(self, frames: int) -> None:
        # Only a source that ran out ends this way: Stop and failures end as cancelled/failed.
        note = f"End of the video ({frames} frames). Press Start to play it again."
        self.message_bar.show_note(note)

    @Slot(str)
    def _on_process_failed(self, message: str) -> None:
        self._capture.cancel()
        if self._buffer is not None:
            self._buffer.close()
        self._show_failure(message)

    @Slot()
    def _on_worker_stopped(self) -> None:
        if self.is_running():
            return
        self._repaint.stop()
        self._on_repaint_timeout()
        if self._latest is not None:  # its figures, though the line changed just before
            self.status.show_result(self._latest, self._step_ms, last=True)
        self.start_button.setText("Start")
        if self._latest is None:
            self.view.placeholder = "Press Start to begin"
            self.view.show_result(None)
        self.status.setText(
            "Stopped" if self._latest is None else f"Stopped · {self.status.text()}"
        )
        self.stopped.emit()

    @Slot()
    def _on_active_model_changed(self) -> None:
        self._model_path.post(self.active_model.path())

    # ---- messages -----------------------------------------------------------------------

    def _show_failure(self, text: str) -> None:
        """``text`` as the failure, with Retry, until the next start."""
        self.message_bar.show_error(text)
        self.failed.emit(text)

    def message_text(self) -> str:
        """The message shown in the pane, '' when none is."""
        return self.message_bar.text()

    @Slot()
    def _on_message_bar_retry_clicked(self) -> None:
        """Start again; for a camera, look for cameras again first (one may be plugged in)."""
        if self._retry_source is None and self.source_box.is_camera():
            self.refresh_sources(then_start=True)  # a camera may have been plugged in
            return
        self.start(self._retry_source)

    # ---- controls -----------------------------------------------------------------------

    @Slot()
    def _on_start_button_clicked(self) -> None:
        if self.is_running():
            self.stop()
        else:
            self.start()

    @Slot(bool)
    def _on_mirror_box_toggled(self, checked: bool) -> None:
        self.view.mirrored = checked
        self.view.update()
        self.settings.setValue("live/mirror", "true" if checked else "false")

    @Slot(bool)
    def _on_loop_box_toggled(self, checked: bool) -> None:
        self.settings.setValue("live/loop", "true" if checked else "false")

    @Slot(object)
    def _on_tracking_form_tracking_changed(self, tracking: TrackingSettings) -> None:
        """Hand the sliders' values to the worker, which applies them to its own tracker."""
        self._tracking.post(tracking)
        self.settings.setValue("live/smoothing", self.smoothing_slider.value())
        self.settings.setValue("live/threshold", self.threshold_slider.value())

    @Slot()
    def _on_snapshot_button_clicked(self) -> None:
        path = self.save_snapshot()
        if path is not None:
            self.message_bar.show_note(f"Snapshot saved to {path}")

    def save_snapshot(self, path: Path | None = None) -> Path | None:
        """Save the shown frame with its overlay as a PNG at the frame's own resolution."""
        result = self._shown or self._latest
        if result is None:
            self.message_bar.show_note("Nothing to save yet: start a camera or video first.")
            return None
        try:
            return snapshot.save(result, self.view.mirrored, path)
        except OutputError as exc:
            self.message_bar.show_note(str(exc))
            return None


def _load(path: Path) -> LoadedModel:
    """The active model (loaded on the worker), with a message that says what to do when there
    is none."""
    try:
        return load_model_for_inference(path)
    except CheckpointError as exc:
        raise CheckpointError(
            f"No model to run: {exc}. Train one in the Training tab, then press Retry."
        ) from exc
