import pickle
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from emotion_desktop.core.errors import CheckpointError
from emotion_desktop.core.files import atomic_write_bytes
from emotion_desktop.core.model.card import ModelCard
from emotion_desktop.core.model.checkpoints import (
    MAX_MODEL_BYTES,
    half_round_trip,
    load_model,
    save_model,
)
from emotion_desktop.core.model.networks import EmotionCNN, EnsembleCNN, ModelConfig
from emotion_desktop.core.vision.faces import CropSettings


def _save(path: Path) -> EmotionCNN:
    model = EmotionCNN(ModelConfig(input_size=24)).eval()
    save_model(path, model, CropSettings(size=24), ModelCard(extra={"note": "test"}))
    return model


def test_round_trip_gives_the_same_outputs_and_card(tmp_path: Path) -> None:
    model = _save(tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")
    x = torch.rand(2, 1, 24, 24)
    assert torch.allclose(model(x), loaded.model(x))
    assert loaded.crop == CropSettings(size=24)
    assert loaded.card.extra["note"] == "test" and loaded.card.model_config["input_size"] == 24
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.pt"]  # no temporaries


def test_half_precision_ensemble_loads_exactly_as_measured(tmp_path: Path) -> None:
    members = [EmotionCNN(ModelConfig(input_size=24)).eval() for _ in range(2)]
    save_model(tmp_path / "one.pt", members[0], CropSettings(size=24), ModelCard())
    ensemble = half_round_trip(EnsembleCNN(members)).eval()
    save_model(tmp_path / "two.pt", ensemble, CropSettings(size=24), ModelCard(), half=True)
    loaded = load_model(tmp_path / "two.pt")
    x = torch.rand(3, 1, 24, 24)
    assert isinstance(loaded.model, EnsembleCNN) and len(loaded.model.members) == 2
    assert torch.equal(loaded.model.probabilities(x), ensemble.probabilities(x))
    assert (tmp_path / "two.pt").stat().st_size < 1.05 * (tmp_path / "one.pt").stat().st_size


def test_truncated_checkpoint(tmp_path: Path) -> None:
    _save(tmp_path / "m.pt")
    data = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "m.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or not a PyTorch file"):
        load_model(tmp_path / "m.pt")


class _Payload:
    def __reduce__(self):
        return (Path.write_text, (Path(MARKER), "executed"))


MARKER = ""


def test_pickle_payload_is_refused_and_never_runs(tmp_path: Path) -> None:
    global MARKER
    MARKER = str(tmp_path / "pwned.txt")
    torch.save({"kind": "emotion_desktop.EmotionCNN", "x": _Payload()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="could run code"):
        load_model(tmp_path / "evil.pt")
    assert not Path(MARKER).exists()
    with open(tmp_path / "plain.pt", "wb") as f:  # a bare pickle, not even a torch zip
        pickle.dump(_Payload(), f)
    with pytest.raises(CheckpointError):
        load_model(tmp_path / "plain.pt")
    assert not Path(MARKER).exists()


def test_checkpoint_of_another_architecture(tmp_path: Path) -> None:
    _save(tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    payload["model_config"]["input_size"] = 48  # weights of a 24-pixel model
    torch.save(payload, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="another architecture"):
        load_model(tmp_path / "other.pt")
    torch.save(torch.nn.Linear(2, 2).state_dict(), tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not an emotion_desktop model"):
        load_model(tmp_path / "foreign.pt")


def test_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no model file"):
        load_model(tmp_path / "none.pt")


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "m.pt"
    target.write_bytes(b"old")

    def disk_full(f) -> None:
        f.write(b"partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic_write_bytes(target, disk_full)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


def test_torch_reporting_a_full_disk_becomes_an_os_error_and_leaves_nothing(tmp_path) -> None:

    def full_disk(f) -> None:
        f.write(b"partial")
        raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")

    with pytest.raises(OSError, match="is the disk full"):
        atomic_write_bytes(tmp_path / "m.pt", full_disk)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("field", "value"), [("members", 100_000), ("members", 0), ("input_size", 960)]
)
def test_a_small_file_cannot_ask_for_huge_networks(tmp_path: Path, field, value) -> None:
    _save(tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    if field == "members":
        payload["members"] = value
    else:
        payload["model_config"]["input_size"] = value
    torch.save(payload, tmp_path / "claims.pt")
    started = time.perf_counter()
    with pytest.raises(CheckpointError, match="this app makes 1 to 16 members"):
        load_model(tmp_path / "claims.pt")
    assert time.perf_counter() - started < 1  # refused before building anything


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path, monkeypatch) -> None:
    big = tmp_path / "big.pt"
    with big.open("wb") as f:
        f.truncate(MAX_MODEL_BYTES + 1)  # sparse: no disk used
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("the file was read"))
    with pytest.raises(CheckpointError, match="more than any model this app makes"):
        load_model(big)


def test_inference_loads_reuse_the_model_until_the_file_changes(tmp_path: Path) -> None:
    from emotion_desktop.core.model.checkpoints import load_model_for_inference

    path = tmp_path / "m.pt"
    _save(path)
    first = load_model_for_inference(path)
    assert load_model_for_inference(path) is first  # Start after Start: no new weights
    time.sleep(0.01)
    _save(path)  # retrained in place
    assert load_model_for_inference(path) is not first


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("crop.size", 100_000),
        ("crop.margin", float("nan")),
        ("crop.equalize", "foo"),
        ("crop.studio", "ears"),
        ("crop.size", "48"),
        ("state_dict", [1, 2]),
        ("state_dict", "weights"),
    ],
)
def test_damaged_fields_are_refused_before_any_face_is_cropped(tmp_path: Path, field, value):
    _save(tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    if field.startswith("crop."):
        payload["crop"][field.split(".")[1]] = value
    else:
        payload[field] = value
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="damaged or of another architecture"):
        load_model(tmp_path / "bad.pt")


def test_a_file_from_before_studio_framing_keeps_the_profile_cascade(tmp_path: Path) -> None:
    """Its KDEF faces were found with the profile cascade: scoring it on crops framed another
    way would test it on faces it never learnt from."""
    _save(tmp_path / "m.pt")
    assert load_model(tmp_path / "m.pt").crop.studio == "head"
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    del payload["crop"]["studio"]
    torch.save(payload, tmp_path / "old.pt")
    assert load_model(tmp_path / "old.pt").crop == CropSettings(size=24, studio="profile")


@pytest.mark.parametrize("failing", ["save_splits", "save_model"])
def test_a_failed_save_never_leaves_a_model_beside_another_runs_splits(
    tmp_path: Path, monkeypatch, failing: str
) -> None:
    """The splits once went last: a full disk there left the new model beside the old run's
    splits, and ``evaluate`` scored it on faces it had trained on."""
    from emotion_desktop.core.data.splits import Split
    from emotion_desktop.core.model import checkpoints

    out = tmp_path / "m.pt"
    old = {"kdef": Split("random", 0, ("a",), ("b",))}
    model = EmotionCNN(ModelConfig(input_size=24)).eval()
    old_card = ModelCard(name="old")
    checkpoints.save_with_splits(out, model, CropSettings(size=24), old_card, old)
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def full_disk(*args, **kwargs) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoints, failing, full_disk)
    new = {"kdef": Split("random", 1, ("b",), ("a",))}
    with pytest.raises(CheckpointError, match="No space left"):
        new_card = ModelCard(name="new")
        checkpoints.save_with_splits(out, model, CropSettings(size=24), new_card, new)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files  # old, whole, alone


def _hostile_model(tmp_path: Path, kind: str) -> Path:
    """A small file that unpacked to gigabytes: a weight of 300 million elements over one stored
    float16 (stride 0; ``.float()`` makes it 1.2 GB), or every zip entry deflated with one data
    record of 1.2 GB of zeros (torch.save stores entries; 9 MB of these reached 2.3 GB)."""
    good = tmp_path / "good.pt"
    _save(good)
    hostile = tmp_path / f"{kind}.pt"
    if kind == "stride0":
        payload = torch.load(good, weights_only=True)
        name = next(iter(payload["state_dict"]))
        payload["state_dict"][name] = torch.zeros(1, dtype=torch.float16).expand(300_000_000)
        torch.save(payload, hostile)
        return hostile
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(hostile, "w", zipfile.ZIP_DEFLATED) as dst:
        data = next(n for n in src.namelist() if "/data/" in n and n[-1].isdigit())
        for name in src.namelist():
            if name != data:
                dst.writestr(name, src.read(name))
                continue
            with dst.open(name, "w", force_zip64=True) as f:
                for _ in range(72):
                    f.write(bytes(2**24))
    return hostile


@pytest.mark.parametrize("kind", ["stride0", "bomb"])
def test_a_small_file_unpacking_to_gigabytes_is_refused_in_little_memory(tmp_path, kind) -> None:
    hostile = _hostile_model(tmp_path, kind)
    assert hostile.stat().st_size < 8 * 2**20
    code = (
        "import resource, sys\n"
        "from emotion_desktop.core.model.checkpoints import load_model\n"
        "try:\n    load_model(sys.argv[1])\n"
        "except Exception as e:\n    print(type(e).__name__, e)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(hostile)], capture_output=True, text=True, timeout=60
    )
    *message, peak_mb = done.stdout.splitlines()
    assert message and message[0].startswith("CheckpointError"), done.stderr[-2000:]
    assert int(peak_mb) < 1024


def test_weights_that_are_not_numbers_are_refused(tmp_path: Path) -> None:
    """A model with NaN weights labelled every face 'afraid', confidence nan."""
    _save(tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    next(iter(payload["state_dict"].values())).view(-1)[0] = float("nan")
    torch.save(payload, tmp_path / "nan.pt")
    with pytest.raises(CheckpointError, match=r"weights that are not numbers \(NaN or infinite\)"):
        load_model(tmp_path / "nan.pt")


def test_a_photo_given_as_a_model_is_not_said_to_run_code(tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(cv2.imencode(".jpg", np.zeros((8, 8), np.uint8))[1].tobytes())
    with pytest.raises(CheckpointError, match="is not a PyTorch model file") as refused:
        load_model(photo)
    assert "could run code" not in str(refused.value)
