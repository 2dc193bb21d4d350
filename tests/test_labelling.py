import csv
import os
import shutil
from pathlib import Path

from emotion_desktop.core.inference import Predictor
from emotion_desktop.core.labelling import (
    CSV_COLUMNS,
    CsvRowWriter,
    LabelRow,
    LabelSummary,
    Problem,
    Skipped,
    iter_files,
    label_paths,
)


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
    assert abs(sum(float(rows[0][n]) for n in CSV_COLUMNS[8:]) - 1) < 0.01


def test_the_walk_is_lazy(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"d{i}").mkdir()
        (tmp_path / f"d{i}" / "a.jpg").write_bytes(b"")
    walk = iter_files([tmp_path])
    assert next(walk).parent.name == "d0"
    shutil.rmtree(tmp_path / "d2")  # not listed yet, so its removal is simply seen
    assert [p.parent.name for p in walk] == ["d1"]


def test_cancel_stops_the_run(tiny_model, shared_data, tmp_path) -> None:
    root = _folder(tmp_path, shared_data)
    done = []
    for batch in label_paths(
        [root], Predictor.from_checkpoint(tiny_model), cancel=lambda: bool(done)
    ):
        done.append(batch)
    assert len(done) == 1


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
    events = [e for batch in label_paths([folder], predictor, True) for e in batch]
    assert [e.file.name for e in events if isinstance(e, LabelRow)] == ["good.jpg"]
    # named directly, the pipe is refused without being opened (opening it would block)
    (problem,) = [e for b in label_paths([folder / "pipe.jpg"], predictor, True) for e in b]
    assert isinstance(problem, Problem) and "not a regular file" in problem.reason
