"""The Live tab's picture: a frame with a box, a label and a confidence over every face.

What is painted is computed as plain data first (:func:`overlay_items`), so tests and snapshots
check the very boxes, texts and colours the screen shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import (
    QSizePolicy,
    QWidget,
)

from emotion_desktop.core.emotions import EMOTIONS, INDEX_BY_NAME
from emotion_desktop.core.live.loop import (
    LiveResult,
)
from emotion_desktop.core.vision.faces import Box

UNCERTAIN_COLOUR = "#bdc3c7"
NO_FACE_NOTICE = "No face in view: face the camera, with light on your face"


@dataclass(frozen=True)
class OverlayItem:
    """One box as painted: in frame pixels after mirroring, with its colour and caption."""

    face_id: int
    box: Box
    colour: str
    text: str
    uncertain: bool


def overlay_items(result: LiveResult, mirrored: bool) -> tuple[OverlayItem, ...]:
    """What the overlay draws for ``result``: the one place that decides boxes and captions."""
    width = result.frame.image.shape[1]
    items = []
    for face in result.faces:
        box = face.box
        if mirrored:
            box = Box(width - box.x - box.w, box.y, box.w, box.h)
        colour = EMOTIONS[INDEX_BY_NAME[face.label]].colour
        text = "uncertain" if face.uncertain else f"{face.label} {face.confidence:.0%}"
        items.append(OverlayItem(face.id, box, colour, text, face.uncertain))
    return tuple(items)


def frame_image(frame: np.ndarray) -> QImage:
    """A QImage viewing the BGR array (no copy: keep the array alive while painting)."""
    frame = np.ascontiguousarray(frame)
    height, width = frame.shape[:2]
    return QImage(frame.data, width, height, frame.strides[0], QImage.Format.Format_BGR888)


def paint_result(
    painter: QPainter, target: QRectF, result: LiveResult, mirrored: bool
) -> tuple[OverlayItem, ...]:
    """Draw the frame into ``target`` and a box and caption per face; returns what it drew."""
    image = result.frame.image
    painter.save()
    if mirrored:
        painter.translate(target.right(), target.top())
        painter.scale(-1, 1)
        painter.drawImage(QRectF(0, 0, target.width(), target.height()), frame_image(image))
    else:
        painter.drawImage(target, frame_image(image))
    painter.restore()
    scale = target.width() / image.shape[1]
    items = overlay_items(result, mirrored)
    font = QFont(painter.font())
    font.setPixelSize(max(12, round(16 * min(1.0, scale * 1.5))))
    painter.setFont(font)
    metrics = painter.fontMetrics()
    for item in items:
        colour = QColor(item.colour)
        pen = QPen(colour, 3)
        if item.uncertain:
            pen.setStyle(Qt.PenStyle.DashLine)
        rect = QRectF(
            target.x() + item.box.x * scale,
            target.y() + item.box.y * scale,
            item.box.w * scale,
            item.box.h * scale,
        )
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect)
        caption = QRectF(
            rect.x(),
            max(target.y(), rect.y() - metrics.height() - 4),
            metrics.horizontalAdvance(item.text) + 10,
            metrics.height() + 4,
        )
        painter.fillRect(caption, QColor(UNCERTAIN_COLOUR) if item.uncertain else colour)
        painter.setPen(QColor("#000000"))
        painter.drawText(caption, Qt.AlignmentFlag.AlignCenter, item.text)
    return items


class FrameView(QWidget):
    """Paints the latest result, scaled to fit; remembers what it painted for tests."""

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.result: LiveResult | None = None
        self.mirrored = False
        self.placeholder = "Press Start to begin"
        self.painted: tuple[OverlayItem, ...] = ()
        self.painted_result: LiveResult | None = None

    def show_result(self, result: LiveResult | None) -> None:
        self.result = result
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#111111"))
        painter.setPen(QColor("#eeeeee"))
        if self.result is None:
            self.painted, self.painted_result, self.notice = (), None, self.placeholder
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            painter.end()
            return
        height, width = self.result.frame.image.shape[:2]
        scale = min(self.width() / width, self.height() / height)
        target = QRectF(0, 0, width * scale, height * scale)
        target.moveCenter(QPointF(self.rect().center()))
        self.painted = paint_result(painter, target, self.result, self.mirrored)
        self.painted_result = self.result
        self.notice = "" if self.result.faces else NO_FACE_NOTICE
        if self.notice:
            band = QRectF(target.x(), target.y(), target.width(), 28)
            painter.fillRect(band, QColor(0, 0, 0, 160))
            painter.setPen(QColor("#ffffff"))
            painter.drawText(band, Qt.AlignmentFlag.AlignCenter, self.notice)
        painter.end()
