"""Batch tab: drop folders of photos, get every face labelled, export the results.

The tab owns two :class:`Task` workers: one labels (the CLI's core loop, streamed in chunks),
the other counts the images beside it so that the bar can show an ETA without the first row
waiting for a walk of the whole folder. Everything else is bookkeeping on the GUI thread.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from emotion_desktop.core.batch.results import write_csv, write_json
from emotion_desktop.core.emotions import EMOTIONS
from emotion_desktop.core.errors import OutputError
from emotion_desktop.core.outputs import check_results_output
from emotion_desktop.core.vision.images import IMAGE_SUFFIXES
from emotion_desktop.gui.active_model import ActiveModel
from emotion_desktop.gui.batch.drop import DropZone
from emotion_desktop.gui.batch.rows import (
    COL_FILE,
    THUMB_SIZE,
    ProblemsModel,
    ResultsFilter,
    ResultsModel,
)
from emotion_desktop.gui.batch.run import (
    BatchChunk,
    BatchRequest,
    PauseGate,
    counting_task,
    labelling_task,
)
from emotion_desktop.gui.dialogs import confirm
from emotion_desktop.gui.emotion_chart import EmotionChart
from emotion_desktop.gui.format import duration
from emotion_desktop.gui.settings import setting
from emotion_desktop.gui.workers import Task

RECENT_FOLDERS = 8
DONE = "Done:"  # the status line of a run that labelled everything it was given
_IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES)) + ")"


class BatchTab(QWidget):
    """Drop zone, options, progress, results table with filters, chart, problems, export."""

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
        self._run_images = 0
        self._run_seconds = 0.0
        self._total: int | None = None
        self._run_model = ""  # the stem of the model the run in progress (or the last) labels with
        self._ended_by = DONE  # what the status line says ended the last run
        self._has_run = False  # a run started since the last Clear: its status stays shown
        self._unexported = 0  # rows no file holds: Clear and Quit ask before dropping them
        self._writing_rows = False  # the run in progress writes its rows as they come
        self._exported_to: Path | None = None  # the file the last export of every row went to
        # the Write-as-I-go file the user just chose (and agreed to replace) in the dialog; any
        # other existing file, a typed one or one remembered from an earlier session, is
        # appended to, never emptied
        self._live_csv_replace: Path | None = None
        self._run = Task(self)
        self._count = Task(self)
        self._build()
        self._restore()
        self._connect()
        self._update_controls()

    # -- layout -------------------------------------------------------------------------------

    def _build(self) -> None:
        self.drop_zone = DropZone()
        self.add_folder_button = QPushButton("Add folder…")
        self.add_files_button = QPushButton("Add f&iles…")
        self.recent_button = QPushButton("&Recent")  # a QToolButton's arrow covered its text
        self.recent_button.setToolTip("Label a folder you labelled before")
        self.recent_menu = QMenu(self)
        self.recent_button.setMenu(self.recent_menu)
        buttons = QVBoxLayout()
        for button in (self.add_folder_button, self.add_files_button, self.recent_button):
            buttons.addWidget(button)
        top = QHBoxLayout()
        top.addWidget(self.drop_zone, 1)
        top.addLayout(buttons)

        self.whole_image_box = QCheckBox("Treat the &whole image as the face when none is found")
        self.whole_image_box.setToolTip("For folders of photos already cropped to one face")
        self.live_csv_box = QCheckBox("Write as I &go to")
        self.live_csv_box.setToolTip(
            "Append the rows to this CSV as each batch of eight images is done, so a crash "
            "loses at most the images in flight"
        )
        self.live_csv_edit = QLineEdit(placeholderText="results.csv")
        self.live_csv_button = QPushButton("Choose…")
        options = QHBoxLayout()
        options.addWidget(self.whole_image_box)
        options.addStretch(1)
        options.addWidget(self.live_csv_box)
        options.addWidget(self.live_csv_edit, 1)
        options.addWidget(self.live_csv_button)

        self.progress = QProgressBar(textVisible=False, maximumHeight=14)
        self.status = QLabel("Drop a folder to start.")
        self.pause_button = QPushButton("Pause")
        self.cancel_button = QPushButton("Cancel")
        progress = QHBoxLayout()
        progress.addWidget(self.progress, 1)
        progress.addWidget(self.status, 2)
        progress.addWidget(self.pause_button)
        progress.addWidget(self.cancel_button)

        self.message = QLabel(wordWrap=True, visible=False)
        self.message.setStyleSheet("color: #c0392b; font-weight: bold;")

        self.emotion_filter = QComboBox()
        self.emotion_filter.addItem("All emotions", None)
        for e in EMOTIONS:
            self.emotion_filter.addItem(e.title, e.name)
        self.min_confidence = QDoubleSpinBox(
            suffix=" %", minimum=0, maximum=100, decimals=0, singleStep=5
        )
        self.shown_label = QLabel()
        filters = QHBoxLayout()
        filters.addWidget(QLabel("Show"))
        filters.addWidget(self.emotion_filter)
        filters.addWidget(QLabel("with confidence at least"))
        filters.addWidget(self.min_confidence)
        filters.addStretch(1)
        filters.addWidget(self.shown_label)

        self.table = QTableView()
        self.table.setModel(self.shown)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(THUMB_SIZE + 4)
        header = self.table.horizontalHeader()
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # start in file order
        self.table.setSortingEnabled(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_FILE, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(COL_FILE, 190)
        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addLayout(filters)
        results_layout.addWidget(self.table)

        self.chart = EmotionChart()
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
        side_layout.addWidget(self.chart, 3)
        side_layout.addWidget(self.problems_label)
        side_layout.addWidget(self.problems_view, 2)
        splitter = QSplitter()
        splitter.addWidget(results)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)

        self.export_csv_button = QPushButton("Export &CSV…")
        self.export_json_button = QPushButton("Export &JSON…")
        self.clear_button = QPushButton("C&lear")
        bottom = QHBoxLayout()
        bottom.addWidget(self.clear_button)
        bottom.addStretch(1)
        bottom.addWidget(self.export_csv_button)
        bottom.addWidget(self.export_json_button)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(options)
        layout.addLayout(progress)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)

    def _connect(self) -> None:
        self.drop_zone.paths_dropped.connect(self._on_drop_zone_paths_dropped)
        self.add_folder_button.clicked.connect(self.add_folder_dialog)
        self.add_files_button.clicked.connect(self.add_files_dialog)
        self.live_csv_button.clicked.connect(self._on_live_csv_button_clicked)
        self.live_csv_box.toggled.connect(self._on_live_csv_box_toggled)
        self.pause_button.clicked.connect(self._on_pause_button_clicked)
        self.cancel_button.clicked.connect(self.cancel)
        self.clear_button.clicked.connect(self._on_clear_button_clicked)
        self.export_csv_button.clicked.connect(lambda: self.export_dialog("csv"))
        self.export_json_button.clicked.connect(lambda: self.export_dialog("json"))
        self.emotion_filter.currentIndexChanged.connect(self._on_emotion_filter_changed)
        self.min_confidence.valueChanged.connect(self._on_min_confidence_changed)
        self.shown.rowsInserted.connect(self._update_shown_label)
        self.shown.modelReset.connect(self._update_shown_label)
        self.shown.layoutChanged.connect(self._update_shown_label)
        self.shown.rowsRemoved.connect(self._update_shown_label)
        self._run.progress_changed.connect(self._on_run_progress_changed)
        self._run.failed.connect(self._on_run_failed)
        self._run.cancelled.connect(self._on_run_cancelled)
        self._run.stopped.connect(self._on_run_stopped)
        self._count.finished.connect(self._on_count_finished)

    # -- settings -----------------------------------------------------------------------------

    def _restore(self) -> None:
        s = self.settings
        self.whole_image_box.setChecked(setting(s, "batch/whole_image", False))
        self.live_csv_edit.setText(setting(s, "batch/live_csv", ""))
        self.live_csv_box.blockSignals(True)  # restoring, not ticking: no dialog at start-up
        self.live_csv_box.setChecked(
            setting(s, "batch/write_as_you_go", False) and bool(self.live_csv_edit.text())
        )
        self.live_csv_box.blockSignals(False)
        spin = self.min_confidence
        self.min_confidence.setValue(
            setting(s, "batch/min_confidence", 0.0, spin.minimum(), spin.maximum())
        )
        emotion = setting(s, "batch/emotion", "")
        self.emotion_filter.setCurrentIndex(max(0, self.emotion_filter.findData(emotion or None)))
        self._on_emotion_filter_changed()
        self._on_min_confidence_changed()
        self._fill_recent_menu()

    def _save(self) -> None:
        s = self.settings
        s.setValue("batch/whole_image", self.whole_image_box.isChecked())
        s.setValue("batch/write_as_you_go", self.live_csv_box.isChecked())
        s.setValue("batch/live_csv", self.live_csv_edit.text())
        s.setValue("batch/min_confidence", self.min_confidence.value())
        s.setValue("batch/emotion", self.emotion_filter.currentData() or "")

    def recent_folders(self) -> list[str]:
        return setting(self.settings, "batch/recent_folders", [])

    def _remember(self, paths: list[Path]) -> None:
        folders = [str(p if p.is_dir() else p.parent) for p in paths]
        recent = list(dict.fromkeys(folders[::-1] + self.recent_folders()))[:RECENT_FOLDERS]
        self.settings.setValue("batch/recent_folders", recent)
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for folder in self.recent_folders():
            action = QAction(folder, self.recent_menu)
            action.triggered.connect(lambda _=False, f=folder: self.add_paths([Path(f)]))
            self.recent_menu.addAction(action)
        self.recent_button.setEnabled(bool(self.recent_folders()))

    # -- starting, pausing, stopping ----------------------------------------------------------

    def add_folder_dialog(self) -> None:
        """Ask for a folder of photos to label."""
        start = (self.recent_folders() or [str(Path.home())])[0]
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos", start)
        if folder:
            self.add_paths([Path(folder)])

    def add_files_dialog(self) -> None:
        """Ask for loose photos to label."""
        start = (self.recent_folders() or [str(Path.home())])[0]
        files, _ = QFileDialog.getOpenFileNames(self, "Add photos", start, _IMAGE_FILTER)
        if files:
            self.add_paths([Path(f) for f in files])

    def add_paths(self, paths: list[Path]) -> None:
        """Label ``paths`` now, or after the run in progress: drops never wait on a dialog."""
        if not paths:
            return
        self._remember(paths)
        self._queue.extend(paths)
        if not self._run.is_running():
            self._start_next()

    def _start_next(self) -> None:
        paths, self._queue = tuple(self._queue), []
        if not paths:
            return
        csv_path = self._live_csv_path()
        request = BatchRequest(
            paths,
            whole_image=self.whole_image_box.isChecked(),
            csv_path=csv_path,
            append=csv_path is not None and csv_path != self._live_csv_replace,
        )
        if csv_path is not None and csv_path == self._live_csv_replace:
            self._live_csv_replace = None  # replaced once; the next runs add to it
            self._unexported = self.results.rowCount()  # the rows it held are in no file now
        self._show_message("")
        self._gate = PauseGate()
        previous, self._run_ended = self._run_ended, threading.Event()
        self._run_images, self._run_seconds, self._total = 0, 0.0, None
        self._ended_by, self._has_run = DONE, True
        self._writing_rows = csv_path is not None
        self._save()
        self._count.retire()  # the previous run's count, if it is still walking
        model = self.active_model.path()  # the run's own: a model picked during it is the next's
        self._run_model = model.stem
        self._run.start(labelling_task(request, model, self._gate, previous, self._run_ended))
        self._count.start(counting_task(paths))
        self._update_controls()

    def _live_csv_path(self) -> Path | None:
        if not self.live_csv_box.isChecked():
            return None
        text = self.live_csv_edit.text().strip()  # asked for when the box was ticked
        if not text:
            self.live_csv_box.setChecked(False)
            return None
        return Path(text).expanduser()

    def is_running(self) -> bool:
        return self._run.is_running()

    def is_holding(self) -> bool:
        """Paused and stopped: the worker reported its rows and waits for Resume."""
        return self._gate.is_holding()

    def has_ended(self) -> bool:
        """No run is going, not even a cleared one finishing its image in flight."""
        return not self._run.is_running() and self._run_ended.is_set()

    def pause(self) -> None:
        """Hold the worker after the image it is on; the thread stays, ready to resume."""
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
        self.counts[:] = 0
        self.skipped = 0
        self._run_images, self._has_run, self._unexported = 0, False, 0
        self._exported_to = None
        self.chart.set_counts(self.counts)
        self._update_problems_label()
        self.status.setText("Drop a folder to start.")
        self._update_controls()

    def unexported(self) -> int:
        """Faces in the table that no file holds: not written as they came (Write as I go) and
        not exported since, all of them at once (an export of some rows keeps the count)."""
        return self._unexported

    def _on_clear_button_clicked(self) -> None:
        question = f"Forget {self._unexported:,} labelled faces that were not exported?"
        if self._unexported and not confirm(self, "Clear results", question):
            return
        self.clear()

    def shutdown(self) -> None:
        """Stop and join every worker thread of the tab."""
        self._queue.clear()
        self._gate.resume()
        self._run.stop()
        self._count.stop()
        self.results.shutdown()
        self._save()

    # -- results ------------------------------------------------------------------------------

    def _on_drop_zone_paths_dropped(self, paths: list[Path]) -> None:
        self.add_paths(paths)

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
        self._run_images += chunk.images
        self._run_seconds = chunk.seconds
        self._update_problems_label()
        self._update_progress()

    def _on_count_finished(self, total: int) -> None:
        self._total = total
        # a count that ends after the run (a failed model load is quick) must not turn the
        # run's "Stopped by an error:" line back into a running one's "0 of 6 images"
        self._update_progress(finished=not self._run.is_running())

    def _on_run_failed(self, message: str) -> None:
        self._ended_by = "Stopped by an error:"
        self._show_message(f"Labelling stopped: {message}")

    def _on_run_cancelled(self) -> None:
        self._ended_by = "Cancelled:"

    def _on_run_stopped(self) -> None:
        self._count.cancel()
        if self._queue:
            self._start_next()
        self._update_controls()

    def _update_progress(self, finished: bool = False) -> None:
        rate = self._run_images / self._run_seconds if self._run_seconds > 0 else 0.0
        parts = [f"{self._run_images:,} images", f"{rate:.1f} images/s"]
        if finished:  # the bar shows what was labelled: full only when all of it was
            self.progress.setRange(0, max(1, self._total or 0))
            done = self._ended_by == DONE
            self.progress.setValue(self._run_images if self._total else int(done))
            parts.insert(0, self._ended_by)
        elif self._total is None:
            self.progress.setRange(0, 0)  # busy: the walk has not been counted yet
        else:
            self.progress.setRange(0, max(1, self._total))
            self.progress.setValue(min(self._run_images, self._total))
            parts[0] = f"{self._run_images:,} of {self._total:,} images"
            if rate > 0:
                parts.append(f"ETA {duration((self._total - self._run_images) / rate)}")
        if self._gate.is_paused() and not finished:
            parts.append("paused")
        parts.append(f"{self.results.rowCount():,} faces")
        parts.append(f"model {self._run_model}")  # the window's status bar names the active one
        if self.skipped:
            parts.append(f"{self.skipped:,} non-image file{'s' * (self.skipped != 1)} skipped")
        self.status.setText(" · ".join(parts).replace(": ·", ":"))

    def _update_problems_label(self) -> None:
        n = self.problems.rowCount()
        self.problems_label.setText(f"Problems ({n:,})" if n else "Problems")

    def _update_shown_label(self) -> None:
        shown, total = self.shown.rowCount(), self.results.rowCount()
        self.shown_label.setText(f"{shown:,} of {total:,} faces" if total else "")

    def _update_controls(self) -> None:
        running = self._run.is_running()
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.pause_button.setText("Resume" if self._gate.is_paused() else "Pause")
        if running or self._has_run:
            self._update_progress(finished=not running)
        else:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _on_pause_button_clicked(self) -> None:
        if self._gate.is_paused():
            self.resume()
        else:
            self.pause()

    def _on_live_csv_box_toggled(self, checked: bool) -> None:
        """Ask for the file when the box is ticked without one: a dialog belongs to the user's
        click, never to the end of a run that starts the next queued folder."""
        if checked and not self.live_csv_edit.text().strip():
            self._on_live_csv_button_clicked()
            if not self.live_csv_edit.text().strip():
                self.live_csv_box.setChecked(False)

    def _on_live_csv_button_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Write rows as they come to", self.live_csv_edit.text(), "CSV (*.csv)"
        )
        if path:
            self._live_csv_replace = Path(path).expanduser()  # the dialog asked before replacing
            self.live_csv_edit.setText(path)
            self.live_csv_box.setChecked(True)

    def _on_emotion_filter_changed(self) -> None:
        self.shown.set_emotion(self.emotion_filter.currentData())

    def _on_min_confidence_changed(self) -> None:
        self.shown.set_min_confidence(self.min_confidence.value() / 100)

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
            self._show_message(str(exc))
            return 0
        except OSError as exc:
            self._show_message(f"Cannot write {path}: {exc.strerror or exc}")
            return 0
        self.status.setText(f"Exported {len(rows):,} faces to {path}")
        if len(rows) == self.results.rowCount():
            self._unexported, self._exported_to = 0, path
        elif path == self._exported_to:  # some rows over the file that held them all
            self._unexported, self._exported_to = self.results.rowCount(), None
        return len(rows)
