"""benchmarks/accuracy.py's figures from fold cards trained elsewhere: the shipped person and
ablation figures come from these, so a card of the wrong recipe, fold or arm must be refused."""

import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import pytest

from emotion_desktop.core.model.card import ModelCard
from emotion_desktop.core.model.metrics import score
from emotion_desktop.core.train.config import TrainConfig

_SPEC = importlib.util.spec_from_file_location(
    "accuracy", Path(__file__).resolve().parents[2] / "benchmarks" / "accuracy.py"
)
accuracy = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(accuracy)

CONFIG = TrainConfig(epochs_cae=2, epochs_cnn=64)


def card_figures(accuracy: float, macro: float | None = None) -> dict:
    """A card's test figures of this accuracy (and macro): a score's, with those two set."""
    figures = score([0, 1], [0, 1]).to_dict()
    return {**figures, "accuracy": accuracy, "macro_accuracy": accuracy if macro is None else macro}


def fold_card(
    fold: int,
    kdef: float,
    *,
    use_cae: bool = True,
    members: int = 1,
    balanced: bool = False,
    seed: int = 0,
) -> dict:
    card = {
        "data": {
            "angles": "all",
            "sources": [
                {
                    "kind": "kdef",
                    "name": "kdef",
                    "weight": 3.0,
                    "split": {"protocol": "person", "seed": seed, "fold": fold, "folds": 5},
                },
                {"kind": "ferplus", "name": "ferplus", "weight": 1.0},
            ],
        },
        "training": {**replace(CONFIG, use_cae=use_cae).to_dict(), "device": "NVIDIA H200"},
        "tests": {"kdef": card_figures(kdef), "ferplus": card_figures(0.8, 0.6 + fold / 100)},
    }
    if members > 1:
        card["ensemble"] = {"members": [{"name": f"m{i}", "seed": i} for i in range(members)]}
    if balanced:
        card["class_balance"] = {"tau": 0.8}
    return card


def write(tmp_path: Path, name: str, card: dict | list) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(card))
    return path


MODEL_CARD = ModelCard.from_dict(fold_card(0, 0.9, members=2, balanced=True))  # shipped recipe


def test_person_figure_reads_balanced_ensembles_and_says_so(tmp_path) -> None:
    cards = [
        write(tmp_path, f"b{k}", fold_card(k, 0.7 + k / 100, members=2, balanced=True))
        for k in (3, 1, 0, 4, 2)
    ]
    found = accuracy.person_from_cards(MODEL_CARD, CONFIG, cards, 5)
    assert found["folds"] == [0.70, 0.71, 0.72, 0.73, 0.74]  # in fold order
    assert found["ferplus_macro"] == [0.60, 0.61, 0.62, 0.63, 0.64]
    assert (found["networks"], found["class_balance"]) == (2, True)
    assert found["trained_on"] == ["NVIDIA H200"]


def test_person_figure_refuses_folds_built_unlike_each_other(tmp_path) -> None:
    cards = [write(tmp_path, f"p{k}", fold_card(k, 0.8)) for k in range(4)]
    cards.append(write(tmp_path, "b4", fold_card(4, 0.8, members=2, balanced=True)))
    with pytest.raises(SystemExit, match="differ in their number of networks"):
        accuracy.person_from_cards(MODEL_CARD, CONFIG, cards, 5)


def test_ablation_pairs_the_arms_by_use_cae_over_every_fold(tmp_path) -> None:
    with_cae = [write(tmp_path, f"p{k}", fold_card(k, 0.80)) for k in range(5)]
    without = [write(tmp_path, f"n{k}", fold_card(k, 0.78, use_cae=False)) for k in range(5)]
    figure = accuracy.ablation_from_cards(MODEL_CARD, CONFIG, [*without, *with_cae], 5)
    assert figure["with_cae"]["kdef_person"] == pytest.approx(0.80)
    assert figure["without_cae"]["kdef_person"] == pytest.approx(0.78)
    assert figure["without_cae"]["ferplus_macro"] == pytest.approx(0.62)
    assert figure["trained_on"] == ["NVIDIA H200"]


def test_ablation_refuses_a_missing_fold_or_an_ensemble(tmp_path) -> None:
    with_cae = [write(tmp_path, f"p{k}", fold_card(k, 0.80)) for k in range(5)]
    without = [write(tmp_path, f"n{k}", fold_card(k, 0.78, use_cae=False)) for k in range(4)]
    with pytest.raises(SystemExit, match="not each of the 5 once"):
        accuracy.ablation_from_cards(MODEL_CARD, CONFIG, [*with_cae, *without], 5)
    balanced = [
        write(tmp_path, f"b{k}", fold_card(k, 0.8, members=2, balanced=True)) for k in range(5)
    ]
    without.append(write(tmp_path, "n4", fold_card(4, 0.78, use_cae=False)))
    with pytest.raises(SystemExit, match="single networks"):
        accuracy.ablation_from_cards(MODEL_CARD, CONFIG, [*balanced, *without], 5)


def test_a_card_of_other_epochs_is_not_the_recipe(tmp_path) -> None:
    cards = [write(tmp_path, f"p{k}", fold_card(k, 0.8)) for k in range(5)]
    with pytest.raises(SystemExit, match="not trained with the model's recipe"):
        accuracy.person_from_cards(MODEL_CARD, replace(CONFIG, epochs_cnn=32), cards, 5)


def test_the_arms_of_the_ablation_must_share_one_split(tmp_path) -> None:
    """Fold k of another split seed holds other people: the fold-by-fold lists would compare
    unrelated folds."""
    with_cae = [write(tmp_path, f"p{k}", fold_card(k, 0.80)) for k in range(5)]
    without = [
        write(tmp_path, f"n{k}", fold_card(k, 0.78, use_cae=False, seed=7)) for k in range(5)
    ]
    with pytest.raises(SystemExit, match="different seeds"):
        accuracy.ablation_from_cards(MODEL_CARD, CONFIG, [*with_cae, *without], 5)


def test_a_card_that_cannot_be_read_is_a_message(tmp_path) -> None:
    cards = [write(tmp_path, f"p{k}", fold_card(k, 0.8)) for k in range(4)]
    (tmp_path / "README.md").write_text("# not a card")
    for bad in (tmp_path / "p4.json.typo", tmp_path / "README.md"):
        with pytest.raises(SystemExit, match="cannot read the card"):
            accuracy.person_from_cards(MODEL_CARD, CONFIG, [*cards, bad], 5)
    listed = write(tmp_path, "list", [])
    with pytest.raises(SystemExit, match="is not a model card"):
        accuracy.ablation_from_cards(MODEL_CARD, CONFIG, [*cards, listed], 5)


def test_cards_without_their_figure_are_refused(tmp_path, capsys) -> None:
    card = write(tmp_path, "p0", fold_card(0, 0.8))
    with pytest.raises(SystemExit):
        accuracy.main(["--figures", "cross", "--person-cards", str(card)])
    assert "--figures does not ask for it" in capsys.readouterr().err
