import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from emotion_desktop.cli import main, progress
from emotion_desktop.cli.progress import ProgressBar
from emotion_desktop.core.emotions import EMOTIONS
from emotion_desktop.core.model.inference import Predictor
from tests.conftest import draw_face, write_ferplus_folder
from tests.core.test_inference import faceless

TINY = ["--epochs-cae", "1", "--epochs-cnn", "2", "--input-size", "24"]


def train(data: Path, out: Path, *extra: str) -> int:
    """``train`` at the tiny settings, from ``data`` to ``out``, with ``extra`` arguments (which
    may override the tiny ones: argparse keeps an option's last value)."""
    return main(["train", "--data", str(data), *TINY, *extra, "--out", str(out)])


def evaluate(data: Path, model: Path, *extra: str) -> int:
    """``evaluate`` of ``model`` on ``data``, with ``extra`` arguments."""
    return main(["evaluate", "--data", str(data), "--model", str(model), *extra])


def label(source: Path, model: Path, out: Path, *extra: str) -> int:
    """``label`` of ``source`` (a photo, video or folder) by ``model`` into ``out``."""
    return main(["label", str(source), "--model", str(model), "--out", str(out), *extra])


def test_train_writes_a_model_the_other_commands_use(kdef_folder, tmp_path, capsys) -> None:
    out = tmp_path / "m.pt"
    code = train(kdef_folder, out, "--batch-size", "32")
    assert code == 0 and out.is_file() and out.with_suffix(".json").is_file()
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training"]["epochs_cnn"] == 2 and card["training"]["input_size"] == 24
    assert "accuracy" in capsys.readouterr().out
    assert {out.stat().st_mode & 0o777, out.with_suffix(".json").stat().st_mode & 0o777} == {
        0o644
    }  # readable by the other users of a shared models folder


def test_evaluate_reproduces_the_card_from_its_own_split(tiny_model, kdef_folder, capsys) -> None:
    assert evaluate(kdef_folder, tiny_model, "--json") == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    card = json.loads(tiny_model.with_suffix(".json").read_text())
    assert result["accuracy"] == pytest.approx(card["test"]["accuracy"])
    assert result["count"] == card["data"]["counts"]["test"]


def test_evaluate_scans_each_source_once(tiny_model, kdef_folder, monkeypatch, capsys) -> None:
    from emotion_desktop.core.train import evaluate as scoring

    scanned = []
    scan = scoring.scan_source
    monkeypatch.setattr(scoring, "scan_source", lambda f: scanned.append(f) or scan(f))
    assert evaluate(kdef_folder, tiny_model) == 0
    assert scanned == [kdef_folder]  # FER+ takes seconds to scan: once for the splits and faces


def test_models_of_two_training_seeds_make_one_ensemble(kdef_folder, tmp_path, capsys) -> None:
    members = [tmp_path / "m0.pt", tmp_path / "m1.pt"]
    for seed, out in enumerate(members):
        assert train(kdef_folder, out, "--train-seed", str(seed)) == 0
    cards = [json.loads(m.with_suffix(".json").read_text()) for m in members]
    assert cards[0]["split"] == cards[1]["split"]
    assert [c["training"]["seed"] for c in cards] == [0, 1]

    ensemble = tmp_path / "ensemble.pt"
    assert (
        main(["ensemble", *map(str, members), "--data", str(kdef_folder), "--out", str(ensemble)])
        == 0
    )
    card = json.loads(ensemble.with_suffix(".json").read_text())
    assert [m["seed"] for m in card["ensemble"]["members"]] == [0, 1]
    assert ensemble.stat().st_size < 1.05 * members[0].stat().st_size  # float16 weights
    capsys.readouterr()
    assert evaluate(kdef_folder, ensemble, "--json") == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["accuracy"] == pytest.approx(card["test"]["accuracy"])
    tune = ["train", "--data", str(kdef_folder), "--init", str(ensemble), "--epochs-cnn", "1"]
    assert main([*tune, "--out", str(tmp_path / "tuned.pt")]) == 2
    assert "is an ensemble: fine-tune one of its members" in capsys.readouterr().err

    other_split = tmp_path / "s1.pt"
    assert train(kdef_folder, other_split, "--seed", "1") == 0
    capsys.readouterr()
    mixed = [str(members[0]), str(other_split), "--data", str(kdef_folder)]
    assert main(["ensemble", *mixed, "--out", str(tmp_path / "bad.pt")]) == 2
    assert "same split" in capsys.readouterr().err
    kept = members[0].read_bytes()
    hard_link = tmp_path / "hard-link.pt"  # one network under a second name
    os.link(members[0], hard_link)
    for twice, out in (
        (members[1], members[0]),
        (members[0], tmp_path / "twice.pt"),
        (hard_link, tmp_path / "twice.pt"),
    ):
        command = ["ensemble", str(members[0]), str(twice), "--data", str(kdef_folder)]
        assert main([*command, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "one of the inputs" in err and err.count("listed twice") == 2
    assert members[0].read_bytes() == kept and not (tmp_path / "twice.pt").exists()


def test_evaluate_prints_a_confusion_matrix(tiny_model, kdef_folder, capsys) -> None:
    assert evaluate(kdef_folder, tiny_model, "--split", "person", "--folds", "3") == 0
    out = capsys.readouterr().out
    assert "person split" in out and "surprised" in out and "recall" in out


def test_label_writes_one_row_per_face(tiny_model, shared_data, tmp_path, capsys) -> None:
    photos = sorted((shared_data / "faces" / "angry").glob("*.jpg"))[:2]
    (tmp_path / "bad.png").write_bytes(b"junk")
    out = tmp_path / "labels.csv"
    assert (
        main(
            [
                "label",
                *map(str, photos),
                str(tmp_path / "bad.png"),
                "--out",
                str(out),
                "--model",
                str(tiny_model),
            ]
        )
        == 0
    )
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [Path(r["file"]).name for r in rows] == [p.name for p in photos]
    captured = capsys.readouterr()
    assert "bad.png" in captured.err and "1 problems" in captured.out


def test_label_json_and_whole_image(tiny_model, tmp_path) -> None:

    cv2.imwrite(str(tmp_path / "crop.png"), faceless())
    out = tmp_path / "labels.json"
    assert (
        main(
            [
                "label",
                str(tmp_path / "crop.png"),
                "--whole-image",
                "--out",
                str(out),
                "--model",
                str(tiny_model),
            ]
        )
        == 0
    )
    (row,) = json.loads(out.read_text())
    assert row["face"] == 0 and row["w"] == 96


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--data", "{empty}", "--out", "{tmp}/m.pt"], "no KDEF images found"),
        (["evaluate", "--data", "{kdef}", "--model", "{tmp}/missing.pt"], "no model file"),
        (
            ["label", "{kdef}", "--out", "{tmp}/o.csv", "--model", "{tmp}/junk.pt"],
            "is not a PyTorch model file",  # b"junk": no zip, no pickle
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, kdef_folder, tmp_path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "junk.pt").write_bytes(b"junk")
    fill = {"empty": tmp_path / "empty", "tmp": tmp_path, "kdef": kdef_folder}
    assert main([a.format(**fill) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and len(err.splitlines()) == 1


@pytest.mark.slow
def test_torchrun_with_two_processes_writes_the_same_format(kdef_folder, tmp_path) -> None:
    out = tmp_path / "ddp.pt"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--standalone",
        "-m",
        "emotion_desktop.cli",
        "train",
        "--data",
        str(kdef_folder),
        *TINY,
        "--out",
        str(out),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    single = tmp_path / "single.pt"
    assert train(kdef_folder, single) == 0
    a = torch.load(out, weights_only=True)
    b = torch.load(single, weights_only=True)
    assert a.keys() == b.keys() and a["state_dict"].keys() == b["state_dict"].keys()
    assert json.loads(out.with_suffix(".json").read_text())["training"]["processes"] == 2


def test_training_on_kdef_and_ferplus_records_and_tests_every_source(
    kdef_folder, tmp_path, capsys
) -> None:
    ferplus = write_ferplus_folder(tmp_path / "ferplus")
    train_face = ferplus / "FER2013Train" / "fer0000000.png"
    shutil.copy(train_face, ferplus / "FER2013Test" / "fer0000050.png")  # a test duplicate
    with (ferplus / "FER2013Test" / "label.csv").open("a") as f:
        f.write('fer0000050.png,"(0, 0, 48, 48)",0,0,0,0,0,0,9,0,1,0\n')
    out = tmp_path / "m.pt"
    args = ["train", "--data", str(kdef_folder), "--data", str(ferplus), "--weight", "2"]
    assert main([*args, "--weight", "1", *TINY, "--out", str(out)]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    kdef, fer = card["data"]["sources"]
    assert (kdef["name"], kdef["weight"], fer["name"], fer["weight"]) == ("kdef", 2, "ferplus", 1)
    assert fer["split"]["protocol"] == "official" and fer["counts"]["test"] == 15
    assert fer["test_duplicates_removed"] == 1 and fer["counts"]["train"] == 27
    assert set(card["tests"]) == {"kdef", "ferplus"} and card["test"] == card["tests"]["kdef"]
    assert "FER+" in card["terms_of_use"] and "KDEF" in card["terms_of_use"]
    assert set(json.loads(out.with_suffix(".split.json").read_text())["sources"]) == {
        "kdef",
        "ferplus",
    }
    capsys.readouterr()

    assert evaluate(kdef_folder, out, "--data", str(ferplus), "--json") == 0  # KDEF, then FER+
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [(r["source"], r["seen_in_training"]) for r in lines] == [
        ("kdef", True),
        ("ferplus", True),
    ]
    for record in lines:
        assert record["accuracy"] == pytest.approx(card["tests"][record["source"]]["accuracy"])


def test_weights_must_match_the_sources(kdef_folder, ferplus_folder, tmp_path, capsys) -> None:
    args = ["train", "--data", str(kdef_folder), "--data", str(ferplus_folder), "--weight", "2"]
    assert main([*args, *TINY, "--out", str(tmp_path / "m.pt")]) == 2
    assert "one --weight per --data" in capsys.readouterr().err


def test_evaluate_refuses_a_learnt_source_without_its_split(
    tiny_model, kdef_folder, ferplus_folder, tmp_path, capsys
) -> None:
    copy = tmp_path / "copy.pt"
    shutil.copy(tiny_model, copy)
    shutil.copy(tiny_model.with_suffix(".json"), copy.with_suffix(".json"))
    assert evaluate(kdef_folder, copy) == 2
    assert "no split file" in capsys.readouterr().err
    # a source the model never learnt from is fair game: its own test part
    assert evaluate(ferplus_folder, copy, "--json") == 0
    record = json.loads(capsys.readouterr().out.strip())
    assert (record["source"], record["seen_in_training"], record["count"]) == ("ferplus", False, 14)


def test_label_never_replaces_an_input_a_special_file_or_earlier_results(
    tiny_model, shared_data, tmp_path, capsys
) -> None:
    photo = tmp_path / "p.jpg"
    shutil.copy(sorted((shared_data / "faces" / "happy").glob("*.jpg"))[0], photo)
    original = photo.read_bytes()
    base = ["label", str(photo), "--model", str(tiny_model), "--whole-image"]
    assert main([*base, "--out", str(photo), "--overwrite"]) == 2
    assert "one of the inputs" in capsys.readouterr().err and photo.read_bytes() == original
    assert main([*base, "--out", "/dev/null"]) == 2
    assert "not a regular file" in capsys.readouterr().err

    out = tmp_path / "o.csv"
    assert main([*base, "--out", str(out)]) == 0
    assert main([*base, "--out", str(out)]) == 2
    assert "--append" in capsys.readouterr().err
    assert main([*base, "--out", str(out), "--append"]) == 0
    assert len(list(csv.DictReader(out.open()))) == 2  # one header, both runs' rows
    assert main([*base, "--out", str(out), "--overwrite"]) == 0
    assert len(list(csv.DictReader(out.open()))) == 1
    assert oct(out.stat().st_mode & 0o777) != "0o600"
    hard = tmp_path / "hard.csv"  # another name for the photo itself
    os.link(photo, hard)
    assert main([*base, "--out", str(hard), "--overwrite"]) == 2
    assert "one of the inputs" in capsys.readouterr().err and photo.read_bytes() == original


def test_a_strip_too_thin_for_a_face_is_listed_and_the_rest_labelled(
    tiny_model, shared_data, tmp_path, capsys
) -> None:
    strip = tmp_path / "strip.png"
    cv2.imwrite(str(strip), np.zeros((1, 700, 3), np.uint8))
    photo = sorted((shared_data / "faces" / "happy").glob("*.jpg"))[0]
    out = tmp_path / "o.csv"
    args = ["label", str(strip), str(photo), "--model", str(tiny_model), "--out", str(out)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "strip.png: no face found" in err and "Traceback" not in err
    assert [Path(r["file"]).name for r in csv.DictReader(out.open())] == [photo.name]


def test_label_reports_a_link_to_itself_named_on_the_command_line(
    tiny_model, shared_data, tmp_path, capsys
) -> None:
    photo = tmp_path / "p.jpg"
    shutil.copy(sorted((shared_data / "faces" / "happy").glob("*.jpg"))[0], photo)
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)
    out = tmp_path / "o.csv"
    args = ["label", str(loop), str(photo), "--model", str(tiny_model), "--whole-image"]
    assert main([*args, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "loop.jpg" in err and "symbolic links" in err and "Traceback" not in err
    assert [Path(r["file"]).name for r in csv.DictReader(out.open())] == ["p.jpg"]


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_label_write_errors_are_one_line_and_exit_2(
    tiny_model, shared_data, tmp_path, capsys, monkeypatch, suffix
) -> None:
    photo = sorted((shared_data / "faces" / "happy").glob("*.jpg"))[0]
    base = ["label", str(photo), "--model", str(tiny_model), "--whole-image"]
    (tmp_path / "afile").write_text("a file where a folder should be")
    assert main([*base, "--out", str(tmp_path / "afile" / f"o{suffix}")]) == 2
    assert "cannot write" in capsys.readouterr().err

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    target = "CsvRowWriter" if suffix == ".csv" else "JsonRowWriter"
    monkeypatch.setattr(f"emotion_desktop.core.batch.results.{target}.write", full)
    assert main([*base, "--out", str(tmp_path / f"full{suffix}")]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err


def test_an_interrupted_json_label_run_keeps_its_rows(
    tiny_model, shared_data, tmp_path, capsys, monkeypatch
) -> None:
    from emotion_desktop.cli import label as label_command

    real = label_command.label_paths

    def interrupted(*args, **kwargs):
        for events in real(*args, **kwargs):
            yield events
            raise KeyboardInterrupt  # Ctrl+C after the first image

    monkeypatch.setattr(label_command, "label_paths", interrupted)
    photos = sorted((shared_data / "faces" / "happy").glob("*.jpg"))[:3]
    out = tmp_path / "o.json"
    args = ["label", *map(str, photos), "--model", str(tiny_model), "--whole-image"]
    assert main([*args, "--out", str(out)]) == 130
    assert "rows written so far are kept" in capsys.readouterr().err
    assert [Path(r["file"]).name for r in json.loads(out.read_text())] == [photos[0].name]


def test_label_refuses_outputs_that_would_lose_data_before_labelling(
    tiny_model, shared_data, tmp_path, capsys
) -> None:
    photos = tmp_path / "photos"
    shutil.copytree(shared_data / "faces" / "sad", photos)
    photo = sorted(photos.glob("*.jpg"))[0]
    original = photo.read_bytes()
    base = ["label", "--model", str(tiny_model), "--whole-image", "--overwrite"]
    assert main([*base, str(photos), "--out", str(photo)]) == 2  # a photo inside the folder
    assert "named as an image" in capsys.readouterr().err and photo.read_bytes() == original
    results = tmp_path / "results.csv"
    results.write_text("earlier results\n")
    assert main([*base, str(tmp_path / "photoz"), "--out", str(results)]) == 2  # mistyped
    assert "nothing to label" in capsys.readouterr().err
    assert results.read_text() == "earlier results\n"
    nested = tmp_path / "new" / "folder" / "labels.json"
    assert main([*base, str(photo), "--out", str(nested)]) == 0
    assert len(json.loads(nested.read_text())) == 1


def test_label_never_writes_into_a_photo_of_a_folder_or_its_model(
    tiny_model, shared_data, tmp_path, capsys
) -> None:
    """Only the paths on the command line were checked: a results file linked to a photo inside
    a labelled folder, or the model itself, took the rows."""
    photos = tmp_path / "photos"
    shutil.copytree(shared_data / "faces" / "sad", photos)
    photo = sorted(photos.glob("*.jpg"))[0]
    original = photo.read_bytes()
    model = tmp_path / "m.pt"
    shutil.copy(tiny_model, model)
    shutil.copy(tiny_model.with_suffix(".json"), model.with_suffix(".json"))
    base = ["label", str(photos), "--model", str(model), "--whole-image"]
    (tmp_path / "linked.csv").symlink_to(photo)
    os.link(photo, tmp_path / "hard.csv")
    for out, why in (("linked.csv", "named as an image"), ("hard.csv", "other names")):
        assert main([*base, "--out", str(tmp_path / out), "--append"]) == 2
        assert why in capsys.readouterr().err and photo.read_bytes() == original
    for out in (model, model.with_suffix(".json")):
        assert main([*base, "--out", str(out), "--overwrite"]) == 2
        assert "one of the inputs" in capsys.readouterr().err
    assert Predictor.from_checkpoint(model) is not None  # the model still loads


def test_label_with_nothing_to_label_keeps_earlier_results_and_exits_2(
    tiny_model, tmp_path, capsys
) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("no photos here")
    results = tmp_path / "results.csv"
    results.write_text("earlier results\n")
    args = ["label", str(tmp_path / "notes"), "--model", str(tiny_model), "--overwrite"]
    assert main([*args, "--out", str(results)]) == 2
    assert "no images or videos in" in capsys.readouterr().err
    assert results.read_text() == "earlier results\n"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.jpg").write_bytes(b"not a JPEG")
    # every image failed: the status says so, not only the problems
    assert label(broken, tiny_model, tmp_path / "b.csv") == 2


def test_a_model_output_never_replaces_an_input_model_card_or_split(
    tiny_model, kdef_folder, tmp_path, capsys
) -> None:
    model = tmp_path / "m.pt"
    for suffix in (".pt", ".json", ".split.json"):
        shutil.copy(tiny_model.with_suffix(suffix), model.with_suffix(suffix))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    data = ["--data", str(kdef_folder)]
    for out in ("m.split.pt", "m"):  # its card over m's split file; no .pt: over m's card
        assert main(["balance", str(model), *data, "--out", str(tmp_path / out)]) == 2
    err = capsys.readouterr().err
    assert "m.split.json is one of the inputs" in err and "ends in .pt" in err
    assert main(["train", *data, "--out", str(tmp_path / "new.json")]) == 2
    assert "ends in .pt" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("card", ["missing", "cut short"])
def test_a_model_without_a_readable_card_is_refused_not_scored_whole(
    card, tiny_model, kdef_folder, tmp_path, capsys
) -> None:
    """Read as empty, the card said the model never learnt KDEF: evaluate scored every face,
    training faces too, and balance named the wrong sources."""
    model = tmp_path / "m.pt"
    for suffix in (".pt", ".json", ".split.json"):
        shutil.copy(tiny_model.with_suffix(suffix), model.with_suffix(suffix))
    if card == "missing":
        model.with_suffix(".json").unlink()
    else:
        model.with_suffix(".json").write_text(model.with_suffix(".json").read_text()[:300])
    data = ["--data", str(kdef_folder)]
    assert main(["evaluate", *data, "--model", str(model)]) == 2
    assert main(["balance", str(model), *data, "--out", str(tmp_path / "b.pt")]) == 2
    assert capsys.readouterr().err.count("has no readable card") == 2


def test_fold_options_without_a_person_split_and_a_foreign_csv_are_refused(
    tiny_model, kdef_folder, shared_data, tmp_path, capsys
) -> None:
    assert train(kdef_folder, tmp_path / "m.pt", "--fold", "2") == 2  # a random split: ignored
    assert "add --split person" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train(kdef_folder, tmp_path / "m.pt", "--split", "person", "--folds", "1")
    assert "--folds" in capsys.readouterr().err and not (tmp_path / "m.pt").exists()
    foreign = tmp_path / "budget.csv"
    foreign.write_text("month,amount\njan,3\n")
    photo = sorted((shared_data / "faces" / "happy").glob("*.jpg"))[0]
    assert label(photo, tiny_model, foreign, "--append") == 2
    assert "not a results file" in capsys.readouterr().err
    assert foreign.read_text() == "month,amount\njan,3\n"


def test_scoring_on_a_saved_split_says_when_the_folder_lacks_its_test_images(
    tiny_model, kdef_folder, tmp_path, capsys
) -> None:
    """A trimmed or other copy of the data was scored on what it held, without a word, and
    balance, ensemble and a fine-tune wrote those figures into their cards."""
    test_keys = json.loads(tiny_model.with_suffix(".split.json").read_text())["sources"]["kdef"]
    trimmed = tmp_path / "kdef"
    shutil.copytree(kdef_folder, trimmed)
    assert evaluate(trimmed, tiny_model, "--json") == 0
    full = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert full["absent_test_images"] == 0
    for path in [p for p in sorted(trimmed.rglob("*.JPG")) if p.stem in test_keys["test"]][:2]:
        path.unlink()
    assert evaluate(trimmed, tiny_model, "--json") == 0
    out, err = capsys.readouterr()
    trimmed_record = json.loads(out.splitlines()[-1])
    assert trimmed_record["absent_test_images"] == 2
    assert trimmed_record["count"] == full["count"] - 2 and "lacks 2 of the" in err
    data = ["--data", str(trimmed), "--out"]
    assert main(["balance", str(tiny_model), *data, str(tmp_path / "b.pt")]) == 0
    assert "lacks 2 of the" in capsys.readouterr().err
    tests = json.loads((tmp_path / "b.json").read_text())["tests"]
    assert tests["kdef"]["absent_test_images"] == 2 and tests["kdef"]["count"] == full["count"] - 2
    tune = ["train", "--init", str(tiny_model), "--epochs-cnn", "1", *data, str(tmp_path / "t.pt")]
    assert main(tune) == 0
    assert "lacks 2 of the" in capsys.readouterr().err
    pair = ["ensemble", str(tiny_model), str(tmp_path / "t.pt"), *data, str(tmp_path / "p.pt")]
    assert main(pair) == 0
    assert "lacks 2 of the" in capsys.readouterr().err
    full_data = ["--data", str(kdef_folder), "--out", str(tmp_path / "f.pt")]
    assert main(["balance", str(tiny_model), *full_data]) == 0
    assert "lacks" not in capsys.readouterr().err
    assert (
        "absent_test_images" not in json.loads((tmp_path / "f.json").read_text())["tests"]["kdef"]
    )
    assert train(trimmed, tmp_path / "new.pt") == 0
    assert "lacks" not in capsys.readouterr().err  # a fresh split holds only what is there


def test_system_refusals_and_huge_seeds_are_one_line(kdef_folder, tmp_path, capsys) -> None:
    long_name = tmp_path / ("a" * 300 + ".pt")
    assert train(kdef_folder, long_name) == 2
    err = capsys.readouterr().err
    assert "File name too long" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--data", str(kdef_folder), "--seed", "9" * 25, "--out", "x.pt"])
    assert exit_info.value.code == 2 and "--seed" in capsys.readouterr().err


def test_evaluate_says_which_split_it_tests(tiny_model, kdef_folder, capsys) -> None:
    base = ["evaluate", "--data", str(kdef_folder), "--model", str(tiny_model)]
    assert main([*base, "--angles", "frontal", "--fold", "1"]) == 2  # ignored without --split
    assert "--angles --fold choose a fresh split" in capsys.readouterr().err
    assert main([*base, "--split", "person", "--json"]) == 0
    assert "some of these faces may have trained it" in capsys.readouterr().err


def test_a_labelled_folder_the_model_never_learnt_is_scored_whole(
    tiny_model, shared_data, kdef_folder, capsys
) -> None:
    """A user's own labelled photos train nothing: a fresh 80/20 split scored 14 of 70."""
    base = ["evaluate", "--data", str(shared_data / "faces"), "--model", str(tiny_model)]
    assert main([*base, "--json"]) == 0
    record = json.loads(capsys.readouterr().out.strip())
    assert (record["split"]["protocol"], record["count"]) == ("whole", 70)
    assert not record["seen_in_training"]
    assert main(base) == 0
    assert "every face, a source the model never learnt from" in capsys.readouterr().out
    assert main([*base, "--split", "random", "--json"]) == 0  # asked for: a fresh split
    assert json.loads(capsys.readouterr().out.strip())["count"] == 14
    # beside a source the model learnt (tested on its saved split), still whole
    assert main([*base, "--data", str(kdef_folder), "--json"]) == 0
    folder, kdef = map(json.loads, capsys.readouterr().out.strip().splitlines())
    assert (folder["count"], kdef["seen_in_training"], kdef["count"]) == (70, True, 35)


def test_a_missing_input_is_reported_and_the_rest_labelled(
    tiny_model, shared_data, tmp_path, capsys
):
    photo = sorted((shared_data / "faces" / "sad").glob("*.jpg"))[0]
    out = tmp_path / "o.csv"
    args = ["label", str(photo), str(tmp_path / "nope.jpg"), "--model", str(tiny_model)]
    assert main([*args, "--whole-image", "--out", str(out)]) == 2
    assert "nope.jpg: no such file or folder" in capsys.readouterr().err
    assert len(list(csv.DictReader(out.open()))) == 1


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--input-size", "50"),
        ("--batch-size", "0"),
        ("--lr", "nan"),
        ("--dropout", "1.5"),
        ("--epochs-cnn", "0"),
        ("--weight", "-1"),
    ],
)
def test_training_parameters_out_of_range_are_one_line_and_exit_2(
    option, value, kdef_folder, tmp_path, capsys
) -> None:
    args = ["train", "--data", str(kdef_folder), option, value, "--out", str(tmp_path / "m.pt")]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and option in err and "Traceback" not in err
    assert not (tmp_path / "m.pt").exists()


def test_a_model_of_one_labelled_folder_is_evaluated_on_its_own_split(tmp_path, capsys) -> None:
    """A one-source split was once saved bare and read back as KDEF's, so ``evaluate`` drew a
    fresh seed-0 split of a labelled folder trained at seed 1: training faces scored as test."""
    folder = tmp_path / "faces"
    for e in EMOTIONS:
        (folder / e.name).mkdir(parents=True)
        for person in range(8):
            cv2.imwrite(str(folder / e.name / f"{person}.png"), draw_face(e.kdef_code, person))
    out = tmp_path / "m.pt"
    assert train(folder, out, "--seed", "1") == 0
    card = json.loads(out.with_suffix(".json").read_text())
    saved = json.loads(out.with_suffix(".split.json").read_text())
    assert list(saved["sources"]) == ["folder"]  # a labelled folder's source name
    bare = out.with_suffix(".split.json")
    for split_file in (saved, saved["sources"]["folder"]):  # named, then bare (older files)
        bare.write_text(json.dumps(split_file))
        capsys.readouterr()
        assert evaluate(folder, out, "--json") == 0
        result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert result["split"]["seed"] == 1 and result["seen_in_training"]
        assert result["accuracy"] == pytest.approx(card["tests"]["folder"]["accuracy"])


def test_fine_tuning_keeps_the_base_models_split_and_settings(
    tiny_model, kdef_folder, tmp_path
) -> None:
    out = tmp_path / "tuned.pt"
    args = ["train", "--data", str(kdef_folder), "--init", str(tiny_model), "--seed", "3"]
    assert main([*args, "--epochs-cnn", "1", "--lr", "0.000001", "--out", str(out)]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["fine_tuned_from"]["name"] == "tiny" and card["method"].endswith("fine-tuned")
    assert card["training"]["input_size"] == 24 and card["training"]["lr"] == 0.000001
    assert card["history"]["train_loss"] and card["training"]["seconds"]["cae"] == 0
    # one epoch at a millionth: the base's weights, not a fresh network near chance
    base = json.loads(tiny_model.with_suffix(".json").read_text())
    assert abs(card["test"]["accuracy"] - base["test"]["accuracy"]) < 0.05
    assert base["test"]["accuracy"] > 0.4
    # --seed 3 alone would draw another split: the base's test faces must stay unseen
    base_split = tiny_model.with_suffix(".split.json").read_bytes()
    assert out.with_suffix(".split.json").read_bytes() == base_split


def test_a_model_fine_tuned_on_another_source_is_tested_on_its_bases_test_faces(
    tiny_model, kdef_folder, ferplus_folder, tmp_path, capsys
) -> None:
    """Fine-tuned on FER+ alone, the model once counted KDEF as never learnt and scored every
    KDEF face, its base's training faces among them."""
    out = tmp_path / "tuned.pt"
    args = ["train", "--data", str(ferplus_folder), "--init", str(tiny_model), "--epochs-cnn", "1"]
    assert main([*args, "--out", str(out)]) == 0
    capsys.readouterr()
    assert evaluate(kdef_folder, out, "--json") == 0
    record = json.loads(capsys.readouterr().out.strip())
    base_split = json.loads(tiny_model.with_suffix(".split.json").read_text())["sources"]["kdef"]
    assert record["seen_in_training"] and record["split"]["seed"] == base_split["seed"]
    assert record["count"] == len(base_split["test"]) == 35


def test_fine_tuning_reads_the_crops_and_network_from_the_model_file(
    tiny_model, kdef_folder, tmp_path
) -> None:
    """The card is a side file that can go missing: the base file itself says how its faces
    were cropped and its network shaped, so a fine-tune without the card still starts."""
    base = tmp_path / "base.pt"
    for suffix in (".pt", ".split.json"):
        shutil.copy(tiny_model.with_suffix(suffix), base.with_suffix(suffix))
    out = tmp_path / "tuned.pt"
    args = ["train", "--data", str(kdef_folder), "--init", str(base), "--epochs-cnn", "1"]
    assert main([*args, "--out", str(out)]) == 0
    crop = json.loads(tiny_model.with_suffix(".json").read_text())["crop"]
    tuned = json.loads(out.with_suffix(".json").read_text())
    assert tuned["crop"] == crop and tuned["training"]["input_size"] == crop["size"] == 24


def test_fine_tuning_refuses_another_network(tiny_model, kdef_folder, tmp_path, capsys) -> None:
    args = ["train", "--data", str(kdef_folder), "--init", str(tiny_model), "--input-size", "32"]
    assert main([*args, "--epochs-cnn", "1", "--out", str(tmp_path / "m.pt")]) == 2
    assert "other crops or another network" in capsys.readouterr().err
    args = ["train", "--data", str(kdef_folder), "--init", str(tiny_model), "--epochs-cnn", "1"]
    assert main([*args, "--out", str(tiny_model)]) == 2  # would replace the base it reads
    assert "one of the inputs" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("sources", "said"),
    [
        ("all", "data.sources is text, where a list belongs"),
        ([1, {"name": "kdef"}], "data.sources[0] is 1, where a mapping belongs"),
        ({"kdef": 1}, "data.sources is a mapping, where a list belongs"),
    ],
    ids=["text", "mixed", "mapping"],
)
def test_evaluate_refuses_a_damaged_card_in_one_line(
    tiny_model, kdef_folder, tmp_path, capsys, sources, said
) -> None:
    """A damaged source list once gave a traceback, then was read as KDEF's alone: a wrong
    guess of the sources that trained the model scores its training faces as test faces."""
    copy = tmp_path / "m.pt"
    for suffix in (".pt", ".split.json"):
        shutil.copy(tiny_model.with_suffix(suffix), copy.with_suffix(suffix))
    card = json.loads(tiny_model.with_suffix(".json").read_text())
    card["data"]["sources"] = sources
    copy.with_suffix(".json").write_text(json.dumps(card))
    assert evaluate(kdef_folder, copy, "--json") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: m.pt has no readable card: m.json is damaged: ")
    assert said in err and len(err.splitlines()) == 1


def test_train_lists_the_files_it_could_not_read(kdef_folder, tmp_path, capsys) -> None:
    folder = tmp_path / "kdef"
    shutil.copytree(kdef_folder, folder)
    os.mkfifo(folder / "BM30ANS.JPG")  # a KDEF name on a pipe: never opened, never silent
    out = tmp_path / "m.pt"
    assert train(folder, out) == 0
    assert "skipped kdef BM30ANS.JPG: not a regular file" in capsys.readouterr().err
    card = json.loads(out.with_suffix(".json").read_text())
    assert "not a regular file" in card["data"]["sources"][0]["skipped_files"]["BM30ANS.JPG"]


def test_label_shards_split_a_folder_between_jobs(tiny_model, shared_data, tmp_path) -> None:
    folder = shared_data / "faces" / "happy"
    outs = [tmp_path / f"part{k}.csv" for k in (1, 2, 3)]
    for k, out in enumerate(outs, start=1):
        assert label(folder, tiny_model, out, "--shard", f"{k}/3", "--whole-image") == 0
    files = []
    for out in outs:
        with open(out, newline="") as f:
            files.append({r["file"] for r in csv.DictReader(f) if r["face"] == "0"})
    assert files[0] and not (files[0] & files[1] or files[1] & files[2] or files[0] & files[2])
    assert set.union(*files) == {str(p) for p in folder.glob("*.jpg")}


@pytest.mark.parametrize("spec", ["0/3", "4/3", "a/b", "3"])
def test_a_bad_shard_is_one_line(spec, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["label", str(tmp_path), "--shard", spec, "--out", str(tmp_path / "x.csv")])
    assert exit_.value.code == 2 and "--shard" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".tiff", ".webp"])
def test_an_image_claiming_too_many_pixels_is_refused_before_decoding(tmp_path, suffix) -> None:
    """Formats without a header check (TIFF, WebP) are bounded by OpenCV's own pixel limit,
    which the package sets before cv2 loads; run as a user would, in a fresh process."""
    big = tmp_path / f"big{suffix}"
    ok, data = cv2.imencode(suffix, np.zeros((9_000, 9_000), np.uint8))  # 81 M pixels > 80 M
    assert ok
    big.write_bytes(data.tobytes())
    code = (
        "import sys; from emotion_desktop.core.vision.images import read_image\n"
        "try:\n    read_image(sys.argv[1])\n"
        "except Exception as e:\n    print(type(e).__name__, e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(big)], capture_output=True, text=True, timeout=120
    )
    # refused by the decoder ("too large"), not after decoding ("downscale it first")
    assert done.stdout.startswith("ImageError") and "too large" in done.stdout


@pytest.mark.parametrize("where", ["parent is a file", "device", "read-only folder"])
def test_train_refuses_an_unwritable_out_before_training(kdef_folder, tmp_path, capsys, where):
    if where == "parent is a file":
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "m.pt"
    elif where == "device":
        out = Path("/dev/null")
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        folder = tmp_path / "ro"
        folder.mkdir(mode=0o555)
        out = folder / "m.pt"
    started = time.perf_counter()
    assert train(kdef_folder, out) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err and len(err.splitlines()) == 1
    assert time.perf_counter() - started < 5  # said at once, not after training


def test_a_folder_with_one_expression_is_refused(kdef_folder, tmp_path, capsys) -> None:
    happy = tmp_path / "happy-only"
    happy.mkdir()
    for photo in kdef_folder.rglob("*HA*.JPG"):
        shutil.copy(photo, happy / photo.name)
    out = tmp_path / "m.pt"
    assert train(happy, out) == 2
    assert "one expression only (happy)" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("value", ["0", "1.5", "nan", "big"])
def test_min_face_outside_its_range_is_one_line(value, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["label", str(tmp_path), "--min-face", value, "--out", str(tmp_path / "x.csv")])
    assert exit_.value.code == 2 and "--min-face" in capsys.readouterr().err


def test_label_runs_single_threaded_beside_its_pool(tiny_model, shared_data, tmp_path) -> None:
    """One labelling command: torch and OpenCV keep one thread each, the pool uses the cores.
    Checked in a fresh process, where the settings are made once at start-up."""
    code = (
        "import sys, cv2, torch; from emotion_desktop.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print(torch.get_num_threads(), cv2.getNumThreads(), code)"
    )
    photo = sorted((shared_data / "faces" / "happy").glob("*.jpg"))[0]
    args = ["label", str(photo), "--model", str(tiny_model), "--out", str(tmp_path / "x.csv")]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300
    )
    assert done.stdout.split()[-3:] == ["1", "1", "0"]


def test_a_resumed_runs_time_left_counts_only_its_own_pace(monkeypatch) -> None:
    """A run resumed at 50% that takes 10 s per tenth has 40 s left at 60%, not the 6 s that
    the pace since the bar was made (0.6 done in 10 s) would give."""
    clock = iter([0.0, 1.0, 2.0, 12.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar.update(0.5, "preparing faces")
    bar.update(1.0, "preparing faces")
    bar.update(0.5, "cnn epoch 33/64")  # the first epoch of the resumed run
    bar.update(0.6, "cnn epoch 39/64")
    assert stream.getvalue().splitlines()[-1].endswith("cnn epoch 39/64 eta 40s")


def test_train_never_deletes_a_model_that_sits_where_its_progress_goes(
    tiny_model, kdef_folder, tmp_path, capsys
) -> None:
    """A run keeps its progress in OUT.partial.pt and deletes it once OUT is saved: a model of
    that name (as --init, or met by a later --out) was deleted with its card orphaned."""
    base = tmp_path / "x.partial.pt"
    for suffix in (".pt", ".json", ".split.json"):  # with its card and split, as saved
        shutil.copyfile(tiny_model.with_suffix(suffix), tmp_path / f"x.partial{suffix}")
    before = base.read_bytes()
    for extra in (["--init", str(base)], []):
        assert train(kdef_folder, tmp_path / "x.pt", *extra) == 2
        assert "holds another file" in capsys.readouterr().err
        assert base.read_bytes() == before and not (tmp_path / "x.pt").exists()


def test_train_never_overwrites_another_runs_progress(kdef_folder, tmp_path, capsys) -> None:
    from emotion_desktop.core.train.resume import ResumeFile

    progress = tmp_path / "x.partial.pt"
    ResumeFile(progress, {"another": "run"}).save(stage="cnn", epoch=3)
    before = progress.read_bytes()
    assert train(kdef_folder, tmp_path / "x.pt") == 2
    assert "another training run" in capsys.readouterr().err
    assert progress.read_bytes() == before


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_label_writes_a_file_name_that_is_not_utf8(tiny_model, shared_data, tmp_path, suffix):
    """Linux allows any bytes in a name: 'bad\\xff\\xfe.jpg' stopped the CSV with a
    UnicodeEncodeError, losing the rest of the folder."""
    photos = tmp_path / "photos"
    photos.mkdir()
    faces = sorted((shared_data / "faces" / "happy").glob("*.jpg"))[:2]
    shutil.copy(faces[0], os.fsdecode(bytes(photos) + b"/bad\xff\xfe.jpg"))
    shutil.copy(faces[1], photos / "later.jpg")
    out = tmp_path / f"rows{suffix}"
    assert label(photos, tiny_model, out) == 0
    text = out.read_bytes().decode("utf-8")  # readable by any UTF-8 reader
    if suffix == ".csv":
        names = [Path(r["file"]).name for r in csv.DictReader(io.StringIO(text))]
    else:
        names = [Path(r["file"]).name for r in json.loads(text)]
    assert names == ["bad\\xff\\xfe.jpg", "later.jpg"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_label_json_keeps_its_rows_when_terminated(tiny_model, shared_data, tmp_path, signum):
    """A job scheduler's time limit (SIGTERM) or a closed terminal (SIGHUP) killed label with
    no JSON file at all, where Ctrl+C kept the rows."""
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "-blank.png"), faceless())  # its "no face" line: labelling began
    for i in range(20):
        for p in sorted((shared_data / "faces" / "happy").glob("*.jpg")):
            shutil.copy(p, photos / f"{i:02d}-{p.name}")
    out = tmp_path / "rows.json"
    cmd = [sys.executable, "-m", "emotion_desktop.cli", "label", str(photos), "--out", str(out)]
    run = subprocess.Popen([*cmd, "--model", str(tiny_model)], stderr=subprocess.PIPE, text=True)
    try:
        assert "no face found" in run.stderr.readline()
        run.send_signal(signum)
        assert run.wait(timeout=60) == 128 + signum
    finally:
        run.kill()
    rows = json.loads(out.read_text())
    assert len(rows) < 200 and all(r["emotion"] for r in rows)  # stopped, with what it had


def test_append_never_glues_a_row_onto_a_cut_one(tiny_model, shared_data, tmp_path, capsys):
    """A file whose last row was cut (a full disk), or whose header lacks its line end, got the
    next row glued on: a 25-field row, exit 0."""
    photo = sorted((shared_data / "faces" / "happy").glob("*.jpg"))[0]
    out = tmp_path / "rows.csv"
    assert label(photo, tiny_model, out) == 0
    whole = out.read_text()
    header, row = whole.splitlines()
    out.write_text(whole + row[:30])  # the second run's row, cut short
    assert label(photo, tiny_model, out, "--append") == 2
    assert "cut short" in capsys.readouterr().err and out.read_text() == whole + row[:30]
    out.write_text(header)  # no line end after the header
    assert label(photo, tiny_model, out, "--append") == 0
    with out.open(newline="") as f:
        records = list(csv.reader(f))
    assert [len(r) for r in records] == [len(records[0])] * 2 and records[0] == header.split(",")


def test_an_empty_share_keeps_the_results_it_would_overwrite(tiny_model, shared_data, tmp_path):
    folder = shared_data / "faces" / "happy"  # 10 photos: share 50 of 50 holds none
    out = tmp_path / "rows.csv"
    out.write_text("earlier results\n")
    assert label(folder, tiny_model, out, "--shard", "50/50", "--overwrite") == 2
    assert out.read_text() == "earlier results\n"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The CLI in a fresh process, as a user runs it; a hang fails the test after 60 s."""
    return subprocess.run(
        [sys.executable, "-m", "emotion_desktop.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def write_hostile_file(path: Path, kind: str, card: str = "{}") -> None:
    """Replace ``path`` with JSON nested 100,000 deep, a named pipe (opening it for reading
    blocks until someone writes), or ``card`` padded past 16 MB (valid, but no card the app
    writes is near that size)."""
    path.unlink(missing_ok=True)
    if kind == "deep":
        path.write_text("[" * 100_000)
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.write_text(json.dumps({**json.loads(card), "padding": "x" * 17 * 2**20}))


@pytest.mark.parametrize("kind", ["deep", "fifo", "huge"])
def test_a_hostile_card_reads_as_damaged_and_never_hangs(
    kind, tiny_model, kdef_folder, shared_data, tmp_path
) -> None:
    """Such a card gave a RecursionError traceback, hung, or was read into 2 GB: label needs
    no card, and evaluate refuses a model without a readable one."""
    model = tmp_path / "m.pt"
    for suffix in (".pt", ".split.json"):
        shutil.copy(tiny_model.with_suffix(suffix), model.with_suffix(suffix))
    write_hostile_file(
        model.with_suffix(".json"), kind, tiny_model.with_suffix(".json").read_text()
    )
    photo = sorted((shared_data / "faces" / "happy").glob("*.jpg"))[0]
    labelled = run_cli("label", str(photo), "--model", str(model), "--out", str(tmp_path / "x.csv"))
    assert labelled.returncode == 0, labelled.stderr[-2000:]
    evaluated = run_cli("evaluate", "--data", str(kdef_folder), "--model", str(model))
    assert evaluated.returncode == 2, evaluated.stderr[-2000:]
    assert evaluated.stderr.startswith("error:") and len(evaluated.stderr.splitlines()) == 1
    assert "has no readable card" in evaluated.stderr


def test_a_pipe_at_the_active_model_record_leaves_the_default_active(shared_data, tmp_path):
    """Reading the record blocked every `label` for good; now it reads as no record."""
    from emotion_desktop.core import paths

    record = paths.data_dir() / "active_model.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(record)
    photo = sorted((shared_data / "faces" / "happy").glob("*.jpg"))[0]
    done = run_cli("label", str(photo), "--out", str(tmp_path / "x.csv"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert paths.active_model_path() == paths.default_model_path()


def test_a_photo_or_nan_model_is_one_line_and_exit_2(shared_data, tmp_path, capsys) -> None:
    """A JPEG given as --model was said to 'could run code'; NaN weights labelled every face
    'afraid', confidence nan, and exited 0."""
    from tests.core.test_checkpoints import _save

    photo = sorted((shared_data / "faces" / "happy").glob("*.jpg"))[0]
    _save(tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    next(iter(payload["state_dict"].values())).fill_(float("nan"))
    torch.save(payload, tmp_path / "nan.pt")
    for model, said in ((photo, "is not a PyTorch model file"), (tmp_path / "nan.pt", "NaN")):
        out = tmp_path / f"{model.stem}.csv"
        assert label(photo, model, out) == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and len(err.splitlines()) == 1 and said in err
        assert "could run code" not in err


def test_an_ensemble_of_more_members_than_a_model_holds_is_refused_first(
    tiny_model, kdef_folder, tmp_path, capsys
) -> None:
    """17 members said 'saved', and then every loader refused the file."""
    members = []
    for i in range(17):
        member = tmp_path / f"m{i}.pt"
        for suffix in (".pt", ".json", ".split.json"):
            shutil.copy(tiny_model.with_suffix(suffix), member.with_suffix(suffix))
        members.append(str(member))
    out = tmp_path / "all.pt"
    started = time.perf_counter()
    assert main(["ensemble", *members, "--data", str(kdef_folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.splitlines()) == 1
    assert "at most 16 member models, not 17" in err and not out.exists()
    assert time.perf_counter() - started < 5  # before a member is loaded or a face scored
