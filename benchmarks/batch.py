"""Batch labelling at scale: images per second on two sources, faces and labels against the
pre-threading path, memory over a long run, first row of a huge folder, and fer beside it.

    python benchmarks/batch.py [--images 10000] [--per-source 490] [--walk-files 100000]

Everything is built in a temporary folder and deleted afterwards. Two sources of KDEF's size
(562x762 JPEGs): the 70 shared face photos resized and linked seven times (490 files; real
photos, where the frontal cascade often searches long), and KDEF frontal images from a local
copy (``~/datasets/data/KDEF``; never commit it), when there is one. Each is labelled by the
CLI's loop (``core.batch.labelling.label_paths``, which the CLI runs as it is) and by the Batch
tab's worker function (``gui.batch.run.labelling_task``, without a window; here with the CLI's
thread settings, one torch and one OpenCV thread beside the labelling pool), once with
``--min-face 0.25`` (portraits only), and once one image at a time through
``Predictor.predict_image``, the path before batching and threads, to show that the faces found
and their labels did not change. Where the ``fer`` package is installed, its Haar mode labels
the same files and the ratio is printed. Aims (issue 16): >= 100 images/s on
2 cores for both sources, RSS growth < 150 MB over 10,000 images, first row < 2 s.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import cv2
import torch

from emotion_desktop.core import paths
from emotion_desktop.core.batch.labelling import LabelSummary, label_paths, label_workers
from emotion_desktop.core.batch.results import CsvRowWriter, LabelRow
from emotion_desktop.core.data.kdef import scan as scan_kdef
from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.errors import CheckpointError, EmotionDesktopError
from emotion_desktop.core.model.checkpoints import LoadedModel, load_model
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.model.networks import EmotionCNN, ModelConfig
from emotion_desktop.core.runtime import configure_for_labelling
from emotion_desktop.core.vision.faces import MIN_FACE, CropSettings, FaceDetector

KDEF_SIZE = (562, 762)  # width, height
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
KDEF = Path.home() / "datasets" / "data" / "KDEF"
AIMS = {"images_per_s": 100, "rss_growth_mb": 150, "first_row_s": 2}
QUICK_MIN_FACE = 0.25  # label --min-face 0.25: portraits only, about twice as fast


def rss_mb() -> float:
    """Resident memory now, from /proc where there is one, else the peak from getrusage."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def shared_photos() -> list[tuple[Path, str]]:
    """The 70 shared photos and their emotions."""
    photos = sorted((SHARED / "faces").glob("*/*.jpg"))
    if not photos:
        sys.exit(f"no shared photos under {SHARED / 'faces'}")
    return [(p, p.parent.name) for p in photos]


def kdef_frontal() -> list[tuple[Path, str]]:
    """KDEF's straight-on images and their emotions; none without a local copy."""
    if not KDEF.is_dir():
        return []
    records = scan_kdef(KDEF).records
    return [(r.path, NAMES[r.label]) for r in records if r.angle == "S"]


def make_folder(folder: Path, photos: list[tuple[Path, str]], count: int) -> list[Path]:
    """``count`` KDEF-sized JPEGs cycling over ``photos``: each distinct photo written once
    (resized where it is not 562x762), the rest hard links to them."""
    folder.mkdir(parents=True)
    written: list[Path] = []
    out = []
    for i, (src, _) in zip(range(count), itertools.cycle(photos)):
        path = folder / f"img_{i:05d}.jpg"
        if i < len(photos):
            image = cv2.imread(str(src))
            if image.shape[1::-1] != KDEF_SIZE:
                image = cv2.resize(image, KDEF_SIZE, interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            written.append(path)
        else:
            os.link(written[i % len(written)], path)
        out.append(path)
    return out


def link_folder(folder: Path, files: list[Path], count: int, per_folder: int) -> None:
    """``count`` hard links cycling over ``files``, ``per_folder`` to a sub-folder."""
    for i, src in zip(range(count), itertools.cycle(files)):
        sub = folder / f"d{i // per_folder:04d}"
        if i % per_folder == 0:
            sub.mkdir(parents=True)
        os.link(src, sub / f"f{i:06d}.jpg")


def predictor_for(model: Path | None, min_face: float = MIN_FACE) -> tuple[Predictor, str]:
    """The chosen or active model; an untrained network of the default shape if none loads
    (speed does not depend on the weights), saying so in the report."""
    chosen = model or paths.active_model_path()
    detector = FaceDetector(min_face=min_face)
    try:
        return Predictor(load_model(chosen), detector), str(chosen)
    except CheckpointError as exc:
        loaded = LoadedModel(EmotionCNN(ModelConfig()).eval(), CropSettings(), {}, chosen)
        note = f"untrained default architecture ({str(exc)[:120]})"
        return Predictor(loaded, detector), note


def cli_rate(folder: Path, predictor: Predictor, csv_path: Path) -> tuple[LabelSummary, float]:
    """The CLI's loop, writing its CSV: (summary, images per second)."""
    summary = LabelSummary()
    start = time.perf_counter()
    with CsvRowWriter(csv_path) as writer:
        for events in label_paths([folder], predictor):
            summary.add(events)
            writer.write(e for e in events if isinstance(e, LabelRow))
    seconds = time.perf_counter() - start
    return summary, (summary.images + summary.problems) / seconds


def tab_rate(folder: Path, predictor: Predictor, csv_path: Path) -> float:
    """The Batch tab's worker function with its live CSV, without a window: images per second."""
    from emotion_desktop.gui.batch.run import BatchRequest, PauseGate, labelling_task

    chunks = []
    run = labelling_task(BatchRequest((folder,), csv_path=csv_path), predictor.path, PauseGate())
    start = time.perf_counter()
    run(chunks.append, lambda: False)
    return sum(c.images for c in chunks) / (time.perf_counter() - start)


def agreement(photos: list[tuple[Path, str]], predictor: Predictor) -> dict:
    """Faces found and labels right on ``photos`` (largest face), by the labelling loop and by
    the path before it (``predict_image``, one image at a time), and how often the two agree."""
    truth = {p: emotion for p, emotion in photos}
    fast = {}
    for events in label_paths(list(truth), predictor):
        rows = [e for e in events if isinstance(e, LabelRow)]
        if rows:
            fast[rows[0].file] = (rows[0].box, rows[0].result.label)
    before = {}
    for path in truth:
        try:
            faces = predictor.predict_image(path)
        except EmotionDesktopError:
            continue
        if faces:
            before[path] = (faces[0].box, faces[0].label)
    same = sum(
        p in before and fast[p][1] == before[p][1] and fast[p][0].iou(before[p][0]) > 0.9
        for p in fast
    )
    n = len(truth)
    return {
        "images": n,
        "faces_found": round(len(fast) / n, 4),
        "faces_found_before": round(len(before) / n, 4),
        "label_accuracy": round(sum(fast[p][1] == truth[p] for p in fast) / n, 4),
        "label_accuracy_before": round(sum(before[p][1] == truth[p] for p in before) / n, 4),
        "same_box_and_label": round(same / max(len(fast), 1), 4),
    }


def fer_rate(files: list[Path]) -> float | None:
    """Images per second of the ``fer`` package (Haar mode) on ``files``; None if absent."""
    try:
        from fer import FER
    except ImportError:
        return None
    detector = FER(mtcnn=False)
    start = time.perf_counter()
    for path in files:
        detector.detect_emotions(cv2.imread(str(path)))
    return len(files) / (time.perf_counter() - start)


def first_row_seconds(folder: Path, predictor: Predictor) -> float:
    start = time.perf_counter()
    for events in label_paths([folder], predictor):
        if any(isinstance(e, LabelRow) for e in events):
            return time.perf_counter() - start
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-source", type=int, default=490, help="files per speed run")
    parser.add_argument("--images", type=int, default=10_000, help="images in the memory run")
    parser.add_argument("--walk-files", type=int, default=100_000, help="files for first row")
    parser.add_argument("--model", type=Path, help="default: the active model")
    args = parser.parse_args()

    configure_for_labelling()  # as the CLI's label command does at start-up
    predictor, model_note = predictor_for(args.model)
    quick, _ = predictor_for(args.model, QUICK_MIN_FACE)
    sources = {"shared_photos": shared_photos(), "kdef_frontal": kdef_frontal()}
    result: dict = {
        "benchmark": "batch",
        "model": model_note,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "label_workers": label_workers(),
        "sources": {},
        "aims": AIMS,
    }
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp:
        root = Path(tmp)
        list(label_paths([p for p, _ in sources["shared_photos"][:8]], predictor))  # warm up
        for name, photos in sources.items():
            if not photos:
                print(f"{name}: no images here (KDEF is not unpacked at {KDEF})", flush=True)
                continue
            files = make_folder(root / name, photos, args.per_source)
            summary, cli = cli_rate(root / name, predictor, root / f"{name}.csv")
            _, cli_quick = cli_rate(root / name, quick, root / f"{name}-quick.csv")
            tab = tab_rate(root / name, predictor, root / f"{name}-tab.csv")
            fer = fer_rate(files)
            figures = {
                "files": len(files),
                "distinct": min(len(photos), len(files)),
                "cli_images_per_s": round(cli, 1),
                "tab_images_per_s": round(tab, 1),
                f"cli_min_face_{QUICK_MIN_FACE}_images_per_s": round(cli_quick, 1),
                f"min_face_{QUICK_MIN_FACE}_faces_found": agreement(photos, quick)["faces_found"],
                "images_with_faces": summary.images,
                "fer_images_per_s": round(fer, 1) if fer else "fer not installed",
                "ratio_to_fer": round(cli / fer, 2) if fer else None,
                "accuracy": agreement(photos, predictor),
            }
            result["sources"][name] = figures
            print(f"{name}: {json.dumps(figures)}", flush=True)

        distinct = make_folder(root / "distinct", sources["shared_photos"], 70)
        link_folder(root / "run", distinct, args.images, per_folder=1000)
        rss_start = rss_mb()
        summary, rate = cli_rate(root / "run", predictor, root / "rows.csv")
        rss_end = rss_mb()
        print(f"{args.images} images: {rate:.1f} images/s, RSS {rss_start:.0f} -> {rss_end:.0f} MB")
        link_folder(root / "walk", distinct, args.walk_files, per_folder=args.walk_files)
        first = first_row_seconds(root / "walk", predictor)
        print(f"first row of {args.walk_files} files after {first:.2f} s", flush=True)
    result.update(
        long_run_images=args.images,
        long_run_images_per_s=round(rate, 1),
        rss_start_mb=round(rss_start, 1),
        rss_end_mb=round(rss_end, 1),
        rss_growth_mb=round(rss_end - rss_start, 1),
        walk_files=args.walk_files,
        first_row_s=round(first, 3),
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
