"""The command line's arguments: each command's flags, and the checks that turn a bad value
into one argparse line and exit status 2."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from emotion_desktop.cli.calibrate import cmd_calibrate
from emotion_desktop.cli.label import cmd_label
from emotion_desktop.cli.training import cmd_balance, cmd_ensemble, cmd_evaluate, cmd_train
from emotion_desktop.core.data.prepare import DataOptions
from emotion_desktop.core.model.checkpoints import INPUT_SIZES
from emotion_desktop.core.vision.faces import (
    EQUALIZE_MODES,
    MIN_FACE,
    STUDIO_FRAMINGS,
)


def number_in(
    kind: type, low: float, high: float = math.inf, multiple_of: int = 1, closed_high: bool = True
) -> Callable[[str], float]:
    """An argparse type: a finite ``kind`` in [low, high] (or [low, high) where not
    ``closed_high``), a multiple of ``multiple_of``; argparse turns its refusal into one
    line and exit status 2."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        within = low <= value <= high if closed_high else low <= value < high
        if not math.isfinite(value) or not within or (multiple_of > 1 and value % multiple_of):
            upper = (
                "" if high == math.inf else f" and {'at most' if closed_high else 'below'} {high}"
            )
            step = f", a multiple of {multiple_of}" if multiple_of > 1 else ""
            raise argparse.ArgumentTypeError(f"{text} must be at least {low}{upper}{step}")
        return value

    return parse


seed_value = number_in(int, 0, 2**32, closed_high=False)  # numpy's seeds stop at 2^32


def _add_data_arguments(p: argparse.ArgumentParser, split_default: str | None) -> None:
    p.add_argument(
        "--data",
        required=True,
        type=Path,
        action="append",
        help="a labelled source: a KDEF folder, a FER+ folder (FER2013Train/label.csv...) or a "
        "folder with one sub-folder per emotion; repeat for several",
    )
    p.add_argument(
        "--split",
        choices=("random", "person"),
        default=split_default,
        help="random 80/20 (the paper's) or person-disjoint folds",
    )
    p.add_argument("--angles", choices=("all", "frontal"), default=DataOptions.angles)
    p.add_argument(
        "--seed",
        type=seed_value,
        default=DataOptions.seed,
        help="seed of the split and the training",
    )
    p.add_argument(
        "--fold", type=int, default=DataOptions.fold, help="test fold of a person-disjoint split"
    )
    p.add_argument(
        "--folds",
        type=number_in(int, 2),
        default=DataOptions.folds,
        help="number of person-disjoint folds",
    )


def _add_learnt_from_arguments(p: argparse.ArgumentParser) -> None:
    """``--data`` and ``--out`` of a command that remakes saved models on their own splits."""
    p.add_argument(
        "--data",
        required=True,
        type=Path,
        action="append",
        help="a source the model learnt from, in training order; repeat for several",
    )
    p.add_argument("--out", required=True, type=Path, help="model file to write (.pt)")


def shard_spec(text: str) -> tuple[int, int]:
    """``K/N`` for ``--shard``: two whole numbers with 1 <= K <= N."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not K/N, e.g. 3/10") from None
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError(f"{text}: K must be between 1 and N")
    return index, count


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emotion-desktop-cli",
        description="The window's core without a display: train, evaluate, ensemble, balance, "
        "label and calibrate.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_train, _add_ensemble, _add_balance, _add_evaluate, _add_label, _add_calibrate):
        add(sub)
    return parser


def _add_train(sub: argparse._SubParsersAction) -> None:
    """``train``: the sources, the network and crop settings, the run's seeds."""
    train = sub.add_parser("train", help="train the CAE then the CNN on one or more sources")
    _add_data_arguments(train, "random")
    train.add_argument(
        "--weight",
        type=number_in(float, 0.01, 100.0),
        action="append",
        help="sampling weight of each --data source, in order (default 1 each: every image "
        "once per epoch; 2 shows a source's images twice)",
    )
    train.add_argument("--out", required=True, type=Path, help="model file to write (.pt)")
    train.add_argument("--epochs-cae", dest="epochs_cae", type=number_in(int, 0))
    train.add_argument("--epochs-cnn", dest="epochs_cnn", type=number_in(int, 1))
    train.add_argument("--no-cae", action="store_true", help="skip CAE pre-training (ablation)")
    train.add_argument(
        "--input-size",
        dest="input_size",
        type=number_in(int, INPUT_SIZES.start, INPUT_SIZES.stop - 1, multiple_of=8),
        help="side of the face crop in pixels (a multiple of 8: three 2x2 poolings)",
    )
    train.add_argument("--batch-size", dest="batch_size", type=number_in(int, 1, 4096))
    train.add_argument(
        "--lr", type=number_in(float, 1e-6, 1.0), help="peak learning rate of the classifier"
    )
    train.add_argument(
        "--dropout",
        type=number_in(float, 0.0, 1.0, closed_high=False),
        help="dropout after each hidden layer",
    )
    train.add_argument(
        "--equalize",
        choices=EQUALIZE_MODES,
        help="contrast equalisation of each face crop",
    )
    train.add_argument(
        "--studio",
        choices=STUDIO_FRAMINGS,
        help="a KDEF face the frontal cascade misses: head (a fixed square around the head; "
        "the default; with --init, the base model's) or profile (the profile cascade first, as "
        "the shipped default model)",
    )
    train.add_argument(
        "--patience", type=number_in(int, 0), help="early-stopping patience in epochs (0: off)"
    )
    train.add_argument(
        "--train-seed",
        type=seed_value,
        help="seed of the initialisation, augmentation and batch order (default: --seed); "
        "models with one --seed and different --train-seed values make an ensemble",
    )
    train.add_argument(
        "--init",
        type=Path,
        help="fine-tune this one-network model (.pt) instead of training from a CAE: its split "
        "is kept, so its test faces stay unseen, and its crop and network settings are used",
    )
    train.set_defaults(func=cmd_train)


def _add_ensemble(sub: argparse._SubParsersAction) -> None:
    """``ensemble``: member models and the sources they learnt from."""
    ensemble = sub.add_parser(
        "ensemble", help="average models trained on one split with different seeds"
    )
    ensemble.add_argument("members", nargs="+", type=Path, help="model files (.pt), two or more")
    _add_learnt_from_arguments(ensemble)
    ensemble.set_defaults(func=cmd_ensemble)


def _add_balance(sub: argparse._SubParsersAction) -> None:
    """``balance``: a model and the sources it learnt from."""
    balance = sub.add_parser(
        "balance",
        help="shift a model against its training set's class frequencies (logit adjustment), "
        "the strength chosen on its validation faces",
    )
    balance.add_argument("model", type=Path, help="model file (.pt) with its split file")
    _add_learnt_from_arguments(balance)
    balance.set_defaults(func=cmd_balance)


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    """``evaluate``: sources, and a fresh split where asked."""
    evaluate = sub.add_parser("evaluate", help="test accuracy of a model on each source's test")
    _add_data_arguments(evaluate, None)
    evaluate.add_argument("--model", type=Path, help="default: the active model")
    evaluate.add_argument(
        "--json", action="store_true", help="print one JSON object per source, one per line"
    )
    evaluate.set_defaults(func=cmd_evaluate)


def _add_label(sub: argparse._SubParsersAction) -> None:
    """``label``: photos, videos and folders; the results file; video sampling; shards."""
    label = sub.add_parser(
        "label",
        help="label every face in images, videos (each frame, or --every N / --fps N) or folders",
    )
    label.add_argument("paths", nargs="+", type=Path)
    label.add_argument("--out", required=True, type=Path, help="results file (.csv or .json)")
    label.add_argument("--model", type=Path, help="default: the active model")
    label.add_argument(
        "--whole-image", action="store_true", help="classify the whole image where no face is found"
    )
    existing = label.add_mutually_exclusive_group()
    existing.add_argument("--append", action="store_true", help="add rows to an existing CSV")
    existing.add_argument("--overwrite", action="store_true", help="replace an existing file")
    label.add_argument(
        "--min-face",
        type=number_in(float, 0.05, 1.0),
        default=MIN_FACE,
        metavar="FRACTION",
        help=f"smallest face as a fraction of the image's shorter side (default {MIN_FACE}); "
        "0.25 labels portraits about twice as fast but misses smaller faces",
    )
    sampled = label.add_mutually_exclusive_group()
    sampled.add_argument(
        "--every",
        type=number_in(int, 1),
        metavar="N",
        help="analyse every N-th frame of a video (default: every frame)",
    )
    sampled.add_argument(
        "--fps",
        type=number_in(float, 0.01, 1000.0),
        metavar="N",
        help="analyse N frames a second of a video, by the frames' own times",
    )
    label.add_argument(
        "--shard",
        type=shard_spec,
        metavar="K/N",
        help="label only the K-th of N equal shares of the files (1 <= K <= N), e.g. one "
        "share per job of a job array; the N results together cover every file once",
    )
    label.add_argument(
        "--profile",
        type=Path,
        help="a person's profile (from calibrate) to apply; made with the same model",
    )
    label.set_defaults(func=cmd_label)


def _add_calibrate(sub: argparse._SubParsersAction) -> None:
    """``calibrate``: one person's labelled folder, the model, the profile file."""
    calibrate = sub.add_parser(
        "calibrate",
        help="make a person's profile from a folder of their photos, one sub-folder per "
        "expression (any of the seven; neutral alone helps too)",
    )
    calibrate.add_argument("folder", type=Path)
    calibrate.add_argument("--model", type=Path, help="default: the active model")
    calibrate.add_argument("--out", required=True, type=Path, help="profile file (.profile)")
    calibrate.add_argument("--name", help="the profile's name (default: the file's name)")
    calibrate.set_defaults(func=cmd_calibrate)
