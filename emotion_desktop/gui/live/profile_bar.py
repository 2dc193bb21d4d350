"""The Live tab's profile row: which personal profile is active, one click back to none, the
calibration's start, and the profiles' rename, delete, export and import.

The active profile reaches the worker as an immutable :class:`Profile` posted to
:attr:`ProfileBar.profiles`, checked against the active model here first: a profile made with
another model is refused with a message and never posted. It is remembered per model (the
setting ``live/profiles``), and comes back when that model is active again.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QToolButton,
    QWidget,
)

from emotion_desktop.core.errors import OutputError, ProfileError
from emotion_desktop.core.live.calibration import FULL, QUICK
from emotion_desktop.core.live.loop import Mailbox
from emotion_desktop.core.live.swap import ProfileRefused
from emotion_desktop.core.model.profile import SUFFIX, Profile, check_profile, read_profile
from emotion_desktop.core.model.profile_library import (
    delete_profile,
    export_profile,
    rename_profile,
    save_profile,
)
from emotion_desktop.gui.active_model import ActiveModel
from emotion_desktop.gui.dialogs import ask_export_path, ask_new_name, confirm
from emotion_desktop.gui.profiles import ProfileBox
from emotion_desktop.gui.settings import json_setting

REMEMBERED = "live/profiles"  # {model path: profile name}, the one active for each model
PROFILE_FILTER = f"Profiles (*{SUFFIX})"


class ProfileBar(QWidget):
    """``calibrate_requested(tuple)``: the expressions the user asked to calibrate with;
    ``noted(str)``: what to tell the user (a profile refused, renamed, exported)."""

    calibrate_requested = Signal(tuple)
    noted = Signal(str)

    def __init__(self, active_model: ActiveModel, settings: QSettings) -> None:
        super().__init__()
        self.active_model = active_model
        self.settings = settings
        self.profiles: Mailbox[Profile | None] = Mailbox(None)  # read by the Live worker
        self.active: Profile | None = None
        self._build()
        self._connect()
        self.box.show_model(active_model.path())

    def _build(self) -> None:
        self.box = ProfileBox()
        self.none_button = QPushButton("&None")
        self.none_button.setToolTip("Back to the model's own readings, without a profile")
        self.calibrate_button = QToolButton()
        self.calibrate_button.setText("&Calibrate")
        self.calibrate_button.setToolTip(
            "Teach it your face: show each expression for two seconds; the readings are then "
            "corrected for you"
        )
        self.calibrate_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.calibrate_button)
        self.full_action = QAction("All seven expressions (about half a minute)", menu)
        self.quick_action = QAction("Neutral only (quick, a few seconds)", menu)
        menu.addActions([self.full_action, self.quick_action])
        self.calibrate_button.setMenu(menu)
        self.manage_button = QToolButton()
        self.manage_button.setText("Pro&files")
        self.manage_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        manage = QMenu(self.manage_button)
        self.rename_action = QAction("Rename…", manage)
        self.delete_action = QAction("Delete…", manage)
        self.export_action = QAction("Export…", manage)
        self.import_action = QAction("Import…", manage)
        manage.addActions([self.rename_action, self.delete_action, self.export_action])
        manage.addSeparator()
        manage.addAction(self.import_action)
        self.manage_button.setMenu(manage)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("&Profile:", buddy=self.box))
        layout.addWidget(self.box, 1)
        for widget in (self.none_button, self.calibrate_button, self.manage_button):
            layout.addWidget(widget)
        self._update_controls()

    def _connect(self) -> None:
        self.box.activated.connect(self._on_box_activated)
        self.box.listed.connect(self._on_box_listed)
        self.none_button.clicked.connect(self._on_none_button_clicked)
        self.full_action.triggered.connect(self._on_full_action_triggered)
        self.quick_action.triggered.connect(self._on_quick_action_triggered)
        self.rename_action.triggered.connect(self.rename_dialog)
        self.delete_action.triggered.connect(self.delete_dialog)
        self.export_action.triggered.connect(self.export_dialog)
        self.import_action.triggered.connect(self.import_dialog)
        # before the tab's own slot (connected later): the worker drops the profile before it
        # can see the next model
        self.active_model.changed.connect(self._on_active_model_changed)

    def shutdown(self) -> None:
        self.box.shutdown()

    # ---- the active profile ---------------------------------------------------------------

    def model(self) -> Path:
        return self.active_model.path()

    def active_path(self) -> Path | None:
        return self.box.current_path() if self.active is not None else None

    def activate(self, path: Path | None) -> bool:
        """Make the profile at ``path`` active (None: none); False, with a message and the
        previous one kept, where it cannot be read or was made with another model."""
        if path is None:
            self._set(None, None)
            return True
        try:
            profile = read_profile(path)
            check_profile(profile, self.model())
        except ProfileError as exc:
            self.noted.emit(f"Profile not used: {exc}")
            self.box.select(self.active_path())
            return False
        self.box.refresh()
        self._set(path, profile)
        return True

    def refused(self, refusal: ProfileRefused) -> None:
        """The worker's model refused the active profile (it does not fit its network): back
        to none, and say why."""
        if self.active is not None and self.active.name == refusal.profile:
            self.activate(None)
            self.noted.emit(f"Profile not used: {refusal.message}")

    def _set(self, path: Path | None, profile: Profile | None) -> None:
        self.active = profile
        self.profiles.post(profile)
        self.box.select(path)
        remembered = json_setting(self.settings, REMEMBERED, {})
        remembered[str(self.model())] = "" if profile is None else Path(path).stem
        self.settings.setValue(REMEMBERED, json.dumps(remembered))
        self._update_controls()

    def _update_controls(self) -> None:
        chosen = self.active is not None
        self.none_button.setEnabled(chosen)
        for action in (self.rename_action, self.delete_action, self.export_action):
            action.setEnabled(chosen)
        name = self.active.name if self.active else ""
        self.box.setToolTip(
            f"{name}'s profile corrects the readings for {name}'s face"
            if chosen
            else "No profile: the model's own readings. Make one with Calibrate."
        )

    @Slot(int)
    def _on_box_activated(self, _index: int) -> None:
        self.activate(self.box.current_path())

    @Slot()
    def _on_full_action_triggered(self) -> None:
        self.calibrate_requested.emit(FULL)

    @Slot()
    def _on_quick_action_triggered(self) -> None:
        self.calibrate_requested.emit(QUICK)

    @Slot()
    def _on_none_button_clicked(self) -> None:
        self.activate(None)

    @Slot()
    def _on_active_model_changed(self) -> None:
        self.active = None
        self.profiles.post(None)
        self.box.select(None)
        self._update_controls()
        self.box.show_model(self.model())

    @Slot()
    def _on_box_listed(self) -> None:
        """The model's profiles are listed: the one remembered for it becomes active."""
        name = json_setting(self.settings, REMEMBERED, {}).get(str(self.model()))
        match = [p for p in self.box.profile_paths() if p.stem == name]
        if match and self.box.model == self.model():
            self.activate(match[0])

    # ---- rename, delete, export, import ----------------------------------------------------

    def rename_dialog(self) -> None:
        path = self.active_path()
        if path is None:
            return
        name = ask_new_name(self, "Rename profile", path.stem)
        if name is not None:
            self._apply(lambda: self._renamed(rename_profile(path, name)))

    def _renamed(self, path: Path) -> None:
        self.box.refresh()
        self.activate(path)

    def delete_dialog(self) -> None:
        path = self.active_path()
        if path is not None and confirm(
            self, "Delete profile", f"Delete the profile {path.stem}? This cannot be undone."
        ):
            self._apply(lambda: self._deleted(path))

    def _deleted(self, path: Path) -> None:
        delete_profile(path)
        self.activate(None)
        self.box.refresh()

    def export_dialog(self) -> None:
        path = self.active_path()
        if path is None:
            return
        target = ask_export_path(
            self, "Export profile", Path.home() / path.name, PROFILE_FILTER, SUFFIX
        )
        if target is not None:
            self._apply(lambda: self.noted.emit(f"Exported to {export_profile(path, target)}"))

    def import_dialog(self) -> None:
        """Add a profile file (one exported on another computer) to the active model's
        profiles and make it active; one made with another model is refused."""
        name, _ = QFileDialog.getOpenFileName(
            self, "Import a profile", str(Path.home()), PROFILE_FILTER
        )
        if name:
            self.import_profile(Path(name))

    def import_profile(self, source: Path) -> bool:
        try:
            profile = read_profile(source)
            check_profile(profile, self.model())
            path = save_profile(profile, self.model())
        except ProfileError as exc:
            self.noted.emit(f"Profile not imported: {exc}")
            return False
        self.box.refresh()
        return self.activate(path)

    def _apply(self, action) -> None:  # noqa: ANN001 (a callable of any result)
        """Run a file operation; its error is one message."""
        try:
            action()
        except (ProfileError, OutputError) as exc:
            self.noted.emit(str(exc))
