"""The Live tab's smoothing and "uncertain" threshold sliders, as one immutable snapshot."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFormLayout, QLabel, QSlider, QWidget

from emotion_desktop.core.live.loop import TrackingSettings


class TrackingForm(QWidget):
    """``tracking_changed(TrackingSettings)``: a slider moved; the new values as a snapshot
    for the worker."""

    tracking_changed = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, 95)
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(0, 100)
        self.smoothing_label = QLabel()
        self.threshold_label = QLabel()
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.smoothing_label, self.smoothing_slider)
        form.addRow(self.threshold_label, self.threshold_slider)
        self.smoothing_slider.valueChanged.connect(self._on_slider_changed)
        self.threshold_slider.valueChanged.connect(self._on_slider_changed)
        self._on_slider_changed()

    def tracking(self) -> TrackingSettings:
        return TrackingSettings(
            self.smoothing_slider.value() / 100, self.threshold_slider.value() / 100
        )

    @Slot()
    def _on_slider_changed(self) -> None:
        self.smoothing_label.setText(f"Smoothing {self.smoothing_slider.value() / 100:.2f}")
        self.threshold_label.setText(f"Uncertain below {self.threshold_slider.value()}%")
        self.tracking_changed.emit(self.tracking())
