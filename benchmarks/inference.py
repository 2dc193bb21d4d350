"""Classifier speed: milliseconds per face for batches of 1, 8 and 64 crops, with and without
the mirrored (test-time flip) pass. Ends with one JSON line.

    python benchmarks/inference.py [--model FILE.pt] [--repeat 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from emotion_desktop.core import paths
from emotion_desktop.core.model.checkpoints import load_model
from emotion_desktop.core.model.inference import Predictor


def ms_per_face(predictor: Predictor, batch: int, repeat: int) -> float:
    size = predictor.crop.size
    crops = np.random.default_rng(0).integers(0, 255, (batch, size, size)).astype(np.uint8)
    predictor.predict(crops)  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        predictor.predict(crops)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000 / batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=paths.active_model_path())
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    loaded = load_model(args.model)
    figures: dict[str, float] = {"threads": torch.get_num_threads()}
    for flip in (True, False):
        predictor = Predictor(loaded, flip=flip)
        for batch in (1, 8, 64):
            key = f"ms_per_face_batch{batch}{'_flip' if flip else ''}"
            figures[key] = round(ms_per_face(predictor, batch, args.repeat), 3)
            print(f"{key}: {figures[key]}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
