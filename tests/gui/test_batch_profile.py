"""A personal profile in the Batch tab: chosen in the options, applied to photos and to a
video's frames, named by every row, the table and the exported CSV; one made with another
model is refused with the run's message."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from emotion_desktop.core import paths
from emotion_desktop.core.emotions import INDEX_BY_NAME
from emotion_desktop.core.model.profile import write_profile
from emotion_desktop.core.model.profile_library import profiles_dir, save_profile
from emotion_desktop.gui.batch.rows import COL_PROFILE
from emotion_desktop.gui.batch.tab import BatchTab
from tests.gui.test_batch_tab import RUN_TIMEOUT_MS, _faces, batch_tab, drop, wait_until_stopped
from tests.gui.test_live_calibration import a_profile

pytestmark = pytest.mark.gui
SAD = INDEX_BY_NAME["sad"]


@pytest.fixture
def tab(qtbot, tiny_model: Path, settings: QSettings):
    yield from batch_tab(qtbot, tiny_model, settings, size=(1280, 720))


def choose(tab: BatchTab, qtbot, name: str) -> None:  # noqa: ANN001
    box = tab.options.profile_box
    qtbot.waitUntil(lambda: not box.is_listing(), timeout=RUN_TIMEOUT_MS)
    box.refresh()  # made after the tab listed the model's profiles
    box.setCurrentIndex(box.findText(name))
    assert box.currentText() == name


def test_rows_of_photos_and_of_a_video_carry_the_profile_applied(
    qtbot, tab: BatchTab, tiny_model: Path, shared_data: Path, tmp_path: Path
) -> None:
    save_profile(a_profile("Anna", tiny_model, toward="sad"), tiny_model)
    choose(tab, qtbot, "Anna")
    tab.options.sampling_box.setCurrentIndex(tab.options.sampling_box.findData("fps"))
    tab.options.sampling_n.setValue(1)  # a frame a second of the video
    video = shared_data / "video" / "WolfgangLanger_Pexels.mp4"
    assert drop(tab.drop_zone, [*_faces(shared_data), video])
    wait_until_stopped(qtbot, tab)
    rows = tab.results.rows()
    assert any(r.frame is None for r in rows) and any(r.frame is not None for r in rows)
    assert {r.profile for r in rows} == {"Anna"}
    sad = {(r.file, r.face): r.result.probabilities[SAD] for r in rows if r.frame is None}
    table = tab.results
    assert {table.data(table.index(r, COL_PROFILE)) for r in range(table.rowCount())} == {"Anna"}
    assert tab.export(tmp_path / "rows.csv") == len(rows)
    with open(tmp_path / "rows.csv", newline="") as f:
        assert {row["profile"] for row in csv.DictReader(f)} == {"Anna"}
    tab.export(tmp_path / "rows.json")
    assert {r["profile"] for r in json.loads((tmp_path / "rows.json").read_text())} == {"Anna"}

    tab.clear()
    tab.options.profile_box.setCurrentIndex(0)  # No profile: the model's own readings
    assert drop(tab.drop_zone, _faces(shared_data))
    wait_until_stopped(qtbot, tab)
    rows = tab.results.rows()
    assert rows and {r.profile for r in rows} == {""}
    own = {(r.file, r.face): r.result.probabilities[SAD] for r in rows}
    assert own.keys() == sad.keys()
    assert all(sad[face] > own[face] + 0.05 for face in own)  # the profile's pull, on each


def test_a_profile_of_another_model_stops_the_run_with_a_message(
    qtbot, tab: BatchTab, tiny_model: Path, shared_data: Path, tmp_path: Path
) -> None:
    """A file copied by hand into the model's profiles, but made with the default model."""
    stray = tmp_path / "Theirs.profile"
    write_profile(a_profile("Theirs", paths.default_model_path()), stray)
    profiles_dir(tiny_model).mkdir(parents=True)
    shutil.copy(stray, profiles_dir(tiny_model))
    choose(tab, qtbot, "Theirs")
    assert drop(tab.drop_zone, _faces(shared_data))
    wait_until_stopped(qtbot, tab)
    assert tab.results.rowCount() == 0
    text = tab.message.text()
    assert text.startswith("Labelling stopped") and "made with the model default" in text
