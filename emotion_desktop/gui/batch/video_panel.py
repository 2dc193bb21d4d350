"""One analysed video at a time: a face's seven probabilities over the video's time, the
face chooser, the per-face summary, and the frame at a clicked time.

The rows stay in the results model; the arrays are built from them when a video or a face is
chosen (never per incoming row). A clicked frame is decoded on a worker (:class:`Task`); while
one is decoding, only the last click waits, so clicking along the timeline never queues work.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from emotion_desktop.core.batch.results import LabelRow
from emotion_desktop.core.batch.summary import VideoSummary, face_timeline, summarise
from emotion_desktop.core.batch.video import VideoProgress, read_frame
from emotion_desktop.core.emotions import EMOTIONS
from emotion_desktop.gui.format import duration
from emotion_desktop.gui.workers import Task

FRAME_WIDTH = 320  # the shown frame is scaled to this on the worker
EMPTY_TEXT = "Select a video's row\nto see its faces over time"
SUMMARY_HEADERS = ("Face", "Frames", "Mostly", "Seen")


def frame_image(path: Path, index: int, boxes: list[tuple[int, int, int, int]]) -> QImage:
    """The frame ``index`` of ``path`` with ``boxes`` drawn, scaled: runs on the worker."""
    frame = read_frame(path, index)
    for x, y, w, h in boxes:
        cv2.rectangle(frame, (x, y), (x + w, y + h), (60, 200, 60), max(2, frame.shape[1] // 300))
    height, width = frame.shape[:2]
    scale = FRAME_WIDTH / max(width, 1)
    small = cv2.resize(frame, (FRAME_WIDTH, max(1, round(height * scale))))
    rgb = np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class FrameView(QLabel):
    """The decoded frame, fitted to the label whenever either changes (a 320-pixel image:
    cheap to scale on the GUI thread)."""

    def __init__(self) -> None:
        super().__init__(EMPTY_TEXT, alignment=Qt.AlignmentFlag.AlignCenter)
        self._image = QPixmap()
        self.setMinimumHeight(40)
        ignored = QSizePolicy.Policy.Ignored  # a frame never widens the pane
        self.setSizePolicy(ignored, ignored)

    def set_image(self, image: QImage | None) -> None:
        self._image = QPixmap() if image is None else QPixmap.fromImage(image)
        self._fit()

    def resizeEvent(self, event: object) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._fit()

    def _fit(self) -> None:
        if self._image.isNull():
            self.setPixmap(QPixmap())
            return
        keep = Qt.AspectRatioMode.KeepAspectRatio
        self.setPixmap(
            self._image.scaled(self.size(), keep, Qt.TransformationMode.SmoothTransformation)
        )


def legend_text() -> str:
    """The seven emotions in their curve colours, as rich text that wraps in a narrow pane."""
    return " ".join(f'<span style="color:{e.colour}">■</span>&nbsp;{e.name}' for e in EMOTIONS)


class VideoTimeline(pg.PlotWidget):
    """Seven probability curves over a video's time, made once; ``time_clicked(float)``."""

    time_clicked = Signal(float)

    def __init__(self) -> None:
        super().__init__(background="w")
        self.setMinimumHeight(70)
        self.setYRange(0, 1, padding=0.03)
        self.setMouseEnabled(True, False)
        self.hideButtons()
        self.setMenuEnabled(False)
        self.setLabel("bottom", "seconds")
        self._curves = [self.plot([], [], pen=pg.mkPen(e.colour, width=2)) for e in EMOTIONS]
        self.cursor = pg.InfiniteLine(0, pen=pg.mkPen("#333", width=1))
        self.cursor.setVisible(False)
        self.addItem(self.cursor)
        self.scene().sigMouseClicked.connect(self._on_scene_clicked)

    def set_series(self, x: np.ndarray, y: np.ndarray, unit: str) -> None:
        for i, curve in enumerate(self._curves):
            curve.setData(x, y[:, i] if len(x) else np.empty(0))
        self.setLabel("bottom", unit)
        if len(x):
            self.setXRange(float(x[0]), float(max(x[-1], x[0] + 1e-3)), padding=0.02)
        self.cursor.setVisible(False)

    def curves(self) -> list[pg.PlotDataItem]:
        return list(self._curves)

    def show_cursor(self, x: float) -> None:
        self.cursor.setValue(x)
        self.cursor.setVisible(True)

    @Slot(object)
    def _on_scene_clicked(self, event: object) -> None:
        box = self.getPlotItem().vb
        position = event.scenePos()  # type: ignore[attr-defined]
        if box.sceneBoundingRect().contains(position):
            self.time_clicked.emit(float(box.mapSceneToView(position).x()))


class VideoPanel(QWidget):
    """The chosen video's timeline per face, face chooser, summary and clicked frame."""

    def __init__(self, rows_of: Callable[[Path], list[LabelRow]]) -> None:
        super().__init__()
        self._rows_of = rows_of
        self._progress: dict[Path, VideoProgress] = {}
        self._rows: list[LabelRow] = []  # the shown video's, taken when it is chosen
        self._x = np.empty(0)
        self._frames = np.empty(0, dtype=np.int64)
        self._wanted: int | None = None  # the frame asked for while another decodes
        self._decoder = Task(self)
        self._build()
        self._connect()

    def _build(self) -> None:
        self.video_box = QComboBox()
        self.video_box.setToolTip("The analysed video shown")
        self.face_box = QComboBox()
        self.face_box.setToolTip("The face whose emotions the timeline shows")
        choosers = QHBoxLayout()
        choosers.addWidget(self.video_box, 1)
        choosers.addWidget(QLabel("Face"))
        choosers.addWidget(self.face_box)
        self.timeline = VideoTimeline()
        self.legend = QLabel(legend_text(), wordWrap=True)
        self.frame_view = FrameView()
        self.summary_table = QTableWidget(0, len(SUMMARY_HEADERS))
        self.summary_table.setHorizontalHeaderLabels(SUMMARY_HEADERS)
        self.summary_table.verticalHeader().hide()
        self.summary_table.setMinimumHeight(50)
        self.summary_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.summary_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.summary_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.summary_label = QLabel(wordWrap=True)
        plot = QWidget()
        plot_layout = QVBoxLayout(plot)
        plot_layout.setContentsMargins(0, 0, 0, 0)
        plot_layout.addWidget(self.timeline, 1)
        plot_layout.addWidget(self.legend)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(plot)
        splitter.addWidget(self.frame_view)
        splitter.addWidget(self.summary_table)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setStretchFactor(2, 2)
        splitter.setSizes([300, 100, 80])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(choosers)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.summary_label)

    def _connect(self) -> None:
        self.video_box.currentIndexChanged.connect(self._on_video_box_changed)
        self.face_box.currentIndexChanged.connect(self._on_face_box_changed)
        self.timeline.time_clicked.connect(self._on_timeline_time_clicked)
        self.summary_table.cellClicked.connect(self._on_summary_table_clicked)
        self._decoder.finished.connect(self._on_decoder_finished)
        self._decoder.failed.connect(self._on_decoder_failed)
        self._decoder.stopped.connect(self._on_decoder_stopped)

    # -- what the tab tells it ----------------------------------------------------------------

    def add_progress(self, progress: VideoProgress) -> None:
        """A video's progress; its final one lists it and, where it is shown, refreshes it."""
        if not progress.done or not progress.read:
            return
        self._progress[progress.file] = progress
        if self.video_box.findData(str(progress.file)) < 0:
            self.video_box.addItem(progress.file.name, str(progress.file))
        elif self.video() == progress.file:
            self._load(self.face())

    def show_video(self, video: Path, face: int | None = None, frame: int | None = None) -> None:
        """Show ``video`` (listed if it is not yet), its face ``face`` and ``frame`` in it."""
        index = self.video_box.findData(str(video))
        if index < 0:
            self.video_box.addItem(video.name, str(video))
            index = self.video_box.count() - 1
        self.video_box.blockSignals(True)
        self.video_box.setCurrentIndex(index)
        self.video_box.blockSignals(False)
        self._load(face)
        if frame is not None:
            self.show_frame(frame)

    def clear(self) -> None:
        self._progress.clear()
        self._rows, self._wanted = [], None
        self._decoder.retire()
        self.video_box.clear()
        self.face_box.clear()
        self.summary_table.setRowCount(0)
        self.summary_label.clear()
        self.timeline.set_series(np.empty(0), np.empty((0, len(EMOTIONS))), "seconds")
        self.frame_view.set_image(None)
        self.frame_view.setText(EMPTY_TEXT)

    def shutdown(self) -> None:
        self._wanted = None
        self._decoder.stop()

    def video(self) -> Path | None:
        data = self.video_box.currentData()
        return None if data is None else Path(data)

    def face(self) -> int | None:
        return self.face_box.currentData()

    def summary(self) -> VideoSummary | None:
        video = self.video()
        return None if video is None else summarise(video, self._rows, self._progress.get(video))

    # -- building what is shown ---------------------------------------------------------------

    def _load(self, face: int | None) -> None:
        """Take the shown video's rows from the model, then its summary and face list."""
        video = self.video()
        self._rows = self._rows_of(video) if video is not None else []
        summary = self.summary()
        faces = [f.face for f in summary.faces] if summary else []
        self.face_box.blockSignals(True)
        self.face_box.clear()
        for f in faces:
            self.face_box.addItem(str(f), f)  # a track id, as the table and the CSV show it
        keep = face if face in faces else (faces[0] if faces else None)
        self.face_box.setCurrentIndex(self.face_box.findData(keep) if keep is not None else -1)
        self.face_box.blockSignals(False)
        self._fill_summary(summary)
        self._plot()

    def _fill_summary(self, summary: VideoSummary | None) -> None:
        faces = summary.faces if summary else ()
        self.summary_table.setRowCount(len(faces))
        for r, f in enumerate(faces):
            seen = "" if f.first is None else f"{duration(f.first)}–{duration(f.last or 0)}"
            mostly = f"{EMOTIONS[f.top].name} {f.shares[f.top]:.0%}"
            cells = (str(f.face), f"{f.frames:,}", mostly, seen)
            tip = "\n".join(
                f"{e.title}: {s:.0%} of frames, mean {m:.2f}"
                for e, s, m in zip(EMOTIONS, f.shares, f.mean)
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                item.setData(Qt.ItemDataRole.UserRole, f.face)
                self.summary_table.setItem(r, c, item)
        counted = f"{len(faces)} face{'s' * (len(faces) != 1)}"
        if summary is None or summary.analysed is None:
            self.summary_label.setText(counted if summary else "")
            return
        self.summary_label.setText(
            f"{counted} · {summary.analysed:,} frames analysed · {summary.faceless:,} with no face"
        )

    def _plot(self) -> None:
        video, face = self.video(), self.face()
        if video is None or face is None:
            self._x, self._frames = np.empty(0), np.empty(0, dtype=np.int64)
            self.timeline.set_series(self._x, np.empty((0, len(EMOTIONS))), "seconds")
            return
        self._x, y = face_timeline(video, self._rows, face)
        picked = sorted((r for r in self._rows if r.face == face), key=lambda r: r.frame or 0)
        self._frames = np.array([r.frame or 0 for r in picked], dtype=np.int64)
        timed = all(r.time is not None for r in picked)
        self.timeline.set_series(self._x, y, "seconds" if timed else "frame")

    # -- the frame at a time ------------------------------------------------------------------

    def show_frame_at(self, x: float) -> None:
        """The analysed frame nearest ``x`` on the timeline, decoded on the worker."""
        if not len(self._x):
            return
        nearest = int(np.abs(self._x - x).argmin())
        self.timeline.show_cursor(float(self._x[nearest]))
        self.show_frame(int(self._frames[nearest]))

    def show_frame(self, frame: int) -> None:
        video = self.video()
        if video is None:
            return
        self._wanted = frame
        if self._decoder.is_running():
            return  # the last frame asked for is decoded when this one is done
        self._decode(video)

    def _decode(self, video: Path) -> None:
        frame, self._wanted = self._wanted, None
        if frame is None:
            return
        boxes = [(r.box.x, r.box.y, r.box.w, r.box.h) for r in self._rows if r.frame == frame]
        self.frame_view.setText(f"Reading frame {frame}…")
        self._decoder.start(lambda report, cancelled: frame_image(video, frame, boxes))

    @Slot(float)
    def _on_timeline_time_clicked(self, x: float) -> None:
        self.show_frame_at(x)

    @Slot(object)
    def _on_decoder_finished(self, image: QImage) -> None:
        self.frame_view.set_image(image)

    @Slot(str)
    def _on_decoder_failed(self, message: str) -> None:
        self.frame_view.setText(message)

    @Slot()
    def _on_decoder_stopped(self) -> None:
        video = self.video()
        if video is not None and self._wanted is not None:
            self._decode(video)

    @Slot()
    def _on_video_box_changed(self) -> None:
        self._load(None)

    @Slot()
    def _on_face_box_changed(self) -> None:
        self._plot()

    @Slot(int, int)
    def _on_summary_table_clicked(self, row: int, column: int) -> None:
        face = self.summary_table.item(row, 0).data(Qt.ItemDataRole.UserRole)
        self.face_box.setCurrentIndex(self.face_box.findData(face))
