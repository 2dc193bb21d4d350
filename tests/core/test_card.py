"""The model card as typed parts: every card in the repository reads and writes back as it was,
an old card reads as version 1, and a damaged card is refused with one message naming the value
(the window still lists its model; evaluating it is refused)."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from emotion_desktop.core.errors import CheckpointError
from emotion_desktop.core.model.card import (
    CARD_VERSION,
    CardScores,
    ModelCard,
    read_card,
    shown_card,
    write_card,
)
from emotion_desktop.core.model.checkpoints import load_model
from emotion_desktop.core.model.metrics import score

ROOT = Path(__file__).resolve().parents[2]
CARDS = sorted(
    p
    for p in [*ROOT.glob("resources/models/*.json"), *ROOT.glob("benchmarks/fold-cards/*/*.json")]
    if not p.name.endswith(".split.json")
)


def test_the_repository_holds_the_cards_this_file_checks() -> None:
    shipped = {p.name for p in CARDS if p.parent.name == "models"}
    assert shipped == {"default.json", "kdef-paper.json"} and len(CARDS) > 20


@pytest.mark.parametrize("path", CARDS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_card_in_the_repository_reads_and_writes_back_as_it_was(path: Path) -> None:
    raw = json.loads(path.read_text())
    card = ModelCard.from_dict(raw, path.name)
    assert card.version == 1  # written before cards had a version
    written = card.to_dict()
    assert written.pop("version") == CARD_VERSION
    assert written == raw  # figures, curves and every key no part names survive
    again = ModelCard.from_dict(json.loads(json.dumps(card.to_dict())))
    assert again == replace(card, version=CARD_VERSION)
    assert card.tests_by_source()["kdef"].count > 0 and card.trained_sources()[0] == "kdef"


def test_the_shipped_default_reads_as_fields() -> None:
    card = read_card(ROOT / "resources" / "models" / "default.pt")
    assert card.trained_sources() == ["kdef", "ferplus"] and card.angles == "all"
    assert card.ensemble is not None and [m.seed for m in card.ensemble.members] == [2, 5]
    assert card.training.seed == (2, 5) and card.training.device
    assert card.class_balance is not None and 0 <= card.class_balance.tau <= 1
    assert isinstance(card.tests["ferplus"], CardScores) and card.figures["shared_photos"]
    assert card.source_weights()["kdef"] > 0 and card.split.protocol == "random"


def test_a_runs_card_is_the_current_version_and_reads_back(tiny_model: Path) -> None:
    raw = json.loads(tiny_model.with_suffix(".json").read_text())
    assert raw["version"] == CARD_VERSION and list(raw)[0] == "version"
    card = read_card(tiny_model)
    assert card.to_dict() == raw and card.version == CARD_VERSION
    assert card.tests["kdef"].test_time_flip and card.test_without_flip.test_time_flip is None
    assert card.model_config["input_size"] == card.crop["size"] == 24  # save_model adds them


def test_keys_no_part_names_are_kept_where_they_were(tmp_path: Path) -> None:
    raw = {
        "version": 2,
        "note": {"by": "a newer app"},
        "data": {"sources": [{"name": "kdef", "kind": "kdef", "colour": "grey"}]},
        "tests": {"kdef": {**score([0, 1], [0, 1]).to_dict(), "seen_in_training": True}},
        "figures": {"kdef_person": {"folds": [0.8, 0.9], "mean": 0.85}},
    }
    card = ModelCard.from_dict(raw)
    assert card.extra == {"note": {"by": "a newer app"}}
    assert card.data.sources[0].extra == {"colour": "grey"}
    assert card.tests["kdef"].extra == {"seen_in_training": True}
    write_card(tmp_path / "m.pt", card)
    assert json.loads((tmp_path / "m.json").read_text()) == raw


FULL = score([0, 1], [0, 1]).to_dict()
DAMAGED = [
    ([1, 2, 3], "the card is a list, where a mapping belongs"),
    ({"data": "KDEF"}, "data is text, where a mapping belongs"),
    ({"split": 3}, "split is 3, where a mapping belongs"),
    ({"name": 5}, "name is 5, where text belongs"),
    ({"data": {"sources": "all"}}, "data.sources is text, where a list belongs"),
    ({"data": {"sources": [1, {"name": "x"}]}}, r"data.sources\[0\] is 1, where a mapping"),
    ({"data": {"sources": [{"weight": 1.0}]}}, r"data.sources\[0\] has no name"),
    ({"data": {"sources": [{"name": "k", "weight": 0}]}}, "weight 0.0 is not above 0"),
    ({"data": {"angles": [1]}}, "data.angles is \\[1\\], where 'all' or 'frontal' belongs"),
    ({"training": {"val_fraction": "0.1"}}, "training.val_fraction is '0.1', where a number"),
    ({"training": {"seed": True}}, "training.seed is True, where a whole number or a list"),
    ({"test": {"accuracy": "high"}}, "test.accuracy is 'high', where a number belongs"),
    ({"tests": {"kdef": 0.9}}, "tests.kdef is 0.9, where a mapping belongs"),
    ({"tests": {"kdef": {**FULL, "confusion_matrix": [[1]]}}}, "not 7 rows of 7"),
    ({"tests": {"kdef": {"accuracy": 0.9}}}, "tests.kdef has no macro_accuracy"),
    ({"ensemble": {"weights": "float16"}}, "ensemble has no members"),
    ({"class_balance": {"tau": "0.5"}}, "class_balance.tau is '0.5', where a number"),
    ({"version": "2"}, "version is '2', where a whole number belongs"),
    ({"figures": json.loads('{"a":' * 20 + "1" + "}" * 20)}, "nested deeper than any card"),
    ({"note": json.loads("[" * 30 + "]" * 30)}, "nested deeper than any card"),
]


@pytest.mark.parametrize(("raw", "said"), DAMAGED, ids=[d[1][:30] for d in DAMAGED])
def test_a_damaged_card_is_refused_with_one_message_naming_the_value(raw, said) -> None:
    with pytest.raises(CheckpointError, match=said) as refused:
        ModelCard.from_dict(raw, "m.json")
    message = str(refused.value)
    assert message.startswith("m.json is damaged: ") and "\n" not in message


def test_a_card_of_a_newer_version_is_refused_not_misread() -> None:
    with pytest.raises(CheckpointError, match="version 3; this version of the app reads"):
        ModelCard.from_dict({"version": 3, "data": {"sources": [{"name": "kdef"}]}}, "m.json")
    assert ModelCard.from_dict({}).version == 1
    assert ModelCard.from_dict({"version": 2}).version == 2


@pytest.mark.parametrize("content", ["", "{", '{"data": 1}', "[" * 100_000])
def test_a_model_whose_card_cannot_be_read_loads_without_it(tiny_model, tmp_path, content):
    """Labelling needs no card, and the window lists the model; what needs the card (it says
    which faces trained the model) is refused with the reason."""
    model = tmp_path / "m.pt"
    shutil.copy(tiny_model, model)
    (tmp_path / "m.json").write_text(content)
    loaded = load_model(model)
    assert loaded.card == ModelCard() == shown_card(model) and loaded.card_error
    with pytest.raises(CheckpointError, match="m.pt has no readable card: m.json") as refused:
        loaded.require_card()
    assert "\n" not in str(refused.value)
    with pytest.raises(CheckpointError, match="m.json"):
        read_card(model)


def test_a_missing_card_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="m.json cannot be read"):
        read_card(tmp_path / "m.pt")
    assert shown_card(tmp_path / "m.pt") == ModelCard()
