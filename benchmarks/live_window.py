"""Live in the real window, as a user sees it: under load, at HD, with four faces, beside training.

Each case starts the app (``emotion_desktop.app.main``, the real window at 1400x900 on an X
display) in a process of its own, plays a video as the camera for ``--seconds`` after a 2 s
warm-up, and prints processed frames a second, the core step's p50 and p95, the frames
dropped, and the longest gap of a 5 ms timer on the GUI thread (the longest time the window
did not answer). Busy processes (``python3 -c "while True: pass"``) run beside the cases that
ask for them. The ``training`` case trains the Training tab's Quick preset on KDEF-like photos
twice, alone and with Live playing (the Live tab shown in both), and prints Live's figures
during the run and the run's time against alone.

The videos and photos are made at run time in a temporary folder (benchmarks/live_videos.py).
Without a DISPLAY the script runs itself under ``xvfb-run`` (1920x1080); Qt's ``offscreen``
platform cannot time painting (it caps the window near 5 fps). All cases with one repeat take
about 4 minutes on 2 cores (``--repeats 3``: 12). A control process pinned to each CPU tells
the machine's own pauses (a virtual machine's host) from the app's stalls (benchmarks/pauses.py):
"app" is the longest stall that no control process saw too.

    python benchmarks/live_window.py [--cases 360-idle,360-busy1] [--repeats 3] [--seconds 10]

The last line is one JSON object with every run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import live_videos  # noqa: E402
from pauses import STALL_MS, app_stalls, start_probes, stop_probes  # noqa: E402

WARMUP_S = 2.0
WINDOW = (1400, 900)
BUSY = "while True: pass"


@dataclass(frozen=True)
class Case:
    video: str  # "shared", "hd" or "four"
    busy: int = 0
    training: bool = False


CASES = {
    "360-idle": Case("shared"),
    "360-busy1": Case("shared", busy=1),
    "360-busy2": Case("shared", busy=2),
    "1080-idle": Case("hd"),
    "1080-busy1": Case("hd", busy=1),
    "four-faces": Case("four"),
    "training": Case("shared", training=True),
}


# ---- the child: one case in the real window ------------------------------------------------


class Meter:
    """On the GUI thread: a 5 ms timer's longest gap, and each new Live result's figures."""

    def __init__(self, live) -> None:  # noqa: ANN001 (the LiveTab, imported in the child)
        from PySide6.QtCore import QTimer

        self.live = live
        self.last_tick = time.perf_counter()
        self.measuring = False
        self.gaps: list[float] = []
        self.long_gaps: list[tuple[float, float]] = []  # (seconds, monotonic end) for pauses.py
        self.results: list = []  # (time, result) of each result seen while measuring
        self._seen = None
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def tick(self) -> None:
        now = time.perf_counter()
        if self.measuring:
            self.gaps.append((now - self.last_tick) * 1000)
            if self.gaps[-1] > STALL_MS:
                self.long_gaps.append((now - self.last_tick, time.monotonic()))
        self.last_tick = now
        result = self.live.latest()
        if result is not None and result is not self._seen:
            self._seen = result
            if self.measuring:
                self.results.append((now, result))

    def figures(self) -> dict:
        import numpy as np

        if len(self.results) < 2:
            return {"processed_fps": 0.0, "message": self.live.message_text()}
        (t0, first), (t1, last) = self.results[0], self.results[-1]
        dropped = last.dropped - first.dropped
        # left unanalysed on purpose while training runs (the code before had no pace)
        paced = getattr(last, "paced", 0) - getattr(first, "paced", 0)
        processed = last.frame.index - first.frame.index - dropped - paced
        steps = [r.timings.total_ms for _, r in self.results]
        return {
            "processed_fps": round(processed / (t1 - t0), 1),
            "capture_fps": round((last.frame.index - first.frame.index) / (t1 - t0), 1),
            "step_p50_ms": round(float(np.percentile(steps, 50)), 1),
            "step_p95_ms": round(float(np.percentile(steps, 95)), 1),
            "dropped": dropped,
            "paced": paced,
            "longest_stall_ms": round(max(self.gaps), 1),
            "stalls_over_50ms": sum(g > 50 for g in self.gaps),
            "faces": round(statistics.fmean(len(r.faces) for _, r in self.results), 2),
            "message": self.live.message_text(),
        }


def drive(window, args: argparse.Namespace, figures: dict) -> None:  # noqa: ANN001
    """Play the case in ``window``; fills ``figures`` and closes the window at the end."""
    from PySide6.QtCore import QEventLoop, QTimer

    def wait(seconds: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(round(seconds * 1000), loop.quit)
        loop.exec()

    window.resize(*WINDOW)
    window.tabs.setCurrentWidget(window.live)
    meter = Meter(window.live)
    training = window.training
    if args.kdef:
        training.params.preset.setCurrentText("Quick")
        training.data.set_folder(args.kdef)
        while training.data.scan_task.is_running():
            wait(0.1)
    if args.video:
        window.live.set_video_file(args.video)
        window.live.start()
        while window.live.latest() is None and window.live.is_running():
            wait(0.05)
        wait(WARMUP_S)
    meter.measuring = True
    cpu, wall = sum(os.times()[:2]), time.perf_counter()
    if args.kdef:
        started = time.perf_counter()
        training.start()
        while training.train_task.is_running():
            wait(0.1)
        figures["training_s"] = round(time.perf_counter() - started, 1)
        figures["training_message"] = training.message.text()
    else:
        wait(args.seconds)
    meter.measuring = False
    figures["app_cores"] = round((sum(os.times()[:2]) - cpu) / (time.perf_counter() - wall), 2)
    if args.video:
        figures.update(meter.figures())
    else:
        figures["longest_stall_ms"] = round(max(meter.gaps), 1)
    figures["gui_gaps"] = meter.long_gaps
    window.close()


def run_child(args: argparse.Namespace) -> int:
    """The app's own start-up (process settings, window) with :func:`drive` run in it."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from emotion_desktop import app
    from emotion_desktop.gui.main_window import MainWindow

    qt_app = QApplication([sys.argv[0]])
    figures: dict = {}

    def begin() -> None:
        (window,) = [w for w in qt_app.topLevelWidgets() if isinstance(w, MainWindow)]
        try:
            drive(window, args, figures)
        except Exception:  # noqa: BLE001 (the app's hook would wait on a dialog: report, end)
            figures["error"] = traceback.format_exc()
            window.close()

    QTimer.singleShot(0, begin)
    app.main([])
    print(json.dumps(figures))
    return 0


# ---- the parent: videos, busy processes, one child per case --------------------------------


def child(args: argparse.Namespace, work: Path, video: Path | None, kdef: Path | None) -> dict:
    """One case in a fresh app process with private settings, data, cache and log folders."""
    home = Path(tempfile.mkdtemp(dir=work))
    env = {**os.environ, "XDG_CONFIG_HOME": str(home / "config")}
    env.pop("QT_QPA_PLATFORM", None)
    for name in ("DATA", "CACHE", "LOG"):
        env[f"EMOTION_DESKTOP_{name}_DIR"] = str(home / name.lower())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(args.tree), env.get("PYTHONPATH")]))
    command = [sys.executable, __file__, "--child", "--seconds", str(args.seconds)]
    command += ["--video", str(video)] if video else []
    command += ["--kdef", str(kdef)] if kdef else []
    probes = start_probes()
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return {"error": "the app did not end within 10 minutes"}
    finally:
        machine = stop_probes(probes)
        shutil.rmtree(home, ignore_errors=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return {"error": (done.stderr or done.stdout).strip()[-800:]}
    figures = json.loads(lines[-1])
    if "error" in figures:
        return figures
    stalls = app_stalls([tuple(gap) for gap in figures.pop("gui_gaps")], machine)
    figures["app_stall_ms"] = round(max(stalls, default=0), 1)  # machine pauses left out
    figures["machine_pauses"] = len(machine)
    return figures


def run_case(name: str, args: argparse.Namespace, work: Path) -> dict:
    case = CASES[name]
    video = {
        "shared": lambda: live_videos.VIDEO,
        "hd": lambda: live_videos.upscaled(live_videos.VIDEO, work / "hd.mp4"),
        "four": lambda: live_videos.four_faces(work / "four.mp4"),
    }[case.video]()
    busy = [subprocess.Popen(["python3", "-c", BUSY]) for _ in range(case.busy)]
    try:
        if not case.training:
            return child(args, work, video, None)
        kdef = live_videos.kdef_like(work / "kdef", args.train_people)
        alone = child(args, work, None, kdef)
        beside = child(args, work, video, kdef)
        slower = beside.get("training_s", 0) / alone["training_s"] if "training_s" in alone else 0
        return {
            **beside,
            "training_alone_s": alone.get("training_s"),
            "training_alone_message": alone.get("training_message", alone.get("error")),
            "slower": round(slower, 2),
        }
    finally:
        for process in busy:
            process.kill()
            process.wait()


def show(name: str, figures: dict) -> None:
    if "error" in figures:
        print(f"{name:12s} failed: {figures['error']}")
        return
    line = (
        f"{name:12s} {figures.get('processed_fps', 0):5.1f} fps  step p50 "
        f"{figures.get('step_p50_ms', 0):5.1f} p95 {figures.get('step_p95_ms', 0):6.1f} ms  "
        f"dropped {figures.get('dropped', 0):4.0f}  paced {figures.get('paced', 0):4.0f}  "
        f"longest stall "
        f"{figures.get('longest_stall_ms', 0):6.1f} ms (app {figures.get('app_stall_ms', 0):5.1f})"
        f"  faces {figures.get('faces', 0)}  app CPU {figures.get('app_cores', 0):.2f} cores"
    )
    if "training_alone_s" in figures:
        line += (
            f"  training {figures.get('training_s')} s vs {figures['training_alone_s']} s "
            f"alone (x{figures['slower']})"
        )
        for key in ("training_message", "training_alone_message"):
            if key in figures and not str(figures[key]).startswith("Saved "):  # did not finish
                line += f"\n  {key}: {figures.get(key)}"
    print(line, flush=True)


def medians(runs: list[dict]) -> dict:
    """Each figure's median over a case's repeats (failed runs left out); the training ratio
    from the median times, since a run alone varies most from run to run."""
    done = [r for r in runs if "error" not in r]
    keys = ("processed_fps", "step_p50_ms", "step_p95_ms", "dropped", "paced", "longest_stall_ms")
    keys += ("app_stall_ms", "faces", "app_cores", "training_s", "training_alone_s")
    summary = {
        k: round(statistics.median(r[k] for r in done), 1)
        for k in keys
        if done and all(isinstance(r.get(k), int | float) for r in done)
    }
    if summary.get("training_alone_s"):
        summary["slower"] = round(summary["training_s"] / summary["training_alone_s"], 2)
    return summary


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated, of: %(default)s")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured per case")
    parser.add_argument(
        "--train-people", type=int, default=20, help="KDEF-like actors the training case trains on"
    )
    parser.add_argument("--tree", type=Path, default=REPO, help="the app's source tree to run")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--video", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--kdef", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = set(args.cases.split(",")) - set(CASES)
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    return args


def main() -> int:
    args = parse_args()
    if args.child:
        return run_child(args)
    if not os.environ.get("DISPLAY"):
        xvfb = ["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24"]
        return subprocess.call([*xvfb, sys.executable, __file__, *sys.argv[1:]])
    runs: dict[str, list[dict]] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="live-window-") as tmp:
        for repeat in range(args.repeats):
            for name in args.cases.split(","):
                figures = run_case(name, args, Path(tmp))
                runs.setdefault(name, []).append(figures)
                show(name if args.repeats == 1 else f"{name}#{repeat + 1}", figures)
    if args.repeats > 1:
        print(f"medians of {args.repeats} repeats:")
        for name, figures in runs.items():
            show(name, medians(figures))
    print(f"{time.perf_counter() - started:.0f} s in all, {os.cpu_count()} CPUs")
    print(json.dumps({"benchmark": "live_window", "tree": str(args.tree), "runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
