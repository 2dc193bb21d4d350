"""The Live tab driven offscreen with the shared video, the tiny model and failing fakes."""

from __future__ import annotations

import csv
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QImage

from emotion_desktop.core.emotions import EMOTIONS, NAMES
from emotion_desktop.core.errors import VideoSourceError
from emotion_desktop.core.runtime import configure_torch
from emotion_desktop.core.stream.tracking import largest
from emotion_desktop.core.stream.video import VideoSource
from emotion_desktop.core.vision.faces import Box
from emotion_desktop.gui.active_model import ActiveModel
from emotion_desktop.gui.live.tab import LiveTab
from emotion_desktop.gui.live.view import NO_FACE_NOTICE, overlay_items
from emotion_desktop.gui.workers import running_threads
from tests.core.test_video import write_video

pytestmark = pytest.mark.gui
WAIT_MS = 20_000  # generous: the two cores are shared; a passing run takes a second or two


@pytest.fixture
def video(shared_data: Path) -> Path:
    return shared_data / "video" / "WolfgangLanger_Pexels.mp4"


@pytest.fixture
def tab(qtbot, settings: QSettings):
    tab = LiveTab(ActiveModel(), settings)
    qtbot.addWidget(tab)
    tab.resize(1000, 600)
    tab.show()
    yield tab
    tab.shutdown()


@pytest.fixture
def with_model(tab: LiveTab, tiny_model: Path) -> Path:
    tab.active_model.set_active(tiny_model)
    return tiny_model


def wait_for_painted_faces(qtbot, tab: LiveTab) -> None:
    qtbot.waitUntil(lambda: bool(tab.view.painted), timeout=WAIT_MS)


def wait_until_stopped(qtbot, tab: LiveTab) -> None:
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=WAIT_MS)
    assert running_threads() == 0


class BrokenCamera:
    """Delivers a few frames of a real video, then fails as an unplugged camera does."""

    description = "camera 7"
    is_camera = True

    def __init__(self, video: Path, frames: int = 5) -> None:
        self._video = VideoSource(video)
        self._left = frames

    def open(self) -> None:
        self._video.open()

    def read(self, cancelled: object = None) -> np.ndarray | None:
        if self._left == 0:
            raise VideoSourceError("camera 7 stopped delivering frames (unplugged)")
        self._left -= 1
        return self._video.read()

    def close(self) -> None:
        self._video.close()


class EmptyRoom:
    """A camera looking at a grey wall: frames keep coming, no face in any of them."""

    description = "camera 3"
    is_camera = True

    def open(self) -> None:
        pass

    def read(self, cancelled: object = None) -> np.ndarray:
        return np.full((240, 320, 3), 128, np.uint8)

    def close(self) -> None:
        pass


def test_video_faces_are_painted_with_coloured_boxes_labels_and_panel(
    qtbot, tab: LiveTab, with_model: Path, video: Path
) -> None:
    tab.set_video_file(video)
    tab.start()
    wait_for_painted_faces(qtbot, tab)
    result = tab.view.painted_result
    assert result is not None and result.model == with_model.resolve()
    assert tab.view.painted == overlay_items(result, mirrored=False)
    colours = {e.colour for e in EMOTIONS}
    for item, face in zip(tab.view.painted, result.faces):
        assert item.colour in colours
        assert item.text == "uncertain" if face.uncertain else item.text.split()[0] in NAMES
        assert 100 < item.box.w < 360 and 0 <= item.box.x <= 640 - item.box.w
    shown = largest(tab.view.result.faces)
    assert tab.panel.values() == pytest.approx(shown.probabilities, abs=1e-3)
    assert sum(tab.panel.values()) == pytest.approx(1.0, abs=0.01)
    qtbot.waitUntil(lambda: tab.timeline.point_count() > 3, timeout=WAIT_MS)
    assert "fps" in tab.status.text() and "dropped" in tab.status.text()
    assert tab.start_button.text() == "Stop"


def test_mirror_flips_the_painted_boxes(qtbot, tab: LiveTab, with_model: Path, video: Path) -> None:
    tab.set_video_file(video)
    tab.start()
    wait_for_painted_faces(qtbot, tab)
    tab.mirror_box.setChecked(True)
    tab.view.repaint()
    result = tab.view.painted_result
    for item, face in zip(tab.view.painted, result.faces):
        assert item.box == Box(640 - face.box.x - face.box.w, face.box.y, face.box.w, face.box.h)
    assert tab.settings.value("live/mirror") == "true"


def test_snapshot_and_recording_write_files(
    qtbot, tab: LiveTab, with_model: Path, video: Path, tmp_path: Path
) -> None:
    tab.set_video_file(video)
    tab.start()
    recording = tab.record_button.start(tmp_path / "faces.csv")
    assert tab.record_button.isChecked()
    wait_for_painted_faces(qtbot, tab)
    qtbot.waitUntil(lambda: tab.latest().frame.index > 5, timeout=WAIT_MS)
    assert tab.record_button.stop() == recording and not tab.record_button.isChecked()
    with recording.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and {"timestamp", "face_id", "x", "w", *NAMES} <= set(rows[0])
    assert sum(float(rows[0][n]) for n in NAMES) == pytest.approx(1.0, abs=0.01)

    first, second = tab.save_snapshot(), tab.save_snapshot()  # most often in one second
    assert first != second and first.is_file() and second.is_file()

    item = overlay_items(tab.view.result, mirrored=False)[0]
    path = tab.save_snapshot(tmp_path / "snap.png")
    image = QImage(str(path))
    assert (image.width(), image.height()) == (640, 360)
    edge = image.pixelColor(item.box.x, item.box.y + item.box.h // 2)
    assert edge == QColor(item.colour)


def test_camera_failing_mid_stream_shows_retry_and_recovers(
    qtbot, tab: LiveTab, with_model: Path, video: Path
) -> None:
    sources = iter([BrokenCamera(video), VideoSource(video, realtime=True)])
    with qtbot.waitSignal(tab.failed, timeout=WAIT_MS) as failed:
        tab.start(lambda: next(sources))
    assert "unplugged" in failed.args[0] and "unplugged" in tab.message_text()
    assert tab.retry_button.isVisible()
    wait_until_stopped(qtbot, tab)
    assert tab.start_button.text() == "Start"
    tab.snapshot_button.click()  # a note after the failure keeps the failure and its Retry
    note, failure = tab.message_text().splitlines()  # saved, or nothing shown yet to save
    assert note.startswith(("Snapshot saved", "Nothing to save")) and "unplugged" in failure
    assert tab.retry_button.isVisible()

    qtbot.mouseClick(tab.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: tab.latest() is not None and tab.latest().frame.index > 8, timeout=WAIT_MS
    )
    assert tab.message_text() == "" and tab.is_running()


def test_frames_without_a_face_say_so(qtbot, tab: LiveTab, with_model: Path) -> None:
    tab.start(EmptyRoom)
    qtbot.waitUntil(lambda: tab.view.painted_result is not None, timeout=WAIT_MS)
    assert tab.view.painted == () and tab.view.notice == NO_FACE_NOTICE
    assert tab.panel.title.text() == "No face" and sum(tab.panel.values()) == 0


def test_video_that_will_not_open_shows_a_message(
    qtbot, tab: LiveTab, with_model: Path, tmp_path: Path
) -> None:
    bogus = tmp_path / "holiday.mp4"
    bogus.write_bytes(b"not a video" * 100)
    tab.set_video_file(bogus)
    with qtbot.waitSignal(tab.failed, timeout=WAIT_MS):
        tab.start()
    assert "holiday.mp4 is not a video" in tab.message_text()
    wait_until_stopped(qtbot, tab)


def test_end_of_a_video_that_does_not_loop(
    qtbot, tab: LiveTab, with_model: Path, tmp_path: Path
) -> None:
    tab.loop_box.setChecked(False)
    tab.set_video_file(write_video(tmp_path / "short.avi"))
    tab.start()
    qtbot.waitUntil(lambda: "End of the video" in tab.message_text(), timeout=WAIT_MS)
    wait_until_stopped(qtbot, tab)
    assert not tab.retry_button.isVisibleTo(tab)


def test_missing_model_is_a_message_not_a_crash(
    qtbot, tab: LiveTab, video: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"truncated")
    tab.active_model.set_active(broken)
    tab.set_video_file(video)
    with qtbot.waitSignal(tab.failed, timeout=WAIT_MS):
        tab.start()
    assert tab.message_text().startswith("No model to run")
    assert "Training tab" in tab.message_text()
    wait_until_stopped(qtbot, tab)


@pytest.mark.skipif(
    any(Path(f"/dev/video{i}").exists() for i in range(4)), reason="a camera is connected"
)
def test_no_camera_offers_retry(qtbot, tab: LiveTab) -> None:
    qtbot.waitUntil(lambda: tab.source_box.currentText() == "No camera found", timeout=WAIT_MS)
    assert tab.source_box.currentData() == "none"
    tab.start()
    assert tab.message_text().startswith("No camera found")
    assert tab.retry_button.isVisibleTo(tab) and not tab.is_running()


def test_model_swap_reaches_the_running_worker(
    qtbot, tab: LiveTab, with_model: Path, video: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.pt"
    shutil.copy(with_model, other)
    tab.set_video_file(video)
    tab.start()
    qtbot.waitUntil(lambda: tab.latest() is not None, timeout=WAIT_MS)
    tab.active_model.set_active(other)
    qtbot.waitUntil(lambda: tab.latest().model == other.resolve(), timeout=WAIT_MS)
    assert tab.is_running() and tab.message_text() == ""


def test_source_and_settings_are_remembered(
    qtbot, tab: LiveTab, settings: QSettings, video: Path
) -> None:
    tab.set_video_file(video)
    tab.smoothing_slider.setValue(20)
    tab.threshold_slider.setValue(70)
    tab.loop_box.setChecked(False)
    again = LiveTab(ActiveModel(), settings)
    qtbot.addWidget(again)
    assert again.source_box.currentData() == f"file:{video.resolve()}"
    assert again.source_box.currentText() == video.name
    assert (again.smoothing_slider.value(), again.threshold_slider.value()) == (20, 70)
    assert not again.loop_box.isChecked()
    again.shutdown()


def test_shutdown_joins_the_workers(qtbot, tab: LiveTab, with_model: Path, video: Path) -> None:
    tab.set_video_file(video)
    tab.start()
    qtbot.waitUntil(lambda: tab.latest() is not None, timeout=WAIT_MS)
    assert running_threads() == 2
    tab.shutdown()
    assert running_threads() == 0 and not tab.is_running()


def _resident_mb() -> float:
    with open("/proc/self/status") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
    return kb / 1024


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads Linux's /proc")
def test_three_hundred_starts_and_stops_stay_within_30_mb(
    qtbot, tab: LiveTab, with_model: Path, video: Path
) -> None:
    tab.set_video_file(video)

    def cycle() -> None:
        tab.start()
        qtbot.waitUntil(lambda: tab.latest() is not None, timeout=WAIT_MS)
        tab.stop()
        qtbot.waitUntil(lambda: not tab.is_running(), timeout=WAIT_MS)

    for _ in range(10):  # caches, the model and the first allocations settle
        cycle()
    before = _resident_mb()
    for _ in range(300):
        cycle()
    assert _resident_mb() - before < 30  # 0.7 MB a cycle (210 MB) before runs freed frames


def test_running_live_leaves_torch_threads_alone(
    qtbot, tab: LiveTab, with_model: Path, video: Path
) -> None:
    """Live computes on one thread of its own; a training run started beside it (a new thread)
    gets the process's threads, and the GUI thread keeps its own."""
    configured = configure_torch()
    assert configure_torch(configured + 1) == configured  # set once per process
    gui_threads = torch.get_num_threads()
    tab.set_video_file(video)
    tab.start()
    wait_for_painted_faces(qtbot, tab)
    started_beside: list[int] = []
    beside = threading.Thread(target=lambda: started_beside.append(torch.get_num_threads()))
    beside.start()
    beside.join()
    assert started_beside == [configured]
    assert torch.get_num_threads() == gui_threads
    tab.stop()
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=WAIT_MS)
    assert torch.get_num_threads() == gui_threads


def test_sliders_reach_the_running_worker(
    qtbot, tab: LiveTab, with_model: Path, video: Path
) -> None:
    """The worker owns its tracker and takes the sliders' values from the tab's snapshot."""
    tab.threshold_slider.setValue(0)
    tab.set_video_file(video)
    tab.start()
    wait_for_painted_faces(qtbot, tab)
    tab.threshold_slider.setValue(100)  # nothing is that certain: every face turns uncertain

    def all_uncertain() -> bool:
        result = tab.latest()
        return result is not None and bool(result.faces) and all(f.uncertain for f in result.faces)

    qtbot.waitUntil(all_uncertain, timeout=WAIT_MS)
    tab.stop()
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=WAIT_MS)


def test_snapshot_and_record_say_why_when_the_folder_cannot_be_made(
    qtbot, tab: LiveTab, with_model: Path, video: Path, tmp_path: Path, monkeypatch
) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("where the data folder should be")
    monkeypatch.setenv("EMOTION_DESKTOP_DATA_DIR", str(blocker))
    tab.set_video_file(video)
    tab.start()
    wait_for_painted_faces(qtbot, tab)
    assert tab.save_snapshot() is None and "Could not create" in tab.message_text()
    tab.record_button.click()
    assert not tab.record_button.isChecked() and "Could not start recording" in tab.message_text()
    tab.stop()
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=WAIT_MS)


def test_cameras_are_probed_off_the_gui_thread(qtbot, settings: QSettings, monkeypatch) -> None:
    """Opening a camera can take seconds; the tab is built, and answers, before that."""
    import emotion_desktop.gui.live.tab as live

    def slow_probe() -> list[int]:
        time.sleep(1.0)
        return [7]

    monkeypatch.setattr(live, "list_cameras", slow_probe)
    started = time.monotonic()
    tab = LiveTab(ActiveModel(), settings)
    qtbot.addWidget(tab)
    assert time.monotonic() - started < 0.8
    assert tab.source_box.currentText() == "Looking for cameras…"
    qtbot.waitUntil(lambda: tab.source_box.findData("camera:7") >= 0, timeout=WAIT_MS)
    tab.shutdown()


def test_start_during_the_camera_search_waits_for_it(
    qtbot, settings: QSettings, monkeypatch
) -> None:
    """Start (F5) right after launch once said "No camera found" while the search still ran."""
    import emotion_desktop.gui.live.tab as live

    def slow_probe() -> list[int]:
        time.sleep(1.0)
        return []

    monkeypatch.setattr(live, "list_cameras", slow_probe)
    tab = LiveTab(ActiveModel(), settings)
    qtbot.addWidget(tab)
    tab.start()
    assert tab.message_text() == "Looking for cameras…"
    qtbot.waitUntil(lambda: "No camera found" in tab.message_text(), timeout=WAIT_MS)
    tab.shutdown()


def test_f5_starts_and_stops(qtbot, tab: LiveTab, with_model: Path, video: Path) -> None:
    tab.set_video_file(video)
    tab.activateWindow()
    tab.setFocus()
    qtbot.keyClick(tab, Qt.Key.Key_F5)
    qtbot.waitUntil(tab.is_running, timeout=WAIT_MS)
    qtbot.keyClick(tab, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=WAIT_MS)


FULL_DISK = Path("/dev/full")  # every write fails with ENOSPC, as on a full disk


@pytest.mark.skipif(not FULL_DISK.exists(), reason="needs /dev/full (Linux)")
def test_recording_to_a_full_disk_says_so_and_live_keeps_running(
    qtbot, tab: LiveTab, with_model: Path, video: Path
) -> None:
    """Record on a full disk stopped Live with "unexpected error: OSError(28)", and turning
    Record off afterwards raised on the GUI thread."""
    tab.set_video_file(video)
    tab.start()
    tab.record_button.start(FULL_DISK)
    qtbot.waitUntil(lambda: "cannot write the recording" in tab.message_text(), timeout=WAIT_MS)
    message = tab.message_text()
    assert message == "cannot write the recording /dev/full: No space left on device"
    assert not tab.record_button.isChecked()  # the recording stopped, Live did not
    # the failure is reported just before its frame's result: that may not have arrived yet
    qtbot.waitUntil(lambda: tab.latest() is not None, timeout=WAIT_MS)
    frame = tab.latest().frame.index
    qtbot.waitUntil(lambda: tab.latest().frame.index > frame + 2, timeout=WAIT_MS)
    assert tab.is_running() and "unexpected" not in tab.message_text()
    tab.record_button.click()  # Record on again, and off: no error reaches the user
    tab.record_button.click()
    assert not tab.record_button.isChecked() and "unexpected" not in tab.message_text()
    assert tab.is_running()


@pytest.mark.skipif(not FULL_DISK.exists(), reason="needs /dev/full (Linux)")
def test_turning_record_off_on_a_full_disk_says_so(tab: LiveTab) -> None:
    """The rows (here the header) still buffered are written at close: on a full disk that
    raised OSError on the GUI thread."""
    tab.record_button.start(FULL_DISK)
    tab.record_button.click()  # off
    assert not tab.record_button.isChecked()
    assert tab.message_text() == "cannot write the recording /dev/full: No space left on device"


def test_the_status_line_changes_twice_a_second_and_shows_a_runs_last_figures(qtbot) -> None:
    from emotion_desktop.core.live.loop import CapturedFrame, LiveResult
    from emotion_desktop.core.stream.frames import StepTimings
    from emotion_desktop.gui.live.status import StatusLine

    def result(fps: float) -> LiveResult:
        frame = CapturedFrame(np.zeros((4, 4, 3), np.uint8), 0, 0.0)
        step = StepTimings(1.0, 1.0, 2.0, True)
        return LiveResult(frame, (), step, 24.0, fps, 0, Path("m.pt"))

    line = StatusLine()
    qtbot.addWidget(line)
    line.show_result(result(20.0), [2.0])
    assert "processed 20.0 fps" in line.text()
    line.show_result(result(21.0), [2.0])  # a frame later: every frame repainted the video twice
    assert "processed 20.0 fps" in line.text()
    line.show_result(result(22.0), [2.0], last=True)
    assert "processed 22.0 fps" in line.text()
