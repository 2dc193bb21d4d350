import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from emotion_desktop.core.data.prepare import DataOptions
from emotion_desktop.core.errors import TrainingCancelled
from emotion_desktop.core.model.card import SplitPart
from emotion_desktop.core.model.checkpoints import load_model, split_path
from emotion_desktop.core.train.config import TrainConfig
from emotion_desktop.core.train.loop import STAGE_CAE, STAGE_CNN, Progress, fit
from emotion_desktop.core.train.resume import resume_path
from emotion_desktop.core.train.run import train_from_folder


def _data(n: int = 56, size: int = 24) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (n, size, size)).astype(np.uint8), np.arange(n) % 7


def test_progress_covers_both_stages_and_never_runs_backwards() -> None:
    x, y = _data()
    events: list[Progress] = []
    config = TrainConfig(input_size=24, epochs_cae=2, epochs_cnn=3, batch_size=16)
    fit(x, y, x[:14], y[:14], config, progress=events.append)
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    cae = [e for e in events if e.stage == STAGE_CAE]
    cnn = [e for e in events if e.stage == STAGE_CNN]
    assert max(e.fraction for e in cae) == pytest.approx(0.5)
    assert min(e.fraction for e in cnn) > 0.5
    assert sum(e.end_of_epoch for e in cae) == 2 and sum(e.end_of_epoch for e in cnn) == 3
    ends = [e for e in cnn if e.end_of_epoch]
    assert all(e.val_accuracy is not None and e.train_accuracy is not None for e in ends)
    assert cae[-1].preview is not None and cae[-1].preview.shape == (48, 24 * 8)


def test_without_cae_the_classifier_spans_the_whole_bar() -> None:
    x, y = _data()
    events: list[Progress] = []
    fit(
        x,
        y,
        x[:7],
        y[:7],
        TrainConfig(input_size=24, use_cae=False, epochs_cnn=2),
        progress=events.append,
    )
    assert {e.stage for e in events} == {STAGE_CNN}
    assert [e.fraction for e in events if e.end_of_epoch] == [0.5, 1.0]


def test_cancel_stops_within_a_batch_and_the_run_resumes(tmp_path: Path) -> None:
    x, y = _data()
    config = TrainConfig(input_size=24, epochs_cae=2, epochs_cnn=3, batch_size=16)
    resume = tmp_path / "run.partial.pt"
    seen: list[Progress] = []

    def cancel_in_second_cnn_epoch() -> bool:
        return any(e.stage == STAGE_CNN and e.epoch == 1 for e in seen)

    with pytest.raises(TrainingCancelled):
        fit(x, y, x[:7], y[:7], config, seen.append, cancel_in_second_cnn_epoch, resume)
    batches_after_cancel = [e for e in seen if e.stage == STAGE_CNN and e.epoch == 1]
    assert len(batches_after_cancel) == 1 and resume.is_file()

    resumed: list[Progress] = []
    resumed_model, history = fit(x, y, x[:7], y[:7], config, resumed.append, None, resume)
    assert {(e.stage, e.epoch) for e in resumed} == {(STAGE_CNN, 1), (STAGE_CNN, 2)}
    assert len(history.cae_loss) == 2 and len(history.train_loss) == 3
    assert resume.exists()  # removed by the caller once the model is saved

    straight, straight_history = fit(x, y, x[:7], y[:7], config)  # never interrupted
    assert history.train_loss == pytest.approx(straight_history.train_loss, rel=1e-5)
    for a, b in zip(straight.state_dict().values(), resumed_model.state_dict().values()):
        assert np.allclose(a.numpy(), b.numpy(), atol=1e-6)  # resumed = uninterrupted


def test_a_run_that_stopped_early_resumes_as_stopped(tmp_path: Path) -> None:
    """A run that stopped early but failed to save resumes to its stop, not to more epochs."""
    x, y = _data()
    config = TrainConfig(input_size=24, use_cae=False, epochs_cnn=20, batch_size=16, patience=1)
    resume = tmp_path / "run.partial.pt"
    wrong = (y[:7] + 1) % 7  # validation loss rises as the classifier learns: an early stop
    model, history = fit(x, y, x[:7], wrong, config, None, None, resume)
    assert len(history.train_loss) < 20 and resume.is_file()
    events: list[Progress] = []
    again, again_history = fit(x, y, x[:7], wrong, config, events.append, None, resume)
    assert events == [] and again_history.train_loss == history.train_loss
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)


def test_a_resume_file_of_another_configuration_is_ignored(tmp_path: Path) -> None:
    x, y = _data()
    config = TrainConfig(input_size=24, epochs_cae=1, epochs_cnn=2, batch_size=16)
    resume = tmp_path / "run.partial.pt"
    with pytest.raises(TrainingCancelled):
        fit(x, y, x[:7], y[:7], config, None, lambda: True, resume)
    events: list[Progress] = []
    fit(x, y, x[:7], y[:7], replace(config, lr=1e-3), events.append, None, resume)
    assert events[0].stage == STAGE_CAE and events[0].epoch == 0


def test_pipeline_learns_the_generated_faces_and_writes_model_card_and_split(
    tiny_model: Path, kdef_folder: Path
) -> None:
    card = json.loads(tiny_model.with_suffix(".json").read_text())
    assert card["test"]["accuracy"] > 0.6  # chance is 1/7
    assert card["split"] == {"protocol": "random", "seed": 0, "fold": 0, "folds": 1}
    assert card["data"]["counts"]["test"] == 7 * 5  # 20% of 24 per class, rounded
    assert "non-commercial" in card["terms_of_use"]
    assert len(card["test"]["confusion_matrix"]) == 7
    assert set(card["training"]["seconds"]) == {"cae", "cnn"}
    gpu = torch.cuda.is_available()  # a GPU-trained card names its GPU
    assert card["training"]["device"] == (torch.cuda.get_device_name(0) if gpu else "cpu")
    assert json.loads(split_path(tiny_model).read_text())["sources"]["kdef"]["protocol"] == "random"
    assert load_model(tiny_model).model.config.input_size == 24
    assert card["training"]["studio"] == load_model(tiny_model).crop.studio == "head"


def test_cards_older_than_studio_framing_read_as_the_profile_cascade() -> None:
    """A card without ``studio`` describes a model whose KDEF faces the profile cascade found,
    so its recipe and its fine-tunes keep that framing."""
    old = TrainConfig().to_dict()
    del old["studio"]
    assert TrainConfig.from_dict(old).studio == TrainConfig.checked(old).studio == "profile"
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()
    assert TrainConfig().crop_settings().studio == "head"


def test_person_disjoint_training_records_its_fold(kdef_folder: Path, tmp_path: Path) -> None:
    config = TrainConfig(input_size=24, epochs_cae=0, epochs_cnn=1, batch_size=32)
    result = train_from_folder(
        DataOptions(kdef_folder, protocol="person", angles="frontal", fold=2, folds=3),
        config,
        tmp_path / "p.pt",
    )
    assert result.card.split == SplitPart(protocol="person", seed=0, fold=2, folds=3)
    assert result.card.data.angles == "frontal"
    assert result.card.data.counts.test == 2 * 2 * 7  # 2 people, 2 sessions, S only


def test_a_failed_save_keeps_the_trained_state_for_a_retry(kdef_folder, tmp_path, monkeypatch):
    from emotion_desktop.core.errors import CheckpointError
    from emotion_desktop.core.model import checkpoints

    config = TrainConfig(input_size=24, epochs_cae=1, epochs_cnn=2, batch_size=32)
    out = tmp_path / "m.pt"

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    real_save = checkpoints.save_model
    monkeypatch.setattr(checkpoints, "save_model", disk_full)
    with pytest.raises(CheckpointError, match="No space left on device"):
        train_from_folder(DataOptions(kdef_folder), config, out)
    assert resume_path(out).is_file() and not out.exists()

    monkeypatch.setattr(checkpoints, "save_model", real_save)
    events: list[Progress] = []
    train_from_folder(DataOptions(kdef_folder), config, out, progress=events.append)
    assert out.is_file() and not resume_path(out).exists()
    assert not any(e.end_of_epoch for e in events)  # nothing was trained again


def test_a_full_disk_during_training_is_one_message(kdef_folder, tmp_path, monkeypatch) -> None:
    from emotion_desktop.core.errors import CheckpointError
    from emotion_desktop.core.train import loop as training

    def full_disk(*args, **kwargs):
        raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")

    monkeypatch.setattr(training.torch, "save", full_disk)
    config = TrainConfig(input_size=24, epochs_cae=1, epochs_cnn=1, batch_size=32)
    with pytest.raises(CheckpointError, match="Free some space"):
        train_from_folder(DataOptions(kdef_folder), config, tmp_path / "m.pt")


def test_a_resume_file_larger_than_any_model_still_resumes(tmp_path: Path, monkeypatch) -> None:
    """A run at 96 pixels writes a 300 MB resume file, past the model files' size limit: it was
    refused unread, and the run silently started again from epoch 0."""
    from emotion_desktop.core.model.checkpoints import safe_torch_load
    from emotion_desktop.core.train.resume import ResumeFile

    path = tmp_path / "m.partial.pt"
    ResumeFile(path, {"run": 1}).save(stage=STAGE_CNN, epoch=7, weights=torch.zeros(1000))
    monkeypatch.setattr(safe_torch_load, "__defaults__", (1024,))  # every model limit: 1 KB
    assert ResumeFile(path, {"run": 1}).state["epoch"] == 7
    assert ResumeFile(path, {"run": 2}).state == {}  # another run's file is still not used
