import os
import sys
import threading
import time

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from emotion_desktop.core.errors import DatasetError, TrainingCancelled
from emotion_desktop.gui.main_window import MainWindow
from emotion_desktop.gui.workers import BACKGROUND_NICE, Task, running_threads, wait_for_workers

pytestmark = pytest.mark.gui


def test_window_has_the_three_tabs(qtbot, settings) -> None:
    window = MainWindow(settings)
    qtbot.addWidget(window)
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert tabs == ["Live", "Batch", "Training"]


def test_window_remembers_geometry_and_tab(qtbot, settings) -> None:
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.resize(700, 500)
    window.tabs.setCurrentIndex(2)
    window.close()
    again = MainWindow(settings)
    qtbot.addWidget(again)
    assert again.tabs.currentIndex() == 2 and again.size().width() == 700


def test_quit_asks_while_batch_results_are_not_exported(
    qtbot, settings, tiny_model, shared_data, monkeypatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes]
    monkeypatch.setattr(QMessageBox, "question", lambda *a: answers.pop(0))
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    window.active_model.set_active(tiny_model)
    window.batch.add_paths([next((shared_data / "faces" / "happy").glob("*.jpg"))])
    qtbot.waitUntil(window.batch.has_ended, timeout=60_000)
    assert window.batch.unexported() > 0
    window.tabs.setCurrentWidget(window.live)

    assert not window.close()  # Cancel: the window stays, on the tab that can export
    assert window.isVisible() and window.tabs.currentWidget() is window.batch
    assert window.close() and not answers  # Quit anyway
    window.batch.clear()  # qtbot closes it again at teardown, with no answer left


def test_task_delivers_progress_and_result(qtbot) -> None:
    task = Task()
    seen = []
    task.progress_changed.connect(seen.append)

    def work(report, cancelled):
        for i in range(3):
            report(i)
        return "done"

    with qtbot.waitSignal(task.finished, timeout=5000) as result:
        task.start(work)
    qtbot.waitUntil(lambda: not task.is_running())
    assert result.args == ["done"] and seen == [0, 1, 2] and running_threads() == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
@pytest.mark.parametrize("background", [False, True])
def test_background_task_runs_below_the_gui_thread(qtbot, background) -> None:
    task = Task(background=background)
    gui_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def work(report, cancelled):
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    with qtbot.waitSignal(task.finished, timeout=5000) as result:
        task.start(work)
    qtbot.waitUntil(lambda: not task.is_running())
    expected = min(gui_nice + BACKGROUND_NICE, 19) if background else gui_nice
    assert result.args == [expected]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == gui_nice


def test_task_turns_user_errors_into_one_message(qtbot) -> None:
    task = Task()

    def work(report, cancelled):
        raise DatasetError("no KDEF images found in /x")

    with qtbot.waitSignal(task.failed, timeout=5000) as failed:
        task.start(work)
    qtbot.waitUntil(lambda: not task.is_running())
    assert failed.args == ["no KDEF images found in /x"]


def test_task_cancel_and_stop_join_the_thread(qtbot) -> None:
    task = Task()

    def work(report, cancelled):
        while not cancelled():
            pass
        raise TrainingCancelled("stopped")

    with qtbot.waitSignal(task.cancelled, timeout=5000):
        task.start(work)
        task.cancel()
    assert task.stop(5000) and running_threads() == 0


def test_a_step_that_outlasts_the_close_is_joined_before_the_app_ends(qtbot) -> None:
    """A QThread destroyed while it runs aborts the process: what the step was saving is lost."""
    task = Task()
    saved = threading.Event()

    def save_without_looking_at_cancel(report, cancelled):
        time.sleep(0.5)
        saved.set()

    task.start(save_without_looking_at_cancel)
    assert not task.stop(timeout_ms=10) and running_threads() == 1  # the window's join gave up
    wait_for_workers()
    assert saved.is_set() and running_threads() == 0


def test_a_run_ends_its_thread_without_the_gui_event_loop(qtbot) -> None:
    """After ``app.exec()`` returns nothing delivers queued signals: a run that ends then (one
    started by the window's close) must still end its thread, or wait_for_workers hangs."""
    task = Task()
    task.start(lambda report, cancelled: "done")
    deadline = time.monotonic() + 5
    while running_threads() and time.monotonic() < deadline:
        time.sleep(0.02)  # no events processed, as after the app's loop
    left = running_threads()
    qtbot.waitUntil(lambda: not task.is_running(), timeout=5000)
    assert left == 0
    assert wait_for_workers(timeout_s=5)


def test_a_task_can_start_again_right_after_stop(qtbot) -> None:
    task = Task()
    results = []
    task.finished.connect(results.append)

    def wait_for_cancel(report, cancelled):
        while not cancelled():
            pass
        return "first"

    task.start(wait_for_cancel)
    assert task.stop(5000)
    task.start(lambda report, cancelled: "second")  # the first thread's signals still queued
    qtbot.waitUntil(lambda: "second" in results and not task.is_running(), timeout=5000)
    assert running_threads() == 0


def test_view_shortcuts_switch_tabs(qtbot, settings) -> None:
    window = MainWindow(settings)
    qtbot.addWidget(window)
    actions = {
        a.shortcut().toString(): a for m in window.menuBar().actions() for a in m.menu().actions()
    }
    actions["Ctrl+3"].trigger()
    assert window.tabs.currentWidget() is window.training
    actions["Ctrl+1"].trigger()
    assert window.tabs.currentWidget() is window.live


def test_thousands_of_progress_events_cross_threads_intact(qtbot) -> None:
    """A training run or a live camera sends thousands of events; PySide6 6.12.0 aborted the
    process after a few thousand (a reference-count bug), so this guards the pinned version."""
    task = Task()
    seen = []
    task.progress_changed.connect(seen.append)

    def work(report, cancelled):
        for i in range(20_000):
            report(i)
        return True

    with qtbot.waitSignal(task.finished, timeout=30_000):
        task.start(work)
    qtbot.waitUntil(lambda: not task.is_running())
    assert seen == list(range(20_000))


CORRUPT_SETTINGS = [
    ("live/smoothing", "abc"),
    ("live/threshold", "1e999"),
    ("live/mirror", "perhaps"),
    ("window/tab", "two"),
    ("window/geometry", "abc"),
    ("window/geometry", "@ByteArray(not a geometry)"),
    ("batch/min_confidence", "nan"),
    ("batch/recent_folders", "7"),
    ("training/parameters", '{"epochs_cnn": "many", "lr": [1]}'),
    ("training/parameters", "[1, 2]"),
    ("training/extra_weight", "heavy"),
]


@pytest.mark.parametrize(("key", "value"), CORRUPT_SETTINGS)
def test_the_window_opens_with_a_damaged_setting(qtbot, tmp_path, key, value) -> None:
    path = tmp_path / "settings.ini"
    group, name = key.split("/")
    path.write_text(f"[{group}]\n{name}={value}\n")
    window = MainWindow(QSettings(str(path), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    assert window.tabs.count() == 3
    window.close()


OUT_OF_RANGE_SETTINGS = [  # each once raised OverflowError or RecursionError as the window opened
    ("window/tab", "2147483648", lambda w: w.tabs.currentIndex() == 0),
    ("live/smoothing", str(2**70), lambda w: w.live.smoothing_slider.value() == 60),
    ("live/threshold", str(-(2**70)), lambda w: w.live.threshold_slider.value() == 45),
    ("batch/min_confidence", "1e308", lambda w: w.batch.min_confidence.value() == 0),
    ("training/extra_weight", "1e308", lambda w: w.training.data.extra_weight.value() == 3.0),
    (
        "training/parameters",
        "[" * 100_000,
        lambda w: w.training.params.preset.currentText() == "Quick",
    ),
    ("training/unfinished", "[" * 100_000, lambda w: w.training.output_path().suffix == ".pt"),
]


@pytest.mark.parametrize(("key", "value", "shows_default"), OUT_OF_RANGE_SETTINGS)
def test_the_window_opens_with_defaults_for_out_of_range_settings(
    qtbot, tmp_path, key, value, shows_default
) -> None:
    path = tmp_path / "settings.ini"
    group, name = key.split("/")
    path.write_text(f"[{group}]\n{name}={value}\n")
    window = MainWindow(QSettings(str(path), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    assert window.tabs.count() == 3 and shows_default(window)
    window.close()


@pytest.mark.parametrize(
    "card",
    [
        '{"test": [1], "data": "KDEF", "split": 3, "name": 5}',
        '{"test": {"accuracy": "high"}, "data": {"sources": "all"}, "created": 7}',
        '{"tests": {"kdef": 0.9}, "data": {"sources": [1, {"name": "x"}]}}',
        "[1, 2, 3]",
    ],
)
def test_the_window_opens_with_a_damaged_model_card(qtbot, settings, tiny_model, card) -> None:
    from emotion_desktop.core import paths

    models = paths.models_dir()
    models.mkdir(parents=True, exist_ok=True)
    copy = models / "mine.pt"
    copy.write_bytes(tiny_model.read_bytes())
    copy.with_suffix(".json").write_text(card)
    paths.set_active_model(copy)
    window = MainWindow(settings)
    qtbot.addWidget(window)
    manager = window.training.manager
    names = [manager.table.item(r, 1).text() for r in range(manager.table.rowCount())]
    assert "mine" in names
    window.close()


def test_try_it_live_makes_the_run_active_and_shows_live(qtbot, settings, own_model) -> None:
    from emotion_desktop.core import paths

    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.tabs.setCurrentWidget(window.training)
    model = own_model
    window.training.live_requested.emit(model)
    assert paths.active_model_path() == model.resolve()
    assert window.tabs.currentWidget() is window.live
    assert "tiny" in window.statusBar().currentMessage()


def test_the_model_list_renames_exports_and_deletes_own_models_only(
    qtbot, settings, own_model, tmp_path, monkeypatch
) -> None:
    from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

    from emotion_desktop.core import paths

    model = own_model
    window = MainWindow(settings)
    qtbot.addWidget(window)
    manager = window.training.manager
    manager.select(paths.default_model_path())
    assert not manager.rename_button.isEnabled() and not manager.delete_button.isEnabled()
    assert manager.export_button.isEnabled()

    manager.select(model)
    manager.use_button.click()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("renamed", True))
    manager.rename_button.click()
    renamed = model.with_name("renamed.pt")
    names = [manager.table.item(r, 1).text() for r in range(manager.table.rowCount())]
    assert "renamed" in names and "tiny" not in names
    assert paths.active_model_path() == renamed.resolve()

    manager.select(renamed)
    target = tmp_path / "exported.pt"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    manager.export_button.click()
    assert target.is_file() and target.with_suffix(".json").is_file()

    manager.select(renamed)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    manager.delete_button.click()
    assert not renamed.exists() and paths.active_model_path() == paths.default_model_path()
    names = [manager.table.item(r, 1).text() for r in range(manager.table.rowCount())]
    assert "renamed" not in names
    assert "default (shipped)" in names


def test_a_finished_run_frees_its_function_and_its_runner(qtbot) -> None:
    """What a run's function holds (Live's last frames, its video source) must not outlive the
    run: each Live Start/Stop used to keep two frames, 0.7 MB, for good."""
    import gc
    import weakref

    import shiboken6

    class Frame:  # stands for the numpy frames a capture closure keeps
        pass

    frame = Frame()
    alive = weakref.ref(frame)
    task = Task()
    task.start(lambda report, cancelled, held=frame: report(id(held)))
    runner = task._runner
    del frame
    qtbot.waitUntil(lambda: not task.is_running(), timeout=5000)
    gc.collect()
    assert alive() is None
    qtbot.waitUntil(lambda: not shiboken6.isValid(runner), timeout=5000)


def test_retire_returns_at_once_and_drops_the_old_runs_events(qtbot) -> None:
    task = Task()
    release = threading.Event()
    seen = []
    task.progress_changed.connect(seen.append)

    def slow(report, cancelled):  # ignores cancel until released, like a frame in flight
        release.wait(5)
        report("old")

    task.start(slow)
    started = time.monotonic()
    task.retire()
    assert time.monotonic() - started < 0.1 and not task.is_running()
    task.start(lambda report, cancelled: report("new"))
    qtbot.waitUntil(lambda: seen == ["new"], timeout=5000)
    release.set()
    assert task.stop()  # joins the retired run too
    QApplication.processEvents()  # the old run has ended: its queued event arrives, dropped
    assert seen == ["new"] and running_threads() == 0


def test_live_analyses_fewer_frames_while_a_training_run_shares_the_cores(
    qtbot, settings, tiny_model, kdef_folder, shared_data
) -> None:
    from dataclasses import replace

    from emotion_desktop.core.live.pacing import SHARED_FPS
    from emotion_desktop.gui.training.parameters import PRESETS

    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.active_model.set_active(tiny_model)
    window.play_live(shared_data / "video" / "WolfgangLanger_Pexels.mp4")
    qtbot.waitUntil(lambda: window.live.latest() is not None, timeout=20_000)
    assert window.live.latest().max_fps is None  # alone: every frame the camera gives
    training = window.training
    training.data.set_folder(kdef_folder)
    training.params.apply_config(
        replace(PRESETS["Quick"], epochs_cae=1, epochs_cnn=200, input_size=24)
    )
    with qtbot.waitSignal(training.running_changed) as started:
        training.start()
    assert started.args == [True]
    qtbot.waitUntil(lambda: window.live.latest().max_fps == SHARED_FPS, timeout=5000)
    qtbot.waitUntil(lambda: window.live.latest().paced > 0, timeout=5000)
    qtbot.waitUntil(lambda: "while training" in window.live.status.text(), timeout=5000)
    with qtbot.waitSignal(training.running_changed, timeout=20_000) as ended:
        training.cancel_button.click()
    assert ended.args == [False]
    qtbot.waitUntil(lambda: window.live.latest().max_fps is None, timeout=5000)
    qtbot.waitUntil(lambda: "while training" not in window.live.status.text(), timeout=5000)
    window.live.stop()
    qtbot.waitUntil(lambda: running_threads() == 0, timeout=20_000)
