import json
import time
from dataclasses import replace

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from emotion_desktop.core import paths
from emotion_desktop.core.model.card import ModelCard
from emotion_desktop.core.train.config import TrainConfig
from emotion_desktop.core.train.loop import STAGE_CNN, Progress
from emotion_desktop.gui.active_model import ActiveModel
from emotion_desktop.gui.training.models import training_time
from emotion_desktop.gui.training.plots import MAX_BATCH_POINTS, TrainingCurves
from emotion_desktop.gui.training.tab import PRESETS, TrainingTab
from emotion_desktop.gui.workers import running_threads

pytestmark = pytest.mark.gui


@pytest.fixture
def tab(qtbot, settings):
    widget = TrainingTab(ActiveModel(), settings)
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()


def _tiny(tab: TrainingTab) -> None:
    tab.params.apply_config(
        replace(PRESETS["Quick"], epochs_cae=1, epochs_cnn=3, input_size=24, batch_size=32)
    )


def test_dropping_a_folder_shows_what_it_holds(tab, qtbot, kdef_folder) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(kdef_folder))])
    event = QDropEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    tab.dropEvent(event)
    qtbot.waitUntil(lambda: "KDEF images" in tab.data.found_label.text(), timeout=5000)
    assert "168 KDEF images of 6 people" in tab.data.found_label.text()
    assert tab.data.counts.item(3, 0).text() == "12"  # happy, straight
    assert tab.data.recent_folders()[0] == str(kdef_folder)


def test_a_run_plots_both_stages_and_lists_the_model(tab, qtbot, kdef_folder, monkeypatch) -> None:
    tab.data.set_folder(kdef_folder)
    _tiny(tab)
    tab.start()
    qtbot.waitUntil(lambda: not tab.train_task.is_running(), timeout=180_000)
    assert tab.progress_bar.value() == 1000
    assert tab.curves.count("cae_train") == 1 and tab.curves.count("cnn_val") == 3
    assert tab.curves.count("cnn_batch") > 3 and tab.preview.pixmap() is not None
    assert tab.pages.currentWidget() is tab.result_page  # the run's figures show at once
    view = tab.result_view
    assert view.source.currentText() == "KDEF" and "35 test faces" in view.run_column.figures.text()
    matrix = view.run_column.confusion
    assert sum(int(matrix.value(r, c)) for r in range(7) for c in range(7)) == 35
    active = view.active_column.confusion  # the shipped default, measured on its own KDEF split
    assert sum(int(active.value(r, r)) for r in range(7)) > 0
    names = [tab.manager.table.item(r, 1).text() for r in range(tab.manager.table.rowCount())]
    assert tab.result.path.stem in names
    with qtbot.waitSignal(tab.live_requested) as tried:
        view.try_button.click()
    assert tried.args == [tab.result.path]

    tab.manager.select(tab.result.path)
    tab.manager.use_button.click()
    assert paths.active_model_path() == tab.result.path
    assert tab.active_model.loaded().path == tab.result.path
    tab.manager.default_button.click()
    assert paths.active_model_path() == paths.default_model_path()

    # renamed, then deleted on the Models page: "Try it live" follows it, then is off (a stale
    # path once made the shipped default active)
    monkeypatch.setattr(QInputDialog, "getText", lambda *args, **kwargs: ("my model", True))
    tab.manager.rename_button.click()
    with qtbot.waitSignal(tab.live_requested) as tried:
        view.try_button.click()
    assert tried.args == [paths.models_dir() / "my model.pt"]
    assert view.run_column.title() == "This run: my model"
    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Yes)
    tab.manager.select(paths.models_dir() / "my model.pt")
    tab.manager.delete_button.click()
    assert not (paths.models_dir() / "my model.pt").exists()
    assert not view.try_button.isEnabled() and "was deleted" in view.message.text()


def test_batch_points_leave_the_axes_as_set_at_start(qtbot) -> None:
    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.reset(epochs_cae=2, epochs_cnn=10)
    for b in range(20):
        curves.add(Progress(STAGE_CNN, 0, 10, b, 20, 0.5, 2.0 - b / 20))
    (low, high), (bottom, top) = curves.loss_plot.viewRange()
    assert curves.count("cnn_batch") == 20
    assert low <= 0 < 10 <= high < 11  # the whole run's epochs, not the first one's batches
    assert (bottom, top) == (0, pytest.approx(2.0 * 1.25))  # set by the first point, kept


def test_a_long_run_keeps_the_batch_curve_within_its_point_budget(qtbot) -> None:
    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.reset(epochs_cae=2, epochs_cnn=64)
    batches = 3 * MAX_BATCH_POINTS + 7
    for b in range(batches):
        curves.add(Progress(STAGE_CNN, b // 100, 64, b % 100, 100, 0.5, 1.0))
    xs, _ = curves.points["cnn_batch"]
    assert MAX_BATCH_POINTS // 2 <= len(xs) <= MAX_BATCH_POINTS
    assert xs[0] == 0.01 and xs[-1] >= (batches - 4) / 100  # the whole run, evenly thinned
    steps = {round(b - a, 6) for a, b in zip(xs, xs[1:])}
    assert steps == {0.04}  # every fourth batch, the same spacing from start to end
    curves.reset(epochs_cae=2, epochs_cnn=64)
    curves.add(Progress(STAGE_CNN, 0, 64, 0, 100, 0.5, 1.0))
    curves.add(Progress(STAGE_CNN, 0, 64, 1, 100, 0.5, 1.0))
    assert curves.count("cnn_batch") == 2  # a new run draws every batch again


def test_cancel_keeps_the_active_model_and_start_resumes(tab, qtbot, kdef_folder) -> None:
    tab.data.set_folder(kdef_folder)
    tab.params.apply_config(replace(PRESETS["Quick"], epochs_cae=1, epochs_cnn=200, input_size=24))
    tab.start()
    qtbot.waitUntil(lambda: tab.curves.count("cnn_train") >= 1, timeout=60_000)
    with qtbot.waitSignal(tab.train_task.stopped, timeout=10_000):
        tab.cancel_button.click()
    assert "Cancelled" in tab.message.text() and tab.start_button.isEnabled()
    assert "elapsed" in tab.time_label.text() and "left" not in tab.time_label.text()
    out = tab.run_path
    assert not out.exists() and out.with_suffix(".partial.pt").is_file()
    assert paths.active_model_path() == paths.default_model_path()
    assert tab.output_path() == out  # the next Start resumes this run
    tab.start()
    qtbot.waitUntil(lambda: "Resuming" in tab.message.text(), timeout=2000)
    with qtbot.waitSignal(tab.train_task.stopped, timeout=10_000):
        tab.cancel_button.click()
    # other parameters are another run: it must not write over this one's saved epochs
    tab.params.epochs_cnn.setValue(3)
    tab.start()
    assert tab.run_path != out and "Training" in tab.message.text()
    with qtbot.waitSignal(tab.train_task.stopped, timeout=10_000):
        tab.cancel_button.click()
    assert out.with_suffix(".partial.pt").is_file()
    tab.params.epochs_cnn.setValue(200)
    assert tab.output_path() == out  # and it resumes when they come back


def test_a_run_that_ends_as_cancel_is_pressed_shows_its_saved_model(
    tab, qtbot, kdef_folder
) -> None:
    """The last epoch done, the run scores and saves its model without looking at the cancel
    flag: it once showed "Cancelled" and hid the model it had saved."""
    tab.data.folder_box.setEditText(str(kdef_folder))  # typed, never chosen from the list
    _tiny(tab)

    def cancel_at_the_end(event) -> None:  # noqa: ANN001
        last = isinstance(event, Progress) and event.stage == STAGE_CNN and event.end_of_epoch
        if last and event.epoch + 1 == event.epochs:
            tab.cancel_button.click()

    tab.train_task.progress_changed.connect(cancel_at_the_end)
    tab.start()
    qtbot.waitUntil(lambda: not tab.train_task.is_running(), timeout=180_000)
    assert tab.result is not None and tab.result.path == tab.run_path and tab.run_path.is_file()
    assert "Saved" in tab.message.text() and tab.pages.currentWidget() is tab.result_page
    assert tab.data.recent_folders()[0] == str(kdef_folder)  # the typed folder is remembered


def test_a_folder_without_kdef_images_gives_a_clear_message(tab, qtbot, tmp_path) -> None:
    (tmp_path / "holiday.jpg").write_bytes(b"x")
    tab.data.set_folder(tmp_path)
    qtbot.waitUntil(lambda: "no KDEF images found" in tab.data.found_label.text(), timeout=5000)
    tab.start()
    qtbot.waitUntil(lambda: not tab.train_task.is_running(), timeout=10_000)
    assert "no KDEF images found" in tab.message.text() and tab.start_button.isEnabled()


def test_an_empty_folder_box_is_not_scanned(qtbot, settings) -> None:
    """An emptied box (or a saved empty entry) once scanned the working folder and listed
    its files: "no KDEF images found in ." on a first start."""
    settings.setValue("training/recent", [""])
    tab = TrainingTab(ActiveModel(), settings)
    qtbot.addWidget(tab)
    tab.data.folder_box.setEditText("")
    tab.data.folder_box.activated.emit(0)
    assert not tab.data.scan_task.is_running()
    assert tab.data.found_label.text() == "Choose the folder that holds your copy of KDEF."
    tab.start()  # Path("") is the working folder: never trained on
    assert not tab.train_task.is_running() and "Choose the folder" in tab.message.text()


def test_emptying_the_box_during_a_scan_drops_its_result(tab, qtbot, kdef_folder) -> None:
    tab.data.set_folder(kdef_folder)
    tab.data.folder_box.setEditText("")
    tab.data.folder_box.activated.emit(0)
    qtbot.waitUntil(lambda: not tab.data.scan_task.is_running(), timeout=10_000)
    assert tab.data.found_label.text() == "Choose the folder that holds your copy of KDEF."
    assert tab.data.counts.item(0, 0) is None


def test_parameters_and_preset_are_remembered(qtbot, settings) -> None:
    first = TrainingTab(ActiveModel(), settings)
    qtbot.addWidget(first)
    first.params.preset.setCurrentText("Paper")
    first.params.protocol.setCurrentText("person")
    first.params.epochs_cnn.setValue(77)
    assert first.params.preset.currentText() == "Custom"
    second = TrainingTab(ActiveModel(), settings)
    qtbot.addWidget(second)
    assert (
        second.params.epochs_cnn.value() == 77 and second.params.protocol.currentText() == "person"
    )
    assert second.params.config().epochs_cae == PRESETS["Paper"].epochs_cae


def test_a_second_source_is_scanned_listed_and_remembered(
    tab, qtbot, settings, kdef_folder, ferplus_folder
) -> None:
    tab.data.set_folder(kdef_folder)
    tab.data.set_extra_folder(str(ferplus_folder))
    qtbot.waitUntil(lambda: "FER+ images" in tab.data.extra_label.text(), timeout=10_000)
    assert "train 28, valid 7, test 14" in tab.data.extra_label.text()
    tab.data.extra_weight.setValue(2.0)
    options = tab.data_options()
    assert options.folders == (kdef_folder, ferplus_folder) and options.weights == (2.0, 1.0)

    again = TrainingTab(ActiveModel(), settings)  # settings remembered between runs
    qtbot.addWidget(again)
    try:
        assert again.data.extra_folder.text() == str(ferplus_folder)
        assert again.data.extra_weight.value() == 2.0
        qtbot.waitUntil(lambda: "FER+ images" in again.data.extra_label.text(), timeout=10_000)
    finally:
        again.shutdown()
    tab.data.extra_clear.click()
    assert tab.data_options().folders == (kdef_folder,) and tab.data.extra_label.text() == ""


def test_a_second_source_replaced_during_its_scan_is_the_one_shown(
    tab, qtbot, tmp_path, ferplus_folder
) -> None:
    """A failed scan of a folder already replaced once left its error on screen, and the
    folder picked meanwhile was never scanned."""
    bad = tmp_path / "not-a-source"
    bad.mkdir()
    tab.data.set_extra_folder(str(bad))
    tab.data.set_extra_folder(str(ferplus_folder))
    qtbot.waitUntil(
        lambda: tab.data.extra_label.text().startswith("Second source:"), timeout=10_000
    )
    assert "FER+" in tab.data.extra_label.text()
    tab.data.set_extra_folder(str(bad))
    tab.data.set_extra_folder("")  # removed while its scan runs
    qtbot.waitUntil(lambda: not tab.data.extra_scan_task.is_running(), timeout=10_000)
    qtbot.wait(200)
    assert tab.data.extra_label.text() == ""


def test_a_ferplus_folder_as_the_first_source_shows_counts_per_part(
    tab, qtbot, ferplus_folder
) -> None:
    tab.data.set_folder(ferplus_folder)
    qtbot.waitUntil(lambda: "FER+ images" in tab.data.found_label.text(), timeout=10_000)
    headers = [
        tab.data.counts.horizontalHeaderItem(c).text() for c in range(tab.data.counts.columnCount())
    ]
    assert headers == ["train", "valid", "test"]
    assert tab.data.counts.item(3, 0).text() == "4"  # happy faces in train


def test_both_shipped_models_are_listed_with_their_figures_and_one_click_away(tab, qtbot) -> None:
    table = tab.manager.table
    rows = {table.item(r, 1).text(): r for r in range(table.rowCount())}
    assert {"default (shipped)", "kdef-paper (shipped)"} <= set(rows)
    for name in ("default (shipped)", "kdef-paper (shipped)"):
        kdef, ferplus = table.item(rows[name], 3).text(), table.item(rows[name], 4).text()
        assert kdef.endswith("%") and ferplus.endswith("%")
    tab.manager.table.selectRow(rows["kdef-paper (shipped)"])
    tab.manager.use_button.click()
    assert paths.active_model_path().name == "kdef-paper.pt"
    assert "KDEF" in tab.active_model.description() and "FER+" in tab.active_model.description()
    tab.manager.default_button.click()
    assert paths.active_model_path() == paths.default_model_path()


@pytest.mark.parametrize(
    ("training", "shown"),
    [
        (
            {"seconds_total": 405.0, "device": "NVIDIA H100 80GB HBM3"},
            "7 min on NVIDIA H100 80GB HBM3",
        ),
        ({"seconds_total": 14886.0, "device": "cpu"}, "4 h 8 min"),
        ({"seconds_total": 20.0}, "1 min"),  # cards older than the device field
        ({"device": "cpu"}, ""),
    ],
)
def test_the_training_time_says_which_gpu_it_took(training, shown) -> None:
    assert training_time(ModelCard.from_dict({"training": training})) == shown


def test_export_asks_before_replacing_the_file_it_adds_pt_to(tab, tmp_path, monkeypatch) -> None:
    """The save dialog asks about the name typed ("shared"); the model goes to "shared.pt",
    which it once replaced without a word."""
    kept = tmp_path / "shared.pt"
    kept.write_bytes(b"someone's model")
    dialog = (str(tmp_path / "shared"), "Models (*.pt)")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: dialog)
    answers = []

    def answer(*args) -> QMessageBox.StandardButton:  # noqa: ANN002
        answers.append(args[2])
        return (
            QMessageBox.StandardButton.Cancel
            if len(answers) == 1
            else QMessageBox.StandardButton.Yes
        )

    monkeypatch.setattr(QMessageBox, "question", answer)
    tab.manager.select(paths.default_model_path())
    tab.manager.export_button.click()
    assert kept.read_bytes() == b"someone's model" and "shared.pt already exists" in answers[0]
    tab.manager.export_button.click()
    assert kept.stat().st_size == paths.default_model_path().stat().st_size


@pytest.mark.parametrize(("preset", "model"), [("Paper", "kdef-paper"), ("KDEF + FER+", "default")])
def test_presets_are_the_shipped_models_recipes(preset: str, model: str) -> None:
    """A preset named after a shipped model trains each of its networks as that model's card
    says, so retraining it from the tab reproduces its recipe (with head framing of KDEF faces,
    which the shipped default predates)."""
    card = json.loads(paths.default_model_path().with_name(f"{model}.json").read_text())
    recipe = TrainConfig.from_dict(card["training"])
    # The tab always finds KDEF faces by head framing; the shipped default predates it.
    assert replace(PRESETS[preset], seed=0, studio=recipe.studio) == replace(recipe, seed=0)
    assert PRESETS[preset].studio == "head"


def test_export_never_writes_a_card_over_the_models_own_split(tab, own_model, monkeypatch) -> None:
    """Export of m to m.split.pt wrote m's card over m.split.json, and m could no longer be
    evaluated on its test faces: Export refuses it as the CLI refuses such an --out."""
    split = own_model.with_suffix(".split.json")
    before = split.read_bytes()
    target = (str(own_model.with_name(f"{own_model.stem}.split.pt")), "Models (*.pt)")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: target)
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warnings.append(args[2]))
    tab.manager.refresh()
    tab.manager.select(own_model)
    tab.manager.export_button.click()
    assert split.read_bytes() == before
    assert len(warnings) == 1 and "one of the inputs" in warnings[0]


@pytest.mark.parametrize("box", ["kdef", "second source"])
def test_quit_during_a_scan_replaced_by_another_ends(
    qtbot, settings, kdef_folder, ferplus_folder, box
) -> None:
    """Picking a folder while the last one's scan ran, then quitting, hung the app for good:
    the close started the waiting scan, whose thread ended only on a signal the finished event
    loop never delivered. After the window's close nothing processes events (as after
    ``app.exec()``): every worker thread must end on its own, within seconds."""
    from emotion_desktop.gui.main_window import MainWindow

    window = MainWindow(settings)
    qtbot.addWidget(window)
    tab = window.training
    choose = tab.data.set_folder if box == "kdef" else tab.data.set_extra_folder
    choose(str(ferplus_folder))
    choose(str(kdef_folder))  # while the first scan runs: it is scanned once that one stops
    window.close()
    deadline = time.monotonic() + 10
    while running_threads() and time.monotonic() < deadline:
        time.sleep(0.05)  # no event processing here, as in app.main after the loop ends
    left = running_threads()
    qtbot.waitUntil(lambda: running_threads() == 0, timeout=10_000)  # frees what was stuck
    assert left == 0, "a worker thread was still waiting after the window closed"


def test_a_folder_name_too_long_for_the_system_gives_one_clear_message(
    tab, qtbot, tmp_path
) -> None:
    """A typed path with a component over NAME_MAX (255) once showed "unexpected error:
    OSError(36)" for the scan and again for Start."""
    folder = str(tmp_path / ("a" * 300))
    tab.data.folder_box.setEditText(folder)
    tab.data.folder_box.activated.emit(0)
    qtbot.waitUntil(lambda: not tab.data.scan_task.is_running(), timeout=10_000)
    shown = tab.data.found_label.text()
    assert "unexpected" not in shown and "File name too long" in shown and "aaaa" in shown
    tab.start()
    qtbot.waitUntil(lambda: not tab.train_task.is_running(), timeout=10_000)
    message = tab.message.text()
    assert "unexpected" not in message and "File name too long" in message
    assert tab.start_button.isEnabled()
