"""``label``: every face in photos, videos and folders, to a CSV or JSON results file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from emotion_desktop.cli.progress import ProgressBar, show_video_progress
from emotion_desktop.core import paths
from emotion_desktop.core.batch.labelling import (
    LabelSummary,
    iter_files,
    label_paths,
    shard,
)
from emotion_desktop.core.batch.results import CsvRowWriter, JsonRowWriter, LabelRow, Problem
from emotion_desktop.core.batch.video import Sampling, VideoProgress, is_video_file
from emotion_desktop.core.errors import (
    OutputError,
)
from emotion_desktop.core.model.card import card_path
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.model.profile import check_profile, read_profile
from emotion_desktop.core.outputs import check_results_output
from emotion_desktop.core.vision.faces import (
    FaceDetector,
)
from emotion_desktop.core.vision.images import is_image_file


def cmd_label(args: argparse.Namespace) -> int:
    as_json = args.out.suffix.lower() == ".json"
    existing = "append" if args.append else "overwrite" if args.overwrite else "refuse"
    if as_json and existing == "append":
        raise OutputError("--append continues a CSV file; a JSON file can only be replaced")
    model = args.model or paths.active_model_path()
    inputs = [*args.paths, model, card_path(model), *([args.profile] if args.profile else [])]
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
    profile = read_profile(args.profile) if args.profile else None
    if profile is not None:
        check_profile(profile, model)  # before the model loads: a refusal costs nothing
    predictor = Predictor.from_checkpoint(model, FaceDetector(min_face=args.min_face))
    predictor = predictor.with_profile(profile)
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
    sources = [f"{summary.images} images"] if summary.images or not summary.videos else []
    if summary.videos:
        sources.append(f"{summary.videos} videos ({summary.frames} frames)")
    print(
        f"{summary.faces} faces in {' and '.join(sources)} written to {args.out}; "
        f"{summary.problems} problems, {summary.skipped} other files skipped"
    )
    labelled = summary.images or summary.videos
    return 2 if missing or not labelled else 0  # nothing labelled: say so by the status
