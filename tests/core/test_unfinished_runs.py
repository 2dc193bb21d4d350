"""The registry of unfinished training runs (core.train.unfinished): which run resumes for a
request, as plain data, without Qt."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from emotion_desktop.core.data.prepare import DataOptions
from emotion_desktop.core.train.config import TrainConfig
from emotion_desktop.core.train.resume import resume_path
from emotion_desktop.core.train.unfinished import output_path, remember, resumable, run_request

NOW = dt.datetime(2026, 12, 4, 20, 45, 7)


def _unfinished(path: Path) -> Path:
    resume_path(path).write_bytes(b"state")
    return path


def test_a_request_is_the_same_text_for_the_same_parameters_and_folders(tmp_path) -> None:
    options, config = DataOptions(tmp_path / "kdef"), TrainConfig(epochs_cnn=3)
    assert run_request(options, config) == run_request(DataOptions(tmp_path / "kdef"), config)
    assert run_request(options, config) != run_request(options, replace(config, epochs_cnn=4))
    assert run_request(options, config) != run_request(replace(options, protocol="person"), config)
    assert str(tmp_path / "kdef") in run_request(options, config)  # folders as text


def test_a_run_resumes_only_for_its_own_request(tmp_path) -> None:
    run = _unfinished(tmp_path / "kdef-1.pt")
    runs = resumable({"a": str(run)})
    assert output_path(runs, "a", tmp_path / "models", NOW) == run
    assert output_path(runs, "b", tmp_path / "models", NOW) == (
        tmp_path / "models" / "kdef-20261204-204507.pt"
    )


def test_runs_whose_resume_file_is_gone_or_damaged_entries_are_dropped(tmp_path) -> None:
    kept = _unfinished(tmp_path / "kept.pt")
    saved = {"kept": str(kept), "finished": str(tmp_path / "finished.pt"), "bad": 3}
    assert resumable(saved) == {"kept": str(kept)}
    assert resumable(["not", "a", "dict"]) == {} and resumable(None) == {}


def test_remembering_a_run_keeps_the_others_and_copies(tmp_path) -> None:
    runs = {"a": "a.pt"}
    both = remember(runs, "b", tmp_path / "b.pt")
    assert both == {"a": "a.pt", "b": str(tmp_path / "b.pt")} and runs == {"a": "a.pt"}


def test_a_second_start_within_a_second_gets_a_name_of_its_own(tmp_path: Path) -> None:
    """Two runs started in one second were given one name: the second run's Start met the
    first's progress file."""
    now = dt.datetime(2026, 12, 4, 22, 16, 24)
    first = output_path({}, "first request", tmp_path, now)
    resume_path(first).write_bytes(b"the first run's epochs")
    runs = remember({}, "first request", first)
    second = output_path(runs, "second request", tmp_path, now)
    assert second != first and second.name == "kdef-20261204-221624-2.pt"
