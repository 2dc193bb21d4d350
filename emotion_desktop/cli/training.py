"""``train``, ``evaluate``, ``ensemble`` and ``balance``: the core's training runs from a
terminal or a cluster job."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import fields

from emotion_desktop.cli.progress import ProgressBar
from emotion_desktop.core import paths
from emotion_desktop.core.data.prepare import Absent, DataOptions
from emotion_desktop.core.errors import (
    DatasetError,
    EmotionDesktopError,
)
from emotion_desktop.core.outputs import check_model_output
from emotion_desktop.core.train import distributed
from emotion_desktop.core.train.balance import balance_model
from emotion_desktop.core.train.config import TrainConfig
from emotion_desktop.core.train.ensemble import combine_models
from emotion_desktop.core.train.evaluate import evaluate_on_folders
from emotion_desktop.core.train.loop import Progress
from emotion_desktop.core.train.run import fine_tune_defaults, train_from_folder


def _data_options(args: argparse.Namespace) -> DataOptions:
    weights = tuple(getattr(args, "weight", None) or ())
    if weights and len(weights) != len(args.data):
        raise DatasetError(f"give one --weight per --data ({len(args.data)}), or none")
    person_only = [
        f"--{n}" for n in ("fold", "folds") if getattr(args, n) != getattr(DataOptions, n)
    ]
    if person_only and args.split != "person":  # they would be ignored: a random split
        raise DatasetError(
            f"{' '.join(person_only)} choose a person-disjoint fold: add --split person"
        )
    return DataOptions(
        args.data[0],
        args.split or "random",
        args.angles,
        args.seed,
        args.fold,
        args.folds,
        more=tuple(args.data[1:]),
        weights=weights,
    )


def cmd_train(args: argparse.Namespace) -> int:
    check_model_output(args.out, [args.init] if args.init else [], args.data)  # may replace out
    distributed.init_from_env()
    try:
        # a fine-tuned model keeps its base's crops and network unless told
        defaults = fine_tune_defaults(args.init) if args.init else TrainConfig()
        overrides = {
            f.name: getattr(args, f.name)
            for f in fields(TrainConfig)
            if getattr(args, f.name, None) is not None
        }
        if args.train_seed is not None:
            overrides["seed"] = args.train_seed
        use_cae = not (args.no_cae or args.init)  # fine-tuning has no CAE stage of its own
        config = TrainConfig(**{**defaults.to_dict(), **overrides, "use_cae": use_cae})
        main = distributed.is_main()
        bar = ProgressBar()

        def on_progress(event: Progress) -> None:
            if not main:
                return
            if event.end_of_epoch:
                extra = "" if event.val_accuracy is None else f" val acc {event.val_accuracy:.1%}"
                bar.update(
                    event.fraction,
                    f"{event.stage} epoch {event.epoch + 1}/{event.epochs} "
                    f"loss {event.train_loss:.4f}{extra}",
                )

        result = train_from_folder(
            _data_options(args),
            config,
            args.out,
            paths.cache_dir(),
            on_progress,
            step=(lambda f, m: bar.update(f, m)) if main else None,
            base=args.init,
        )
        if main:
            bar.done()
            for source in result.card.data.sources or ():
                skipped = source.skipped_files or {}
                for key, why in list(skipped.items())[:10]:
                    print(f"skipped {source.name} {key}: {why}", file=sys.stderr)
                if len(skipped) > 10:
                    print(
                        f"... {len(skipped) - 10} more {source.name} files in the card's "
                        "data.sources",
                        file=sys.stderr,
                    )
            warn_absent(result.absent)
            print(result.scores.table())
            print(f"saved {result.path} and its card {result.path.with_suffix('.json')}")
    finally:
        distributed.shutdown()
    return 0


def warn_absent(sources: Iterable[Absent]) -> None:
    """Say where a folder lacked test images of the saved split (another or a trimmed copy of
    the data): the test figures printed, and written into a card, are on the rest."""
    for a in sources:
        print(
            f"warning: {a.folder} lacks {a.absent} of the {a.listed} test images of {a.name}'s "
            "split; scored on the rest",
            file=sys.stderr,
        )


SPLIT_CHOICES = ("angles", "seed", "fold", "folds")  # options that only shape a fresh split


def cmd_evaluate(args: argparse.Namespace) -> int:
    model = args.model or paths.active_model_path()
    chosen = [f"--{n}" for n in SPLIT_CHOICES if getattr(args, n) != getattr(DataOptions, n)]
    if chosen and not args.split:  # they would be ignored: each source keeps its saved split
        raise EmotionDesktopError(f"{' '.join(chosen)} choose a fresh split: give --split too")
    options = _data_options(args) if args.split else None
    bar = ProgressBar()
    results = evaluate_on_folders(
        model, args.data, options, paths.cache_dir(), None if args.json else bar.update
    )
    warn_absent(Absent(r.name, r.folder, r.absent, len(r.split.test)) for r in results if r.absent)
    for r in results:
        if args.split and r.seen_in_training and r.split.protocol != "official":
            print(
                f"warning: {r.name} is tested on a fresh split, not the one saved with the "
                "model: some of these faces may have trained it",
                file=sys.stderr,
            )
    if args.json:
        for r in results:
            record = {
                "model": str(model),
                "source": r.name,
                "folder": str(r.folder),
                "seen_in_training": r.seen_in_training,
                "absent_test_images": r.absent,
                "split": r.split.describe(),
                **r.scores.to_dict(),
            }
            print(json.dumps(record))
        return 0
    bar.done()
    for r in results:
        seen = "" if r.seen_in_training else ", a source the model never learnt from"
        where = (
            "every face"
            if r.split.protocol == "whole"
            else f"{r.split.protocol} split (seed {r.split.seed}, fold {r.split.fold})"
        )
        print(f"{model} on {r.name} ({r.folder}), {where}{seen}:")
        print(r.scores.table())
    return 0


def cmd_ensemble(args: argparse.Namespace) -> int:
    check_model_output(args.out, args.members, args.data)
    bar = ProgressBar()
    result = combine_models(args.members, args.data, args.out, paths.cache_dir(), bar.update)
    bar.done()
    warn_absent(result.absent)
    ensemble = result.card.ensemble
    for member in ensemble.members:
        print(
            f"member {member.name} (seed {member.seed}): test "
            f"{member.test_accuracy:.2%}, validation {member.validation_accuracy:.2%}"
        )
    print(f"ensemble: validation {ensemble.validation_accuracy:.2%}, test:")
    print(result.scores.table())
    print(f"saved {result.path} and its card {result.path.with_suffix('.json')}")
    return 0


def cmd_balance(args: argparse.Namespace) -> int:
    """Balance a model, print every tau's validation figures and the test figures it gives."""
    check_model_output(args.out, [args.model], args.data)
    bar = ProgressBar()
    result = balance_model(args.model, args.data, args.out, paths.cache_dir(), bar.update)
    bar.done()
    warn_absent(result.absent)
    balance = result.card.class_balance
    names = balance.choices[0].validation
    print("tau  all    " + "  ".join(f"{n} validation acc / macro" for n in names))
    for row in balance.choices:
        figures = "  ".join(
            f"{f.accuracy:.1%} / {f.macro_accuracy:.1%}".ljust(len(n) + 23)
            for n, f in row.validation.items()
        )
        mark = "  <- chosen" if row.tau == balance.tau else ""
        print(f"{row.tau:.1f}  {row.accuracy:.1%}  {figures}{mark}")
    for name, figures in result.card.tests.items():
        before = balance.tests_before.get(name)
        was = (before.accuracy, before.macro_accuracy) if before else (float("nan"),) * 2
        print(
            f"{name} test: accuracy {figures.accuracy:.2%} (was {was[0]:.2%}), "
            f"macro {figures.macro_accuracy:.2%} (was {was[1]:.2%})"
        )
    print(f"saved {result.path} and its card {result.path.with_suffix('.json')}")
    return 0
