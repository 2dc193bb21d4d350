"""The Live tab's personal profiles: the profile row, and the guided calibration that makes a
profile for the person in front of the camera.

Calibrate asks the worker for the largest face's crops (:class:`ProfileLink`'s ``capturing``)
and feeds them, as they come, to a :class:`CalibrationSession` on the GUI thread; the panel
shows its steps. Saving makes the profile on a worker (``make_profile``, then
``save_profile``), and the profile becomes active. The Live tab gives this pane its frames
(:meth:`CalibrationPane.take`) and hands :attr:`CalibrationPane.link` to each run's worker.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from PySide6.QtCore import QSettings, SignalInstance, Slot
from PySide6.QtWidgets import QVBoxLayout, QWidget

from emotion_desktop.core.live.calibration import (
    CalibrationFrame,
    CalibrationSession,
    CalibrationTimings,
    ProfileLink,
)
from emotion_desktop.core.live.loop import Mailbox
from emotion_desktop.core.live.swap import ProfileRefused
from emotion_desktop.core.model.calibrate import make_profile
from emotion_desktop.core.model.checkpoints import load_model_for_inference
from emotion_desktop.core.model.profile_library import list_profiles, save_profile
from emotion_desktop.core.stream.frames import LiveOptions, make_predictor
from emotion_desktop.gui.active_model import ActiveModel
from emotion_desktop.gui.dialogs import confirm
from emotion_desktop.gui.live.calibration_panel import CalibrationPanel
from emotion_desktop.gui.live.profile_bar import ProfileBar
from emotion_desktop.gui.message_bar import MessageBar
from emotion_desktop.gui.workers import Task, TaskFn


class LiveHost(Protocol):
    """What the pane needs of the Live tab."""

    settings: QSettings
    active_model: ActiveModel
    options: LiveOptions
    message_bar: MessageBar
    timeline: QWidget
    started: SignalInstance
    stopped: SignalInstance

    def is_running(self) -> bool: ...

    def start(self) -> None: ...


class CalibrationPane(QWidget):
    """The profile row, and below it the calibration while one runs. ``timings``: how the
    next calibration paces the person (tests make it quick)."""

    def __init__(self, host: LiveHost) -> None:
        super().__init__()
        self.host = host
        self.timings = CalibrationTimings()
        self.session: CalibrationSession | None = None
        self._model: Path | None = None  # the model the session's crops were framed for
        self._making = Task(self)
        self.bar = ProfileBar(host.active_model, host.settings)
        self.panel = CalibrationPanel()
        self.panel.hide()
        self.link = ProfileLink(self.bar.profiles, Mailbox(False))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.panel)
        self.bar.calibrate_requested.connect(self._on_bar_calibrate_requested)
        self.bar.noted.connect(host.message_bar.show_note)
        self.panel.skip_clicked.connect(self._on_panel_skip_clicked)
        self.panel.redo_clicked.connect(self._on_panel_redo_clicked)
        self.panel.cancel_clicked.connect(self._on_panel_cancel_clicked)
        self.panel.save_clicked.connect(self._on_panel_save_clicked)
        self._making.finished.connect(self._on_making_finished)
        self._making.failed.connect(self._on_making_failed)
        host.active_model.changed.connect(self._on_active_model_changed)
        host.started.connect(self._show)
        host.stopped.connect(self._show)

    def shutdown(self) -> None:
        self._making.stop()
        self.bar.shutdown()

    # ---- the session ------------------------------------------------------------------------

    def begin(self, emotions: Sequence[str]) -> None:
        """Start calibrating with ``emotions`` in turn (and the camera, where it is stopped)."""
        if self._making.is_running():
            return
        self.session = CalibrationSession(emotions, self.timings)
        self._model = self.host.active_model.path()
        self.link.capturing.post(True)
        self.panel.start(self.session.emotions)
        self.host.timeline.hide()  # the panel takes its room: all of it fits 1280x720
        if not self.host.is_running():
            self.host.start()
        self._show()

    def cancel(self, note: str = "") -> None:
        """Stop calibrating; the faces captured, and a profile being made, are dropped."""
        self._making.retire()
        self._end()
        if note:
            self.host.message_bar.show_note(note)

    def _end(self) -> None:
        self.session = self._model = None
        self.link.capturing.post(False)
        self.panel.hide()
        self.host.timeline.show()

    def take(self, payload: object) -> bool:
        """Feed the worker's payload to the session where it is one of its frames, or to the
        profile row where the worker refused the profile; whether it was either (the tab
        passes the others on to what it shows)."""
        if isinstance(payload, ProfileRefused):
            self.bar.refused(payload)
            return True
        if not isinstance(payload, CalibrationFrame):
            return False
        if self.session is not None and not self.session.finished:
            self.session.feed(payload)
            if self.session.finished:
                self.link.capturing.post(False)
            self._show()
        return True

    @Slot()
    def _show(self) -> None:
        if self.session is not None:
            self.panel.show_status(
                self.session.status(),
                self.host.is_running(),
                self.session.last_captured(),
                self._making.is_running(),
            )

    @Slot(tuple)
    def _on_bar_calibrate_requested(self, emotions: tuple[str, ...]) -> None:
        self.begin(emotions)

    @Slot()
    def _on_panel_skip_clicked(self) -> None:
        if self.session is not None:
            self.session.skip()
            self.link.capturing.post(not self.session.finished)
            self._show()

    @Slot(str)
    def _on_panel_redo_clicked(self, emotion: str) -> None:
        if self.session is not None:
            self.session.redo(emotion)
            self.link.capturing.post(True)
            self._show()

    @Slot()
    def _on_panel_cancel_clicked(self) -> None:
        self.cancel()

    @Slot()
    def _on_active_model_changed(self) -> None:
        if self.session is not None:
            self.cancel(
                "The model changed, so the calibration stopped: a profile is for one model."
            )

    # ---- the profile ------------------------------------------------------------------------

    @Slot(str)
    def _on_panel_save_clicked(self, name: str) -> None:
        self.save(name)

    def save(self, name: str) -> bool:
        """Make the profile from the faces captured, saved as ``name``, on a worker; False
        where there is nothing to make or the user keeps an existing profile of that name."""
        if self.session is None or self._model is None or not self.session.crops():
            return False
        if not name:
            self.host.message_bar.show_note("Type a name for the profile, then Save.")
            return False
        taken = name in {p.stem for p in list_profiles(self._model)}
        question = f"A profile named {name} exists. Replace it?"
        if taken and not confirm(self, "Save profile", question):
            return False
        crops = self.session.crops()
        self._making.start(_making(self._model, self.host.options, crops, name, taken))
        self._show()
        return True

    def is_making(self) -> bool:
        return self._making.is_running()

    @Slot(object)
    def _on_making_finished(self, made: tuple[Path, float, bool]) -> None:
        path, seconds, corrects = made
        crops = self.session.crops() if self.session is not None else {}
        self._end()
        if self.bar.activate(path):
            faces = sum(len(c) for c in crops.values())
            unneeded = " The model already read each as shown: it changes no reading."
            self.host.message_bar.show_note(
                f"Profile {path.stem} made from {len(crops)} expression"
                f"{'s' * (len(crops) != 1)} ({faces} faces) in {seconds:.1f} s; it is active."
                + ("" if corrects else unneeded)
            )

    @Slot(str)
    def _on_making_failed(self, message: str) -> None:
        self.host.message_bar.show_note(f"Profile not made: {message}")
        self._show()


def _making(
    model: Path, options: LiveOptions, crops: dict[str, list[np.ndarray]], name: str, replace: bool
) -> TaskFn:
    """The worker's function: the model as Live runs it, the profile made and saved; returns
    the profile's file, the seconds it took and whether it corrects anything."""

    def make(report, cancelled) -> tuple[Path, float, bool]:  # noqa: ANN001 (a Task's function)
        start = time.perf_counter()
        predictor = make_predictor(load_model_for_inference(model), options)
        profile = make_profile(predictor, crops, name)
        path = save_profile(profile, model, replace_existing=replace)
        return path, time.perf_counter() - start, profile.corrects

    return make
