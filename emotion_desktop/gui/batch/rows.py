"""Qt models of the Batch tab: every face found, the filter over them, and the problems.

Rows live in one list of core ``LabelRow`` objects and reach the view through a
QAbstractTableModel, so 100,000 faces cost a list, not 100,000 widgets. Thumbnails are made
only for the rows the view paints, decoded on a worker thread (an EXIF-rotated 12 MP photo
is decoded whole: a screen of them froze the window for seconds), and only a few hundred are
kept. A video frame's row has no thumbnail: cutting one means decoding the frame again, and a
video gives thousands of rows; its Frame and Time columns say where it is, and the video panel
shows the frame on a worker when asked.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QImage, QImageIOHandler, QImageReader, QPixmap

from emotion_desktop.core.batch.results import LabelRow, Problem
from emotion_desktop.core.emotions import EMOTIONS, NAMES
from emotion_desktop.core.vision.faces import Box
from emotion_desktop.gui.workers import Task

THUMB_SIZE = 40
WANTED_THUMBS = 64  # requests kept while the loader is busy: the last screens scrolled past
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
HEADERS: tuple[str, ...] = (
    "",
    "File",
    "Frame",
    "Time",
    "Face",
    "Box",
    "Emotion",
    "Confidence",
    *(e.title for e in EMOTIONS),
    "Model",
    "Profile",
)
COL_THUMB, COL_FILE, COL_FRAME, COL_TIME, COL_FACE, COL_BOX, COL_EMOTION, COL_CONFIDENCE = range(8)
FIRST_PROB = 8
COL_MODEL = FIRST_PROB + len(EMOTIONS)  # as in the CSV: the model that labelled the row
COL_PROFILE = COL_MODEL + 1  # the person's profile applied, empty where none
_Index = QModelIndex | QPersistentModelIndex
_Key = tuple[str, int]  # a face: its file and its number in that file


class ResultsModel(QAbstractTableModel):
    """The faces found so far, one row each, appended in chunks as the worker streams them."""

    def __init__(self, thumbnails: int = 400) -> None:
        super().__init__()
        self._rows: list[LabelRow] = []
        self._row_of: dict[_Key, list[int]] = {}  # a photo's face: its rows (thumbnails)
        self._video_rows: dict[Path, list[int]] = {}  # a video: its rows, in order
        self._thumbs: OrderedDict[_Key, QPixmap] = OrderedDict()
        self._max_thumbs = thumbnails
        self._wanted: OrderedDict[_Key, tuple[str, Box]] = OrderedDict()  # not yet sent
        self._loading: set[_Key] = set()  # sent to the loader's current run
        self._loader = Task(self)
        self._loader.progress_changed.connect(self._on_thumbnail)
        self._loader.stopped.connect(self._load)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008 (Qt's API)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, col = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(row, col)
        if role == SORT_ROLE:
            return _sort_key(row, col)
        if role == Qt.ItemDataRole.DecorationRole and col == COL_THUMB:
            return self._thumbnail(row)  # None until the loader has made it
        if role == Qt.ItemDataRole.ToolTipRole and col == COL_FILE:
            return str(row.file)
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_EMOTION:
            return QColor(EMOTIONS[row.result.index].colour).darker(130)
        right = col >= COL_FRAME and col not in (COL_EMOTION, COL_MODEL, COL_PROFILE)
        if role == Qt.ItemDataRole.TextAlignmentRole and right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def append(self, rows: Sequence[LabelRow]) -> None:
        """Add a chunk of rows at the end: one insert notification for the whole chunk."""
        if not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        for number, row in enumerate(rows, first):
            if row.frame is None:
                self._row_of.setdefault((str(row.file), row.face), []).append(number)
            else:
                self._video_rows.setdefault(row.file, []).append(number)
        self.endInsertRows()

    def clear(self) -> None:
        self._wanted.clear()  # first: the loader's stop asks for the next wanted batch
        self._loader.retire()  # its late thumbnails are dropped
        self.beginResetModel()
        self._rows.clear()
        self._row_of.clear()
        self._video_rows.clear()
        self._thumbs.clear()
        self.endResetModel()

    def shutdown(self) -> None:
        """Join the thumbnail loader (window close)."""
        self._wanted.clear()
        self._loader.stop()

    def row(self, index: int) -> LabelRow:
        return self._rows[index]

    def rows(self) -> list[LabelRow]:
        return list(self._rows)

    def videos(self) -> list[Path]:
        """The videos that gave rows, in the order they came."""
        return list(self._video_rows)

    def video_rows(self, video: Path) -> list[LabelRow]:
        """The rows of the video ``video``, in the order they came (frame order)."""
        return [self._rows[i] for i in self._video_rows.get(video, ())]

    def _thumbnail(self, row: LabelRow) -> QPixmap | None:
        """The face's thumbnail where it is made (cached by recency), else None and a request
        to the loader; the row is repainted when it arrives."""
        if row.frame is not None:
            return None  # a video frame: never decoded again for a thumbnail
        key = (str(row.file), row.face)
        pixmap = self._thumbs.get(key)
        if pixmap is not None:
            self._thumbs.move_to_end(key)
            return pixmap
        if key not in self._loading:
            self._wanted[key] = (str(row.file), row.box)
            self._wanted.move_to_end(key)
            if len(self._wanted) > WANTED_THUMBS:
                self._wanted.popitem(last=False)  # scrolled past: asked again if shown again
            self._load()
        return None

    def _load(self) -> None:
        """Send the wanted thumbnails to the loader, unless a run is still decoding."""
        if self._loader.is_running():
            return
        self._loading.clear()
        if not self._wanted:
            return
        batch = tuple(self._wanted.items())
        self._wanted.clear()
        self._loading = {key for key, _ in batch}

        def work(report, cancelled) -> None:  # noqa: ANN001
            for key, (path, box) in reversed(batch):  # the latest asked for (on screen) first
                if cancelled():
                    return
                report((key, decode_thumbnail(path, box)))

        self._loader.start(work)

    def _on_thumbnail(self, made: tuple[_Key, QImage]) -> None:
        key, image = made
        self._thumbs[key] = QPixmap.fromImage(image)
        if len(self._thumbs) > self._max_thumbs:
            self._thumbs.popitem(last=False)
        for number in self._row_of.get(key, ()):
            index = self.index(number, COL_THUMB)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


def decode_thumbnail(path: str, b: Box) -> QImage:
    """The face ``b`` of the image at ``path``, cropped and scaled while decoding (cheap for
    JPEG); runs on the loader's thread. A file gone or unreadable gives a null image."""
    reader = QImageReader(path)
    keep = Qt.AspectRatioMode.KeepAspectRatio
    size = QSize(b.w, b.h).scaled(THUMB_SIZE, THUMB_SIZE, keep)
    if reader.transformation() == QImageIOHandler.Transformation.TransformationNone:
        reader.setClipRect(QRect(b.x, b.y, b.w, b.h))
        reader.setScaledSize(size)
        return reader.read()
    # EXIF-rotated: OpenCV found the box in the upright picture, so cut it from that
    reader.setAutoTransform(True)
    return reader.read().copy(QRect(b.x, b.y, b.w, b.h)).scaled(size, keep)


def _display(row: LabelRow, col: int) -> str | None:
    if col == COL_FILE:
        return row.file.name
    if col == COL_FRAME:
        return None if row.frame is None else str(row.frame)
    if col == COL_TIME:
        return None if row.time is None else f"{row.time:.2f}"
    if col == COL_FACE:  # a photo's faces count from 1; a video's are track ids, as in the CSV
        return str(row.face + 1 if row.frame is None else row.face)
    if col == COL_BOX:
        b = row.box
        return f"{b.x}, {b.y}  {b.w}×{b.h}"
    if col == COL_EMOTION:
        return row.result.label
    if col == COL_CONFIDENCE:
        return f"{row.result.confidence:.0%}"
    if col == COL_MODEL:
        return row.model
    if col == COL_PROFILE:
        return row.profile
    if col >= FIRST_PROB:
        return f"{row.result.probabilities[col - FIRST_PROB]:.2f}"
    return None


def _sort_key(row: LabelRow, col: int) -> object:
    """Numbers sort as numbers, not as the text the view shows."""
    if col in (COL_THUMB, COL_FILE):
        return str(row.file)
    if col == COL_FRAME:
        return -1 if row.frame is None else row.frame
    if col == COL_TIME:
        return -1.0 if row.time is None else row.time
    if col == COL_FACE:
        return row.face
    if col == COL_BOX:
        return row.box.area
    if col == COL_EMOTION:
        return row.result.label
    if col == COL_CONFIDENCE:
        return row.result.confidence
    if col == COL_MODEL:
        return row.model
    if col == COL_PROFILE:
        return row.profile
    return row.result.probabilities[col - FIRST_PROB]


class ResultsFilter(QSortFilterProxyModel):
    """Shows the faces of one emotion (or all) at or above a confidence; sorts by any column."""

    def __init__(self, source: ResultsModel) -> None:
        super().__init__()
        self._source = source
        self._emotion: int | None = None
        self._min_confidence = 0.0
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_emotion(self, name: str | None) -> None:
        """Only faces whose top emotion is ``name``; None shows every emotion."""
        self._begin_filter_change()
        self._emotion = None if name is None else NAMES.index(name)
        self._end_filter_change()

    def set_min_confidence(self, value: float) -> None:
        self._begin_filter_change()
        self._min_confidence = value
        self._end_filter_change()

    def _begin_filter_change(self) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9, where invalidate* is deprecated
            self.beginFilterChange()

    def _end_filter_change(self) -> None:
        if hasattr(self, "endFilterChange"):
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:  # noqa: N802
        result = self._source.row(source_row).result
        if self._emotion is not None and result.index != self._emotion:
            return False
        return result.confidence >= self._min_confidence

    def shown_rows(self) -> list[LabelRow]:
        """The rows the view shows, in its order: what an export writes."""
        return [
            self._source.row(self.mapToSource(self.index(i, 0)).row())
            for i in range(self.rowCount())
        ]


class ProblemsModel(QAbstractTableModel):
    """Files that gave no row (unreadable, too large, no face), with the reason for each."""

    HEADERS = ("File", "Reason")

    def __init__(self) -> None:
        super().__init__()
        self._problems: list[Problem] = []

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._problems)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else 2

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        problem = self._problems[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return problem.file.name if index.column() == 0 else _short_reason(problem)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{problem.file}\n{problem.reason}"
        return None

    def append(self, problems: Sequence[Problem]) -> None:
        if not problems:
            return
        first = len(self._problems)
        self.beginInsertRows(QModelIndex(), first, first + len(problems) - 1)
        self._problems.extend(problems)
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self._problems.clear()
        self.endResetModel()

    def problems(self) -> list[Problem]:
        return list(self._problems)


def _short_reason(problem: Problem) -> str:
    """The core's messages start with the full path; the File column already shows it."""
    return problem.reason.replace(str(problem.file), "").strip() or problem.reason
