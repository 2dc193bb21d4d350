"""Batch tab: drop folders of photos and videos, get every face labelled, export the results.

The tab owns two :class:`Task` workers: one labels (the CLI's core loop, streamed in chunks),
the other counts the photos and videos beside it so that the bar can show an ETA without the
first row waiting for a walk of the whole folder. A video's frames come as rows with their
frame and time; the video panel shows the selected video's faces over time. Everything else
is bookkeeping on the GUI thread.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from emotion_desktop.core.batch.results import LabelRow, write_csv, write_json
from emotion_desktop.core.batch.video import VIDEO_SUFFIXES
from emotion_desktop.core.emotions import EMOTIONS
from emotion_desktop.core.errors import OutputError
from emotion_desktop.core.outputs import check_results_output
from emotion_desktop.core.vision.images import IMAGE_SUFFIXES
from emotion_desktop.gui.active_model import ActiveModel
from emotion_desktop.gui.batch.drop import DropZone
from emotion_desktop.gui.batch.options import BatchOptions
from emotion_desktop.gui.batch.progress import ProgressLine, RunState
from emotion_desktop.gui.batch.recent import RecentButton
from emotion_desktop.gui.batch.results_pane import ResultsPane
from emotion_desktop.gui.batch.rows import ProblemsModel, ResultsFilter, ResultsModel
from emotion_desktop.gui.batch.run import (
    BatchChunk,
    BatchRequest,
    FileCount,
    PauseGate,
    counting_task,
    labelling_task,
)
from emotion_desktop.gui.batch.video_panel import VideoPanel
from emotion_desktop.gui.dialogs import confirm
from emotion_desktop.gui.emotion_chart import EmotionChart
from emotion_desktop.gui.message_bar import MessageBar
from emotion_desktop.gui.workers import Task

IDLE_TEXT = "Drop a folder to start."
_SUFFIXES = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES | VIDEO_SUFFIXES))
_FILES_FILTER = (
    f"Photos and videos ({_SUFFIXES});;"
    "Images (" + " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES)) + ");;"
    "Videos (" + " ".join(f"*{s}" for s in sorted(VIDEO_SUFFIXES)) + ")"
)


class BatchTab(QWidget):
    """Drop zone, options, progress, results table with filters, chart, video panel, problems,
    export."""

    def __init__(self, active_model: ActiveModel, settings: QSettings) -> None:
        super().__init__()
        self.active_model = active_model
        self.settings = settings
        self.results = ResultsModel()
        self.shown = ResultsFilter(self.results)
        self.problems = ProblemsModel()
        self.counts = np.zeros(len(EMOTIONS))
        self.skipped = 0
        self._queue: list[Path] = []
        self._gate = PauseGate()
        self._run_ended = threading.Event()  # the last run's; a first run waits for nothing
        self._run_ended.set()
        self._state = RunState()
        self._has_run = False  # a run started since the last Clear: its status stays shown
        self._unexported = 0  # rows no file holds: Clear and Quit ask before dropping them
        self._writing_rows = False  # the run in progress writes its rows as they come
        self._exported_to: Path | None = None  # the file the last export of every row went to
        self._run = Task(self)
        self._count = Task(self)
        self._build()
        self._connect()
        self._restore()
        self._update_controls()

    # -- build, connect, restore, shutdown ----------------------------------------------------

    def _build(self) -> None:
        self.drop_zone = DropZone()
        self.add_folder_button = QPushButton("Add folder…")
        self.add_files_button = QPushButton("Add f&iles…")
        self.recent_button = RecentButton(self.settings)
        self.recent_menu = self.recent_button.menu_
        buttons = QVBoxLayout()
        for button in (self.add_folder_button, self.add_files_button, self.recent_button):
            buttons.addWidget(button)
        top = QHBoxLayout()
        top.addWidget(self.drop_zone, 1)
        top.addLayout(buttons)
        self.options = BatchOptions(self.settings, self.active_model)
        self.whole_image_box = self.options.whole_image_box
        self.live_csv_box = self.options.live_csv_box
        self.live_csv_edit = self.options.live_csv_edit
        self.live_csv_button = self.options.live_csv_button
        self.progress_line = ProgressLine()
        self.progress, self.status = self.progress_line.bar, self.progress_line.status
        self.pause_button = self.progress_line.pause_button
        self.cancel_button = self.progress_line.cancel_button
        self.message = MessageBar()
        self.results_pane = ResultsPane(self.results, self.shown)
        self.emotion_filter = self.results_pane.emotion_filter
        self.min_confidence = self.results_pane.min_confidence
        self.table = self.results_pane.table
        splitter = QSplitter()
        splitter.addWidget(self.results_pane)
        splitter.addWidget(self._build_side())
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.options)
        layout.addWidget(self.progress_line)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)
        layout.addLayout(self._build_bottom())

    def _build_side(self) -> QWidget:
        self.chart = EmotionChart()
        self.video_panel = VideoPanel(self.results.video_rows)
        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(self.chart, "Emotions")
        self.side_tabs.addTab(self.video_panel, "Video")
        self.problems_view = QTableView()
        self.problems_view.setModel(self.problems)
        self.problems_view.verticalHeader().hide()
        self.problems_view.horizontalHeader().setStretchLastSection(True)
        self.problems_view.horizontalHeader().resizeSection(0, 170)
        self.problems_view.setWordWrap(False)
        self.problems_label = QLabel("Problems")
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.side_tabs, 3)
        side_layout.addWidget(self.problems_label)
        side_layout.addWidget(self.problems_view, 1)
        return side

    def _build_bottom(self) -> QHBoxLayout:
        self.export_csv_button = QPushButton("Export &CSV…")
        self.export_json_button = QPushButton("Export &JSON…")
        self.clear_button = QPushButton("C&lear")
        bottom = QHBoxLayout()
        bottom.addWidget(self.clear_button)
        bottom.addStretch(1)
        bottom.addWidget(self.export_csv_button)
        bottom.addWidget(self.export_json_button)
        return bottom

    def _connect(self) -> None:
        self.drop_zone.paths_dropped.connect(self._on_drop_zone_paths_dropped)
        self.add_folder_button.clicked.connect(self.add_folder_dialog)
        self.add_files_button.clicked.connect(self.add_files_dialog)
        self.recent_button.folder_chosen.connect(self._on_recent_button_folder_chosen)
        self.pause_button.clicked.connect(self._on_pause_button_clicked)
        self.cancel_button.clicked.connect(self.cancel)
        self.clear_button.clicked.connect(self._on_clear_button_clicked)
        self.export_csv_button.clicked.connect(self._on_export_csv_button_clicked)
        self.export_json_button.clicked.connect(self._on_export_json_button_clicked)
        self.results_pane.video_row_selected.connect(self._on_results_pane_video_row_selected)
        self._run.progress_changed.connect(self._on_run_progress_changed)
        self._run.failed.connect(self._on_run_failed)
        self._run.cancelled.connect(self._on_run_cancelled)
        self._run.stopped.connect(self._on_run_stopped)
        self._count.finished.connect(self._on_count_finished)

    def _restore(self) -> None:
        self.results_pane.restore(self.settings)

    def _save(self) -> None:
        self.options.save()
        self.results_pane.save(self.settings)

    def shutdown(self) -> None:
        """Stop and join every worker thread of the tab."""
        self._queue.clear()
        self._gate.resume()
        self._run.stop()
        self._count.stop()
        self.options.shutdown()
        self.results.shutdown()
        self.video_panel.shutdown()
        self._save()

    def recent_folders(self) -> list[str]:
        return self.recent_button.folders()

    # -- starting, pausing, stopping ----------------------------------------------------------

    def add_folder_dialog(self) -> None:
        """Ask for a folder of photos and videos to label."""
        start = (self.recent_folders() or [str(Path.home())])[0]
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos or videos", start)
        if folder:
            self.add_paths([Path(folder)])

    def add_files_dialog(self) -> None:
        """Ask for loose photos and videos to label."""
        start = (self.recent_folders() or [str(Path.home())])[0]
        files, _ = QFileDialog.getOpenFileNames(self, "Add photos or videos", start, _FILES_FILTER)
        if files:
            self.add_paths([Path(f) for f in files])

    def add_paths(self, paths: list[Path]) -> None:
        """Label ``paths`` now, or after the run in progress: drops never wait on a dialog."""
        if not paths:
            return
        self.recent_button.remember(paths)
        self._queue.extend(paths)
        if not self._run.is_running():
            self._start_next()

    def _start_next(self) -> None:
        paths, self._queue = tuple(self._queue), []
        if not paths:
            return
        csv_path = self.options.live_csv_path()
        replace = self.options.live_csv_replace
        request = BatchRequest(
            paths,
            whole_image=self.whole_image_box.isChecked(),
            csv_path=csv_path,
            append=csv_path is not None and csv_path != replace,
            sampling=self.options.sampling(),
            profile=self.options.profile_box.current_path(),
        )
        if csv_path is not None and csv_path == replace:
            self.options.live_csv_replace = None  # replaced once; the next runs add to it
            self._unexported = self.results.rowCount()  # the rows it held are in no file now
        self.message.clear()
        self._gate = PauseGate()
        previous, self._run_ended = self._run_ended, threading.Event()
        model = self.active_model.path()  # the run's own: a model picked during it is the next's
        self._state = RunState(model=model.stem)
        self._has_run = True
        self._writing_rows = csv_path is not None
        self._save()
        self._count.retire()  # the previous run's count, if it is still walking
        self._run.start(labelling_task(request, model, self._gate, previous, self._run_ended))
        self._count.start(counting_task(paths))
        self._update_controls()

    def is_running(self) -> bool:
        return self._run.is_running()

    def is_holding(self) -> bool:
        """Paused and stopped: the worker reported its rows and waits for Resume."""
        return self._gate.is_holding()

    def has_ended(self) -> bool:
        """No run is going, not even a cleared one finishing its image in flight."""
        return not self._run.is_running() and self._run_ended.is_set()

    def pause(self) -> None:
        """Hold the worker after the image (or video frame) it is on; the thread stays."""
        if self._run.is_running():
            self._gate.pause()
            self._update_controls()

    def resume(self) -> None:
        self._gate.resume()
        self._update_controls()

    def cancel(self) -> None:
        """Stop after the image in flight; queued folders are dropped, rows so far are kept."""
        self._queue.clear()
        self._run.cancel()
        self._count.cancel()
        self._gate.resume()

    def clear(self) -> None:
        """Forget the results; a run in progress is cancelled and left to end on its own (the
        next run waits for it on its worker, never here)."""
        if self._run.is_running():
            self.cancel()
            self._run.retire()
            self._count.retire()
        self.results.clear()
        self.problems.clear()
        self.video_panel.clear()
        self.counts[:] = 0
        self.skipped = 0
        self._state = RunState()
        self._has_run, self._unexported = False, 0
        self._exported_to = None
        self.chart.set_counts(self.counts)
        self._update_problems_label()
        self.status.setText(IDLE_TEXT)
        self._update_controls()

    def unexported(self) -> int:
        """Faces in the table that no file holds: not written as they came (Write as I go) and
        not exported since, all of them at once (an export of some rows keeps the count)."""
        return self._unexported

    # -- what the workers report --------------------------------------------------------------

    @Slot(object)
    def _on_run_progress_changed(self, chunk: BatchChunk) -> None:
        self.results.append(chunk.rows)
        self.problems.append(chunk.problems)
        if not self._writing_rows:
            self._unexported += len(chunk.rows)
        for row in chunk.rows:
            self.counts[row.result.index] += 1
        if chunk.rows:
            self.chart.set_counts(self.counts)
        self.skipped += chunk.skipped
        state = self._state
        state.images += chunk.images
        state.videos += chunk.videos_done
        state.seconds = chunk.seconds
        for video in chunk.videos:
            state.video = None if video.done else video
            self.video_panel.add_progress(video)
        self._update_problems_label()
        self._update_progress()

    @Slot(object)
    def _on_count_finished(self, count: FileCount) -> None:
        self._state.count = count
        # a count that ends after the run (a failed model load is quick) must not turn the
        # run's "Stopped by an error:" line back into a running one's "0 of 6 images"
        self._update_progress(finished=not self._run.is_running())

    @Slot(str)
    def _on_run_failed(self, message: str) -> None:
        self._state.ended_by = "Stopped by an error:"
        self.message.show_error(f"Labelling stopped: {message}")

    @Slot()
    def _on_run_cancelled(self) -> None:
        self._state.ended_by = "Cancelled:"

    @Slot()
    def _on_run_stopped(self) -> None:
        self._count.cancel()
        self._state.video = None
        if self._queue:
            self._start_next()
        self._update_controls()

    # -- what the tab shows -------------------------------------------------------------------

    def _update_progress(self, finished: bool = False) -> None:
        extra = [f"{self.results.rowCount():,} faces", f"model {self._state.model}"]
        if self.skipped:  # the window's status bar names the active model, this the run's
            extra.append(f"{self.skipped:,} non-image file{'s' * (self.skipped != 1)} skipped")
        self.progress_line.show_run(self._state, finished, self._gate.is_paused(), extra)

    def _update_problems_label(self) -> None:
        n = self.problems.rowCount()
        self.problems_label.setText(f"Problems ({n:,})" if n else "Problems")

    def _update_controls(self) -> None:
        running = self._run.is_running()
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.pause_button.setText("Resume" if self._gate.is_paused() else "Pause")
        if running or self._has_run:
            self._update_progress(finished=not running)
        else:
            self.progress_line.show_idle()

    # -- the user's clicks --------------------------------------------------------------------

    @Slot(list)
    def _on_drop_zone_paths_dropped(self, paths: list[Path]) -> None:
        self.add_paths(paths)

    @Slot(object)
    def _on_recent_button_folder_chosen(self, folder: Path) -> None:
        self.add_paths([folder])

    @Slot()
    def _on_pause_button_clicked(self) -> None:
        if self._gate.is_paused():
            self.resume()
        else:
            self.pause()

    @Slot()
    def _on_clear_button_clicked(self) -> None:
        question = f"Forget {self._unexported:,} labelled faces that were not exported?"
        if self._unexported and not confirm(self, "Clear results", question):
            return
        self.clear()

    @Slot(object)
    def _on_results_pane_video_row_selected(self, row: LabelRow) -> None:
        self.video_panel.show_video(row.file, row.face, row.frame)
        self.side_tabs.setCurrentWidget(self.video_panel)

    @Slot()
    def _on_export_csv_button_clicked(self) -> None:
        self.export_dialog("csv")

    @Slot()
    def _on_export_json_button_clicked(self) -> None:
        self.export_dialog("json")

    # -- export -------------------------------------------------------------------------------

    def export_dialog(self, kind: str = "csv") -> None:
        """Ask where to save the results."""
        name = "JSON (*.json)" if kind == "json" else "CSV (*.csv)"
        start = str(Path(self.recent_folders()[0] if self.recent_folders() else Path.home()))
        path, _ = QFileDialog.getSaveFileName(self, "Export results", start, name)
        if path:
            self.export(Path(path))

    def export(self, path: Path) -> int:
        """Write the faces the table shows (filters apply) as CSV, or JSON for ``.json``."""
        rows = self.shown.shown_rows()
        try:
            check_results_output(path, [], "overwrite", in_place=False)  # as the CLI's --out
            if path.suffix.lower() == ".json":
                write_json(path, rows)
            else:
                write_csv(path, rows)
        except OutputError as exc:
            self.message.show_error(str(exc))
            return 0
        except OSError as exc:
            self.message.show_error(f"Cannot write {path}: {exc.strerror or exc}")
            return 0
        self.status.setText(f"Exported {len(rows):,} faces to {path}")
        if len(rows) == self.results.rowCount():
            self._unexported, self._exported_to = 0, path
        elif path == self._exported_to:  # some rows over the file that held them all
            self._unexported, self._exported_to = self.results.rowCount(), None
        return len(rows)
