"""Personal calibration on KDEF, person-disjoint: how much a profile helps each held-out person,
and what it costs in time. Ends with one JSON line.

    python benchmarks/calibration.py q0.pt q1.pt q2.pt q3.pt q4.pt [--kdef ~/datasets/data/KDEF]

The fold models are the Training tab's Quick preset on KDEF split by person, one per fold
(each with its split file beside it, which names the fold's held-out people):

    for K in 0 1 2 3 4; do
      emotion-desktop-cli train --data ~/datasets/data/KDEF --split person --folds 5 --seed 0 \\
        --fold $K --epochs-cae 2 --epochs-cnn 15 --out q$K.pt
    done

(``--seed 1`` and ``s$K.pt`` made the second set the README checks the choices on.)

For each fold model and each of its held-out people, a profile is made through the app's own
path (:func:`make_profile`, then :meth:`Predictor.with_profile`) from session-A frontal photos:

- full:    one photo per expression (A, straight);
- neutral: the neutral photo alone;
- two:     two photos per expression (A, straight and half-left);
- full-live: as full, with the test faces classified as Live classifies (no mirrored average;
  a profile is always made with it, whoever makes it);

and tested on the same person's session-B photos: the five angles together, and frontal
(straight) apart. Figures are the mean and spread over people of their accuracy before (the
fold's model alone) and after, the mean gain, the worst person's gain and how many people lost.

Timing, of the shipped default model unless ``--timing-model`` says otherwise (2 cores, shared:
medians of repeats run in turn, and the median of paired differences): making a profile from
seven bursts of ``--burst`` crops (with the mirrored average, as every profile is); the
classifier call of a Live step (one face) and of Batch's eight faces (mirrored), with and
without a profile; and the Batch loop's images a second over 40 KDEF photos, with and without.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion_desktop.core import paths
from emotion_desktop.core.batch.labelling import label_paths
from emotion_desktop.core.data.dataset import FaceSet, build_faces, to_tensor
from emotion_desktop.core.data.kdef import KdefRecord, scan
from emotion_desktop.core.data.split_files import load_splits
from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.model.calibrate import make_profile
from emotion_desktop.core.model.checkpoints import load_model, split_path
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.model.networks import probabilities_and_layout
from emotion_desktop.core.runtime import configure_torch

# What each profile is made from: (angles of session A, expressions).
CONFIGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "full": (("S",), NAMES),
    "neutral": (("S",), ("neutral",)),
    "two": (("S", "HL"), NAMES),
    "full-live": (("S",), NAMES),  # as full, the faces classified as Live does (no mirror)
}


@dataclass(frozen=True)
class Person:
    """One held-out person's accuracy before and after a profile, frontal and all angles."""

    fold: str
    person: str
    config: str
    before: tuple[float, float]  # (frontal, all)
    after: tuple[float, float]


def held_out(
    model: Path, kdef: Path, records: list[KdefRecord]
) -> tuple[list[KdefRecord], FaceSet]:
    """The fold's test records (its held-out people) and their crops, framed for the model."""
    split = load_splits(split_path(model), "kdef")["kdef"]
    test = set(split.test)
    chosen = [r for r in records if r.key in test]
    faces = build_faces(chosen, kdef, load_model(model).crop, paths.cache_dir())
    return chosen, faces


def person_figures(model: Path, kdef: Path, records: list[KdefRecord]) -> list[Person]:
    predictor = Predictor.from_checkpoint(model)  # Batch's and the CLI's: the mirrored average
    live = predictor.with_detector(predictor.detector, flip=False)  # Live's classifier
    chosen, faces = held_out(model, kdef, records)
    by_key = {r.key: r for r in chosen}
    index = {k: i for i, k in enumerate(faces.keys)}
    results = []
    for person in sorted({r.person for r in chosen}):
        mine = [by_key[k] for k in faces.keys if by_key[k].person == person]
        tests = [r for r in mine if r.session == "B"]
        rows = [index[r.key] for r in tests]
        truth = faces.labels[rows]
        frontal = np.array([r.angle == "S" for r in tests])
        for config, (angles, emotions) in CONFIGS.items():
            crops: dict[str, list[np.ndarray]] = {}
            for r in mine:
                if r.session == "A" and r.angle in angles and NAMES[r.label] in emotions:
                    crops.setdefault(NAMES[r.label], []).append(faces.images[index[r.key]])
            if not crops or not rows:
                continue
            classifier = live if config == "full-live" else predictor
            before = classifier.predict(faces.images[rows]).argmax(1) == truth
            personal = classifier.with_profile(make_profile(classifier, crops, person))
            after = personal.predict(faces.images[rows]).argmax(1) == truth
            results.append(
                Person(
                    model.stem,
                    person,
                    config,
                    (float(before[frontal].mean()), float(before.mean())),
                    (float(after[frontal].mean()), float(after.mean())),
                )
            )
        print(f"  {model.stem} {person}: {len(tests)} test photos", flush=True)
    return results


def summary(people: list[Person], config: str, which: int) -> dict:
    """Mean and spread over people before and after, the gain, the worst person."""
    mine = [p for p in people if p.config == config]
    before = [p.before[which] * 100 for p in mine]
    after = [p.after[which] * 100 for p in mine]
    gains = [a - b for a, b in zip(after, before)]
    worst = min(range(len(mine)), key=lambda i: gains[i])
    return {
        "people": len(mine),
        "before": round(statistics.mean(before), 1),
        "before_sd": round(statistics.stdev(before), 1),
        "after": round(statistics.mean(after), 1),
        "after_sd": round(statistics.stdev(after), 1),
        "gain": round(statistics.mean(gains), 1),
        "worst_gain": round(gains[worst], 1),
        "worst_person": f"{mine[worst].fold}/{mine[worst].person}",
        "worse_off": sum(g < 0 for g in gains),
    }


def paired_ms(plain: Callable[[], object], personal: Callable[[], object], repeat: int) -> dict:
    """Milliseconds of two calls run in turn, the order alternating (drifting load on a shared
    machine falls on both alike): each one's median and fastest, and the median of the
    per-pair differences, the figure that noise disturbs least."""
    plain(), personal()  # warm-up
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(repeat):
        pair = ((0, plain), (1, personal)) if i % 2 else ((1, personal), (0, plain))
        for which, call in pair:
            t0 = time.perf_counter()
            call()
            times[which].append((time.perf_counter() - t0) * 1000)
    differences = [b - a for a, b in zip(*times)]
    return {
        "none": round(statistics.median(times[0]), 3),
        "profile": round(statistics.median(times[1]), 3),
        "fastest": [round(min(times[0]), 3), round(min(times[1]), 3)],
        "added": round(statistics.median(differences), 3),
    }


def batch_rates(predictor: Predictor, personal: Predictor, photos: list[Path]) -> dict:
    """Images a second of the Batch loop (decode, detect, classify) over ``photos``, without
    and with a profile, alternating three times each."""
    rates: dict[str, list[float]] = {"none": [], "profile": []}
    for _ in range(3):
        for name, labeller in (("none", predictor), ("profile", personal)):
            t0 = time.perf_counter()
            for _events in label_paths(photos, labeller):
                pass
            rates[name].append(round(len(photos) / (time.perf_counter() - t0), 1))
    return rates


def timings(model: Path, kdef: Path, records: list[KdefRecord], burst: int) -> dict:
    """make_profile on seven bursts, the classifier of a Live step and of Batch's eight
    photos with and without a profile, and Batch's rate, for ``model`` (the shipped default:
    what Live runs)."""
    live = Predictor(load_model(model), flip=False)  # Live's classifier setting
    chosen = records[:280]  # the first 8 of KDEF's 70 sittings, every angle
    faces = build_faces(chosen, kdef, live.crop, paths.cache_dir())
    rng = np.random.default_rng(0)
    bursts = {
        name: list(faces.images[rng.choice(np.flatnonzero(faces.labels == i), burst)])
        for i, name in enumerate(NAMES)
    }
    making = []
    for _ in range(5):
        t0 = time.perf_counter()
        profile = make_profile(live, bursts, "timing")
        making.append(time.perf_counter() - t0)
    personal = live.with_profile(profile)
    one, eight = faces.images[:1], faces.images[:8]
    batch = Predictor(load_model(model))  # Batch's: the mirrored average
    probs, layout = (t.numpy() for t in probabilities_and_layout(live.model, to_tensor(one)))
    return {
        "make_profile_s": round(statistics.median(making), 3),
        "make_profile_s_max": round(max(making), 3),
        "burst_crops": 7 * burst,
        "step_ms": paired_ms(lambda: live.predict(one), lambda: personal.predict(one), 1000),
        "batch8_ms": paired_ms(
            lambda: batch.predict(eight), lambda: batch.with_profile(profile).predict(eight), 200
        ),
        "profile_only_ms": paired_ms(
            lambda: None, lambda: profile.probabilities(probs, layout), 1000
        )["added"],
        "batch_images_per_s": batch_rates(
            batch, batch.with_profile(profile), [r.path for r in chosen[:40]]
        ),
    }


def print_table(people: list[Person]) -> dict:
    figures = {}
    print(
        f"\n{'profile':9} {'test':8} {'people':>6} {'before':>12} {'after':>12} {'gain':>6} "
        f"{'worst (who)':>20} {'worse off':>9}"
    )
    for config in CONFIGS:
        for which, test in enumerate(("frontal", "all")):
            s = summary(people, config, which)
            figures[f"{config}_{test}"] = s
            print(
                f"{config:9} {test:8} {s['people']:6} {s['before']:6.1f} ±{s['before_sd']:4.1f} "
                f"{s['after']:6.1f} ±{s['after_sd']:4.1f} {s['gain']:+6.1f} "
                f"{s['worst_gain']:+6.1f} ({s['worst_person']:>11}) {s['worse_off']:9}"
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, help="fold models (.pt with split files)")
    parser.add_argument("--kdef", type=Path, default=Path("~/datasets/data/KDEF").expanduser())
    parser.add_argument("--burst", type=int, default=20, help="crops per expression (timing)")
    parser.add_argument(
        "--timing-model", type=Path, default=paths.default_model_path(), help="model timed"
    )
    args = parser.parse_args()
    configure_torch()
    records = scan(args.kdef).records
    people = [p for model in args.models for p in person_figures(model, args.kdef, records)]
    figures = print_table(people)
    speed = timings(args.timing_model, args.kdef, records, args.burst)
    step, batch = speed["step_ms"], speed["batch8_ms"]
    print(
        f"\n{args.timing_model.stem}: make_profile, 7 bursts of {args.burst}: "
        f"{speed['make_profile_s']:.2f} s (max {speed['make_profile_s_max']:.2f} s of 5)\n"
        f"Live step classifier, 1 face: median {step['none']:.2f} ms without, "
        f"{step['profile']:.2f} ms with a profile; added (paired median) {step['added']:.3f} ms; "
        f"the profile's own arithmetic {speed['profile_only_ms']:.3f} ms\n"
        f"Batch classifier, 8 faces, mirrored: {batch['none']:.2f} ms without, "
        f"{batch['profile']:.2f} ms with; added {batch['added']:.3f} ms\n"
        f"Batch loop, images/s (3 runs each, alternating): {speed['batch_images_per_s']}"
    )
    print(json.dumps({"figures": figures, "speed": speed, "models": [m.stem for m in args.models]}))


if __name__ == "__main__":
    main()
