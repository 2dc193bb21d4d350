"""Choosing the pair of networks to ship: averaged and balanced as shipped, judged on
validation faces only."""

import json
import runpy
import shutil
from pathlib import Path

import numpy as np
import pytest

from emotion_desktop.cli import main as cli
from emotion_desktop.core.errors import CheckpointError
from emotion_desktop.core.train.balance import TAUS
from emotion_desktop.core.train.pairs import rank_networks, rank_pairs

ROOT = Path(__file__).resolve().parents[2]
UNIFORM = np.full(7, 1 / 7)


def _probabilities(
    labels: np.ndarray, right: np.ndarray, sure: float, wrong_sure: float
) -> np.ndarray:
    """``sure`` on the true class where ``right``, elsewhere ``wrong_sure`` on the next
    class; the rest spread evenly."""
    p = np.where(right, sure, wrong_sure)
    out = np.repeat(((1 - p) / 6)[:, None], 7, axis=1)
    out[np.arange(len(labels)), np.where(right, labels, (labels + 1) % 7)] = p
    return out


def _network(labels: np.ndarray, right: np.ndarray, sure: float, wrong_sure: float) -> tuple:
    """A network's outputs, a face's and its mirror's alike."""
    out = _probabilities(labels, right, sure, wrong_sure)
    return out, out


def test_two_networks_that_err_on_different_faces_make_the_best_pair() -> None:
    # a and b are each surely right on one half of the faces and unsurely wrong on the other:
    # averaged, they are right everywhere. c is right where a is and surely wrong elsewhere,
    # so no pair with c is
    labels = np.arange(140) % 7
    first = np.arange(140) < 70
    outputs = {
        "a": {"faces": _network(labels, first, 0.9, 0.4)},
        "b": {"faces": _network(labels, ~first, 0.9, 0.4)},
        "c": {"faces": _network(labels, first, 0.9, 0.95)},
    }
    ranked = rank_pairs(outputs, {"faces": labels}, UNIFORM)
    assert ranked[0].names == ("a", "b")
    assert {p.names for p in ranked[1:]} == {("a", "c"), ("b", "c")}
    assert ranked[0].validation["faces"].accuracy == 1.0 and ranked[0].mean_macro == 1.0
    assert all(p.validation["faces"].accuracy == 0.5 for p in ranked[1:])
    assert all(p.tau in TAUS for p in ranked)


def test_pairs_are_ranked_by_mean_macro_over_sources_not_pooled_accuracy() -> None:
    # p (twice) reads a small source perfectly and 80% of a large one; q (twice) reads none of
    # the small one and 95% of the large: more faces right in all, a far lower mean macro
    small, large = np.arange(70) % 7, np.arange(700) % 7
    p = {
        "small": _network(small, small >= 0, 0.9, 0.9),
        "large": _network(large, np.arange(700) % 10 > 1, 0.9, 0.9),
    }
    q = {
        "small": _network(small, small < 0, 0.8, 0.8),
        "large": _network(large, np.arange(700) % 20 != 0, 0.8, 0.8),
    }
    ranked = rank_pairs(
        {"p": p, "p2": p, "q": q, "q2": q}, {"small": small, "large": large}, UNIFORM
    )
    assert ranked[-1].names == ("q", "q2")
    assert ranked[-1].accuracy == max(r.accuracy for r in ranked) > ranked[0].accuracy
    assert ranked[0].mean_macro > 0.85 > 0.5 > ranked[-1].mean_macro


def test_each_face_is_read_with_its_mirror_image() -> None:
    # both networks are unsurely wrong on every face and surely right on every mirror image
    labels = np.arange(70) % 7
    wrong = _probabilities(labels, labels < 0, 0.9, 0.4)
    right = _probabilities(labels, labels >= 0, 0.9, 0.4)
    outputs = {name: {"faces": (wrong, right)} for name in ("a", "b")}
    (pair,) = rank_pairs(outputs, {"faces": labels}, UNIFORM)
    assert pair.validation["faces"].accuracy == 1.0


def test_pairs_equal_in_mean_macro_are_ranked_by_all_faces_together() -> None:
    # x (twice) reads all of a small source and 80% of a large one, y (twice) the reverse:
    # the same mean macro, but y gets more faces right
    small, large = np.arange(70) % 7, np.arange(700) % 7
    most_small, most_large = np.arange(70) // 7 % 5 != 0, np.arange(700) // 7 % 5 != 0
    x = {
        "small": _network(small, small >= 0, 0.9, 0.9),
        "large": _network(large, most_large, 0.9, 0.9),
    }
    y = {
        "small": _network(small, most_small, 0.8, 0.8),
        "large": _network(large, large >= 0, 0.8, 0.8),
    }
    ranked = rank_pairs(
        {"x": x, "x2": x, "y": y, "y2": y}, {"small": small, "large": large}, UNIFORM
    )
    by_pair = {p.names: p for p in ranked}
    assert by_pair[("y", "y2")].mean_macro == by_pair[("x", "x2")].mean_macro
    assert by_pair[("y", "y2")].accuracy > by_pair[("x", "x2")].accuracy
    assert ranked[0].names == ("y", "y2")


@pytest.fixture(scope="module")
def networks(kdef_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three one-epoch networks of one split, differing in their training seed."""
    folder = tmp_path_factory.mktemp("networks")
    tiny = ["--epochs-cae", "0", "--epochs-cnn", "1", "--input-size", "24"]
    for seed in range(3):
        args = ["train", "--data", str(kdef_folder), *tiny, "--train-seed", str(seed)]
        assert cli([*args, "--out", str(folder / f"n{seed}.pt")]) == 0
    return sorted(folder.glob("n?.pt"))


def test_saved_networks_are_ranked_on_their_validation_faces(networks, kdef_folder) -> None:
    ranked = rank_networks(networks, [kdef_folder])
    assert {p.names for p in ranked} == {("n0", "n1"), ("n0", "n2"), ("n1", "n2")}
    assert all(list(p.validation) == ["kdef"] for p in ranked)
    assert all(0 <= p.validation["kdef"].accuracy <= 1 for p in ranked)


def test_networks_that_cannot_be_averaged_or_told_apart_are_refused(
    networks, kdef_folder, tmp_path
) -> None:
    with pytest.raises(CheckpointError, match="listed twice"):
        rank_networks([networks[0], networks[0]], [kdef_folder])
    for suffix in (".pt", ".json", ".split.json"):
        shutil.copy(networks[1].with_name(f"n1{suffix}"), tmp_path / f"n0{suffix}")
    with pytest.raises(CheckpointError, match="share a file name"):
        rank_networks([networks[0], tmp_path / "n0.pt"], [kdef_folder])
    card = json.loads(networks[1].with_suffix(".json").read_text())
    card["training"]["val_fraction"] = 0.3  # other validation faces: some trained networks[0]
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(networks[1], other / "n1.pt")
    shutil.copy(networks[1].with_suffix(".split.json"), other / "n1.split.json")
    (other / "n1.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="another share of validation faces"):
        rank_networks([networks[0], other / "n1.pt"], [kdef_folder])


def test_the_script_prints_each_pair_best_first(networks, kdef_folder, capsys) -> None:
    script = runpy.run_path(str(ROOT / "scripts" / "choose_pair.py"), run_name="choose_pair")
    assert script["main"]([*map(str, networks), "--data", str(kdef_folder)]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0].startswith("pair") and len(rows) == 4
    best = rank_networks(networks, [kdef_folder])[0]
    assert rows[1].startswith("+".join(best.names))
    assert script["main"]([str(networks[0]), "--data", str(kdef_folder)]) == 2
    assert "two or more" in capsys.readouterr().err
