"""Headless command line: ``emotion-desktop-cli train | evaluate | label | ensemble``.

The same core calls as the window, so a GPU server (or ``torchrun`` on a cluster) can train the
model the desktop then loads. Errors the user can cause end in one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields
from pathlib import Path

from emotion_desktop.core import paths
from emotion_desktop.core.batch.labelling import (
    LabelSummary,
    is_image_file,
    iter_files,
    label_paths,
    shard,
)
from emotion_desktop.core.batch.results import CsvRowWriter, JsonRowWriter, LabelRow, Problem
from emotion_desktop.core.batch.video import Sampling, VideoProgress, is_video_file
from emotion_desktop.core.callbacks import time_left
from emotion_desktop.core.data.prepare import Absent, DataOptions
from emotion_desktop.core.errors import (
    DatasetError,
    EmotionDesktopError,
    OutputError,
)
from emotion_desktop.core.model.checkpoints import INPUT_SIZES, card_path
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.outputs import check_model_output, check_results_output
from emotion_desktop.core.runtime import configure_for_labelling, configure_torch
from emotion_desktop.core.train import distributed
from emotion_desktop.core.train.balance import balance_model
from emotion_desktop.core.train.config import TrainConfig
from emotion_desktop.core.train.ensemble import combine_models
from emotion_desktop.core.train.evaluate import evaluate_on_folders
from emotion_desktop.core.train.loop import Progress
from emotion_desktop.core.train.run import fine_tune_defaults, train_from_folder
from emotion_desktop.core.vision.faces import (
    EQUALIZE_MODES,
    MIN_FACE,
    STUDIO_FRAMINGS,
    FaceDetector,
)


class ProgressBar:
    """One self-rewriting line on a terminal; a line per 10% when stderr is a file or pipe.

    The time left is the pace since the phase began (preparing faces, then training) times the
    fraction left: a resumed run starts past 50%, and its pace must not count the epochs that
    an earlier run did.
    """

    def __init__(self, stream=sys.stderr, width: int = 30) -> None:  # noqa: ANN001
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self._origin: tuple[float, float] | None = None  # (time, fraction) the phase began at
        self._last_fraction = 0.0
        self._last_decile = -1

    def update(self, fraction: float, message: str) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        now = time.monotonic()
        if self._origin is None or fraction < self._last_fraction:  # a new phase begins
            self._origin = (now, fraction)
        self._last_fraction = fraction
        began, first = self._origin
        left = time_left(now - began, first, fraction)
        eta = "" if left is None else f" eta {left:.0f}s"
        filled = round(self.width * fraction)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {fraction:6.1%} {message}{eta}"
        if self.tty:
            self.stream.write("\r" + line[:120].ljust(120))
            self.stream.flush()
        elif int(fraction * 10) != self._last_decile:
            self._last_decile = int(fraction * 10)
            print(line, file=self.stream, flush=True)

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
        self._origin, self._last_fraction, self._last_decile = None, 0.0, -1


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
            for source in result.card["data"]["sources"]:
                skipped = source["skipped_files"]
                for key, why in list(skipped.items())[:10]:
                    print(f"skipped {source['name']} {key}: {why}", file=sys.stderr)
                if len(skipped) > 10:
                    print(
                        f"... {len(skipped) - 10} more {source['name']} files in the card's "
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
    for member in result.card["ensemble"]["members"]:
        print(
            f"member {member['name']} (seed {member['seed']}): test "
            f"{member['test_accuracy']:.2%}, validation {member['validation_accuracy']:.2%}"
        )
    print(f"ensemble: validation {result.card['ensemble']['validation_accuracy']:.2%}, test:")
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
    balance = result.card["class_balance"]
    names = balance["choices"][0]["validation"]
    print("tau  all    " + "  ".join(f"{n} validation acc / macro" for n in names))
    for row in balance["choices"]:
        figures = "  ".join(
            f"{f['accuracy']:.1%} / {f['macro_accuracy']:.1%}".ljust(len(n) + 23)
            for n, f in row["validation"].items()
        )
        mark = "  <- chosen" if row["tau"] == balance["tau"] else ""
        print(f"{row['tau']:.1f}  {row['accuracy']:.1%}  {figures}{mark}")
    for name, figures in result.card["tests"].items():
        before = balance["tests_before"].get(name, {})
        print(
            f"{name} test: accuracy {figures['accuracy']:.2%} (was "
            f"{before.get('accuracy', float('nan')):.2%}), macro {figures['macro_accuracy']:.2%} "
            f"(was {before.get('macro_accuracy', float('nan')):.2%})"
        )
    print(f"saved {result.path} and its card {result.path.with_suffix('.json')}")
    return 0


def shard_spec(text: str) -> tuple[int, int]:
    """``K/N`` for ``--shard``: two whole numbers with 1 <= K <= N."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not K/N, e.g. 3/10") from None
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError(f"{text}: K must be between 1 and N")
    return index, count


def cmd_label(args: argparse.Namespace) -> int:
    as_json = args.out.suffix.lower() == ".json"
    existing = "append" if args.append else "overwrite" if args.overwrite else "refuse"
    if as_json and existing == "append":
        raise OutputError("--append continues a CSV file; a JSON file can only be replaced")
    model = args.model or paths.active_model_path()
    inputs = [*args.paths, model, card_path(model)]
    check_results_output(args.out, inputs, existing, in_place=not as_json)
    present = [p for p in args.paths if p.exists() or p.is_symlink()]  # a bad link: reported
    missing = [p for p in args.paths if p not in present]
    if not present:  # a mistyped folder must not empty the results of an earlier run
        raise OutputError(f"nothing to label: no file or folder at {', '.join(map(str, missing))}")

    def files() -> Iterator[Path]:
        return shard(iter_files(present), *args.shard) if args.shard else iter_files(present)

    if not any(is_image_file(f) or is_video_file(f) for f in files()):  # before a file opens
        share = f" (share {args.shard[0]}/{args.shard[1]})" if args.shard else ""
        raise OutputError(f"no images or videos in {', '.join(map(str, present))}{share}")
    predictor = Predictor.from_checkpoint(model, FaceDetector(min_face=args.min_face))
    sampling = Sampling(every=args.every or 1, fps=args.fps)
    summary = LabelSummary()
    bar = ProgressBar()
    try:
        writer = (
            JsonRowWriter(args.out) if as_json else CsvRowWriter(args.out, existing == "append")
        )
        try:
            for events in label_paths(
                present, predictor, args.whole_image, files=files(), sampling=sampling
            ):
                summary.add(events)
                writer.write(e for e in events if isinstance(e, LabelRow))
                for e in events:
                    if isinstance(e, Problem):
                        print(f"skipped {e.file}: {e.reason}", file=sys.stderr)
                    elif isinstance(e, VideoProgress):
                        show_video_progress(bar, e)
        finally:  # an interrupted run keeps its rows in either format
            writer.close()
    except OSError as exc:
        raise OutputError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    for path in missing:
        print(f"skipped {path}: no such file or folder", file=sys.stderr)
    videos = f" and {summary.videos} videos ({summary.frames} frames)" if summary.videos else ""
    print(
        f"{summary.faces} faces in {summary.images} images{videos} written to {args.out}; "
        f"{summary.problems} problems, {summary.skipped} other files skipped"
    )
    labelled = summary.images or summary.videos
    return 2 if missing or not labelled else 0  # nothing labelled: say so by the status


def show_video_progress(bar: ProgressBar, progress: VideoProgress) -> None:
    """A video's frames done of its total, its rate and (from the bar) the time left."""
    if progress.done:
        bar.done()
        return
    total = f"/{progress.total}" if progress.total else ""
    message = f"{progress.file.name} frame {progress.read}{total} ({progress.rate:.0f} frames/s)"
    bar.update(progress.fraction if progress.fraction is not None else 0.0, message)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emotion-desktop-cli", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)

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

    ensemble = sub.add_parser(
        "ensemble", help="average models trained on one split with different seeds"
    )
    ensemble.add_argument("members", nargs="+", type=Path, help="model files (.pt), two or more")
    _add_learnt_from_arguments(ensemble)
    ensemble.set_defaults(func=cmd_ensemble)

    balance = sub.add_parser(
        "balance",
        help="shift a model against its training set's class frequencies (logit adjustment), "
        "the strength chosen on its validation faces",
    )
    balance.add_argument("model", type=Path, help="model file (.pt) with its split file")
    _add_learnt_from_arguments(balance)
    balance.set_defaults(func=cmd_balance)

    evaluate = sub.add_parser("evaluate", help="test accuracy of a model on each source's test")
    _add_data_arguments(evaluate, None)
    evaluate.add_argument("--model", type=Path, help="default: the active model")
    evaluate.add_argument(
        "--json", action="store_true", help="print one JSON object per source, one per line"
    )
    evaluate.set_defaults(func=cmd_evaluate)

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
    label.set_defaults(func=cmd_label)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a ``timeout``, a scheduler's time limit, a closed terminal), raised
    as Ctrl+C is, so that a run ends as an interrupted one does: ``label --out x.json``
    writes the rows it has, where the default action killed it with no file at all."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with _terminations_interrupt():
        return _run(args)


@contextlib.contextmanager
def _terminations_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Terminated` while a command runs (signals reach the
    main thread only; the handlers before are restored after, for a caller such as a test)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    kinds = [signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
    before = {signum: signal.signal(signum, _raise_terminated) for signum in kinds}
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def _run(args: argparse.Namespace) -> int:
    if args.command == "label":
        configure_for_labelling()
    else:
        configure_torch()
    try:
        return args.func(args)
    except EmotionDesktopError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the system refuses: too long, unreadable, not a folder
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        message = {
            "train": "interrupted; run the same command again to resume from the last epoch",
            "label": "interrupted; the rows written so far are kept",
        }.get(args.command, "interrupted")
        with contextlib.suppress(OSError):  # a closed terminal (SIGHUP) takes stderr with it
            print(message, file=sys.stderr)
        return 128 + exc.signum if isinstance(exc, Terminated) else 130


if __name__ == "__main__":
    raise SystemExit(main())
