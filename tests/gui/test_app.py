import configparser
import gc
import shutil
import subprocess
import sys

import pytest

from emotion_desktop import app, launcher
from emotion_desktop.core import paths

pytestmark = pytest.mark.gui


def test_smoke_test_labels_an_image_with_the_active_model(qtbot, tiny_model, shared_data, capsys):
    paths.set_active_model(tiny_model)
    photo = next((shared_data / "faces" / "neutral").glob("*.jpg"))
    gc.unfreeze()
    try:
        assert app.main(["--smoke-test", str(photo)]) == 0
        # the objects of start-up are out of every later collection (see freeze_startup_heap)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
    out = capsys.readouterr().out
    assert f"model: {tiny_model}" in out and "face 0:" in out and "1 face(s) labelled" in out


def test_smoke_test_without_a_model_fails_clearly(qtbot, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "default_model_path", lambda: tmp_path / "none.pt")
    assert app.main(["--smoke-test"]) == 2
    assert "no model file" in capsys.readouterr().err


def test_smoke_test_refuses_a_pixel_bomb_and_a_damaged_model(qtbot, tiny_model, tmp_path, capsys):
    import struct

    paths.set_active_model(tiny_model)
    bomb = tmp_path / "bomb.bmp"  # 54 bytes claiming 30,000 x 30,000 pixels
    header = struct.pack("<2sIHHI", b"BM", 54, 0, 0, 54)
    bomb.write_bytes(header + struct.pack("<IiiHHIIiiII", 40, 30_000, 30_000, 1, 24, *[0] * 6))
    assert app.main(["--smoke-test", str(bomb)]) == 2
    assert "downscale it first" in capsys.readouterr().err
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(b"not a model at all")
    paths.set_active_model(damaged)
    assert app.main(["--smoke-test"]) == 2  # a message and exit 2, not a dialog waiting forever
    assert "damaged.pt" in capsys.readouterr().err


def test_exception_hook_logs_and_shows_one_dialog(qtbot, monkeypatch):
    shown = []
    monkeypatch.setattr(app.QMessageBox, "critical", lambda *a: shown.append(a[2]))
    app.setup_logging()
    try:
        raise ValueError("boom")
    except ValueError as exc:
        app.show_exception(type(exc), exc, exc.__traceback__)
    assert len(shown) == 1 and "boom" in shown[0]
    log = (paths.log_dir() / "emotion-desktop.log").read_text()
    assert "ValueError: boom" in log and "Traceback" in log


def test_install_launcher_writes_a_valid_desktop_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setenv("XDG_DESKTOP_DIR", str(tmp_path / "Desktop"))
    (tmp_path / "Desktop").mkdir()
    written = launcher.install_launcher()
    assert [p.parent.name for p in written] == ["applications", "Desktop"]
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(written[0])
    section = entry["Desktop Entry"]
    assert section["Exec"].startswith(sys.executable) and section["Exec"].endswith(
        "-m emotion_desktop"
    )
    assert section["Icon"].endswith("emotion-desktop.png")
    assert (paths.resources_dir() / "icons" / "emotion-desktop.png").is_file()
    if shutil.which("desktop-file-validate"):
        result = subprocess.run(["desktop-file-validate", str(written[0])], capture_output=True)
        assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("kind", ["deep", "fifo"])
def test_a_hostile_card_in_the_models_folder_never_stops_the_window_opening(kind, own_model):
    """A RecursionError (deep JSON) or a read that never returns (a named pipe) in listing the
    user's models kept the window from opening; in a fresh process so a hang fails in 60 s."""
    from tests.core.test_cli import write_hostile_file

    write_hostile_file(own_model.with_suffix(".json"), kind)
    done = subprocess.run(
        [sys.executable, "-m", "emotion_desktop", "--smoke-test"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "smoke test passed" in done.stdout, done.stderr[-2000:]


def test_smoke_test_of_a_folder_says_to_give_an_image(qtbot, tiny_model, tmp_path, capsys):
    """A folder was called 'a pipe, device or socket'."""
    paths.set_active_model(tiny_model)
    assert app.main(["--smoke-test", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a folder: give an image file" in err and "pipe" not in err


def test_live_option_opens_the_live_tab_playing_the_video(qtbot, tiny_model, shared_data):
    """``emotion-desktop --live VIDEO``: the window opens on Live, the video as its camera."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from emotion_desktop.gui.main_window import MainWindow

    paths.set_active_model(tiny_model)
    video = shared_data / "video" / "WolfgangLanger_Pexels.mp4"
    seen: list = []

    def check(waited_s: float = 0.0) -> None:
        (window,) = [  # the one open: earlier tests' windows are closed, not yet deleted
            w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()
        ]
        result = window.live.latest()
        if result is None and window.live.is_running() and waited_s < 60:
            QTimer.singleShot(50, lambda: check(waited_s + 0.05))
            return
        seen.append((window.tabs.currentWidget() is window.live, result))
        window.close()

    QTimer.singleShot(0, check)
    gc.unfreeze()
    try:
        assert app.main(["--live", str(video)]) == 0
    finally:
        gc.unfreeze()
    ((on_live, result),) = seen
    assert on_live and result is not None and result.frame.image.shape == (360, 640, 3)


def test_the_imports_of_a_first_training_run_are_made_at_start_up_and_kept_from_the_collector():
    """The first optimizer imports torch._dynamo (1.5 s of Python, the GIL held in stretches
    that froze the window for 50-80 ms while Live played); in a fresh process, where nothing
    has imported it yet."""
    code = (
        "import gc, sys\n"
        "from emotion_desktop.gui.workers import preload_training_imports\n"
        "assert 'torch._dynamo' not in sys.modules\n"
        "frozen = gc.get_freeze_count()\n"
        "thread = preload_training_imports()\n"
        "thread.join()\n"
        "assert 'torch._dynamo' in sys.modules\n"
        "assert gc.get_freeze_count() > frozen + 10_000\n"
        "print('preloaded')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "preloaded" in done.stdout, done.stderr[-2000:]
