"""Which unfinished training run resumes for a request: the registry behind the Training tab's
Start, kept as plain data (the tab reads and writes it in its settings).

A run that is cancelled or interrupted keeps its state beside its model file
(:func:`~emotion_desktop.core.train.run.resume_path`). It resumes only for the request that
started it, the same parameters and folders: for another, the core would start afresh and write
over the saved epochs. So each unfinished run's model file is kept by its request, and runs of
other parameters stay resumable for when those parameters come back.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

from emotion_desktop.core.data.prepare import DataOptions
from emotion_desktop.core.errors import OutputError
from emotion_desktop.core.train.config import TrainConfig
from emotion_desktop.core.train.resume import resume_path

Registry = dict[str, str]  # request (run_request's text) -> the run's model file


def run_request(options: DataOptions, config: TrainConfig) -> str:
    """What a run trains, as text: the key of its entry in the registry."""
    request = {"config": config.to_dict(), "data": vars(options)}
    return json.dumps(request, sort_keys=True, default=str)  # folders as text


def resumable(saved: object) -> Registry:
    """The entries of a saved registry whose resume file is still there; anything damaged (not
    a dict, a file name that is not text) counts as no run."""
    if not isinstance(saved, dict):
        return {}
    return {
        request: out
        for request, out in saved.items()
        if isinstance(request, str) and isinstance(out, str) and resume_path(Path(out)).is_file()
    }


def output_path(
    runs: Registry, request: str, models_dir: Path, now: _dt.datetime | None = None
) -> Path:
    """The unfinished run of ``request`` in ``runs`` when there is one (it resumes), else a new
    name in ``models_dir`` stamped with ``now``, numbered where a model or a run's progress
    already has that name (two Starts within one second gave the second run the first's)."""
    unfinished = runs.get(request)
    if unfinished:
        return Path(unfinished)
    stamp = (now or _dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    taken = {Path(p) for p in runs.values()}
    for number in range(1, 1000):
        suffix = "" if number == 1 else f"-{number}"
        out = Path(models_dir) / f"kdef-{stamp}{suffix}.pt"
        if out not in taken and not (out.exists() or resume_path(out).exists()):
            return out
    raise OutputError(f"no free model name for kdef-{stamp} in {models_dir}")


def remember(runs: Registry, request: str, out: Path) -> Registry:
    """``runs`` with ``request`` writing ``out`` (a new registry; ``runs`` is left as it is)."""
    return {**runs, request: str(out)}
