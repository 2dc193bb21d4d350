"""Live pipeline speed on the shared video, and the GUI thread's longest stall while it runs.

Part 1 runs the core pipeline (grey, detect every k-th frame, classify, track) over every frame
of the video as fast as it goes, and reports the median and 95th percentile milliseconds of
detection, classification and the whole step. Part 2 plays the same video in the real LiveTab
(offscreen) for a few seconds while a 5 ms QTimer records the largest gap between its ticks:
the longest time the window would not have answered. The last line is one JSON object.

    python benchmarks/live.py [--model PATH] [--video PATH] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emotion_desktop.core import paths  # noqa: E402
from emotion_desktop.core.errors import EmotionDesktopError, VideoSourceError  # noqa: E402
from emotion_desktop.core.model.checkpoints import load_model  # noqa: E402
from emotion_desktop.core.runtime import Work, configure_torch, use_threads  # noqa: E402
from emotion_desktop.core.stream.frames import (  # noqa: E402
    LiveOptions,
    live_pipeline,
    make_predictor,
)
from emotion_desktop.core.stream.video import VideoSource  # noqa: E402

VIDEO = REPO.parent / "shared/data/video/WolfgangLanger_Pexels.mp4"
WARMUP_FRAMES = 3  # the first steps pay for lazy initialisation in OpenCV and torch


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"median": 0.0, "p95": 0.0}
    return {
        "median": round(statistics.median(values), 2),
        "p95": round(float(np.percentile(values, 95)), 2),
    }


def measure_pipeline(model: Path, video: Path, options: LiveOptions) -> dict:
    """Every frame through the pipeline, no drops: the cost of one step, on Live's threads."""
    use_threads(Work.LIVE)  # as the Live worker does (process_frames)
    pipeline = live_pipeline(make_predictor(load_model(model), options), options)
    detect, classify, total, faces = [], [], [], []
    with VideoSource(video) as source:
        index = 0
        while (frame := source.read()) is not None:
            tracked, timings = pipeline.step(frame)
            index += 1
            if index <= WARMUP_FRAMES:
                continue
            if timings.detected:
                detect.append(timings.detect_ms)
            classify.append(timings.classify_ms)
            total.append(timings.total_ms)
            faces.append(sum(1 for f in tracked if not f.missed))
    if not total:
        raise VideoSourceError(f"{video.name} has no frames past the {WARMUP_FRAMES} warm-up ones")
    mean_total = statistics.fmean(total)
    return {
        "frames": len(total),
        "frames_with_face": sum(1 for n in faces if n),
        "detect_ms": percentiles(detect),
        "classify_ms": percentiles(classify),
        "step_ms": percentiles(total),
        "step_ms_mean": round(mean_total, 2),
        "processed_fps": round(1000 / mean_total, 1),
    }


def measure_gui(model: Path, video: Path, seconds: float, options: LiveOptions) -> dict:
    """Play ``video`` in the real LiveTab offscreen and record the longest GUI-thread gap."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # A private data folder: making the model active must not change the user's choice.
    data_dir = tempfile.mkdtemp(prefix="live-bench-")
    os.environ["EMOTION_DESKTOP_DATA_DIR"] = data_dir
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from emotion_desktop.gui.active_model import ActiveModel
    from emotion_desktop.gui.live.tab import LiveTab

    app = QApplication.instance() or QApplication([])
    active_model = ActiveModel()
    active_model.set_active(model)
    settings = QSettings(str(Path(data_dir) / "settings.ini"), QSettings.Format.IniFormat)
    tab = LiveTab(active_model, settings, options)
    tab.resize(1280, 720)
    tab.show()
    tab.set_video_file(video)

    clock = QElapsedTimer()
    gaps: list[float] = []
    painted: set[int] = set()
    last = [0.0]
    first_result = [None]

    def on_tick() -> None:
        now = clock.nsecsElapsed() / 1e6
        gaps.append(now - last[0])
        last[0] = now
        result = tab.view.painted_result
        if result is not None:
            painted.add(result.frame.index)
            if first_result[0] is None:
                first_result[0] = now / 1000

    ticker = QTimer()
    ticker.setInterval(5)
    ticker.timeout.connect(on_tick)
    clock.start()
    tab.start()
    ticker.start()
    QTimer.singleShot(round(seconds * 1000), app.quit)
    app.exec()
    ticker.stop()
    latest = tab.latest()
    message = tab.message_text()
    started = time.perf_counter()
    tab.shutdown()
    shutdown_ms = (time.perf_counter() - started) * 1000
    return {
        "seconds": seconds,
        "longest_stall_ms": round(max(gaps), 1) if gaps else None,
        "stall_p99_ms": round(float(np.percentile(gaps, 99)), 1) if gaps else None,
        "first_result_s": round(first_result[0], 2) if first_result[0] else None,
        "frames_painted": len(painted),
        "capture_fps": round(latest.capture_fps, 1) if latest else 0.0,
        "processed_fps": round(latest.processed_fps, 1) if latest else 0.0,
        "dropped": latest.dropped if latest else 0,
        "shutdown_ms": round(shutdown_ms, 1),
        "message": message,
    }


def at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: at least 1")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="checkpoint (default: active)")
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument("--seconds", type=float, default=5.0, help="GUI part duration")
    parser.add_argument("--detect-every", type=at_least_one, default=LiveOptions.detect_every)
    parser.add_argument("--flip", action="store_true", help="average each face with its mirror")
    args = parser.parse_args()
    configure_torch()  # as the app does at start-up
    model = (args.model or paths.active_model_path()).resolve()
    options = LiveOptions(detect_every=args.detect_every, flip=args.flip)
    if not args.video.is_file():
        print(f"no video at {args.video}", file=sys.stderr)
        return 2
    try:
        core = measure_pipeline(model, args.video, options)
    except EmotionDesktopError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"model {model}  video {args.video.name}  options {options}")
    print(f"{core['frames']} frames ({core['frames_with_face']} with a face)")
    for name in ("detect_ms", "classify_ms", "step_ms"):
        print(f"  {name:12s} median {core[name]['median']:6.2f}  p95 {core[name]['p95']:6.2f}")
    print(f"  step mean {core['step_ms_mean']:.2f} ms -> {core['processed_fps']} frames/s")
    gui = measure_gui(model, args.video, args.seconds, options)
    print(
        f"GUI {gui['seconds']} s: longest stall {gui['longest_stall_ms']} ms, "
        f"{gui['frames_painted']} frames painted, processed {gui['processed_fps']} fps, "
        f"capture {gui['capture_fps']} fps, dropped {gui['dropped']}"
    )
    figures = {
        "benchmark": "live",
        "model": str(model),
        "video": args.video.name,
        "cpu_count": os.cpu_count(),
        "detect_every": options.detect_every,
        "flip": options.flip,
        "reference_median_step_ms": 21.0,
        **core,
        "gui": gui,
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
