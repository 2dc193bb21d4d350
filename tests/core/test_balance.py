"""Class balance: the bias a model keeps in its file, and the tau its validation faces choose."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from emotion_desktop.cli import main
from emotion_desktop.core.errors import CheckpointError
from emotion_desktop.core.model.card import ModelCard
from emotion_desktop.core.model.checkpoints import load_model, save_model
from emotion_desktop.core.model.networks import EmotionCNN, ModelConfig
from emotion_desktop.core.train.balance import TAUS, choose_tau
from emotion_desktop.core.vision.faces import CropSettings
from tests.core.test_cli import evaluate, train

PRIOR = np.array([0.05, 0.15, 0.05, 0.25, 0.3, 0.1, 0.1])


def _validation(rng: np.random.Generator, n: int = 700) -> tuple:
    """Balanced faces read by a model that learnt PRIOR: true-class evidence plus log prior,
    so rare classes lose to common ones until the prior is taken back out."""
    labels = np.arange(n) % 7
    evidence = rng.normal(size=(n, 7))
    evidence[np.arange(n), labels] += 1.5
    logits = evidence + np.log(PRIOR)
    return (logits, logits + rng.normal(scale=0.1, size=logits.shape)), labels


def balance(model: Path, data: Path, out: Path) -> int:
    """``balance`` of ``model`` on the sources in ``data`` into ``out``."""
    return main(["balance", str(model), "--data", str(data), "--out", str(out)])


def test_a_prior_learnt_from_unbalanced_data_is_taken_out() -> None:
    logits, labels = _validation(np.random.default_rng(0))
    choice = choose_tau({"balanced": (logits, labels)}, PRIOR)
    macro = {row.tau: row.validation["balanced"].macro_accuracy for row in choice.table}
    assert [row.tau for row in choice.table] == list(TAUS)
    assert choice.tau >= 0.5 and macro[choice.tau] > macro[0.0] + 0.05
    assert np.allclose(choice.bias, -choice.tau * np.log(PRIOR))


def test_no_shift_where_it_would_cost_accuracy() -> None:
    # faces as unbalanced as the prior, weak evidence: the prior is right, and taking it out
    # trades accuracy for macro beyond the one point allowed
    rng = np.random.default_rng(1)
    labels = rng.choice(7, size=4000, p=PRIOR)
    evidence = rng.normal(size=(4000, 7))
    evidence[np.arange(4000), labels] += 1.0
    logits = evidence + np.log(PRIOR)
    choice = choose_tau({"unbalanced": ((logits, logits), labels)}, PRIOR)
    accuracy = {row.tau: row.accuracy for row in choice.table}
    macro = {r.tau: r.validation["unbalanced"].macro_accuracy for r in choice.table}
    floor = accuracy[0.0] - 0.01
    assert accuracy[1.0] < floor and 0 < choice.tau < 1.0 and accuracy[choice.tau] >= floor
    assert all(accuracy[t] < floor for t in TAUS if macro[t] > macro[choice.tau])


def test_the_class_bias_travels_in_the_model_file(tmp_path: Path) -> None:
    model = EmotionCNN(ModelConfig(input_size=24)).eval()
    x = torch.rand(3, 1, 24, 24)
    plain = model(x)
    model.class_bias.copy_(torch.arange(7.0))
    assert torch.allclose(model(x), plain + torch.arange(7.0))
    save_model(tmp_path / "m.pt", model, CropSettings(size=24), ModelCard())
    loaded = load_model(tmp_path / "m.pt").model
    assert torch.allclose(loaded(x), model(x)) and loaded.class_bias[6] == 6.0


@pytest.mark.parametrize("bias", [None, [1.0] * 6, [float("nan")] * 7, "seven"])
def test_an_older_or_damaged_class_bias(tmp_path: Path, bias) -> None:
    model = EmotionCNN(ModelConfig(input_size=24)).eval()
    save_model(tmp_path / "m.pt", model, CropSettings(size=24), ModelCard())
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    if bias is None:
        del payload["class_bias"]  # files written before it existed
    else:
        payload["class_bias"] = bias
    torch.save(payload, tmp_path / "m.pt")
    if bias is None:
        assert not load_model(tmp_path / "m.pt").model.class_bias.any()
    else:
        with pytest.raises(CheckpointError):
            load_model(tmp_path / "m.pt")


def test_balance_writes_a_model_whose_card_evaluate_reproduces(
    tiny_model, kdef_folder, tmp_path, capsys
) -> None:
    out = tmp_path / "balanced.pt"
    assert balance(tiny_model, kdef_folder, out) == 0
    printed = capsys.readouterr().out
    card = json.loads(out.with_suffix(".json").read_text())
    balanced = card["class_balance"]
    assert balanced["tau"] in TAUS and "<- chosen" in printed
    before = json.loads(tiny_model.with_suffix(".json").read_text())["tests"]
    assert balanced["tests_before"] == before
    bias = load_model(out).model.class_bias.numpy()
    prior = np.array(list(balanced["prior"].values()))
    assert np.allclose(bias, -balanced["tau"] * np.log(prior), atol=1e-3)
    assert evaluate(kdef_folder, out, "--json") == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["accuracy"] == pytest.approx(card["test"]["accuracy"])


def test_a_balanced_model_is_no_ensemble_member(tiny_model, kdef_folder, tmp_path, capsys) -> None:
    balanced = tmp_path / "balanced.pt"
    assert balance(tiny_model, kdef_folder, balanced) == 0
    loaded = load_model(balanced)
    loaded.model.class_bias.fill_(0.5)  # whatever tau chose: any bias makes it balanced
    save_model(balanced, loaded.model, loaded.crop, loaded.card)
    args = ["ensemble", str(tiny_model), str(balanced), "--data", str(kdef_folder)]
    assert main([*args, "--out", str(tmp_path / "pair.pt")]) == 2
    assert "class-balanced" in capsys.readouterr().err


def test_a_card_with_a_damaged_validation_fraction_is_one_message(
    tiny_model, kdef_folder, tmp_path, capsys
) -> None:
    """A hand-edited "0.1" reached the user as a TypeError from deep in the split code."""
    import shutil

    model = tmp_path / "m.pt"
    for suffix in (".pt", ".split.json"):
        shutil.copy(tiny_model.with_suffix(suffix), model.with_suffix(suffix))
    card = json.loads(tiny_model.with_suffix(".json").read_text())
    card["training"]["val_fraction"] = "0.1"
    model.with_suffix(".json").write_text(json.dumps(card))
    assert balance(model, kdef_folder, tmp_path / "b.pt") == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.splitlines()) == 1
    assert "training.val_fraction is '0.1', where a number belongs" in err


def test_saved_data_comes_back_with_its_sampling_weights(kdef_folder, tmp_path) -> None:
    from emotion_desktop.core.train.saved_data import prepare_saved_data

    out = tmp_path / "weighted.pt"
    assert train(kdef_folder, out, "--weight", "2.5", "--epochs-cae", "0", "--epochs-cnn", "1") == 0
    data = prepare_saved_data(load_model(out), [kdef_folder])
    assert [s.weight for s in data.sources] == [2.5]
