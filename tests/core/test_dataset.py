import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from emotion_desktop.core.data import dataset
from emotion_desktop.core.data.dataset import augment, build_faces, cache_file
from emotion_desktop.core.data.kdef import scan
from emotion_desktop.core.errors import DatasetError
from emotion_desktop.core.vision.faces import CropSettings
from tests.conftest import write_kdef_folder


def test_a_cache_that_cannot_be_written_costs_only_the_caching(tmp_path: Path, caplog) -> None:
    folder = write_kdef_folder(tmp_path / "kdef", people=2, angles=("S",))
    records = scan(folder).records
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    faces = build_faces(records, folder, CropSettings(size=24), tmp_path / "cache")
    assert faces.images.shape == (len(records), 24, 24)
    assert "could not cache face crops" in caplog.text


def test_a_damaged_cache_is_cropped_again(tmp_path: Path) -> None:
    """An empty or cut-short cache file (a crash while it was written) raised EOFError or
    BadZipFile out of the training run."""
    folder = write_kdef_folder(tmp_path / "kdef", people=2, angles=("S",))
    records = scan(folder).records
    settings = CropSettings(size=24)
    first = build_faces(records, folder, settings, tmp_path / "cache")
    (cached,) = (tmp_path / "cache").iterdir()
    whole = cached.read_bytes()
    for damaged in (b"", whole[: len(whole) // 2]):
        cached.write_bytes(damaged)
        again = build_faces(records, folder, settings, tmp_path / "cache")
        assert np.array_equal(first.images, again.images)
        assert [p.name for p in (tmp_path / "cache").iterdir()] == [cached.name]  # rewritten


def test_faces_are_cropped_once_then_read_from_the_cache(tmp_path: Path, monkeypatch) -> None:
    folder = write_kdef_folder(tmp_path / "kdef", people=2, angles=("S",))
    records = scan(folder).records
    settings = CropSettings(size=24)
    first = build_faces(records, folder, settings, tmp_path / "cache")
    assert first.images.shape == (len(records), 24, 24)

    calls = []
    real = dataset.prepare_face
    monkeypatch.setattr(dataset, "prepare_face", lambda *a: calls.append(a) or real(*a))
    second = build_faces(records, folder, settings, tmp_path / "cache")
    assert calls == [] and np.array_equal(first.images, second.images)

    cv2.imwrite(str(records[0].path), np.zeros((50, 40), np.uint8) + 60)  # changed file
    build_faces(records, folder, settings, tmp_path / "cache")
    assert len(calls) == 1
    build_faces(records, folder, replace(settings, studio="profile"), tmp_path / "cache")
    assert len(calls) == 1 + len(records)  # another framing never reads these crops


def test_only_studio_folders_keep_their_crops_per_studio_framing(tmp_path: Path) -> None:
    """FER+ crops are the same under either framing, so changing it never recomputes them."""
    head, profile = CropSettings(size=24), CropSettings(size=24, studio="profile")
    assert cache_file(tmp_path, tmp_path, head, True) != cache_file(
        tmp_path, tmp_path, profile, True
    )
    assert cache_file(tmp_path, tmp_path, head, False) == cache_file(
        tmp_path, tmp_path, profile, False
    )


def test_blank_and_corrupt_images_are_skipped_with_a_reason(tmp_path: Path) -> None:
    folder = write_kdef_folder(tmp_path / "kdef", people=2, angles=("S",))
    records = scan(folder).records
    cv2.imwrite(str(records[0].path), np.zeros((80, 60), np.uint8))
    records[1].path.write_bytes(b"\xff\xd8\xff broken")
    faces = build_faces(records, folder, CropSettings(size=24), None)
    assert len(faces) == len(records) - 2
    assert "blank" in faces.skipped[records[0].key]
    assert "decode" in faces.skipped[records[1].key]


def test_augment_keeps_shape_and_range_and_is_seeded() -> None:
    x = torch.rand(8, 1, 24, 24)
    a = augment(x, torch.Generator().manual_seed(1))
    b = augment(x, torch.Generator().manual_seed(1))
    c = augment(x, torch.Generator().manual_seed(2))
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b) and not torch.equal(a, c) and not torch.equal(a, x)


def test_a_folder_removed_while_faces_are_prepared_stops_the_run(tmp_path: Path) -> None:
    """Training went on with the faces it had, saved 'accuracy 0.00% (0 faces)' and exit 0."""
    folder = write_kdef_folder(tmp_path / "kdef", people=2)
    records = scan(folder).records

    def unmount(fraction: float, message: str) -> None:
        shutil.rmtree(folder, ignore_errors=True)

    with pytest.raises(DatasetError, match="vanished while their faces were prepared"):
        build_faces(records, folder, CropSettings(size=24), tmp_path / "cache", unmount)
