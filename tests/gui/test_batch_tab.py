"""The Batch tab driven like a user would: real drops, real worker threads, files written."""

from __future__ import annotations

import csv
import json
import os
import shutil
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QMessageBox

from emotion_desktop.core.batch.labelling import label_paths
from emotion_desktop.core.batch.results import CSV_COLUMNS, LabelRow
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.gui.active_model import ActiveModel
from emotion_desktop.gui.batch.rows import COL_MODEL, COL_THUMB, ResultsModel
from emotion_desktop.gui.batch.tab import BatchTab

pytestmark = pytest.mark.gui
RUN_TIMEOUT_MS = 60_000


def batch_tab(qtbot, model: Path, settings: QSettings, size: tuple[int, int] | None = None):  # noqa: ANN001, ANN201
    """A Batch tab on ``model``, shown at ``size`` where given; shut down after the test."""
    active_model = ActiveModel()
    active_model.set_active(model)
    widget = BatchTab(active_model, settings)
    qtbot.addWidget(widget)
    if size is not None:
        widget.resize(*size)
        widget.show()
    yield widget
    widget.shutdown()


@pytest.fixture
def tab(qtbot, tiny_model: Path, settings: QSettings):
    yield from batch_tab(qtbot, tiny_model, settings)


def _faces(shared_data: Path) -> list[Path]:
    """One photo of each of four emotions: enough to see rows, few enough to stay fast."""
    names = ("happy", "sad", "angry", "surprised")
    return [sorted((shared_data / "faces" / n).glob("*.jpg"))[0] for n in names]


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims a size far beyond the pixel cap (no pixel data follows)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
    )


@pytest.fixture
def photos(tmp_path: Path, shared_data: Path) -> Path:
    root = tmp_path / "photos"
    (root / "nested").mkdir(parents=True)
    for p in _faces(shared_data):
        shutil.copy(p, root / "nested" / p.name)
    (root / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    (root / "huge.png").write_bytes(_png_header(20_000, 20_000))
    (root / "notes.txt").write_text("not a photo")
    return root


@pytest.fixture
def many_photos(tmp_path: Path, shared_data: Path) -> Path:
    """300 hard links to one face: a run long enough to pause and cancel in the middle."""
    root = tmp_path / "many"
    root.mkdir()
    source = _faces(shared_data)[0]
    for i in range(300):
        os.link(source, root / f"face_{i:03d}.jpg")
    return root


def drop(widget, paths: list[Path]) -> bool:
    """Drag ``paths`` over ``widget`` and drop them; whether the drop was accepted."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = widget.rect().center()
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    action = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(centre, action, mime, buttons, modifiers)  # QPoint, as in C++
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(QPointF(centre), action, mime, buttons, modifiers)
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def wait_until_stopped(qtbot, tab: BatchTab) -> None:
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=RUN_TIMEOUT_MS)


def test_a_drop_labels_every_face_and_writes_the_csv_as_it_goes(
    qtbot, tab, photos, tiny_model, tmp_path
) -> None:
    live_csv = tmp_path / "out" / "live.csv"
    tab.whole_image_box.setChecked(True)
    tab.live_csv_edit.setText(str(live_csv))
    tab.live_csv_box.setChecked(True)

    assert drop(tab.drop_zone, [photos])
    assert tab.is_running()
    wait_until_stopped(qtbot, tab)

    expected = [
        (e.file, e.face, e.box)
        for events in label_paths([photos], Predictor.from_checkpoint(tiny_model), True)
        for e in events
        if isinstance(e, LabelRow)
    ]
    rows = tab.results.rows()
    assert [(r.file, r.face, r.box) for r in rows] == expected
    assert {r.file.name for r in rows} == {p.name for p in (photos / "nested").iterdir()}
    assert tab.counts.sum() == len(rows)
    assert tab.chart.counts() == tuple(tab.counts)
    problems = {p.file.name: p.reason for p in tab.problems.problems()}
    assert set(problems) == {"corrupt.jpg", "huge.png"}
    assert "pixels" in problems["huge.png"]
    assert tab.skipped == 1 and "1 non-image file skipped" in tab.status.text()

    with open(live_csv, newline="") as f:
        written = list(csv.DictReader(f))
    assert tuple(written[0]) == CSV_COLUMNS
    assert [(Path(w["file"]), int(w["face"])) for w in written] == [(r.file, r.face) for r in rows]
    assert tab.unexported() == 0  # the file holds every row: Clear and Quit need not ask


def test_the_drop_zone_ignores_drags_without_local_files(tab) -> None:
    mime = QMimeData()
    mime.setText("just text")
    enter = QDragEnterEvent(
        QPoint(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(tab.drop_zone, enter)
    assert not enter.isAccepted() and not tab.is_running()


def test_pause_holds_the_rows_and_resume_continues(qtbot, tab, many_photos) -> None:
    assert drop(tab.drop_zone, [many_photos])
    qtbot.waitUntil(lambda: tab.results.rowCount() > 0, timeout=RUN_TIMEOUT_MS)
    tab.pause()
    assert tab.pause_button.text() == "Resume"
    qtbot.waitUntil(tab.is_holding, timeout=RUN_TIMEOUT_MS)  # images in flight reported
    QApplication.processEvents()
    held = tab.results.rowCount()
    QApplication.processEvents()
    assert tab.results.rowCount() == held < 300 and tab.is_running() and tab.is_holding()
    assert "paused" in tab.status.text()

    tab.resume()
    qtbot.waitUntil(lambda: tab.results.rowCount() > held, timeout=RUN_TIMEOUT_MS)
    tab.cancel()
    wait_until_stopped(qtbot, tab)


def test_cancel_stops_the_run_and_keeps_the_rows(qtbot, tab, many_photos) -> None:
    assert drop(tab.drop_zone, [many_photos])
    qtbot.waitUntil(lambda: tab.results.rowCount() > 0, timeout=RUN_TIMEOUT_MS)
    tab.cancel()
    wait_until_stopped(qtbot, tab)
    kept = tab.results.rowCount()
    QApplication.processEvents()  # the run has ended: nothing it sent is still queued
    assert 0 < kept == tab.results.rowCount() < 300
    assert not tab.cancel_button.isEnabled() and tab.status.text().startswith("Cancelled:")


def test_clear_during_a_run_leaves_no_rows_once_events_are_processed(
    qtbot, tab, many_photos
) -> None:
    assert drop(tab.drop_zone, [many_photos])
    qtbot.waitUntil(lambda: tab.results.rowCount() >= 8, timeout=RUN_TIMEOUT_MS)
    tab.clear()
    qtbot.waitUntil(tab.has_ended, timeout=RUN_TIMEOUT_MS)
    QApplication.processEvents()  # whatever the cleared run had queued is delivered now
    assert tab.results.rowCount() == 0 and not tab.is_running()
    assert tab.counts.sum() == 0


def test_clear_returns_at_once_and_the_next_run_waits_for_the_cleared_one(
    qtbot, tab, photos, shared_data, tmp_path, monkeypatch
) -> None:
    import emotion_desktop.gui.batch.run as batch_run

    real = batch_run.label_paths

    def slow(*args, **kwargs):
        for events in real(*args, **kwargs):
            yield events
            time.sleep(1.5)  # a photo on a slow network share: cancel is seen after it

    monkeypatch.setattr(batch_run, "label_paths", slow)
    out = tmp_path / "rows.csv"
    tab.live_csv_edit.setText(str(out))
    tab.live_csv_box.setChecked(True)
    assert drop(tab.drop_zone, [photos])
    qtbot.waitUntil(lambda: tab.results.rowCount() > 0, timeout=RUN_TIMEOUT_MS)
    started = time.monotonic()
    tab.clear()
    assert time.monotonic() - started < 1.0 and not tab.has_ended()  # joining took 1.5 s

    monkeypatch.setattr(batch_run, "label_paths", real)
    one = tmp_path / "next_run.jpg"
    shutil.copy(_faces(shared_data)[1], one)
    assert drop(tab.drop_zone, [one])
    qtbot.waitUntil(tab.has_ended, timeout=RUN_TIMEOUT_MS)
    QApplication.processEvents()
    # the file is the user's: Clear empties the table, not the file; the new run's row comes
    # after every row of the cleared one, however late its last image ended
    files = [Path(row["file"]).name for row in csv.DictReader(out.open())]
    assert files[-1] == one.name and files.count(one.name) == 1 and len(files) > 1
    assert tab.results.rowCount() == 1


def test_a_cleared_run_still_waiting_ends_after_the_run_before_it(tiny_model) -> None:
    """Clear, start, Clear, start: the third run must not start while the first still ends."""
    import threading

    from emotion_desktop.gui.batch.run import BatchRequest, PauseGate, labelling_task

    first_ended, second_ended = threading.Event(), threading.Event()
    second = labelling_task(
        BatchRequest(()), tiny_model, PauseGate(), after=first_ended, ended=second_ended
    )
    worker = threading.Thread(target=second, args=(lambda chunk: None, lambda: True))
    worker.start()  # cancelled at once, as a second Clear does
    assert not second_ended.wait(0.3)
    first_ended.set()
    assert second_ended.wait(5)
    worker.join(5)


def test_write_as_i_go_adds_to_the_file_of_an_earlier_session(
    qtbot, tiny_model, settings, shared_data, tmp_path
) -> None:
    out = tmp_path / "rows.csv"
    for session, photo in enumerate(_faces(shared_data)[:2]):
        active = ActiveModel()
        active.set_active(tiny_model)
        tab = BatchTab(active, settings)
        qtbot.addWidget(tab)
        if session == 0:  # typed once; the next session restores it
            tab.live_csv_edit.setText(str(out))
            tab.live_csv_box.setChecked(True)
        assert tab.live_csv_box.isChecked()
        tab.add_paths([photo])
        qtbot.waitUntil(tab.has_ended, timeout=RUN_TIMEOUT_MS)
        tab.shutdown()
    rows = list(csv.DictReader(out.open()))
    assert [Path(r["file"]).name for r in rows] == [p.name for p in _faces(shared_data)[:2]]


def test_export_writes_what_the_filter_shows(qtbot, tab, photos, tmp_path) -> None:
    tab.whole_image_box.setChecked(True)
    assert drop(tab.drop_zone, [photos / "nested"])
    wait_until_stopped(qtbot, tab)
    rows = tab.results.rows()
    assert rows

    assert tab.export(tmp_path / "all.json") == len(rows)
    records = json.loads((tmp_path / "all.json").read_text())
    assert [tuple(r) for r in records] == [CSV_COLUMNS] * len(rows)
    assert [r["file"] for r in records] == [str(r.file) for r in rows]

    top = rows[0].result.label
    tab.emotion_filter.setCurrentIndex(tab.emotion_filter.findData(top))
    tab.export(tmp_path / "top.csv")
    with open(tmp_path / "top.csv", newline="") as f:
        written = list(csv.DictReader(f))
    assert {w["emotion"] for w in written} == {top}
    assert len(written) == sum(r.result.label == top for r in rows)

    tab.min_confidence.setValue(100)
    assert tab.shown.rowCount() == sum(r.result.confidence >= 1.0 for r in rows)

    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the folder should be")
    for name in ("x.csv", "x.json"):
        assert tab.export(blocker / name) == 0
        assert tab.message.text().startswith(f"Cannot write {blocker / name}")
    photo = next((photos / "nested").iterdir())  # the CLI's --out policy: never over a photo
    before = photo.read_bytes()
    assert tab.export(photo) == 0 and photo.read_bytes() == before
    assert "named as an image" in tab.message.text()


def test_clear_asks_before_forgetting_faces_no_file_holds(
    qtbot, tab, photos, tmp_path, monkeypatch
) -> None:
    asked, answer = [], [QMessageBox.StandardButton.Cancel]
    monkeypatch.setattr(QMessageBox, "question", lambda *a: asked.append(a[2]) or answer[0])
    tab.whole_image_box.setChecked(True)
    assert drop(tab.drop_zone, [photos / "nested"])
    wait_until_stopped(qtbot, tab)
    rows = tab.results.rows()
    assert rows and tab.unexported() == len(rows)

    tab.clear_button.click()  # Cancel: nothing is lost
    assert len(asked) == 1 and f"{len(rows):,} labelled faces" in asked[0]
    assert tab.results.rows() == rows

    tab.export(tmp_path / "all.csv")  # every row is in a file now: Clear just clears
    tab.clear_button.click()
    assert len(asked) == 1 and tab.results.rows() == []


def test_rows_whose_file_was_replaced_or_cut_down_count_as_unexported_again(
    qtbot, tab, shared_data, tmp_path, monkeypatch
) -> None:
    from PySide6.QtWidgets import QFileDialog

    target = tmp_path / "rows.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    first, second = _faces(shared_data)[:2]
    tab.whole_image_box.setChecked(True)
    tab.live_csv_button.click()  # chosen in the dialog, which asked before replacing
    tab.add_paths([first])
    qtbot.waitUntil(tab.has_ended, timeout=RUN_TIMEOUT_MS)
    assert tab.results.rowCount() == 1 and tab.unexported() == 0  # in the file

    tab.live_csv_button.click()  # the same file chosen again: the next run empties it
    tab.add_paths([second])
    qtbot.waitUntil(tab.has_ended, timeout=RUN_TIMEOUT_MS)
    assert len(list(csv.DictReader(target.open()))) == 1  # the second photo's row only
    assert tab.results.rowCount() == 2 and tab.unexported() == 1  # the first is in no file

    tab.live_csv_box.setChecked(False)
    assert tab.export(tmp_path / "all.csv") == 2 and tab.unexported() == 0
    tab.min_confidence.setValue(100)  # certain faces only: fewer than both
    shown = tab.export(tmp_path / "all.csv")  # a filtered export over the file of all rows
    assert shown < 2 and tab.unexported() == 2


def test_a_full_disk_while_writing_as_i_go_names_the_file(
    qtbot, tab, photos, tmp_path, monkeypatch
) -> None:
    """The second flush, on close, raised a bare OSError: "unexpected error: OSError". The
    disk fills after the header (/dev/full is refused up front now, as the CLI refuses it)."""
    import csv as csv_module
    import errno

    from emotion_desktop.core.batch.results import CSV_COLUMNS, CsvRowWriter

    class FullDisk:
        def __init__(self, file) -> None:  # noqa: ANN001
            self.file = file

        def write(self, text: str) -> int:
            return len(text)  # buffered, as the OS would, until the flush finds no space

        def flush(self) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self) -> None:
            self.file.close()
            self.flush()

    opened = CsvRowWriter.__init__

    def fill_up(self, *args, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        opened(self, *args, **kwargs)
        self._file = FullDisk(self._file)
        self._writer = csv_module.DictWriter(self._file, fieldnames=CSV_COLUMNS)

    monkeypatch.setattr(CsvRowWriter, "__init__", fill_up)
    out = tmp_path / "rows.csv"
    tab.live_csv_edit.setText(str(out))
    tab.live_csv_box.setChecked(True)
    tab.add_paths([photos])
    wait_until_stopped(qtbot, tab)
    assert f"cannot write {out}" in tab.message.text()
    assert "unexpected" not in tab.message.text()


def test_a_broken_model_gives_a_message_not_a_traceback(qtbot, settings, photos, tmp_path) -> None:
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    active_model = ActiveModel()
    active_model.set_active(broken)
    tab = BatchTab(active_model, settings)
    qtbot.addWidget(tab)
    assert drop(tab.drop_zone, [photos])  # the model loads on the worker: the drop returns at once
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=10_000)
    assert tab.message.isVisibleTo(tab) and "Pick a model in the Training tab" in tab.message.text()
    assert "Traceback" not in tab.message.text() and tab.results.rowCount() == 0
    # the status line says the run ended, and how: it read "0 of 4 images", as if stalled
    qtbot.waitUntil(lambda: tab.status.text().startswith("Stopped by an error:"), timeout=5000)


def test_an_unwritable_results_file_is_named_in_the_message(qtbot, tab, photos, tmp_path) -> None:
    """It read "unexpected error: FileExistsError(17, 'File exists')", as if the app failed."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    tab.live_csv_edit.setText(str(blocker / "results.csv"))
    tab.live_csv_box.setChecked(True)
    tab.add_paths([photos])
    wait_until_stopped(qtbot, tab)
    assert f"cannot write {blocker / 'results.csv'}" in tab.message.text()
    assert "unexpected" not in tab.message.text()


def test_a_folder_that_is_gone_is_a_problem_not_a_skipped_file(qtbot, tab, tmp_path) -> None:
    """A Recent folder since removed (an unplugged drive) once read as one non-image file."""
    gone = tmp_path / "unplugged"
    tab.add_paths([gone])
    wait_until_stopped(qtbot, tab)
    QApplication.processEvents()
    assert [(p.file, p.reason) for p in tab.problems.problems()] == [
        (gone, "no such file or folder")
    ]
    assert tab.status.text().startswith("Done: 0 images") and "skipped" not in tab.status.text()


def test_folders_and_options_are_remembered(qtbot, tab, settings, photos) -> None:
    tab.whole_image_box.setChecked(True)
    tab.min_confidence.setValue(40)
    assert drop(tab.drop_zone, [photos / "nested"])
    wait_until_stopped(qtbot, tab)
    tab.shutdown()

    again = BatchTab(tab.active_model, settings)
    qtbot.addWidget(again)
    assert again.whole_image_box.isChecked() and again.min_confidence.value() == 40
    assert again.recent_folders()[0] == str(photos / "nested")
    assert [a.text() for a in again.recent_menu.actions()] == [str(photos / "nested")]


def _with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """``jpeg`` with an EXIF APP1 segment holding only the Orientation tag."""
    tiff = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01" + struct.pack(
        ">HHIHH", 0x0112, 3, 1, orientation, 0
    )
    payload = b"Exif\x00\x00" + tiff + b"\x00\x00\x00\x00"
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def test_thumbnails_of_exif_rotated_photos_show_the_face(
    qtbot, tiny_model, shared_data, tmp_path
) -> None:
    """OpenCV finds the face in the upright picture; the thumbnail must be cut from that too."""
    upright = cv2.imread(str(sorted((shared_data / "faces" / "happy").glob("*.jpg"))[0]))
    stored = cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE)  # orientation 6 turns it back
    ok, jpeg = cv2.imencode(".jpg", stored)
    path = tmp_path / "rotated.jpg"
    path.write_bytes(_with_exif_orientation(jpeg.tobytes(), 6))
    events = [
        e for b in label_paths([path], Predictor.from_checkpoint(tiny_model), True) for e in b
    ]
    (row,) = [e for e in events if isinstance(e, LabelRow)]
    model = ResultsModel()
    model.append((row,))
    index = model.index(0, COL_THUMB)
    with qtbot.waitSignal(model.dataChanged, timeout=10_000):  # decoded off the GUI thread
        assert model.data(index, Qt.ItemDataRole.DecorationRole) is None
    thumb = model.data(index, Qt.ItemDataRole.DecorationRole).toImage()
    model.shutdown()
    b = row.box
    expected = cv2.resize(
        upright[b.y : b.y + b.h, b.x : b.x + b.w], (thumb.width(), thumb.height())
    )
    thumb = thumb.convertToFormat(QImage.Format.Format_RGB888)
    got = np.frombuffer(thumb.constBits(), np.uint8).reshape(thumb.height(), thumb.bytesPerLine())
    got = got[:, : thumb.width() * 3].reshape(thumb.height(), thumb.width(), 3)[..., ::-1]
    assert np.abs(got.astype(int) - expected.astype(int)).mean() < 20


def test_ticking_write_as_i_go_asks_for_the_file_then_never_again(
    qtbot, tab, photos, tmp_path, monkeypatch
) -> None:
    from PySide6.QtWidgets import QFileDialog

    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: asked.append(1) or ("", ""))
    tab.live_csv_box.setChecked(True)  # cancelled dialog: the box unticks
    assert asked == [1] and not tab.live_csv_box.isChecked()
    target = tmp_path / "rows.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    tab.live_csv_box.setChecked(True)
    assert tab.live_csv_box.isChecked() and tab.live_csv_edit.text() == str(target)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: pytest.fail("asked"))
    assert drop(tab.drop_zone, [photos])
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=60_000)
    assert target.is_file()


def test_rows_name_the_model_of_their_run_when_another_is_picked_during_it(
    qtbot, tab, many_photos, tiny_model, tmp_path
) -> None:
    """The running rows were the old model's while the status bar named the new one, and
    nothing in the table or the files said which model a row came from."""
    assert drop(tab.drop_zone, [many_photos])
    qtbot.waitUntil(lambda: tab.results.rowCount() > 0, timeout=RUN_TIMEOUT_MS)
    tab.active_model.set_active(None)  # the shipped default, while the run goes on
    before = tab.results.rowCount()
    qtbot.waitUntil(lambda: tab.results.rowCount() > before, timeout=RUN_TIMEOUT_MS)
    assert f"model {tiny_model.stem}" in tab.status.text()  # the running rows' model
    tab.cancel()
    wait_until_stopped(qtbot, tab)
    model = tab.results
    assert model.headerData(COL_MODEL, Qt.Orientation.Horizontal) == "Model"
    shown = {model.data(model.index(r, COL_MODEL)) for r in range(model.rowCount())}
    assert shown == {tiny_model.stem} != {tab.active_model.path().stem}
    assert f"model {tiny_model.stem}" in tab.status.text()

    assert tab.export(tmp_path / "rows.csv") == model.rowCount()
    with open(tmp_path / "rows.csv", newline="") as f:
        written = list(csv.DictReader(f))
    assert "model" in CSV_COLUMNS and list(written[0]) == list(CSV_COLUMNS)
    assert {w["model"] for w in written} == {tiny_model.stem}
    tab.export(tmp_path / "rows.json")
    assert {r["model"] for r in json.loads((tmp_path / "rows.json").read_text())} == {"tiny"}
