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
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QImage,
    QKeySequence,
    QPainter,
    QShortcut,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from emotion_desktop.core import paths
from emotion_desktop.core.errors import CheckpointError, OutputError
from emotion_desktop.core.live.loop import (
    CsvRecorder,
    LatestFrame,
    LiveResult,
    Mailbox,
    RecordingFailed,
    TrackingSettings,
    capture_frames,
    process_frames,
)
from emotion_desktop.core.model.checkpoints import LoadedModel, load_model_for_inference
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.stream.frames import (
    LiveOptions,
    LivePipeline,
    make_predictor,
)
from emotion_desktop.core.stream.tracking import largest
from emotion_desktop.core.stream.video import FrameSource, VideoSource, list_cameras
from emotion_desktop.gui.active_model import ActiveModel
from emotion_desktop.gui.live.panel import ProbabilityPanel, Timeline
from emotion_desktop.gui.live.view import FrameView, paint_result
from emotion_desktop.gui.settings import setting
from emotion_desktop.gui.workers import Task

SourceFactory = Callable[[], FrameSource]
REPAINT_MS = 33  # ~30 fps, whatever the camera's rate
TIMELINE_REFRESH_S = 0.1  # the timeline moves smoothly enough at 10 updates a second
OPEN_FILE = "open"
NO_CAMERA = "none"
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
        self._probe = Task(self)
        self._start_after_probe = False
        self._looking = False  # the camera search is running (its result not yet listed)
        self._buffer: LatestFrame | None = None
        self._retry_source: SourceFactory | None = None
        self._failure: str | None = None  # the failure shown with Retry, until a start
        # what the worker reads between frames: immutable snapshots the tab replaces
        self._model_path: Mailbox[Path] = Mailbox(active_model.path())
        self._tracking: Mailbox[TrackingSettings] = Mailbox(TrackingSettings())
        self._latest: LiveResult | None = None
        self._shown: LiveResult | None = None
        self._step_ms: deque[float] = deque(maxlen=30)
        self._timeline_refreshed = 0.0
        self._recording: Mailbox[CsvRecorder | None] = Mailbox(None)  # written by the worker
        self._build()
        self._connect_tasks()
        self._restore()
        self.active_model.changed.connect(self._on_active_model_changed)
        self._repaint = QTimer(self)
        self._repaint.setInterval(REPAINT_MS)
        self._repaint.timeout.connect(self._on_repaint_timeout)

    # ---- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        self.source_box = QComboBox()
        self.source_box.setMinimumWidth(220)
        self.source_box.activated.connect(self._on_source_box_activated)
        self.loop_box = QCheckBox("&Loop video")
        self.loop_box.setChecked(True)
        self.loop_box.toggled.connect(self._on_loop_box_toggled)
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Start or stop the camera or video (F5)")
        start_key = QShortcut(QKeySequence(Qt.Key.Key_F5), self)  # the button's text changes
        start_key.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        start_key.activated.connect(self._on_start_button_clicked)
        self.start_button.clicked.connect(self._on_start_button_clicked)
        self.snapshot_button = QPushButton("Sna&pshot")
        self.snapshot_button.clicked.connect(self._on_snapshot_button_clicked)
        self.record_button = QPushButton("&Record")
        self.record_button.setCheckable(True)
        self.record_button.toggled.connect(self._on_record_button_toggled)
        self.mirror_box = QCheckBox("&Mirror")
        self.mirror_box.toggled.connect(self._on_mirror_box_toggled)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Source:"))
        controls.addWidget(self.source_box)
        for widget in (self.loop_box, self.start_button, self.snapshot_button):
            controls.addWidget(widget)
        controls.addWidget(self.record_button)
        controls.addWidget(self.mirror_box)
        controls.addStretch(1)

        self.view = FrameView()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.retry_button = QPushButton("Re&try")
        self.retry_button.clicked.connect(self._on_retry_button_clicked)
        self.message_bar = QFrame()
        self.message_bar.setFrameShape(QFrame.Shape.StyledPanel)
        bar_layout = QHBoxLayout(self.message_bar)
        bar_layout.addWidget(self.message, 1)
        bar_layout.addWidget(self.retry_button)
        self.message_bar.hide()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.view, 1)
        left_layout.addWidget(self.message_bar)

        self.panel = ProbabilityPanel()
        self.timeline = Timeline()
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, 95)
        self.smoothing_slider.valueChanged.connect(self._on_smoothing_slider_changed)
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(0, 100)
        self.threshold_slider.valueChanged.connect(self._on_threshold_slider_changed)
        self.smoothing_label = QLabel()
        self.threshold_label = QLabel()
        form = QFormLayout()
        form.addRow(self.smoothing_label, self.smoothing_slider)
        form.addRow(self.threshold_label, self.threshold_slider)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.panel)
        side_layout.addWidget(self.timeline, 1)
        side_layout.addLayout(form)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)

        self.status = QLabel("Stopped")
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)

    def _restore(self) -> None:
        for slider, key, default in (
            (self.smoothing_slider, "live/smoothing", 60),
            (self.threshold_slider, "live/threshold", 45),
        ):
            saved = setting(self.settings, key, default, slider.minimum(), slider.maximum())
            slider.setValue(saved)
        self.mirror_box.setChecked(setting(self.settings, "live/mirror", False))
        self.loop_box.setChecked(setting(self.settings, "live/loop", True))
        self._on_smoothing_slider_changed(self.smoothing_slider.value())
        self._on_threshold_slider_changed(self.threshold_slider.value())
        self.refresh_sources()

    # ---- sources ------------------------------------------------------------------------

    def refresh_sources(self, then_start: bool = False) -> None:
        """List the remembered video file and "Open video file…" at once, and the cameras when
        the probe reports them: it runs off the GUI thread, since each camera costs an open
        that can take seconds. ``then_start`` starts the chosen source once the probe is done.
        """
        self._start_after_probe = self._start_after_probe or then_start
        self._looking = True
        self._fill_sources(None)
        if not self._probe.is_running():
            self._probe.start(lambda report, cancelled: list_cameras())

    def _fill_sources(self, cameras: list[int] | None) -> None:
        """The source list with ``cameras`` (None: still looking), the remembered choice kept."""
        remembered = setting(self.settings, "live/source", "")
        self.source_box.clear()
        for index in cameras or ():
            self.source_box.addItem(f"Camera {index}", f"camera:{index}")
        if self.source_box.count() == 0:
            text = "Looking for cameras…" if cameras is None else "No camera found"
            self.source_box.addItem(text, NO_CAMERA)
        if remembered.startswith("file:") and Path(remembered[5:]).is_file():
            self._add_file_item(Path(remembered[5:]))
        self.source_box.addItem("Open video file…", OPEN_FILE)
        found = self.source_box.findData(remembered)
        self.source_box.setCurrentIndex(max(0, found))

    @Slot(object)
    def _on_probe_finished(self, cameras: list[int]) -> None:
        self._looking = False
        self._fill_sources(cameras)
        if self._start_after_probe:
            self._start_after_probe = False
            self.start(self._retry_source)

    def _add_file_item(self, path: Path) -> int:
        key = f"file:{path}"
        index = self.source_box.findData(key)
        if index < 0:
            index = self.source_box.count()
            if self.source_box.findData(OPEN_FILE) >= 0:
                index -= 1
            self.source_box.insertItem(index, path.name, key)
            self.source_box.setItemData(index, str(path), Qt.ItemDataRole.ToolTipRole)
        return index

    def set_video_file(self, path: Path) -> None:
        """Choose a video file as the source (and remember it), as the file dialog does."""
        path = Path(path).resolve()
        self.source_box.setCurrentIndex(self._add_file_item(path))
        self.settings.setValue("live/source", f"file:{path}")

    def open_video_dialog(self) -> None:
        """Ask for a video file to use as the camera, then start it."""
        start_dir = setting(self.settings, "live/video_dir", str(Path.home()))
        name, _ = QFileDialog.getOpenFileName(self, "Open video file", start_dir, VIDEO_FILTER)
        if not name:
            self._select_remembered()
            return
        self.settings.setValue("live/video_dir", str(Path(name).parent))
        self.set_video_file(Path(name))
        self.start()

    def _select_remembered(self) -> None:
        found = self.source_box.findData(setting(self.settings, "live/source", ""))
        self.source_box.setCurrentIndex(max(0, found))

    def _source_factory(self) -> SourceFactory | None:
        """How to open the selected source; None when there is nothing to open."""
        key = str(self.source_box.currentData())
        if key.startswith("camera:"):
            index = int(key.split(":", 1)[1])
            return lambda: VideoSource(index)
        if key.startswith("file:"):
            path = Path(key[5:])
            loop = self.loop_box.isChecked()
            return lambda: VideoSource(path, loop=loop, realtime=True)
        return None

    # ---- running ------------------------------------------------------------------------

    def _connect_tasks(self) -> None:
        """One pair of workers for the tab's life: a Task passes on only its current run's
        signals, so nothing of a stopped run reaches the next one."""
        capture, process = self._capture, self._process
        capture.failed.connect(self._on_capture_failed)
        capture.finished.connect(self._on_capture_finished)
        capture.stopped.connect(self._on_worker_stopped)
        process.progress_changed.connect(self._on_process_progress_changed)
        process.failed.connect(self._on_process_failed)
        process.stopped.connect(self._on_worker_stopped)
        self._probe.finished.connect(self._on_probe_finished)
        self._probe.failed.connect(lambda _: self._on_probe_finished([]))  # none to list

    def is_running(self) -> bool:
        return self._capture.is_running() or self._process.is_running()

    def latest(self) -> LiveResult | None:
        """The newest result received from the worker (painted at the next timer tick)."""
        return self._latest

    def start(self, source: SourceFactory | None = None) -> None:
        """Start the selected source, or ``source`` (a function returning a FrameSource)."""
        self._retry_source, self._failure = source, None
        factory = source or self._source_factory()
        if factory is None and self._looking:  # F5 at launch: start what the search finds
            self._start_after_probe = True
            self._show_message("Looking for cameras…")
            return
        if factory is None:
            self._show_message(
                "No camera found: connect one and press Retry, or choose Open video file…",
                retry=True,
            )
            return
        if self._buffer is not None:
            self._buffer.close()
        self._capture.retire()  # the previous run ends on its own; the GUI does not wait
        self._process.retire()
        self._hide_message()
        self._latest = self._shown = None
        self._step_ms.clear()
        self.timeline.clear_data()
        self.view.placeholder = "Starting…"
        self.view.show_result(None)
        self._buffer = buffer = LatestFrame()
        self._model_path.post(self.active_model.path())
        options, model_path = self.options, self._model_path
        tracking, recording = self._tracking, self._recording

        def process(report, cancelled) -> int:  # noqa: ANN001 (a Task's function)
            """On the worker: loads the model and owns the tracker, reads only the mailboxes."""
            path = model_path.read()
            pipeline = LivePipeline(
                make_predictor(_load(path), options), None, options.detect_every
            )

            def swap_predictor() -> Predictor | None:
                nonlocal path
                latest = model_path.read()
                if latest == path:
                    return None
                path = latest
                return make_predictor(_load(path), options)

            return process_frames(
                buffer, pipeline, report, cancelled, swap_predictor, tracking, recording
            )

        source = factory()
        self._process.start(process)
        self._capture.start(lambda report, cancelled: capture_frames(source, buffer, cancelled))
        self.start_button.setText("Stop")
        self.status.setText(f"Opening {source.description}…")
        self._repaint.start()
        self.started.emit()

    def stop(self) -> None:
        """Ask both workers to stop; the pane updates when they have ended."""
        self._capture.cancel()
        self._process.cancel()
        if self._buffer is not None:
            self._buffer.close()

    def shutdown(self) -> None:
        """Stop and join every worker thread of the tab (window close)."""
        self._probe.stop()
        self._join_workers()
        self._repaint.stop()
        self._stop_recording()

    def _join_workers(self) -> None:
        if self._buffer is not None:
            self._buffer.close()
        self._capture.stop()
        self._process.stop()

    @Slot(object)
    def _on_process_progress_changed(self, result: LiveResult | RecordingFailed) -> None:
        if isinstance(result, RecordingFailed):
            self._on_recording_failed(result)
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
            self.status.setText(
                f"Capture {result.capture_fps:.1f} fps · processed {result.processed_fps:.1f} fps"
                f" · {np.mean(self._step_ms):.1f} ms per frame · {result.dropped} dropped"
                f" · model {result.model.stem if result.model else '?'}"
            )
        now = time.monotonic()
        if now - self._timeline_refreshed >= TIMELINE_REFRESH_S:
            self._timeline_refreshed = now
            self.timeline.refresh()

    @Slot(str)
    def _on_capture_failed(self, message: str) -> None:
        self._process.cancel()
        self._show_message(message, retry=True)

    @Slot(object)
    def _on_capture_finished(self, frames: int) -> None:
        # Only a source that ran out ends this way: Stop and failures end as cancelled/failed.
        self._show_message(f"End of the video ({frames} frames). Press Start to play it again.")

    @Slot(str)
    def _on_process_failed(self, message: str) -> None:
        self._capture.cancel()
        if self._buffer is not None:
            self._buffer.close()
        self._show_message(message, retry=True)

    @Slot()
    def _on_worker_stopped(self) -> None:
        if self.is_running():
            return
        self._repaint.stop()
        self._on_repaint_timeout()
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

    def _show_message(self, text: str, retry: bool = False) -> None:
        """``text`` in the pane; ``retry``: a failure, shown with Retry. A note after a failure
        (a snapshot saved or refused) keeps the failure and its Retry beneath it."""
        if retry:
            self._failure = text
        elif self._failure is not None:
            text = f"{text}\n{self._failure}"
        self.message.setText(text)
        self.retry_button.setVisible(self._failure is not None)
        self.message_bar.show()
        if retry:
            self.failed.emit(text)

    def _hide_message(self) -> None:
        self._failure = None
        self.message_bar.hide()
        self.message.clear()

    def message_text(self) -> str:
        """The message shown in the pane, '' when none is."""
        return self.message.text() if self.message_bar.isVisibleTo(self) else ""

    @Slot()
    def _on_retry_button_clicked(self) -> None:
        """Start again; for a camera, look for cameras again first (one may be plugged in)."""
        key = str(self.source_box.currentData())
        if self._retry_source is None and (key == NO_CAMERA or key.startswith("camera:")):
            self.refresh_sources(then_start=True)  # a camera may have been plugged in
            return
        self.start(self._retry_source)

    # ---- controls -----------------------------------------------------------------------

    @Slot(int)
    def _on_source_box_activated(self, index: int) -> None:
        key = str(self.source_box.itemData(index))
        if key == OPEN_FILE:
            self.open_video_dialog()
            return
        if key != NO_CAMERA:
            self.settings.setValue("live/source", key)

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

    @Slot(int)
    def _on_smoothing_slider_changed(self, value: int) -> None:
        self.smoothing_label.setText(f"Smoothing {value / 100:.2f}")
        self._post_tracking()
        self.settings.setValue("live/smoothing", value)

    @Slot(int)
    def _on_threshold_slider_changed(self, value: int) -> None:
        self.threshold_label.setText(f"Uncertain below {value}%")
        self._post_tracking()
        self.settings.setValue("live/threshold", value)

    def _post_tracking(self) -> None:
        """Hand the sliders' values to the worker, which applies them to its own tracker."""
        self._tracking.post(
            TrackingSettings(
                self.smoothing_slider.value() / 100, self.threshold_slider.value() / 100
            )
        )

    @Slot()
    def _on_snapshot_button_clicked(self) -> None:
        path = self.save_snapshot()
        if path is not None:
            self._show_message(f"Snapshot saved to {path}")

    def save_snapshot(self, path: Path | None = None) -> Path | None:
        """Save the shown frame with its overlay as a PNG at the frame's own resolution."""
        result = self._shown or self._latest
        if result is None:
            self._show_message("Nothing to save yet: start a camera or video first.")
            return None
        path = Path(path) if path else _timestamped(paths.data_dir() / "snapshots", "png")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._show_message(f"Could not create {path.parent}: {exc.strerror or exc}")
            return None
        height, width = result.frame.image.shape[:2]
        image = QImage(width, height, QImage.Format.Format_RGB32)
        painter = QPainter(image)
        paint_result(painter, QRectF(0, 0, width, height), result, self.view.mirrored)
        painter.end()
        if not image.save(str(path), "PNG"):
            self._show_message(f"Could not write {path}: check the folder is writable.")
            return None
        return path

    @Slot(bool)
    def _on_record_button_toggled(self, checked: bool) -> None:
        if checked:
            try:
                path = self.start_recording()
            except OSError as exc:
                self.stop_recording()  # unchecks the button
                self._show_message(f"Could not start recording: {exc.strerror or exc}")
                return
            self._show_message(f"Recording faces to {path}")
        else:
            path = self._stop_recording()
            if path is not None:
                self._show_message(f"Recording saved to {path}")

    def _on_recording_failed(self, failure: RecordingFailed) -> None:
        """The worker could not write the recording (a full disk): it is closed, Record is
        off, and Live goes on. A recording started since is not this one: left alone."""
        recorder = self._recording.read()
        if recorder is not None and recorder.path == failure.path:
            self.stop_recording()
        self._show_message(failure.message)

    def start_recording(self, path: Path | None = None) -> Path:
        """Write a CSV row per face per processed frame until :meth:`stop_recording`."""
        self._stop_recording()
        path = Path(path) if path else _timestamped(paths.data_dir() / "recordings", "csv")
        self._recording.post(CsvRecorder(path))
        self.record_button.blockSignals(True)
        self.record_button.setChecked(True)
        self.record_button.blockSignals(False)
        return path

    def stop_recording(self) -> Path | None:
        """Close the CSV; returns its path, or None when nothing was being recorded."""
        self.record_button.blockSignals(True)
        self.record_button.setChecked(False)
        self.record_button.blockSignals(False)
        return self._stop_recording()

    def _stop_recording(self) -> Path | None:
        recorder = self._recording.read()
        if recorder is None:
            return None
        self._recording.post(None)
        try:
            recorder.close()
        except OutputError as exc:  # its last rows could not be written: a full disk
            self._show_message(str(exc))
            return None
        return recorder.path


def _load(path: Path) -> LoadedModel:
    """The active model (loaded on the worker), with a message that says what to do when there
    is none."""
    try:
        return load_model_for_inference(path)
    except CheckpointError as exc:
        raise CheckpointError(
            f"No model to run: {exc}. Train one in the Training tab, then press Retry."
        ) from exc


def _timestamped(folder: Path, suffix: str) -> Path:
    """A new file name in ``folder`` from the time, numbered where that second's is taken: two
    snapshots, or a stopped and restarted recording, in one second must not overwrite."""
    stem = f"live-{time.strftime('%Y%m%d-%H%M%S')}"
    path, number = folder / f"{stem}.{suffix}", 1
    while path.exists():
        number += 1
        path = folder / f"{stem}-{number}.{suffix}"
    return path
