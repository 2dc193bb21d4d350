"""Labelled sources besides KDEF: FER+'s majority rule, labelled folders, mixing by weight."""

import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from emotion_desktop.core.data.dataset import batches, build_faces
from emotion_desktop.core.data.sources import ferplus_target, scan_source, source_names
from emotion_desktop.core.data.splits import make_split
from emotion_desktop.core.emotions import EMOTIONS, INDEX_BY_NAME
from emotion_desktop.core.errors import DatasetError
from emotion_desktop.core.vision.faces import CropSettings
from tests.conftest import draw_face, write_ferplus_folder


@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        # single votes are noise: 6 of the 8 votes left are neutral
        ([6, 0, 1, 1, 0, 0, 0, 0, 2, 0], ("neutral", {"neutral": 1.0})),
        # 5 happy, 3 surprised: a majority, and the votes become a distribution
        ([0, 5, 3, 0, 0, 0, 0, 0, 0, 0], ("happy", {"happy": 5 / 8, "surprised": 3 / 8})),
        ([4, 0, 0, 1, 3, 2, 0, 0, 0, 0], "no majority label"),  # 4 of 9: not over half
        ([0, 0, 0, 0, 0, 0, 0, 8, 2, 0], "majority contempt"),
        ([0, 0, 0, 0, 0, 0, 0, 0, 2, 8], "majority not-a-face"),
        ([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], "no majority label"),
    ],
)
def test_ferplus_majority_rule(votes: list[int], expected) -> None:
    outcome = ferplus_target([float(v) for v in votes])
    if isinstance(expected, str):
        assert outcome == expected
        return
    label, target = outcome
    name, shares = expected
    assert label == INDEX_BY_NAME[name]
    assert sum(target) == pytest.approx(1.0)
    for emotion, share in shares.items():
        assert target[INDEX_BY_NAME[emotion]] == pytest.approx(share)


def test_ferplus_scan_keeps_the_official_parts_and_reports_what_it_dropped(
    ferplus_folder: Path,
) -> None:
    found = scan_source(ferplus_folder)
    assert found.kind == "ferplus"
    counts = found.label_counts()
    assert {part: sum(row.values()) for part, row in counts.items()} == {
        "train": 28,
        "valid": 7,
        "test": 14,
    }
    assert found.skipped == {"majority contempt": 3}
    assert all(r.framing == "whole" and r.target is not None for r in found.records)
    split = make_split(found.records, "random")  # official parts win over the protocol asked
    assert split.protocol == "official"
    assert (len(split.train), len(split.val), len(split.test)) == (28, 7, 14)
    assert "3 majority contempt" in found.summary()


def _write_labelled(root: Path, names: dict[str, str], per_class: int = 3) -> None:
    for folder_name, code in names.items():
        folder = root / folder_name
        folder.mkdir(parents=True)
        for i in range(per_class):
            cv2.imwrite(str(folder / f"{i}.png"), cv2.resize(draw_face(code, i), (48, 48)))


SYNONYM_FOLDERS = {
    "fear": "AF",
    "Anger": "AN",
    "disgust": "DI",
    "happiness": "HA",
    "neutral": "NE",
    "sadness": "SA",
    "surprise": "SU",
}


def test_a_labelled_folder_accepts_common_emotion_names(tmp_path: Path) -> None:
    _write_labelled(tmp_path, SYNONYM_FOLDERS)
    (tmp_path / "contempt").mkdir()  # an emotion the app does not know: not a label folder
    (tmp_path / "fear" / "notes.txt").write_text("not an image")
    # a.jpg beside a.png share the key "fear/0": as one key, a split kept one of the two
    cv2.imwrite(str(tmp_path / "fear" / "0.jpg"), cv2.resize(draw_face("AF", 5), (48, 48)))
    found = scan_source(tmp_path)
    assert found.kind == "folder"
    assert found.label_counts() == {"all": dict.fromkeys(INDEX_BY_NAME, 3)}
    assert found.skipped == {"not an image": 1, "same name as another image": 1}
    assert len({r.key for r in found.records}) == len(found.records)
    split = make_split(found.records, "random")
    assert split.protocol == "random" and len(split.test) == 7  # 20% of 3 rounds to 1 a class


def test_part_folders_of_a_labelled_folder_become_its_split(tmp_path: Path) -> None:
    _write_labelled(tmp_path / "train", SYNONYM_FOLDERS, 3)
    _write_labelled(tmp_path / "test", SYNONYM_FOLDERS, 1)
    split = make_split(scan_source(tmp_path).records, "random")
    assert split.protocol == "official" and (len(split.train), len(split.test)) == (21, 7)
    assert all(k.startswith("test/") for k in split.test)


def test_a_folder_with_a_test_part_alone_names_what_it_has(tmp_path: Path) -> None:
    _write_labelled(tmp_path / "faces" / "test", SYNONYM_FOLDERS, 1)
    with pytest.raises(DatasetError, match="needs both a train and a test part; it has test "):
        make_split(scan_source(tmp_path / "faces").records, "random")


def test_a_folder_of_neither_kind_says_what_was_expected(tmp_path: Path) -> None:
    (tmp_path / "holiday").mkdir()
    cv2.imwrite(str(tmp_path / "holiday" / "a.png"), np.zeros((8, 8), np.uint8))
    with pytest.raises(DatasetError, match="no KDEF images"):
        scan_source(tmp_path)


def test_sources_of_one_kind_get_numbered_names(kdef_folder, ferplus_folder) -> None:
    scans = [scan_source(f) for f in (kdef_folder, ferplus_folder, kdef_folder)]
    assert source_names(scans) == ["kdef", "ferplus", "kdef-2"]


def test_ferplus_crops_are_only_resized_and_carry_their_vote_distribution(
    ferplus_folder: Path,
) -> None:
    found = scan_source(ferplus_folder)
    records = found.records[:3]
    faces = build_faces(records, ferplus_folder, CropSettings(size=24), None)
    assert faces.detection == ["whole"] * 3 and faces.images.shape == (3, 24, 24)
    assert np.allclose(faces.targets.sum(1), 1.0) and faces.targets.shape == (3, 7)


def test_weights_draw_a_source_in_proportion() -> None:
    weights = torch.tensor([3.0] * 100 + [1.0] * 300, dtype=torch.float64)
    drawn = torch.cat(batches(400, 64, torch.Generator().manual_seed(0), weights))
    assert len(drawn) == 600  # an epoch is the sum of the weights
    from_first = int((drawn < 100).sum())
    assert 250 < from_first < 350  # 300 expected: each first-source image about 3 times


def test_a_labelled_folder_lists_what_it_cannot_read(tmp_path: Path) -> None:
    import os

    from emotion_desktop.core.data.sources import scan_labelled_folder

    (tmp_path / "happy").mkdir()
    cv2.imwrite(str(tmp_path / "happy" / "a.png"), np.zeros((8, 8), np.uint8))
    os.mkfifo(tmp_path / "happy" / "b.png")
    scan = scan_labelled_folder(tmp_path)
    assert [r.key for r in scan.records] == ["happy/a"]
    assert "not a regular file" in scan.unreadable["happy/b.png"]
    assert scan.skipped["unreadable"] == 1 and "1 unreadable" in scan.summary()


def test_a_test_face_of_one_source_trains_no_other_source(tmp_path: Path, ferplus_folder) -> None:
    """FER2013 and FER+ are the same photos: a FER2013 test face also in FER+ Train must not
    train the model through FER+."""
    from emotion_desktop.core.data.prepare import DataOptions, prepare_data

    fer2013 = tmp_path / "fer2013"
    for index, e in enumerate(EMOTIONS):  # FER+ Train's first face of each emotion
        for part in ("train", "test"):
            (fer2013 / part / e.name).mkdir(parents=True)
        shared = ferplus_folder / "FER2013Train" / f"fer{index:07d}.png"
        (fer2013 / "test" / e.name / "shared.png").write_bytes(shared.read_bytes())
        cv2.imwrite(str(fer2013 / "train" / e.name / "own.png"), draw_face(e.kdef_code, 99))
    options = DataOptions(ferplus_folder, more=(fer2013,))
    ferplus, folder = prepare_data(options, CropSettings(size=24), 0.0, None).sources
    assert (ferplus.test_duplicates_removed, len(ferplus.train)) == (7, 21)
    assert (folder.test_duplicates_removed, len(folder.test)) == (0, 7)


def test_a_misspelled_emotion_folder_is_counted_and_named(tmp_path: Path) -> None:
    """A 'suprised' folder was dropped with no warning and no skipped count."""
    _write_labelled(tmp_path, SYNONYM_FOLDERS)
    (tmp_path / "suprised").mkdir()
    for i in range(2):
        cv2.imwrite(str(tmp_path / "suprised" / f"{i}.png"), draw_face("SU", i))
    found = scan_source(tmp_path)
    assert found.skipped["in a folder named as no emotion"] == 2
    assert "rename it to one of" in found.unreadable["suprised/"]


def test_a_kdef_folder_with_emotion_folders_beside_is_not_guessed(kdef_folder, tmp_path) -> None:
    """KDEF beside happy/ and sad/ was read as a labelled folder, the KDEF images ignored."""
    mixed = tmp_path / "kdef"
    shutil.copytree(kdef_folder, mixed)
    _write_labelled(mixed, {"happy": "HA", "sad": "SA"})
    with pytest.raises(DatasetError, match="holds KDEF images and also folders named as emotions"):
        scan_source(mixed)


def test_a_ferplus_label_line_too_long_for_a_row_is_refused_by_file_and_line(tmp_path) -> None:
    """A 1 GB line was read whole (2.2 GB) before it was refused; one of 100 KB passed as a
    malformed row, silently."""
    folder = write_ferplus_folder(tmp_path / "ferplus")
    labels = folder / "FER2013Train" / "label.csv"
    with labels.open("a") as f:
        f.write("x" * 100_000 + "\n")
    lines = labels.read_text().count("\n")
    with pytest.raises(DatasetError, match=re.escape(f"{labels} line {lines} is over 64 KB")):
        scan_source(folder)
