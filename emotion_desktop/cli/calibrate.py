"""``calibrate``: a personal profile from a labelled folder of one person's photos."""

from __future__ import annotations

import argparse
import sys

from emotion_desktop.core import paths
from emotion_desktop.core.model.calibrate import crops_from_folder, make_profile
from emotion_desktop.core.model.card import card_path
from emotion_desktop.core.model.checkpoints import split_path
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.model.profile import write_profile
from emotion_desktop.core.outputs import check_profile_output


def cmd_calibrate(args: argparse.Namespace) -> int:
    model = args.model or paths.active_model_path()
    check_profile_output(args.out, [args.folder, model, card_path(model), split_path(model)])
    predictor = Predictor.from_checkpoint(model)
    crops, problems = crops_from_folder(args.folder, predictor)
    for path, why in problems.items():
        print(f"skipped {path}: {why}", file=sys.stderr)
    name = args.name or args.out.stem
    profile = make_profile(predictor, crops, name)
    write_profile(profile, args.out)
    shown = ", ".join(f"{e} {len(crops[e])}" for e in profile.emotions)
    print(f"profile {name} for {model.stem} from {shown} written to {args.out}")
    if not profile.corrects:
        print(
            f"{model.stem} already reads each expression shown as shown: "
            "the profile changes no reading"
        )
    return 0
