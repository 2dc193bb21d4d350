"""Every tab readable in 1280x720, 1366x768 and 1920x1080 windows: no control narrower than its
text, no table header cut, no two plot labels on top of each other, and a minimum size that fits
a laptop screen.

What a screenshot shows a person, read from the widgets: a text is cut when its widget is
smaller than the size Qt computes for that text.
"""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QRectF, QSettings, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QHeaderView,
    QLabel,
    QTabWidget,
    QWidget,
)

from emotion_desktop.core import paths
from emotion_desktop.core.model.card import read_card
from emotion_desktop.gui.main_window import MainWindow

pytestmark = pytest.mark.gui

WINDOW = (1280, 720)  # the smallest window the app is laid out for
SIZES = [WINDOW, (1366, 768), (1920, 1080)]


@pytest.fixture(params=SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def window(qtbot, tmp_path, request):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.resize(*request.param)
    window.show()
    qtbot.waitExposed(window)
    return window


def _cut_widgets(root: QWidget) -> list[str]:
    """Visible labels, buttons, boxes and table headers whose text does not fit them."""
    cut = []
    for widget in root.findChildren(QWidget):
        if not widget.isVisible():
            continue
        size = widget.size()
        if isinstance(widget, QLabel) and widget.text() and widget.pixmap().isNull():
            if widget.wordWrap():
                short = size.height() < widget.heightForWidth(size.width())
            else:
                short = size.width() < widget.sizeHint().width()
            if short:
                cut.append(f"label {widget.text()[:40]!r} {size.toTuple()}")
        elif isinstance(widget, QAbstractButton) and widget.text():
            if size.width() < widget.sizeHint().width():
                cut.append(f"button {widget.text()!r} {size.width()} < {widget.sizeHint().width()}")
        elif isinstance(widget, (QComboBox, QAbstractSpinBox)):
            if size.width() < widget.minimumSizeHint().width():
                cut.append(f"{type(widget).__name__} {size.width()} wide")
        elif isinstance(widget, QHeaderView) and widget.orientation().name == "Horizontal":
            model = widget.model()
            for section in range(widget.count()):
                if widget.isSectionHidden(section) or widget.sectionSize(section) == 0:
                    continue
                text = model.headerData(section, widget.orientation())
                needed = widget.fontMetrics().horizontalAdvance(str(text or ""))
                if widget.sectionSize(section) < needed:
                    cut.append(f"header {text!r} {widget.sectionSize(section)} < {needed}")
    return cut


def _plot_texts(plot: pg.PlotItem) -> list[tuple[str, QRectF]]:
    """The title, axis labels, tick labels and legend of a plot, in scene coordinates."""
    texts = []
    if plot.titleLabel.isVisible() and plot.titleLabel.text:
        texts.append(("title", plot.titleLabel.item.sceneBoundingRect()))
    image = QImage(4, 4, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        if not axis.isVisible():
            continue
        if axis.label.isVisible():
            texts.append((f"{name} label", axis.label.sceneBoundingRect()))
        for rect, _flags, text in axis.generateDrawSpecs(painter)[2]:
            texts.append((f"{name} tick {text}", axis.mapRectToScene(rect)))
    painter.end()
    if plot.legend is not None and plot.legend.isVisible():
        texts.append(("legend", plot.legend.sceneBoundingRect()))
    return texts


def _overlapping_plot_texts(root: QWidget) -> list[str]:
    found = []
    for view in root.findChildren(pg.GraphicsView):
        if not view.isVisible():
            continue
        for plot in (i for i in view.scene().items() if isinstance(i, pg.PlotItem)):
            texts = _plot_texts(plot)
            for i, (a, ra) in enumerate(texts):
                for b, rb in texts[i + 1 :]:
                    if ra.intersects(rb) and ra.intersected(rb).width() > 1:
                        found.append(f"{plot.titleLabel.text or 'plot'}: {a} / {b}")
    return found


def _pages(window: MainWindow):
    """Every tab and every page inside a tab, made current in turn."""
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        inner = [t for t in window.tabs.widget(index).findChildren(QTabWidget)]
        if not inner:
            yield window.tabs.tabText(index)
        for tabs in inner:
            for page in range(tabs.count()):
                tabs.setCurrentIndex(page)
                yield f"{window.tabs.tabText(index)}/{tabs.tabText(page)}"


def test_the_window_fits_a_1280x720_screen(window) -> None:
    hint = window.minimumSizeHint()
    assert hint.width() <= WINDOW[0] and hint.height() <= WINDOW[1] - 40, hint  # title bar
    assert window.size().width() >= WINDOW[0] and window.size().height() >= WINDOW[1]


def test_no_text_is_cut(window) -> None:
    card = read_card(paths.default_model_path())
    window.training.result_view.show_run(paths.default_model_path(), card, "default", card)
    problems = {}
    for page in _pages(window):
        for _ in range(3):  # a layout request can post another
            QApplication.processEvents()
        cut = _cut_widgets(window)
        if cut:
            problems[page] = cut
    assert not problems


def test_no_plot_labels_overlap(window) -> None:
    problems = {}
    for page in _pages(window):
        for _ in range(3):
            QApplication.processEvents()
        overlaps = _overlapping_plot_texts(window)
        if overlaps:
            problems[page] = overlaps
    assert not problems


def _focus_chain(start: QWidget, within: QWidget) -> list[QWidget]:
    """The widgets Tab visits inside ``within``, in order, starting at ``start``."""
    chain, widget = [], start
    while True:
        focusable = widget.focusPolicy() & Qt.FocusPolicy.TabFocus
        if focusable and widget.isVisible() and widget.isEnabled() and within.isAncestorOf(widget):
            chain.append(widget)
        widget = widget.nextInFocusChain()
        if widget is start:
            return chain


@pytest.mark.parametrize("pane", ["settings", "models"])
def test_tab_order_follows_the_layout(window, pane) -> None:
    """Tab moves top to bottom, and left to right within a row, as a reader's eye does."""
    training = window.training
    window.tabs.setCurrentWidget(training)
    if pane == "settings":
        root, start = (
            training.data.folder_box.parentWidget().parentWidget(),
            training.data.folder_box,
        )
    else:
        training.pages.setCurrentWidget(training.manager)
        training.manager.select(paths.default_model_path())
        root, start = training.manager, training.manager.table
    chain = _focus_chain(start, root)
    assert len(chain) >= (10 if pane == "settings" else 4)
    places = [w.mapTo(root, QPoint(0, w.height() // 2)) for w in chain]
    for (a, pa), (b, pb) in zip(zip(chain, places), zip(chain[1:], places[1:])):
        same_row = abs(pa.y() - pb.y()) < 8
        assert (pb.x() > pa.x()) if same_row else (pb.y() > pa.y()), (a, b)
