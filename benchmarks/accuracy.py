"""Accuracy of a shipped model on studio faces (KDEF) and on in-the-wild faces (FER+, FER2013,
the shared photos), and of its recipe under a person-disjoint split and without the CAE stage.

    python benchmarks/accuracy.py --model resources/models/default.pt --kdef ~/datasets/data/KDEF
        --ferplus ~/datasets/FERPlus --fer2013 ~/datasets/FER2013
        [--figures ferplus,fer2013,random,cross,person,ablation] [--epochs-cae N]
        [--epochs-cnn N] [--folds 5] [--person-cards FOLD.json ...]
        [--ablation-cards FOLD.json ...] [--write-card]

- ferplus: FER+ Test (the FER2013 PrivateTest faces with a 7-class FER+ majority label).
- fer2013: FER2013 PrivateTest with the original labels (a labelled folder: test/<emotion>/).
- random:  KDEF on the split saved beside the model (the card's; the paper's protocol for both
           shipped models).
- cross:   the 70 real photos in ../shared/data/faces, never used for training or a choice
           (whole image as the face where the cascade finds none).
- person:  the model's recipe retrained with KDEF split by person (k folds, no actor on both
           sides), its other sources as they were; mean and spread of KDEF test accuracy.
- ablation: fold 0 of that, with and without the CAE stage at the same budget: KDEF
           person-disjoint and FER+ test figures (FER+ only where the model learnt from it).

Training runs use the model card's recipe unless --epochs-cae/--epochs-cnn say otherwise, and
print those epochs with the figures. --person-cards takes the person figure from the cards of
fold models trained elsewhere (a GPU server, ``emotion-desktop-cli train --split person --fold K``
with the model's recipe) instead of training them here; each card must carry that recipe, with
the epochs --epochs-cae/--epochs-cnn give where they are given. Fold cards of ensembles
(``emotion-desktop-cli ensemble`` then ``balance`` on each fold, as the shipped model was made)
measure the shipped recipe itself; the figure records networks and class balance per fold.
--ablation-cards does the same for the ablation, over every fold: one-network fold cards with
and without the CAE (``train --no-cae``), each fold once in each arm.
--write-card stores the figures in the model's card under ``figures``. Ends with one JSON line
of every figure.
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
from emotion_desktop.core.data.dataset import build_faces
from emotion_desktop.core.data.sources import scan_source
from emotion_desktop.core.emotions import INDEX_BY_NAME
from emotion_desktop.core.errors import CheckpointError, EmotionDesktopError
from emotion_desktop.core.model.card import CardScores, ModelCard, read_card, write_card
from emotion_desktop.core.model.checkpoints import load_model
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.model.json_parts import read_part
from emotion_desktop.core.model.metrics import score
from emotion_desktop.core.train.config import TrainConfig
from emotion_desktop.core.train.evaluate import evaluate_on_folders, score_faces
from emotion_desktop.core.train.run import train_from_folder

FIGURES = ("ferplus", "fer2013", "random", "cross", "person", "ablation")
SHARED_FACES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "faces"


def source_test(model: Path, folder: Path) -> dict:
    """The model on one source's test split (the saved split where it learnt from it)."""
    (result,) = evaluate_on_folders(model, [folder], cache_dir=paths.cache_dir())
    if result.absent:  # a trimmed or another copy: not the figure the split stands for
        sys.exit(f"{folder} lacks {result.absent} of the {len(result.split.test)} test images")
    print(f"{result.name} test ({result.split.protocol} split):\n{result.scores.table()}")
    return {
        **result.scores.to_dict(),
        "split": result.split.protocol,
        "seen_in_training": result.seen_in_training,
    }


def fer2013_private_test(model: Path, folder: Path) -> dict:
    """FER2013 PrivateTest, original labels: the faces named ``PrivateTest_*`` in its test part."""
    found = scan_source(folder)
    records = [r for r in found.records if r.part == "test" and "PrivateTest" in r.path.name]
    loaded = load_model(model)
    faces = build_faces(records, found.folder, loaded.crop, paths.cache_dir())
    scores = score_faces(loaded.model, faces, flip=True)
    print(f"FER2013 PrivateTest (original labels):\n{scores.table()}")
    return scores.to_dict()


def cross_dataset(model: Path) -> dict:
    """Accuracy on ../shared/data/faces: 10 real photos per class, labels from the folders."""
    predictor = Predictor.from_checkpoint(model)
    photos = sorted(SHARED_FACES.glob("*/*.jpg"))
    if not photos:
        sys.exit(f"no photos in {SHARED_FACES}: the cross figure needs ../shared/data/faces")
    truth, predicted = [], []
    for photo in photos:
        faces = predictor.predict_image(photo, whole_image=True)
        truth.append(INDEX_BY_NAME[photo.parent.name])
        predicted.append(faces[0].index)
    scores = score(truth, predicted)
    print(f"shared photos: {scores.accuracy:.1%} (macro {scores.macro_accuracy:.1%})")
    return scores.to_dict()


class Recipe:
    """The model's training recipe, to retrain it under another KDEF split or without CAE."""

    def __init__(
        self, model: Path, card: ModelCard, ferplus: Path | None, config: TrainConfig
    ) -> None:
        self.card = card
        learnt = card.trained_sources()
        if "ferplus" in learnt and ferplus is None:
            sys.exit(f"{model.name} learnt from FER+: retraining its recipe needs --ferplus")
        self.more = (ferplus,) if "ferplus" in learnt else ()
        weights = card.source_weights()
        self.weights = tuple(weights.get(n, 1.0) for n in ("kdef", "ferplus")[: 1 + len(self.more)])
        self.config = config

    def train(self, kdef: Path, fold: int, folds: int, use_cae: bool, label: str) -> dict:
        options = replace(
            self.card.data_options([kdef, *self.more]),  # the model's angles
            protocol="person",
            fold=fold,
            folds=folds,
            weights=self.weights,
        )
        config = replace(self.config, use_cae=use_cae)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            result = train_from_folder(options, config, Path(tmp) / "m.pt", paths.cache_dir())
            minutes = (time.perf_counter() - t0) / 60
        tests = result.card.tests_by_source()
        line = ", ".join(f"{name} {t.accuracy:.2%}" for name, t in tests.items())
        print(f"  {label}: {line} in {minutes:.1f} min", flush=True)
        ferplus = tests.get("ferplus")
        return {
            "kdef_person": tests["kdef"].accuracy,
            "ferplus": ferplus and ferplus.accuracy,
            "ferplus_macro": ferplus and ferplus.macro_accuracy,
            "minutes": round(minutes, 1),
        }


def recipe_of(
    card: ModelCard, config: TrainConfig | None = None
) -> tuple[TrainConfig, dict[str, float]]:
    """What a card's model was trained by: its training settings (``config`` where given, e.g.
    at other epochs) less the seed, and its sources' weights. Two cards with the same recipe
    differ only in their split and seed."""
    config = config or TrainConfig.from_dict(card.training.settings())
    return replace(config, seed=0), card.source_weights()


def networks_of(card: ModelCard) -> int:
    """How many networks a card's model averages (1 unless it is an ensemble)."""
    return len(card.ensemble.members) if card.ensemble else 1


def read_fold_card(path: Path) -> ModelCard:
    """A fold card given on the command line; SystemExit with a message where it cannot be read
    or is no card (a typo in its path, the folder's README given by a glob)."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        sys.exit(f"cannot read the card {path}: {exc}")
    try:
        return ModelCard.from_dict(raw, path.name)
    except CheckpointError as exc:
        sys.exit(f"{path} is not a model card: {exc}")


def person_from_cards(
    model_card: ModelCard, config: TrainConfig, cards: list[Path], folds: int
) -> dict:
    """The person figure from fold cards trained elsewhere; SystemExit where they are not the
    model's recipe (``config``: its training settings, epochs as asked) on every fold of one
    person-disjoint split (one split seed: folds of two seeds overlap in people) and of the
    model's angles, or where the folds differ in networks or class balance. Returns each
    fold's KDEF and FER+ test figures, and how each fold's model was built."""
    recipe, by_fold, devices, seeds = recipe_of(model_card, config), {}, set(), set()
    angles = model_card.data.angles
    shapes = set()
    for path in cards:
        card = read_fold_card(path)
        kdef = next((s for s in card.data.sources or () if s.kind == "kdef"), None)
        if kdef is None:
            sys.exit(f"{path.name} records no KDEF source: not a fold card of this recipe")
        split = kdef.split
        if split is None or split.protocol != "person" or split.folds != folds:
            shown = f"{split.protocol} in {split.folds}" if split else "not recorded"
            sys.exit(f"{path.name}: KDEF split {shown}, not person-disjoint in {folds}")
        if recipe_of(card) != recipe or card.data.angles != angles:
            sys.exit(f"{path.name} was not trained with the model's recipe at these epochs")
        if "kdef" not in (card.tests or {}):
            sys.exit(f"{path.name} holds no KDEF test figures")
        by_fold[split.fold] = card.tests
        seeds.add(split.seed)
        devices.add(card.training.device or "not recorded")  # older cards
        shapes.add((networks_of(card), card.class_balance is not None))
    if len(seeds) > 1:
        sys.exit(f"the cards come from person splits of seeds {sorted(seeds)}: their folds overlap")
    if sorted(by_fold) != list(range(folds)) or len(cards) != folds:
        sys.exit(f"the cards cover folds {sorted(by_fold)}, not each of the {folds} once")
    if len(shapes) > 1:
        sys.exit("the fold cards differ in their number of networks or class balance")
    for k in range(folds):
        print(f"  fold {k + 1}/{folds}: kdef {by_fold[k]['kdef'].accuracy:.2%}")
    ((networks, balanced),) = shapes
    found = {
        "folds": [by_fold[k]["kdef"].accuracy for k in range(folds)],
        "networks": networks,
        "class_balance": balanced,
        "trained_on": sorted(devices),
        "split_seed": seeds.pop(),
    }
    if all("ferplus" in by_fold[k] for k in range(folds)):
        found["ferplus"] = [by_fold[k]["ferplus"].accuracy for k in range(folds)]
        found["ferplus_macro"] = [by_fold[k]["ferplus"].macro_accuracy for k in range(folds)]
    return found


def ablation_from_cards(
    model_card: ModelCard, config: TrainConfig, cards: list[Path], folds: int
) -> dict:
    """The CAE ablation over every person fold, from fold cards trained elsewhere: each card's
    ``training.use_cae`` puts it in one arm, and each arm must hold the recipe (with or without
    the CAE, otherwise alike) on each fold once of one person split, with one network per fold
    in both: fold k holds the same people in both arms."""
    arms: dict[bool, list[Path]] = {True: [], False: []}
    for path in cards:
        use_cae = read_fold_card(path).training.use_cae
        if use_cae is None:
            sys.exit(f"{path.name} does not say whether its model used the CAE")
        arms[use_cae].append(path)
    figure: dict = {}
    for use_cae, label in ((True, "with_cae"), (False, "without_cae")):
        print(f"  {label.replace('_', ' ')}:")
        found = person_from_cards(
            model_card, replace(config, use_cae=use_cae), arms[use_cae], folds
        )
        if found["networks"] != 1 or found["class_balance"]:
            sys.exit("the ablation compares single networks without class balance")
        arm = {"kdef_person": statistics.mean(found["folds"]), "kdef_person_folds": found["folds"]}
        for key in ("ferplus", "ferplus_macro"):
            if key in found:
                arm[key] = statistics.mean(found[key])
        figure[label] = arm
        figure.setdefault("split_seed", found["split_seed"])
        if found["split_seed"] != figure["split_seed"]:
            sys.exit("the two arms come from person splits of different seeds: their folds differ")
        figure["trained_on"] = sorted({*figure.get("trained_on", []), *found["trained_on"]})
    return figure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=paths.default_model_path())
    parser.add_argument("--kdef", type=Path, help="KDEF folder")
    parser.add_argument("--ferplus", type=Path, help="FER+ folder (FER2013Train/label.csv...)")
    parser.add_argument("--fer2013", type=Path, help="FER2013 folder (train/ and test/<emotion>/)")
    parser.add_argument("--figures", default="ferplus,fer2013,random,cross")
    parser.add_argument("--epochs-cae", type=int)
    parser.add_argument("--epochs-cnn", type=int)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--person-cards",
        type=Path,
        nargs="+",
        help="cards of the person-disjoint fold models, trained elsewhere with the model's recipe",
    )
    parser.add_argument(
        "--ablation-cards",
        type=Path,
        nargs="+",
        help="cards of one-network fold models with and without the CAE (training.use_cae), "
        "trained elsewhere with the model's recipe: the ablation over every fold",
    )
    parser.add_argument("--write-card", action="store_true", help="store figures in the card")
    args = parser.parse_args(argv)
    wanted = args.figures.split(",")
    unknown = set(wanted) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figures {sorted(unknown)}; known: {','.join(FIGURES)}")
    needs = {
        "ferplus": "ferplus",
        "fer2013": "fer2013",
        "random": "kdef",
        "person": "kdef",
        "ablation": "kdef",
    }
    for cards, figure in ((args.person_cards, "person"), (args.ablation_cards, "ablation")):
        if cards and figure not in wanted:
            parser.error(f"cards for the {figure} figure, but --figures does not ask for it")
    for figure, folder in needs.items():
        from_cards = (figure == "person" and args.person_cards) or (
            figure == "ablation" and args.ablation_cards
        )
        if figure in wanted and getattr(args, folder) is None and not from_cards:
            parser.error(f"the {figure} figure needs --{folder}")

    card = read_card(args.model)
    config = recipe_of(card)[0]  # an ensemble's card lists its members' seeds
    if args.epochs_cae is not None:
        config = replace(config, epochs_cae=args.epochs_cae)
    if args.epochs_cnn is not None:
        config = replace(config, epochs_cnn=args.epochs_cnn)
    figures: dict = {
        "model": str(args.model),
        "networks": networks_of(card),
        "training_minutes": round((card.training.seconds_total or 0) / 60, 1),
    }
    if "ferplus" in wanted:
        figures["ferplus_test"] = source_test(args.model, args.ferplus)
    if "fer2013" in wanted:
        figures["fer2013_private_test"] = fer2013_private_test(args.model, args.fer2013)
    if "random" in wanted:
        figures["kdef_random"] = source_test(args.model, args.kdef)
    if "cross" in wanted:
        figures["shared_photos"] = cross_dataset(args.model)
    retrain = {"epochs_cae": config.epochs_cae, "epochs_cnn": config.epochs_cnn}
    if "person" in wanted or "ablation" in wanted:
        retrains = ("ablation" in wanted and not args.ablation_cards) or (
            "person" in wanted and not args.person_cards
        )
        recipe = Recipe(args.model, card, args.ferplus, config) if retrains else None
        first = None
        if "person" in wanted:
            print(f"person-disjoint, {args.folds} folds ({retrain}):", flush=True)
            if args.person_cards:
                found = person_from_cards(card, config, args.person_cards, args.folds)
                accs = found["folds"]
                kept = ("networks", "class_balance", "trained_on", "split_seed")
                where = {k: found[k] for k in kept}
                if "ferplus" in found:  # the same FER+ test faces, scored by each fold's model
                    where["ferplus_test_by_fold"] = {
                        "accuracy": found["ferplus"],
                        "macro_accuracy": found["ferplus_macro"],
                    }
            else:
                runs = [
                    recipe.train(args.kdef, k, args.folds, True, f"fold {k + 1}/{args.folds}")
                    for k in range(args.folds)
                ]
                first, where = runs[0], {"networks": 1, "class_balance": False}
                accs = [r["kdef_person"] for r in runs]
            figures["kdef_person"] = {
                "mean": statistics.mean(accs),
                "std": statistics.pstdev(accs),
                "folds": accs,
                **retrain,
                **where,
            }
        if "ablation" in wanted and args.ablation_cards:
            print(f"with and without the CAE stage, {args.folds} folds ({retrain}):", flush=True)
            found = ablation_from_cards(card, config, args.ablation_cards, args.folds)
            figures["cae_ablation"] = {**found, **retrain}
        elif "ablation" in wanted:
            print(f"with and without the CAE stage, person fold 1 ({retrain}):", flush=True)
            with_cae = first or recipe.train(args.kdef, 0, args.folds, True, "with CAE")
            without = recipe.train(args.kdef, 0, args.folds, False, "without CAE")
            figures["cae_ablation"] = {"with_cae": with_cae, "without_cae": without, **retrain}

    print("\n| figure | accuracy |\n|---|---|")
    for name, value in figures.items():
        if isinstance(value, dict) and "mean" in value:
            print(f"| {name} | {value['mean']:.1%} ± {value['std']:.1%} |")
        elif isinstance(value, dict) and "accuracy" in value:
            print(f"| {name} | {value['accuracy']:.1%} (macro {value['macro_accuracy']:.1%}) |")
    if args.write_card:
        card = replace(card, figures={**(card.figures or {}), **figures})
        if "ferplus_test" in figures:  # the model list's FER+ column, learnt from or not
            tests = card.tests_by_source()
            tests.setdefault("ferplus", read_part(CardScores, figures["ferplus_test"]))
            card = replace(card, tests=tests)
        write_card(args.model, card)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EmotionDesktopError as e:  # a missing model or folder: a message, not a traceback
        sys.exit(f"error: {e}")
