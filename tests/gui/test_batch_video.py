"""Videos in the Batch tab, driven like a user would: real drops of made and shared videos,
rows with frames and times, the per-video panel, Cancel and Clear in the middle of a video,
a bad video listed under Problems, and a GUI thread that never stalls while a video is read."""

from __future__ import annotations

import csv
import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QElapsedTimer, QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog

from emotion_desktop.core.batch.video import Sampling
from emotion_desktop.gui.active_model import ActiveModel
from emotion_desktop.gui.batch.options import BatchOptions
from emotion_desktop.gui.batch.rows import COL_FACE, COL_FRAME, COL_THUMB, COL_TIME
from emotion_desktop.gui.workers import running_threads
from tests.core.test_video_analysis import FPS, frame, write_video
from tests.gui.test_batch_tab import (
    RUN_TIMEOUT_MS,
    _faces,
    batch_tab,
    drop,
    wait_until_stopped,
)

pytestmark = pytest.mark.gui
FRAMES = 30


@pytest.fixture
def tab(qtbot, tiny_model: Path, settings: QSettings):
    yield from batch_tab(qtbot, tiny_model, settings, size=(1280, 720))


@pytest.fixture
def made_video(tmp_path: Path) -> Path:
    """Two drawn faces side by side for 3 s (30 frames at 10 fps)."""
    return write_video(tmp_path / "two.avi", [frame([(20, 60), (180, 60)])] * FRAMES)


@pytest.fixture
def shared_video(shared_data: Path) -> Path:
    return shared_data / "video" / "WolfgangLanger_Pexels.mp4"


def test_a_dropped_video_gives_rows_with_frames_times_and_its_faces_over_time(
    qtbot, tab, made_video
) -> None:
    assert drop(tab.drop_zone, [made_video])
    wait_until_stopped(qtbot, tab)
    rows = tab.results.rows()
    assert rows and {r.file for r in rows} == {made_video}
    assert sorted({r.frame for r in rows}) == list(range(FRAMES))
    assert all(r.time == pytest.approx(r.frame / FPS) for r in rows)
    model = tab.results
    assert model.data(model.index(3, COL_FRAME)) == str(rows[3].frame)
    assert model.data(model.index(3, COL_TIME)) == f"{rows[3].time:.2f}"
    assert model.data(model.index(3, COL_FACE)) == str(rows[3].face)  # the track id, as in CSV
    # a video row gets no thumbnail: its frame is never decoded again for one
    assert model.data(model.index(0, COL_THUMB), Qt.ItemDataRole.DecorationRole) is None
    assert tab.status.text().startswith("Done: 1 file · 60 faces")

    tab.results_pane.select_row(0)  # the user clicks a row of the video
    panel = tab.video_panel
    assert tab.side_tabs.currentWidget() is panel and panel.video() == made_video
    summary = panel.summary()
    faces = {f.face: f for f in summary.faces}
    assert set(faces) == {r.face for r in rows} and len(faces) == 2
    assert all(f.frames == FRAMES for f in faces.values())
    assert (summary.analysed, summary.faceless) == (FRAMES, 0)
    assert (
        panel.summary_table.rowCount() == 2 and "30 frames analysed" in panel.summary_label.text()
    )
    assert panel.face() == rows[0].face
    x, y = panel.timeline.curves()[0].getData()
    assert len(x) == FRAMES and x[-1] == pytest.approx((FRAMES - 1) / FPS)
    other = next(f for f in faces if f != panel.face())
    panel.face_box.setCurrentIndex(panel.face_box.findData(other))
    assert len(panel.timeline.curves()[3].getData()[0]) == FRAMES

    # a click on the timeline: the frame at that time, decoded on a worker, never here
    panel.frame_view.set_image(None)
    panel.show_frame_at(1.04)
    assert panel.timeline.cursor.value() == pytest.approx(1.0)
    assert panel.frame_view.pixmap().isNull()  # not decoded here: on the worker
    qtbot.waitUntil(lambda: not panel.frame_view.pixmap().isNull(), timeout=10_000)
    qtbot.waitUntil(lambda: not panel._decoder.is_running(), timeout=10_000)
    tab.side_tabs.setCurrentWidget(panel)
    viewport = panel.timeline.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=viewport.rect().center())
    assert 0 < panel.timeline.cursor.value() < FRAMES / FPS  # a real click moves the cursor
    assert panel.timeline.cursor.value() != pytest.approx(1.0)


def test_the_shared_video_and_a_folder_of_photos_and_videos(
    qtbot, tab, shared_video, made_video, shared_data, tmp_path
) -> None:
    folder = tmp_path / "mixed"
    (folder / "clips").mkdir(parents=True)
    for photo in _faces(shared_data)[:2]:
        shutil.copy(photo, folder / photo.name)
    shutil.copy(made_video, folder / "clips" / made_video.name)
    shutil.copy(shared_video, folder / "clips" / shared_video.name)
    tab.options.sampling_box.setCurrentIndex(tab.options.sampling_box.findData("nth"))
    tab.options.sampling_n.setValue(4)
    assert tab.options.sampling() == Sampling(every=4)
    assert drop(tab.drop_zone, [folder])
    wait_until_stopped(qtbot, tab)
    rows = tab.results.rows()
    photos = [r for r in rows if r.frame is None]
    shared = [r for r in rows if r.file.name == shared_video.name]
    assert {r.file.name for r in photos} == {p.name for p in _faces(shared_data)[:2]}
    assert shared and all(r.frame % 4 == 0 and r.time is not None for r in shared)
    assert tab.status.text().startswith("Done: 4 files ·")
    assert tab.progress.value() == tab.progress.maximum()
    clips = folder / "clips"
    assert tab.results.videos() == [clips / shared_video.name, clips / "two.avi"]  # walk order
    tab.video_panel.show_video(folder / "clips" / shared_video.name)
    summary = tab.video_panel.summary()
    assert summary.analysed == 118 and summary.faces  # 472 frames, every 4th
    assert sum(f.frames for f in summary.faces) >= summary.analysed - summary.faceless
    assert tab.settings.value("batch/video_sampling") == "nth"


def test_cancel_in_the_middle_of_a_video_keeps_its_rows(qtbot, tab, shared_video) -> None:
    assert drop(tab.drop_zone, [shared_video])
    qtbot.waitUntil(lambda: "frames/s" in tab.status.text(), timeout=RUN_TIMEOUT_MS)
    # the video's own progress: frames read of its total, their rate, its time left
    status = tab.status.text()
    assert re.search(r"WolfgangLanger_Pexels\.mp4: [\d,]+ of 472 frames · [\d.]+ frames/s", status)
    assert " left" in status
    assert 0 < tab.progress.value() < tab.progress.maximum()
    tab.cancel()
    wait_until_stopped(qtbot, tab)
    kept = tab.results.rowCount()
    QApplication.processEvents()  # the run has ended: nothing it sent is still queued
    assert 0 < kept == tab.results.rowCount() and running_threads() == 0
    assert max(r.frame for r in tab.results.rows()) < 471
    assert not tab.cancel_button.isEnabled() and tab.status.text().startswith("Cancelled:")


def test_clear_in_the_middle_of_a_video_leaves_nothing(qtbot, tab, shared_video) -> None:
    assert drop(tab.drop_zone, [shared_video])
    qtbot.waitUntil(lambda: tab.results.rowCount() > 0, timeout=RUN_TIMEOUT_MS)
    tab.results_pane.select_row(0)
    tab.clear()
    qtbot.waitUntil(tab.has_ended, timeout=RUN_TIMEOUT_MS)
    QApplication.processEvents()
    assert tab.results.rowCount() == 0 and not tab.is_running() and tab.counts.sum() == 0
    assert tab.video_panel.video() is None and tab.video_panel.summary_table.rowCount() == 0
    assert tab.status.text() == "Drop a folder to start."


def test_pause_in_a_video_holds_its_rows(qtbot, tab, shared_video) -> None:
    assert drop(tab.drop_zone, [shared_video])
    qtbot.waitUntil(lambda: tab.results.rowCount() > 0, timeout=RUN_TIMEOUT_MS)
    tab.pause()
    qtbot.waitUntil(tab.is_holding, timeout=RUN_TIMEOUT_MS)
    QApplication.processEvents()
    held = tab.results.rowCount()
    QApplication.processEvents()
    assert tab.results.rowCount() == held and "paused" in tab.status.text()
    tab.cancel()
    wait_until_stopped(qtbot, tab)


def test_a_bad_video_is_a_problem_and_the_run_goes_on(qtbot, tab, made_video, tmp_path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a_broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    shutil.copy(made_video, folder / "b_good.avi")
    assert drop(tab.drop_zone, [folder])
    wait_until_stopped(qtbot, tab)
    problems = [p.file.name for p in tab.problems.problems()]
    assert problems == ["a_broken.mp4"] and tab.problems_label.text() == "Problems (1)"
    assert {r.file.name for r in tab.results.rows()} == {"b_good.avi"}
    assert tab.status.text().startswith("Done: 2 files ·")


def test_video_rows_are_written_as_they_come_and_exported(qtbot, tab, made_video, tmp_path) -> None:
    live = tmp_path / "live.csv"
    tab.live_csv_edit.setText(str(live))
    tab.live_csv_box.setChecked(True)
    assert drop(tab.drop_zone, [made_video])
    wait_until_stopped(qtbot, tab)
    written = list(csv.DictReader(live.open()))
    assert len(written) == tab.results.rowCount() and written[5]["frame"] != ""
    assert float(written[5]["time"]) == pytest.approx(int(written[5]["frame"]) / FPS)
    out = tmp_path / "rows.json"
    assert tab.export(out) == tab.results.rowCount()
    records = json.loads(out.read_text())
    records = records["rows"] if isinstance(records, dict) else records
    assert {r["frame"] for r in records} == set(range(FRAMES))


def test_the_gui_thread_never_stalls_while_a_video_is_read(qtbot, tab, shared_video) -> None:
    """A 5 ms timer on the GUI thread: the longest gap between its ticks while the shared
    video is analysed (benchmarks/live.py part 2's measure)."""
    clock, gaps = QElapsedTimer(), []
    clock.start()
    last = [clock.elapsed()]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer(interval=5)
    timer.timeout.connect(tick)
    timer.start()
    assert drop(tab.drop_zone, [shared_video])
    started = time.monotonic()
    last[0] = clock.elapsed()
    wait_until_stopped(qtbot, tab)
    timer.stop()
    longest = max(gaps)
    print(
        f"\nlongest GUI-thread gap while the video was read: {longest} ms "
        f"over {time.monotonic() - started:.1f} s, {len(gaps)} ticks, "
        f"median {float(np.median(gaps)):.1f} ms"
    )
    assert tab.results.rowCount() > 0
    assert longest < 250


def test_add_files_offers_videos_and_labels_the_one_picked(
    qtbot, tab, made_video, monkeypatch
) -> None:
    asked = []

    def pick(parent, title, start, filters):
        asked.append(filters)
        return [str(made_video)], ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", pick)
    tab.add_files_button.click()
    assert "*.mp4" in asked[0] and "*.avi" in asked[0] and "*.jpg" in asked[0]
    wait_until_stopped(qtbot, tab)
    assert {r.file for r in tab.results.rows()} == {made_video}


def test_the_sampling_is_remembered(qtbot, settings) -> None:
    options = BatchOptions(settings, ActiveModel())
    qtbot.addWidget(options)
    assert options.sampling() == Sampling() and not options.sampling_n.isEnabled()
    options.sampling_box.setCurrentIndex(options.sampling_box.findData("fps"))
    options.sampling_n.setValue(3)
    options.save()
    again = BatchOptions(settings, ActiveModel())
    qtbot.addWidget(again)
    assert again.sampling() == Sampling(fps=3.0) and again.sampling_n.isEnabled()
