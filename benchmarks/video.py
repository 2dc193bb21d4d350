"""Video analysis speed and memory: a recorded video read offline into per-frame, per-face rows.

Cases (issue 29), each through the labelling loop the CLI and the Batch tab run
(``core.batch.labelling.label_paths``), with the CLI's thread settings and the default model:

- the shared video (640x360, 472 frames, 19.7 s), every frame: aim 5 s or less (4x real time);
- the same video upscaled to 1920x1080 (written once to a temporary file), every frame: aim
  real time or better;
- the shared video, every 5th frame: aim 15x real time or better;
- with ``--hour``: an hour of video (the shared one looped, written to a temporary file) at
  every 10th frame, resident memory sampled as it goes: aim a rise under 100 MB.

Each case prints the seconds, the multiple of real time, milliseconds per analysed frame and
the peak resident memory; the last line is one JSON object.

    python benchmarks/video.py [--model PATH] [--video PATH] [--repeat 3] [--hour]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emotion_desktop.core import paths  # noqa: E402
from emotion_desktop.core.batch.labelling import LabelSummary, label_paths  # noqa: E402
from emotion_desktop.core.batch.video import Sampling, VideoProgress  # noqa: E402
from emotion_desktop.core.model.inference import Predictor  # noqa: E402
from emotion_desktop.core.runtime import configure_for_labelling  # noqa: E402

VIDEO = REPO.parent / "shared/data/video/WolfgangLanger_Pexels.mp4"


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def rewrite(video: Path, out: Path, size: tuple[int, int] | None, loops: int = 1) -> Path:
    """``video`` re-encoded (MPEG-4) at ``size``, ``loops`` times over: the HD and hour cases.
    Frames are copied one at a time, so the measured process starts without them in memory."""
    probe = cv2.VideoCapture(str(video))
    fps = probe.get(cv2.CAP_PROP_FPS)
    width, height = size or (
        int(probe.get(cv2.CAP_PROP_FRAME_WIDTH)),
        int(probe.get(cv2.CAP_PROP_FRAME_HEIGHT)),
    )
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for _ in range(loops):
        source = cv2.VideoCapture(str(video))
        while True:
            ok, frame = source.read()
            if not ok:
                break
            writer.write(cv2.resize(frame, size, interpolation=cv2.INTER_CUBIC) if size else frame)
    writer.release()
    return out


def run_case(predictor: Predictor, video: Path, sampling: Sampling) -> dict:
    summary, last, steady = LabelSummary(), None, None
    start, base = time.perf_counter(), rss_mb()
    peak = base
    for events in label_paths([video], predictor, sampling=sampling):
        summary.add(events)
        for event in events:
            if isinstance(event, VideoProgress):
                last = event
                peak = max(peak, rss_mb())
                steady = steady or peak  # after the first quarter second: buffers in place
    seconds = time.perf_counter() - start
    capture = cv2.VideoCapture(str(video))
    duration = capture.get(cv2.CAP_PROP_FRAME_COUNT) / capture.get(cv2.CAP_PROP_FPS)
    return {
        "seconds": round(seconds, 2),
        "video_seconds": round(duration, 1),
        "x_real_time": round(duration / seconds, 1),
        "frames_read": last.read if last else 0,
        "frames_analysed": summary.frames,
        "ms_per_analysed_frame": round(1000 * seconds / max(summary.frames, 1), 2),
        "faces": summary.faces,
        "rss_start_mb": round(base),
        "rss_rise_mb": round(peak - base, 1),
        "rss_rise_after_first_progress_mb": round(peak - (steady or base), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per case; the median run counts"
    )
    parser.add_argument("--hour", action="store_true", help="also the one-hour memory case")
    args = parser.parse_args()
    configure_for_labelling()
    predictor = Predictor.from_checkpoint(args.model or paths.default_model_path())
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        cases = {
            "640x360 every frame": (args.video, Sampling()),
            "1920x1080 every frame": (
                rewrite(args.video, Path(tmp) / "hd.mp4", (1920, 1080)),
                Sampling(),
            ),
            "640x360 every 5th frame": (args.video, Sampling(every=5)),
        }
        for name, (video, sampling) in cases.items():
            runs = [run_case(predictor, video, sampling) for _ in range(args.repeat)]
            result = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]  # the median run
            result["all_seconds"] = [r["seconds"] for r in runs]
            results[name] = result
            print(f"{name}: {json.dumps(result)}", flush=True)
        if args.hour:
            loops = round(3600 / results["640x360 every frame"]["video_seconds"])
            hour = rewrite(args.video, Path(tmp) / "hour.mp4", None, loops)
            results["one hour, every 10th frame"] = run_case(predictor, hour, Sampling(every=10))
            print(f"one hour: {json.dumps(results['one hour, every 10th frame'])}", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
