"""The Batch tab's results: the filter row over the table of faces.

``video_row_selected(object)``: the user selected the row of a video frame (its LabelRow).
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QSettings, QSize, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from emotion_desktop.core.emotions import EMOTIONS
from emotion_desktop.gui.batch.rows import (
    COL_BOX,
    COL_CONFIDENCE,
    COL_EMOTION,
    COL_FACE,
    COL_FILE,
    COL_FRAME,
    COL_MODEL,
    COL_PROFILE,
    COL_THUMB,
    COL_TIME,
    THUMB_SIZE,
    ResultsFilter,
    ResultsModel,
)
from emotion_desktop.gui.settings import setting

# the widest text each column shows (probabilities: "0.00")
WIDEST = {
    COL_FRAME: "000000",
    COL_TIME: "0000.00",
    COL_FACE: "000",
    COL_BOX: "0000, 0000  0000×0000",
    COL_EMOTION: "surprised",
    COL_CONFIDENCE: "100%",
    COL_MODEL: "kdef-20261204-120000",
    COL_PROFILE: "a person's name",
}


class ResultsPane(QWidget):
    video_row_selected = Signal(object)

    def __init__(self, results: ResultsModel, shown: ResultsFilter) -> None:
        super().__init__()
        self.results = results
        self.shown = shown
        self._build()
        self._connect()

    def _build(self) -> None:
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
        self._fit_columns()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.table)

    def _fit_columns(self) -> None:
        """Widths from the header texts and the widest value each column can show, set once:
        fitting them to the rows (ResizeToContents) measured rows at every chunk of a video
        and held the GUI thread up to 80 ms under Xvfb."""
        header, model = self.table.horizontalHeader(), self.table.model()
        values, titles = self.table.fontMetrics(), header.fontMetrics()
        for col in range(model.columnCount()):
            title = str(model.headerData(col, Qt.Orientation.Horizontal) or "")
            sample = WIDEST.get(col, "0.00")  # the probabilities
            width = max(titles.horizontalAdvance(title) + 28, values.horizontalAdvance(sample) + 16)
            header.resizeSection(col, width)
        header.resizeSection(COL_THUMB, THUMB_SIZE + 8)
        header.resizeSection(COL_FILE, 190)

    def _connect(self) -> None:
        self.emotion_filter.currentIndexChanged.connect(self._on_emotion_filter_changed)
        self.min_confidence.valueChanged.connect(self._on_min_confidence_changed)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        for signal in (
            self.shown.rowsInserted,
            self.shown.modelReset,
            self.shown.layoutChanged,
            self.shown.rowsRemoved,
        ):
            signal.connect(self._on_shown_changed)

    def restore(self, settings: QSettings) -> None:
        spin = self.min_confidence
        spin.setValue(
            setting(settings, "batch/min_confidence", 0.0, spin.minimum(), spin.maximum())
        )
        emotion = setting(settings, "batch/emotion", "")
        self.emotion_filter.setCurrentIndex(max(0, self.emotion_filter.findData(emotion or None)))
        self._on_emotion_filter_changed()
        self._on_min_confidence_changed()

    def save(self, settings: QSettings) -> None:
        settings.setValue("batch/min_confidence", self.min_confidence.value())
        settings.setValue("batch/emotion", self.emotion_filter.currentData() or "")

    def select_row(self, shown_row: int) -> None:
        """Select the ``shown_row``-th row the table shows (as a click does)."""
        self.table.selectRow(shown_row)

    @Slot()
    def _on_emotion_filter_changed(self) -> None:
        self.shown.set_emotion(self.emotion_filter.currentData())

    @Slot()
    def _on_min_confidence_changed(self) -> None:
        self.shown.set_min_confidence(self.min_confidence.value() / 100)

    @Slot(QItemSelection, QItemSelection)
    def _on_table_selection_changed(self, selected: QItemSelection, _: QItemSelection) -> None:
        indexes = selected.indexes()
        if not indexes:
            return
        row = self.results.row(self.shown.mapToSource(indexes[0]).row())
        if row.frame is not None:
            self.video_row_selected.emit(row)

    @Slot()
    def _on_shown_changed(self) -> None:
        shown, total = self.shown.rowCount(), self.results.rowCount()
        self.shown_label.setText(f"{shown:,} of {total:,} faces" if total else "")
