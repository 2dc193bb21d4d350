import json
from pathlib import Path

import pytest

from emotion_desktop.core.data.kdef import filter_angles, parse_name, scan
from emotion_desktop.core.data.splits import Split, person_split, random_split
from emotion_desktop.core.emotions import EMOTIONS
from emotion_desktop.core.errors import DatasetError


def test_parse_name_reads_every_field() -> None:
    r = parse_name(Path("KDEF/BM24DIHL.jpg"))
    assert (r.session, r.sex, r.number, r.expression, r.angle) == ("B", "M", 24, "DI", "HL")
    assert r.key == "BM24DIHL" and r.person == "M24"
    assert EMOTIONS[r.label].name == "disgusted"


@pytest.mark.parametrize("name", ["AF01XXS.JPG", "CF01ANS.JPG", "AF1ANS.JPG", "photo.jpg"])
def test_parse_name_rejects_other_names(name: str) -> None:
    assert parse_name(Path(name)) is None


def test_scan_finds_nested_images_and_reports_the_rest(tmp_path: Path, kdef_folder: Path) -> None:
    result = scan(kdef_folder)
    assert len(result.records) == 2 * 6 * 7 * 2
    assert len({r.person for r in result.records}) == 6
    # every sitting lacks the 3 angles the fixture does not draw: FL, FR, HR
    assert len(result.missing) == 2 * 6 * 7 * 3
    assert result.counts()["happy"]["S"] == 12


def test_scan_counts_misnamed_duplicates_and_other_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "AF01ANS.JPG").write_bytes(b"x")
    (tmp_path / "sub" / "af01ans.jpeg").write_bytes(b"x")  # same key, other case and extension
    (tmp_path / "holiday.png").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    result = scan(tmp_path)
    assert [r.key for r in result.records] == ["AF01ANS"]
    assert len(result.duplicates) == 1 and len(result.misnamed) == 1 and result.other_files == 1
    assert "1 KDEF images of 1 people" in result.summary()


def test_scan_reports_what_it_cannot_read(tmp_path: Path, monkeypatch) -> None:
    import os

    (tmp_path / "AF01ANS.JPG").write_bytes(b"x")
    (tmp_path / "AF01HAS.JPG").write_bytes(b"x")  # cannot be stat'ed below
    os.mkfifo(tmp_path / "AF01SAS.JPG")
    (tmp_path / "AF01SUS.JPG").symlink_to(tmp_path / "AF01SUS.JPG")
    locked = tmp_path / "AM02"
    locked.mkdir()
    real_stat, real_scandir, real_listdir = os.stat, os.scandir, os.listdir

    def no_access(path, *args, **kwargs):  # what missing permissions do (root reads all)
        if Path(path).name == "AF01HAS.JPG":
            raise PermissionError(13, "Permission denied")
        return real_stat(path, *args, **kwargs)

    def unlistable(real):
        def listing(path):
            if Path(path) == locked:
                raise PermissionError(13, "Permission denied")
            return real(path)

        return listing

    monkeypatch.setattr(os, "stat", no_access)
    monkeypatch.setattr(os, "scandir", unlistable(real_scandir))
    monkeypatch.setattr(os, "listdir", unlistable(real_listdir))
    result = scan(tmp_path)
    assert [r.key for r in result.records] == ["AF01ANS"]
    why = {Path(p).name: reason for p, reason in result.unreadable.items()}
    assert "Permission denied" in why["AF01HAS.JPG"] and "not a regular file" in why["AF01SAS.JPG"]
    assert "symbolic links" in why["AF01SUS.JPG"] and "cannot list" in why["AM02"]
    assert "4 unreadable" in result.summary()


def test_scan_of_a_folder_without_kdef_names_says_what_it_found(tmp_path: Path) -> None:
    (tmp_path / "cat.jpg").write_bytes(b"x")
    with pytest.raises(DatasetError, match="no KDEF images found .*1 images with other names"):
        scan(tmp_path)


def test_scan_of_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="is not a folder"):
        scan(tmp_path / "nope")


def test_random_split_is_stratified_disjoint_and_seeded(kdef_folder: Path) -> None:
    records = scan(kdef_folder).records
    split = random_split(records, 0.2, seed=3)
    assert not set(split.train) & set(split.test)
    assert len(split.train) + len(split.test) == len(records)
    test_labels = [r.label for r in records if r.key in set(split.test)]
    assert all(test_labels.count(c) == round(24 * 0.2) for c in range(7))
    assert random_split(records, 0.2, seed=3) == split
    assert random_split(records, 0.2, seed=4).test != split.test


def test_person_split_keeps_people_apart_and_folds_cover_everyone(kdef_folder: Path) -> None:
    records = scan(kdef_folder).records
    person = {r.key: r.person for r in records}
    seen = []
    for fold in range(3):
        split = person_split(records, folds=3, fold=fold)
        train_people = {person[k] for k in split.train}
        test_people = {person[k] for k in split.test}
        assert not train_people & test_people
        seen += sorted(test_people)
    assert sorted(seen) == sorted(set(person.values()))


def test_person_split_needs_enough_people(kdef_folder: Path) -> None:
    with pytest.raises(DatasetError, match="needs at least 10 people"):
        person_split(scan(kdef_folder).records, folds=10)


def test_angle_filter(kdef_folder: Path) -> None:
    records = scan(kdef_folder).records
    assert {r.angle for r in filter_angles(records, "frontal")} == {"S"}
    assert len(filter_angles(records, "all")) == len(records)
    with pytest.raises(DatasetError):
        filter_angles(records, "sideways")


def test_split_file_round_trip(tmp_path: Path, kdef_folder: Path) -> None:
    split = person_split(scan(kdef_folder).records, folds=3, fold=1, seed=7)
    (tmp_path / "split.json").write_text(json.dumps(split.to_dict()))  # a bare split file
    assert Split.load(tmp_path / "split.json") == split
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(DatasetError, match="cannot read the split file"):
        Split.load(tmp_path / "bad.json")
