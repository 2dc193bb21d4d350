"""The Training tab's Quick preset on a real KDEF folder, as a user runs it.

Drives the real tab offscreen: time to finish, test accuracy, and the longest GUI-thread stall
(a 5 ms timer records the largest gap between its ticks while training runs). Saves screenshots
of the tab mid-training and finished to --shots. Ends with one JSON line.

Control processes that only sleep 5 ms at a time run beside it, one pinned to each CPU. Where
one was held up at the same moment as the GUI thread, the machine paused (a virtual machine's
host can stop a virtual CPU for ~100 ms), not the app; the app's own figure leaves those moments
out, and both are printed.

    python benchmarks/training_tab.py --data ~/datasets/data/KDEF [--shots /tmp/shots]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from emotion_desktop.gui.active_model import ActiveModel  # noqa: E402
from emotion_desktop.gui.training.tab import TrainingTab  # noqa: E402
from emotion_desktop.gui.workers import freeze_startup_heap  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pauses import STALL_MS, app_stalls, start_probes, stop_probes  # noqa: E402


class StallMeter:
    """Gaps between ticks of a 5 ms timer on the GUI thread, as (seconds, monotonic end)."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.run_clock = QElapsedTimer()
        self.longest_ms = 0
        self.longest_at_s = 0.0  # when in the run the longest stall ended
        self.gaps: list[tuple[float, float]] = []
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.clock.start()
        self.run_clock.start()
        self.timer.start()

    def _tick(self) -> None:
        gap = self.clock.restart()
        if gap > STALL_MS:
            self.gaps.append((gap / 1000, time.monotonic()))
        if gap > self.longest_ms:
            self.longest_ms = gap
            self.longest_at_s = self.run_clock.elapsed() / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--shots", type=Path, default=Path(tempfile.gettempdir()) / "shots")
    args = parser.parse_args()
    args.shots.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("EMOTION_DESKTOP_DATA_DIR", tmp)
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        tab = TrainingTab(ActiveModel(), settings)
        tab.resize(1500, 950)
        tab.show()
        tab.params.preset.setCurrentText("Quick")
        tab.data.set_folder(args.data)
        freeze_startup_heap()  # as the app does once its window is built
        scanned = QEventLoop()  # a user presses Start once the folder's summary is shown
        tab.data.scan_task.stopped.connect(scanned.quit)
        if tab.data.scan_task.is_running():
            scanned.exec()
        app.processEvents()
        meter = StallMeter()
        mid_shot = args.shots / "training-mid.png"

        def grab_mid_run(_event: object) -> None:
            if not mid_shot.exists() and tab.curves.count("cnn_val") >= 3:
                tab.grab().save(str(mid_shot))
                meter.clock.restart()  # the screenshot's own time is not a stall of the tab

        probes = start_probes()
        loop = QEventLoop()
        tab.train_task.progress_changed.connect(grab_mid_run)
        tab.train_task.stopped.connect(loop.quit)
        t0 = time.perf_counter()
        tab.start()
        meter.start()
        loop.exec()
        seconds = time.perf_counter() - t0
        machine = stop_probes(probes)
        app.processEvents()
        tab.grab().save(str(args.shots / "training-done.png"))
        result = tab.result
        figures = {
            "preset": "Quick",
            "epochs_cae": tab.params.config().epochs_cae,
            "epochs_cnn": tab.params.config().epochs_cnn,
            "minutes": round(seconds / 60, 2),
            "test_accuracy": result.scores.accuracy if result else None,
            "longest_gui_stall_ms": meter.longest_ms,
            "longest_stall_at_s": meter.longest_at_s,
            "machine_pauses": len(machine),
            "longest_machine_pause_ms": round(max((g for g, _ in machine), default=0) * 1000),
            "longest_app_stall_ms": round(max(app_stalls(meter.gaps, machine), default=0)),
            "message": tab.message.text(),
        }
        tab.shutdown()
    print(f"screenshots in {args.shots}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
