"""Personal profiles in the Live tab, driven offscreen with the shared video as the camera: the
guided calibration (captures, skip, redo, save), the active profile and its way back to none,
a profile of another model refused, and rename, export, delete and the memory per model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox, QFileDialog, QInputDialog, QMessageBox

from emotion_desktop.core import paths
from emotion_desktop.core.emotions import INDEX_BY_NAME
from emotion_desktop.core.live.calibration import CalibrationTimings, Phase
from emotion_desktop.core.model.checkpoints import load_model_for_inference
from emotion_desktop.core.model.networks import layout_size
from emotion_desktop.core.model.profile import (
    Profile,
    model_fingerprint,
    read_profile,
    write_profile,
)
from emotion_desktop.core.model.profile_library import list_profiles, profiles_dir, save_profile
from emotion_desktop.gui.active_model import ActiveModel
from emotion_desktop.gui.live.profile_bar import REMEMBERED
from emotion_desktop.gui.live.tab import LiveTab
from emotion_desktop.gui.settings import json_setting
from tests.gui.test_layout import _cut_widgets
from tests.gui.test_live_tab import WAIT_MS, wait_until_stopped

pytestmark = pytest.mark.gui
FAST = CalibrationTimings(ready_s=0.2, steady_s=0.2, burst_s=0.4, tolerance=0.3, min_crops=2)


def a_profile(name: str, model: Path, toward: str | None = None) -> Profile:
    """A profile made with ``model`` that leaves the readings as they are, or (``toward``)
    pulls every face toward one expression, each as far as its likeness to a uniform anchor
    (a layout is never negative, so some way), so a test can see it."""
    bias = np.zeros(7)
    if toward is not None:
        bias[INDEX_BY_NAME[toward]] = 50.0
    width = layout_size(load_model_for_inference(model).model)
    arrays = {
        "weight": np.eye(7),
        "bias": bias,
        "anchors": np.ones((1, width)),
        "gate": np.array([0.0, 1.0]),
    }
    shown = (toward or "neutral",)  # one anchor, of the expression pulled toward
    return Profile(name, model_fingerprint(model), model.stem, shown, arrays)


def live_tab(qtbot, settings: QSettings) -> LiveTab:  # noqa: ANN001
    tab = LiveTab(ActiveModel(), settings)
    qtbot.addWidget(tab)
    tab.resize(1280, 660)  # the Live tab's share of a 1280x720 window
    tab.show()
    return tab


@pytest.fixture
def tab(qtbot, settings: QSettings, tiny_model: Path):
    ActiveModel().set_active(tiny_model)
    tab = live_tab(qtbot, settings)
    qtbot.waitUntil(lambda: not tab.calibration.bar.box.is_listing(), timeout=WAIT_MS)
    yield tab
    tab.shutdown()


@pytest.fixture
def video(shared_data: Path) -> Path:
    return shared_data / "video" / "WolfgangLanger_Pexels.mp4"


def test_the_guided_calibration_captures_skips_redoes_and_saves_an_active_profile(
    qtbot, tab: LiveTab, tiny_model: Path, video: Path
) -> None:
    pane, panel, bar = tab.calibration, tab.calibration.panel, tab.calibration.bar
    pane.timings = FAST
    tab.set_video_file(video)
    assert not panel.isVisible() and not bar.none_button.isEnabled()
    bar.full_action.trigger()  # Calibrate > All seven expressions: the camera starts too
    steps = panel.steps
    assert tab.is_running() and panel.isVisible() and pane.link.capturing.read()
    assert steps["neutral"].text() == "▸ Neutral" and "Neutral  (1 of 7)" in panel.heading.text()
    qtbot.waitUntil(lambda: steps["neutral"].text() == "✓ Neutral", timeout=WAIT_MS)
    assert pane.session.current == "happy" and "Happy  (2 of 7)" in panel.heading.text()
    assert not _cut_widgets(tab), _cut_widgets(tab)
    assert tab.minimumSizeHint().height() <= tab.height() and not tab.timeline.isVisible()

    panel.skip_button.click()
    assert steps["happy"].text() == "– Happy" and pane.session.current == "sad"
    qtbot.waitUntil(lambda: steps["sad"].text() == "✓ Sad", timeout=WAIT_MS)
    first_burst = pane.session.crops()["sad"]
    panel.redo_button.click()  # Redo last: sad again
    assert steps["sad"].text() == "▸ Sad" and "sad" not in pane.session.crops()
    assert pane.session.phase is Phase.READY
    qtbot.waitUntil(lambda: steps["sad"].text() == "✓ Sad", timeout=WAIT_MS)
    assert pane.session.crops()["sad"][0] is not first_burst[0]
    assert pane.session.current == "surprised"
    for _ in range(4):  # surprised, angry, disgusted, afraid
        panel.skip_button.click()
    assert panel.heading.text() == "Done: 2 of 7 captured" and panel.save_button.isEnabled()
    assert not pane.link.capturing.read()  # the worker stops cropping

    panel.name_edit.setText("Wolfgang")
    panel.save_button.click()
    qtbot.waitUntil(lambda: not pane.is_making(), timeout=WAIT_MS)
    profile = read_profile(profiles_dir(tiny_model) / "Wolfgang.profile")
    assert profile.emotions == ("neutral", "sad")
    assert profile.model == model_fingerprint(tiny_model)
    assert "Profile Wolfgang made from 2 expressions" in tab.message_text()
    assert ("it changes no reading" in tab.message_text()) == (not profile.corrects)
    assert bar.box.currentText() == "Wolfgang" and bar.none_button.isEnabled()
    assert pane.link.profiles.read().name == "Wolfgang" and not panel.isVisible()
    assert tab.timeline.isVisible()
    remembered = json_setting(tab.settings, REMEMBERED, {})
    assert remembered == {str(tiny_model): "Wolfgang"}

    bar.none_button.click()  # one click back to the model's own readings
    assert pane.link.profiles.read() is None and bar.box.currentText() == "No profile"
    assert not bar.none_button.isEnabled()
    assert json_setting(tab.settings, REMEMBERED, {}) == {str(tiny_model): ""}
    bar.box.setCurrentIndex(1)
    bar.box.activated.emit(1)  # the user picks it in the list
    assert pane.link.profiles.read().name == "Wolfgang"
    tab.stop()
    wait_until_stopped(qtbot, tab)


def test_a_profile_of_another_model_or_a_damaged_one_is_refused_with_a_message(
    qtbot, tab: LiveTab, tiny_model: Path, tmp_path: Path, monkeypatch
) -> None:
    bar, link = tab.calibration.bar, tab.calibration.link
    theirs, damaged, mine = tmp_path / "theirs.profile", tmp_path / "bad.profile", tmp_path / "m"
    write_profile(a_profile("Theirs", paths.default_model_path()), theirs)
    damaged.write_text('{"kind": "emotion_desktop.Profile", "format_version": 1, "arrays": [')
    write_profile(a_profile("Mine", tiny_model), mine)
    chosen: list[Path] = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(chosen[-1]), ""))

    chosen.append(theirs)
    bar.import_action.trigger()
    assert "Profile not imported" in tab.message_text()
    assert "made with the model default, not with tiny" in tab.message_text()
    chosen.append(damaged)
    bar.import_action.trigger()
    assert "Profile not imported" in tab.message_text() and "not a profile" in tab.message_text()
    assert link.profiles.read() is None and list_profiles(tiny_model) == []
    assert bar.box.count() == 1 and bar.box.currentText() == "No profile"

    chosen.append(mine)  # its own model's profile: kept and active
    bar.import_action.trigger()
    assert link.profiles.read().name == "Mine" and bar.box.currentText() == "Mine"
    assert [p.stem for p in list_profiles(tiny_model)] == ["Mine"]

    tab.active_model.set_active(None)  # another model: its profile is dropped at once
    assert link.profiles.read() is None and bar.box.currentText() == "No profile"
    qtbot.waitUntil(lambda: not bar.box.is_listing(), timeout=WAIT_MS)
    assert link.profiles.read() is None and bar.box.count() == 1
    tab.active_model.set_active(tiny_model)  # and back: the one it had comes back
    qtbot.waitUntil(lambda: bar.box.currentText() == "Mine", timeout=WAIT_MS)
    assert link.profiles.read().name == "Mine"


def test_a_profile_the_running_model_refuses_goes_back_to_none_with_a_message(
    qtbot, tab: LiveTab, tiny_model: Path, video: Path
) -> None:
    """Its model's file, but not its network's width (a hand-edited file): only the model,
    loaded on the worker, can tell."""
    narrow = a_profile("Narrow", tiny_model)
    arrays = {**narrow.arrays, "anchors": np.ones((1, 8))}
    path = save_profile(replace(narrow, arrays=arrays), tiny_model)
    assert tab.calibration.bar.activate(path)
    tab.set_video_file(video)
    tab.start()
    qtbot.waitUntil(lambda: "does not fit" in tab.message_text(), timeout=WAIT_MS)
    assert tab.calibration.link.profiles.read() is None
    assert tab.calibration.bar.box.currentText() == "No profile"
    tab.stop()
    wait_until_stopped(qtbot, tab)


def test_profiles_are_renamed_exported_deleted_and_remembered_per_model(
    qtbot, tab: LiveTab, tiny_model: Path, settings: QSettings, tmp_path: Path, monkeypatch
) -> None:
    bar, link = tab.calibration.bar, tab.calibration.link
    save_profile(a_profile("Anna", tiny_model), tiny_model)
    monkeypatch.setattr(QComboBox, "showPopup", lambda box: None)  # offscreen Qt warns
    bar.box.showPopup()  # the list is read again when opened
    assert bar.box.count() == 2 and not bar.rename_action.isEnabled()
    bar.box.setCurrentIndex(1)
    bar.box.activated.emit(1)
    assert bar.rename_action.isEnabled() and bar.export_action.isEnabled()

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Anna B", True))
    bar.rename_action.trigger()
    assert [p.stem for p in list_profiles(tiny_model)] == ["Anna B"]
    assert bar.box.currentText() == "Anna B" and link.profiles.read().name == "Anna B"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "a"), ""))
    bar.export_action.trigger()
    assert read_profile(tmp_path / "a.profile").name == "Anna B"
    assert f"Exported to {tmp_path / 'a.profile'}" in tab.message_text()

    again = live_tab(qtbot, settings)  # the next start: the model's profile is active again
    try:
        qtbot.waitUntil(lambda: again.calibration.bar.box.currentText() == "Anna B")
        assert again.calibration.link.profiles.read().name == "Anna B"
    finally:
        again.shutdown()

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    bar.delete_action.trigger()
    assert list_profiles(tiny_model) == [] and bar.box.count() == 1
    assert link.profiles.read() is None and not bar.none_button.isEnabled()


def test_changing_the_model_stops_a_calibration(qtbot, tab: LiveTab, video: Path) -> None:
    tab.set_video_file(video)
    tab.calibration.bar.quick_action.trigger()  # Calibrate > Neutral only
    assert tab.calibration.session.emotions == ("neutral",)
    assert [b.isVisible() for b in tab.calibration.panel.steps.values()].count(True) == 1
    tab.active_model.set_active(None)
    assert tab.calibration.session is None and not tab.calibration.panel.isVisible()
    assert "The model changed" in tab.message_text()
    assert not tab.calibration.link.capturing.read()
    tab.stop()
    wait_until_stopped(qtbot, tab)
