import csv
import os
import shutil
from pathlib import Path

import pytest

from emotion_desktop.core.batch.labelling import LabelSummary, iter_files, label_paths, shard
from emotion_desktop.core.batch.results import CSV_COLUMNS, CsvRowWriter, LabelRow, Problem, Skipped
from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.errors import OutputError
from emotion_desktop.core.model.inference import Predictor


def _folder(tmp_path: Path, shared_data: Path) -> Path:
    root = tmp_path / "photos"
    (root / "nested").mkdir(parents=True)
    for p in sorted((shared_data / "faces" / "sad").glob("*.jpg"))[:3]:
        shutil.copy(p, root / "nested" / p.name)
    (root / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    (root / "readme.txt").write_text("hello")
    return root


def test_a_folder_gives_rows_problems_and_skips(tiny_model, shared_data, tmp_path) -> None:
    root = _folder(tmp_path, shared_data)
    summary = LabelSummary()
    events = []
    for batch in label_paths([root], Predictor.from_checkpoint(tiny_model)):
        summary.add(batch)
        events += batch
    rows = [e for e in events if isinstance(e, LabelRow)]
    assert len(rows) == 3 and {r.face for r in rows} == {0}
    assert [e.file.name for e in events if isinstance(e, Problem)] == ["broken.jpg"]
    assert [e.file.name for e in events if isinstance(e, Skipped)] == ["readme.txt"]
    assert (summary.images, summary.faces, summary.problems, summary.skipped) == (3, 3, 1, 1)


def test_csv_has_the_columns_and_one_row_per_face(tiny_model, shared_data, tmp_path) -> None:
    root = _folder(tmp_path, shared_data)
    with CsvRowWriter(tmp_path / "out.csv") as writer:
        for batch in label_paths([root], Predictor.from_checkpoint(tiny_model)):
            writer.write(e for e in batch if isinstance(e, LabelRow))
    with open(tmp_path / "out.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 3
    assert {r["model"] for r in rows} == {tiny_model.stem}
    assert {(r["frame"], r["time"]) for r in rows} == {("", "")}  # a photo's rows: no frame
    assert abs(sum(float(rows[0][n]) for n in NAMES) - 1) < 0.01


def test_a_results_file_without_the_model_column_is_not_appended_to(tmp_path) -> None:
    """Rows with a model column under the older header would be rows of another shape."""
    old = tmp_path / "old.csv"
    header = ("file", "face", "x", "y", "w", "h", "emotion", "confidence", *NAMES)  # before it
    old.write_text(",".join(header) + "\n")
    before = old.read_bytes()
    with pytest.raises(
        OutputError, match="older version of this app, without the columns model, frame, time"
    ):
        CsvRowWriter(old, append=True)
    assert old.read_bytes() == before


def test_the_walk_is_lazy(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"d{i}").mkdir()
        (tmp_path / f"d{i}" / "a.jpg").write_bytes(b"")
    walk = iter_files([tmp_path])
    assert next(walk).parent.name == "d0"
    shutil.rmtree(tmp_path / "d2")  # not listed yet, so its removal is simply seen
    assert [p.parent.name for p in walk] == ["d1"]


def _many(tmp_path: Path, shared_data: Path, count: int) -> Path:
    """``count`` hard links to shared face photos, named in walk order."""
    root = tmp_path / "many"
    root.mkdir()
    photos = sorted((shared_data / "faces").glob("*/*.jpg"))
    for i in range(count):
        os.link(photos[i % len(photos)], root / f"{i:03d}.jpg")
    return root


def test_cancel_stops_after_the_images_in_flight(tiny_model, shared_data, tmp_path) -> None:
    root = _many(tmp_path, shared_data, 40)
    done = []
    predictor = Predictor.from_checkpoint(tiny_model)
    for events in label_paths(
        [root], predictor, cancel=lambda: bool(done), batch_size=4, workers=2
    ):
        done.append(events)
    names = [events[0].file.name for events in done]
    assert 1 <= len(done) <= 4 + 2 * 2 + 1  # one batch and the images read ahead, no more
    assert names == [f"{i:03d}.jpg" for i in range(len(done))]


def test_threads_and_batches_change_neither_order_nor_labels(
    tiny_model, shared_data, tmp_path
) -> None:
    root = _many(tmp_path, shared_data, 30)
    predictor = Predictor.from_checkpoint(tiny_model)

    def rows(**how: int) -> list[tuple]:
        events = [e for batch in label_paths([root], predictor, True, **how) for e in batch]
        return [
            (e.file.name, e.face, e.box, e.result.label, round(e.result.confidence, 4))
            for e in events
            if isinstance(e, LabelRow)
        ]

    one_by_one = rows(batch_size=1, workers=1)
    assert len(one_by_one) >= 30 and one_by_one == rows(batch_size=8, workers=3)
    assert [r[0] for r in one_by_one] == sorted(r[0] for r in one_by_one)


@pytest.mark.parametrize("count", [1, 3, 7])
def test_shards_cover_the_folder_exactly_once(tmp_path, count) -> None:
    for i in range(20):
        folder = tmp_path / f"d{i % 3}"
        folder.mkdir(exist_ok=True)
        (folder / f"{i:02d}.jpg").write_bytes(b"")
    everything = list(iter_files([tmp_path]))
    shards = [list(shard(iter_files([tmp_path]), k, count)) for k in range(1, count + 1)]
    assert sorted(p for s in shards for p in s) == sorted(everything)
    assert len({p for s in shards for p in s}) == len(everything) == 20
    assert max(map(len, shards)) - min(map(len, shards)) <= 1


def test_a_shard_outside_its_count_is_refused() -> None:
    with pytest.raises(ValueError):
        list(shard(iter([]), 0, 3))


def test_csv_cells_a_spreadsheet_would_run_are_escaped(
    tiny_model, shared_data, tmp_path, monkeypatch
) -> None:
    hostile = Path("=cmd|' -C calc'!A0.jpg")  # labelled from its own folder: the cell starts "="
    shutil.copy(sorted((shared_data / "faces" / "happy").glob("*.jpg"))[0], tmp_path / hostile)
    monkeypatch.chdir(tmp_path)
    rows = [
        e
        for batch in label_paths([hostile], Predictor.from_checkpoint(tiny_model), True)
        for e in batch
        if isinstance(e, LabelRow)
    ]
    out = tmp_path / "rows.csv"
    with CsvRowWriter(out) as writer:
        writer.write(rows)
    with out.open(newline="") as f:
        (record,) = list(csv.DictReader(f))
    assert record["file"] == "'" + str(hostile)
    assert float(record["confidence"]) > 0  # numbers stay numbers


def test_a_pipe_or_a_self_link_is_reported_and_the_rest_labelled(
    tiny_model, shared_data, tmp_path
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(sorted((shared_data / "faces" / "sad").glob("*.jpg"))[0], folder / "good.jpg")
    os.mkfifo(folder / "pipe.jpg")
    (folder / "loop.jpg").symlink_to(folder / "loop.jpg")
    predictor = Predictor.from_checkpoint(tiny_model)
    (folder / "elsewhere").symlink_to(tmp_path)  # a link to a folder: never followed
    events = [e for batch in label_paths([folder], predictor, True) for e in batch]
    assert [e.file.name for e in events if isinstance(e, LabelRow)] == ["good.jpg"]
    reasons = {e.file.name: e.reason for e in events if isinstance(e, Problem)}
    assert "not a regular file" in reasons["pipe.jpg"]  # refused without being opened
    assert "symbolic links" in reasons["loop.jpg"] and "elsewhere" not in reasons


def test_a_folder_that_cannot_be_listed_is_reported(tiny_model, shared_data, tmp_path, monkeypatch):
    root = _folder(tmp_path, shared_data)
    locked = root / "locked"
    locked.mkdir()
    real_scandir, real_listdir = os.scandir, os.listdir

    def refuse(path, *args):  # what a folder without read permission does (root reads all)
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied")
        return (real_scandir if args == ("scan",) else real_listdir)(path)

    monkeypatch.setattr(os, "scandir", lambda path: refuse(path, "scan"))
    monkeypatch.setattr(os, "listdir", refuse)
    events = [e for b in label_paths([root], Predictor.from_checkpoint(tiny_model)) for e in b]
    problems = {e.file.name: e.reason for e in events if isinstance(e, Problem)}
    assert problems["locked"] == "cannot list this folder: Permission denied"
    assert len([e for e in events if isinstance(e, LabelRow)]) == 3  # the rest still labelled


FULL_DISK = """
import json, resource, signal, sys
from pathlib import Path
from emotion_desktop.core.vision.faces import Box
from emotion_desktop.core.model.inference import FaceResult
from emotion_desktop.core.batch.results import LabelRow, write_json
face = FaceResult(Box(0, 0, 9, 9), (1 / 7,) * 7)
rows = [LabelRow(Path(f"{i}.jpg"), 0, face) for i in range(200)]
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))  # the disk is full after 4 KB
try:
    write_json(Path(sys.argv[1]), rows)
except OSError:
    sys.exit(3)
"""


@pytest.mark.skipif(os.name != "posix", reason="a full disk is simulated with RLIMIT_FSIZE")
def test_a_full_disk_keeps_the_earlier_json_results(tmp_path: Path) -> None:
    """The JSON was written in place: a full disk left 4 KB of broken JSON and no results."""
    import subprocess
    import sys

    out = tmp_path / "labels.json"
    out.write_text('[{"file": "earlier-run.jpg"}]')
    run = subprocess.run([sys.executable, "-c", FULL_DISK, str(out)], timeout=120)
    assert run.returncode == 3 and out.read_text() == '[{"file": "earlier-run.jpg"}]'
    assert [p.name for p in tmp_path.iterdir()] == ["labels.json"]  # no temporary left


def test_an_export_names_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    """The Batch tab's Export CSV raised on a name with bytes that are not UTF-8."""
    from emotion_desktop.core.batch.results import write_csv
    from emotion_desktop.core.model.inference import FaceResult
    from emotion_desktop.core.vision.faces import Box

    name = Path(os.fsdecode(b"bad\xff\xfe.jpg"))
    row = LabelRow(name, 0, FaceResult(Box(1, 2, 3, 4), (1 / 7,) * 7))
    write_csv(tmp_path / "rows.csv", [row])
    with (tmp_path / "rows.csv").open(newline="", encoding="utf-8") as f:
        assert [r["file"] for r in csv.DictReader(f)] == ["bad\\xff\\xfe.jpg"]


def test_a_folder_a_thousand_levels_deep_is_walked(tmp_path: Path) -> None:
    """The walk recursed: label, train, evaluate and a Batch run stopped with RecursionError."""
    deep = tmp_path
    for _ in range(1000):  # mkdir(parents=True) recurses too
        deep = deep / "d"
        deep.mkdir()
    (deep / "face.jpg").write_bytes(b"")
    (tmp_path / "top.jpg").write_bytes(b"")
    try:
        assert list(iter_files([tmp_path])) == [deep / "face.jpg", tmp_path / "top.jpg"]
    finally:  # pytest's clean-up (shutil.rmtree) recurses as well
        (deep / "face.jpg").unlink()
        while deep != tmp_path:
            deep.rmdir()
            deep = deep.parent


def test_the_files_of_a_folder_that_cannot_be_entered_say_so(tiny_model, shared_data, tmp_path):
    """A folder with read but no search permission lists its photos, and none of them opens:
    each was reported as 'no such file or folder'."""
    if os.geteuid() == 0:
        pytest.skip("root enters any folder, whatever its x bit, so this cannot happen as root")
    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(sorted((shared_data / "faces" / "happy").glob("*.jpg"))[0], locked / "a.jpg")
    locked.chmod(0o600)
    try:
        events = [
            e for b in label_paths([locked], Predictor.from_checkpoint(tiny_model)) for e in b
        ]
    finally:
        locked.chmod(0o700)
    problems = {e.file.name: e.reason for e in events if isinstance(e, Problem)}
    assert problems == {"a.jpg": "cannot enter this folder: permission denied"}


def test_an_unenterable_folder_as_a_user_meets_it(tiny_model, shared_data, tmp_path, monkeypatch):
    """The test above as the system answers a user without search permission on ``locked``
    (root is never refused): its files are listed, and looking at one is refused."""
    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(sorted((shared_data / "faces" / "happy").glob("*.jpg"))[0], locked / "a.jpg")
    real_stat, real_lstat, real_access = os.stat, os.lstat, os.access

    def refused(real):
        def call(path, *args, **kwargs):
            if Path(path).parent == locked:
                raise PermissionError(13, "Permission denied", str(path))
            return real(path, *args, **kwargs)

        return call

    monkeypatch.setattr(os, "stat", refused(real_stat))
    monkeypatch.setattr(os, "lstat", refused(real_lstat))
    monkeypatch.setattr(os, "access", lambda p, m, **k: Path(p) != locked and real_access(p, m))
    events = [e for b in label_paths([locked], Predictor.from_checkpoint(tiny_model)) for e in b]
    problems = {e.file.name: e.reason for e in events if isinstance(e, Problem)}
    assert problems == {"a.jpg": "cannot enter this folder: permission denied"}
