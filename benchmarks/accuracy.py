"""Accuracy figures of the method on real KDEF, and of a model on in-the-wild faces.

    python benchmarks/accuracy.py --data ~/datasets/data/KDEF [--model resources/models/default.pt]
        [--figures random,person,frontal,ablation,cross] [--epochs-cnn N] [--folds 5]

- random:   the paper's protocol (all angles, stratified random 80/20). With --model, that
            model is evaluated on the split saved beside it (and its card's training time is
            printed); with --train-random one is trained.
- person:   person-disjoint k folds (no actor in both sets): mean and spread over the folds.
- frontal:  straight (S) images only, under both protocols.
- ablation: the random split trained with and without the CAE stage (random initialisation)
            at the same budget.
- cross:    the model on the real, freely licensed faces in ../shared/data/faces, never used
            for training or choices (whole image as the face where the cascade finds none).

Training runs use the shipped model's configuration unless --epochs-cae/--epochs-cnn say
otherwise, and print those epochs with the figures. Ends with one JSON line of every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from emotion_desktop.core import paths
from emotion_desktop.core.checkpoints import read_card
from emotion_desktop.core.emotions import INDEX_BY_NAME
from emotion_desktop.core.inference import Predictor
from emotion_desktop.core.metrics import score
from emotion_desktop.core.pipeline import DataOptions, evaluate_on_folder, train_from_folder
from emotion_desktop.core.training import TrainConfig

SHARED_FACES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "faces"


def train_and_score(options: DataOptions, config: TrainConfig, label: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = train_from_folder(options, config, Path(tmp) / "m.pt", paths.cache_dir())
        seconds = time.perf_counter() - t0
    print(f"  {label}: {result.scores.accuracy:.2%} in {seconds / 60:.1f} min", flush=True)
    return {
        "accuracy": result.scores.accuracy,
        "macro_accuracy": result.scores.macro_accuracy,
        "per_class": result.scores.per_class,
        "minutes": round(seconds / 60, 1),
    }


def person_folds(folder: Path, angles: str, config: TrainConfig, folds: int) -> dict:
    runs = [
        train_and_score(
            DataOptions(folder, "person", angles, fold=k, folds=folds),
            config,
            f"person {angles} fold {k + 1}/{folds}",
        )
        for k in range(folds)
    ]
    accs = [r["accuracy"] for r in runs]
    return {
        "mean": statistics.mean(accs),
        "std": statistics.pstdev(accs),
        "folds": accs,
        "minutes": round(sum(r["minutes"] for r in runs), 1),
    }


def cross_dataset(model: Path) -> dict:
    """Accuracy on ../shared/data/faces: 10 real photos per class, labels from the folders."""
    predictor = Predictor.from_checkpoint(model)
    truth, predicted = [], []
    for photo in sorted(SHARED_FACES.glob("*/*.jpg")):
        faces = predictor.predict_image(photo, whole_image=True)
        truth.append(INDEX_BY_NAME[photo.parent.name])
        predicted.append(faces[0].index)
    scores = score(truth, predicted)
    return {
        "accuracy": scores.accuracy,
        "macro_accuracy": scores.macro_accuracy,
        "per_class": scores.per_class,
        "count": scores.count,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="KDEF folder (needed for all but 'cross')")
    parser.add_argument("--model", type=Path, default=paths.default_model_path())
    parser.add_argument("--figures", default="random,person,frontal,ablation,cross")
    parser.add_argument("--epochs-cae", type=int)
    parser.add_argument("--epochs-cnn", type=int)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--train-random",
        action="store_true",
        help="train the random-split model instead of evaluating --model",
    )
    args = parser.parse_args(argv)
    wanted = set(args.figures.split(","))
    config = TrainConfig()
    if args.epochs_cae is not None:
        config = replace(config, epochs_cae=args.epochs_cae)
    if args.epochs_cnn is not None:
        config = replace(config, epochs_cnn=args.epochs_cnn)
    if wanted - {"cross"} and args.data is None:
        parser.error("--data is needed for every figure but 'cross'")
    figures: dict = {
        "config": {
            "epochs_cae": config.epochs_cae,
            "epochs_cnn": config.epochs_cnn,
            "input_size": config.input_size,
        }
    }
    if "random" in wanted:
        print("random 80/20, all angles:", flush=True)
        if args.train_random:
            figures["random"] = train_and_score(DataOptions(args.data), config, "random")
        else:
            scores, _ = evaluate_on_folder(args.model, None, args.data, paths.cache_dir())
            card = read_card(args.model)
            figures["random"] = {
                "accuracy": scores.accuracy,
                "per_class": scores.per_class,
                "macro_accuracy": scores.macro_accuracy,
                "model": str(args.model),
                "members": len(card.get("ensemble", {}).get("members", [])) or 1,
                "training_minutes": round(card["training"]["seconds_total"] / 60, 1),
            }
            print(scores.table())
            print(
                f"  {figures['random']['members']} network(s), trained in "
                f"{figures['random']['training_minutes']} min (from the model's card)"
            )
    if "ablation" in wanted:
        print("random 80/20 with and without CAE pre-training, same budget:", flush=True)
        figures["random_cae"] = train_and_score(DataOptions(args.data), config, "with CAE")
        figures["random_no_cae"] = train_and_score(
            DataOptions(args.data), replace(config, use_cae=False), "no CAE"
        )
    if "frontal" in wanted:
        print("frontal only:", flush=True)
        figures["frontal_random"] = train_and_score(
            DataOptions(args.data, angles="frontal"), config, "frontal random"
        )
        figures["frontal_person"] = person_folds(args.data, "frontal", config, args.folds)
    if "person" in wanted:
        print(f"person-disjoint, {args.folds} folds, all angles:", flush=True)
        figures["person"] = person_folds(args.data, "all", config, args.folds)
    if "cross" in wanted:
        figures["cross_dataset"] = cross_dataset(args.model)

    print("\n| figure | accuracy |\n|---|---|")
    for name, value in figures.items():
        if name == "config":
            continue
        if "mean" in value:
            print(f"| {name} | {value['mean']:.1%} ± {value['std']:.1%} |")
        else:
            print(f"| {name} | {value['accuracy']:.1%} (macro {value['macro_accuracy']:.1%}) |")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
