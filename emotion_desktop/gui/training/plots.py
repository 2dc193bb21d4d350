"""Live training curves: CAE reconstruction loss, CNN loss and CNN accuracy.

Every curve is a PlotDataItem created once; new points are appended to numpy-backed lists and
pushed with ``setData``, so a long run never clears and re-adds items. The batch curve keeps at
most MAX_BATCH_POINTS: each point costs every later ``setData`` and paint, and the default
model's recipe has 45,000 batches (12 ms an event by the end when all were kept).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from emotion_desktop.core.train.loop import STAGE_CAE, Progress

BATCH_SMOOTHING = 0.9  # exponential moving average of the per-batch loss
LOSS_HEADROOM = 1.25  # a loss axis grows to this multiple of the point that did not fit
MAX_EPOCH_TICKS = 5  # labelled epochs per axis: a third of a laptop screen holds five
TICK_STEPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)
MAX_BATCH_POINTS = 2000  # more than a plot is pixels wide; beyond, every other point goes


def epoch_step(epochs: int) -> int:
    """The whole-epoch spacing of an axis spanning ``epochs``: at most MAX_EPOCH_TICKS labels,
    never fractions of an epoch (unlabelled, pyqtgraph wrote 0.2 0.4 ... into each other)."""
    return next((s for s in TICK_STEPS if epochs / s <= MAX_EPOCH_TICKS), TICK_STEPS[-1])


class TrainingCurves(pg.GraphicsLayoutWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setBackground("w")
        self.cae_plot = self._plot("CAE reconstruction loss", "epoch", "MSE")
        self.loss_plot = self._plot("CNN loss", "epoch", "cross-entropy")
        # losses fall and accuracy rises: each legend sits in the corner its curves leave free
        self.accuracy_plot = self._plot("CNN accuracy", "epoch", "accuracy", legend=(-5, -5))
        self.accuracy_plot.setYRange(0, 1)
        self.curves = {
            "cae_train": self._curve(self.cae_plot, "train", "#2980b9"),
            "cae_val": self._curve(self.cae_plot, "validation", "#e67e22"),
            "cnn_batch": self._curve(self.loss_plot, "batches", "#bdc3c7", width=1),
            "cnn_train": self._curve(self.loss_plot, "train", "#2980b9"),
            "cnn_val": self._curve(self.loss_plot, "validation", "#e67e22"),
            "acc_train": self._curve(self.accuracy_plot, "train", "#2980b9"),
            "acc_val": self._curve(self.accuracy_plot, "validation", "#e67e22"),
        }
        self.points: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in self.curves}
        self._smoothed: float | None = None
        self._batches_seen, self._batch_stride = 0, 1  # a batch point is drawn every stride
        self._loss_top = {self.cae_plot: 0.0, self.loss_plot: 0.0}  # y range grows, never shrinks
        self.setToolTip(
            "Loss and accuracy per epoch on the training faces (blue) and the validation faces "
            "(orange); the grey line is the loss of each batch, smoothed. Validation falling "
            "behind training means the model starts to memorise."
        )
        self.reset(1, 1)

    def _plot(self, title: str, x: str, y: str, legend: tuple[int, int] = (-5, 5)) -> pg.PlotItem:
        plot = self.addPlot(title=title)
        plot.setLabel("bottom", x)
        plot.setLabel("left", y)
        plot.showGrid(x=True, y=True, alpha=0.3)
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        plot.addLegend(offset=legend, labelTextSize="8pt", verSpacing=-6)
        return plot

    @staticmethod
    def _curve(plot: pg.PlotItem, name: str, colour: str, width: int = 2) -> pg.PlotDataItem:
        return plot.plot([], [], name=name, pen=pg.mkPen(colour, width=width))

    def _append(self, key: str, x: float, y: float | None) -> None:
        if y is None or not np.isfinite(y):
            return
        xs, ys = self.points[key]
        xs.append(x)
        ys.append(y)
        self.curves[key].setData(np.asarray(xs), np.asarray(ys))
        plot = self.curves[key].getViewBox().parentItem()
        if plot in self._loss_top and y > self._loss_top[plot]:
            self._loss_top[plot] = y * LOSS_HEADROOM
            plot.setYRange(0, self._loss_top[plot], padding=0)

    def reset(self, epochs_cae: int, epochs_cnn: int) -> None:
        """Clear every curve and fix each plot's epoch axis for the run about to start.

        Fixed ranges keep the axes from being re-laid out and repainted with every batch point,
        the costliest paint of the tab while training competes for the CPU: the epoch axis spans
        the run, and a loss axis only grows, when a point would not fit (losses mostly fall).
        """
        self._smoothed = None
        self._batches_seen, self._batch_stride = 0, 1
        self._loss_top = dict.fromkeys(self._loss_top, 0.0)
        for key, (xs, ys) in self.points.items():
            xs.clear()
            ys.clear()
            self.curves[key].setData([], [])
        for plot, epochs in (
            (self.cae_plot, epochs_cae),
            (self.loss_plot, epochs_cnn),
            (self.accuracy_plot, epochs_cnn),
        ):
            epochs = max(epochs, 1)
            plot.setXRange(0, epochs, padding=0.02)
            step = epoch_step(epochs)
            plot.getAxis("bottom").setTickSpacing(step, step)

    def add(self, event: Progress) -> None:
        """Plot one progress event: epoch points at x = epoch + 1, batches in between."""
        if event.stage == STAGE_CAE:
            if event.end_of_epoch:
                self._append("cae_train", event.epoch + 1, event.train_loss)
                self._append("cae_val", event.epoch + 1, event.val_loss)
            return
        if event.end_of_epoch:
            x = event.epoch + 1
            self._append("cnn_train", x, event.train_loss)
            self._append("cnn_val", x, event.val_loss)
            self._append("acc_train", x, event.train_accuracy)
            self._append("acc_val", x, event.val_accuracy)
            return
        s = self._smoothed
        self._smoothed = (
            event.train_loss
            if s is None
            else BATCH_SMOOTHING * s + (1 - BATCH_SMOOTHING) * event.train_loss
        )
        seen, self._batches_seen = self._batches_seen, self._batches_seen + 1
        if seen % self._batch_stride:
            return
        self._append("cnn_batch", event.epoch + (event.batch + 1) / event.batches, self._smoothed)
        xs, ys = self.points["cnn_batch"]
        if len(xs) > MAX_BATCH_POINTS:  # keep batches 0, 2s, 4s...: the stride doubles
            del xs[1::2], ys[1::2]
            self._batch_stride *= 2
            self.curves["cnn_batch"].setData(np.asarray(xs), np.asarray(ys))

    def count(self, key: str) -> int:
        return len(self.points[key][0])
