"""Batch labelling at scale: images per second, memory over a long run, first row of a huge folder.

    python benchmarks/batch.py [--images 10000] [--distinct 1000] [--walk-files 100000]

Everything is built in a temporary folder and deleted afterwards: ``--distinct`` KDEF-sized
(562x762) JPEGs, made from a local KDEF copy (``~/datasets/data/KDEF``; never commit it) or,
failing that, from the shared face samples, then hard links to them up to ``--images`` for the
long run, and ``--walk-files`` hard links in one flat folder for the time to the first row.
The loop is the one the CLI and the Batch tab run (``core.labelling.label_paths``) writing a
CSV as it goes. Aims: >= 50 images/s, RSS growth < 150 MB over 10,000 images, first row < 2 s.
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
import numpy as np

from emotion_desktop.core import paths
from emotion_desktop.core.checkpoints import LoadedModel, load_model
from emotion_desktop.core.errors import CheckpointError
from emotion_desktop.core.faces import CropSettings, FaceDetector
from emotion_desktop.core.inference import Predictor
from emotion_desktop.core.labelling import CsvRowWriter, LabelRow, LabelSummary, label_paths
from emotion_desktop.core.model import EmotionCNN, ModelConfig

KDEF_SIZE = (562, 762)  # width, height
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
KDEF = Path.home() / "datasets" / "data" / "KDEF"
GUI_BATCH = 8  # the Batch tab's batch size when it does not write the CSV as it goes


def rss_mb() -> float:
    """Resident memory now, from /proc where there is one, else the peak from getrusage."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def source_images() -> tuple[list[Path], str]:
    """Photos to build the folder from: KDEF if present (already 562x762), else shared faces."""
    if KDEF.is_dir():
        kdef = sorted(p for p in KDEF.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
        if kdef:
            return kdef, f"KDEF ({KDEF})"
    faces = sorted((SHARED / "faces").glob("*/*.jpg"))
    if not faces:
        sys.exit(f"no source photos: neither {KDEF} nor {SHARED / 'faces'} holds any")
    return faces, f"shared faces resized to {KDEF_SIZE[0]}x{KDEF_SIZE[1]}"


def make_distinct(folder: Path, sources: list[Path], count: int) -> list[Path]:
    """``count`` different KDEF-sized JPEGs: each source, resized, shifted and mirrored in turn."""
    folder.mkdir(parents=True)
    out = []
    for i, src in zip(range(count), itertools.cycle(sources)):
        image = cv2.imread(str(src))
        if image.shape[1::-1] != KDEF_SIZE:
            image = cv2.resize(image, KDEF_SIZE, interpolation=cv2.INTER_AREA)
        turn = i // len(sources)
        if turn:
            image = np.roll(image, 3 * turn, axis=1)
            image = cv2.flip(image, 1) if turn % 2 else image
        path = folder / f"img_{i:05d}.jpg"
        cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        out.append(path)
    return out


def link_folder(folder: Path, files: list[Path], count: int, per_folder: int) -> None:
    """``count`` hard links cycling over ``files`` (an inode takes ~65,000 at most), ``per_folder``
    to a sub-folder."""
    for i, src in zip(range(count), itertools.cycle(files)):
        sub = folder / f"d{i // per_folder:04d}"
        if i % per_folder == 0:
            sub.mkdir(parents=True)
        os.link(src, sub / f"f{i:06d}.jpg")


def predictor_for(model: Path | None) -> tuple[Predictor, str]:
    """The chosen or active model; an untrained network of the default shape if none loads
    (speed does not depend on the weights), saying so in the report."""
    chosen = model or paths.active_model_path()
    try:
        return Predictor(load_model(chosen), FaceDetector()), str(chosen)
    except CheckpointError as exc:
        loaded = LoadedModel(EmotionCNN(ModelConfig()).eval(), CropSettings(), {}, chosen)
        note = f"untrained default architecture ({str(exc)[:120]})"
        return Predictor(loaded, FaceDetector()), note


def run(folder: Path, predictor: Predictor, csv_path: Path) -> tuple[LabelSummary, float]:
    summary = LabelSummary()
    start = time.perf_counter()
    with CsvRowWriter(csv_path) as writer:
        for events in label_paths([folder], predictor, batch_size=GUI_BATCH):
            summary.add(events)
            writer.write(e for e in events if isinstance(e, LabelRow))
    return summary, time.perf_counter() - start


def first_row_seconds(folder: Path, predictor: Predictor) -> float:
    start = time.perf_counter()
    for events in label_paths([folder], predictor, batch_size=GUI_BATCH):
        if any(isinstance(e, LabelRow) for e in events):
            return time.perf_counter() - start
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000, help="images in the long run")
    parser.add_argument("--distinct", type=int, default=1000, help="different JPEGs among them")
    parser.add_argument("--walk-files", type=int, default=100_000, help="files for first row")
    parser.add_argument("--model", type=Path, help="default: the active model")
    args = parser.parse_args()

    predictor, model_note = predictor_for(args.model)
    sources, source_note = source_images()
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp:
        root = Path(tmp)
        distinct = make_distinct(root / "distinct", sources, min(args.distinct, args.images))
        link_folder(root / "run", distinct, args.images, per_folder=1000)
        print(f"{args.images} images ({len(distinct)} distinct) from {source_note}", flush=True)

        list(label_paths(distinct[:GUI_BATCH], predictor, batch_size=GUI_BATCH))  # warm up
        rss_start = rss_mb()
        summary, seconds = run(root / "run", predictor, root / "rows.csv")
        rss_end = rss_mb()
        decoded = summary.images + summary.problems  # every image file, with a face or not
        print(f"{decoded / seconds:.1f} images/s, RSS {rss_start:.0f} -> {rss_end:.0f} MB")

        link_folder(root / "walk", distinct, args.walk_files, per_folder=args.walk_files)
        first = first_row_seconds(root / "walk", predictor)
        print(f"first row of {args.walk_files} files after {first:.2f} s", flush=True)

    result = {
        "benchmark": "batch",
        "model": model_note,
        "source": source_note,
        "cpu_count": os.cpu_count(),
        "torch_threads": __import__("torch").get_num_threads(),
        "images": decoded,
        "images_with_faces": summary.images,
        "faces": summary.faces,
        "problems": summary.problems,
        "seconds": round(seconds, 2),
        "images_per_s": round(decoded / seconds, 1),
        "rss_start_mb": round(rss_start, 1),
        "rss_end_mb": round(rss_end, 1),
        "rss_growth_mb": round(rss_end - rss_start, 1),
        "walk_files": args.walk_files,
        "first_row_s": round(first, 3),
        "aims": {"images_per_s": 50, "rss_growth_mb": 150, "first_row_s": 2},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
