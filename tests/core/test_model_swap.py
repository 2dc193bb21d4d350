"""Changing the model while Live runs (core.live.swap): a model is loaded only when the user
picks another one, without Qt."""

from __future__ import annotations

from pathlib import Path

import pytest

from emotion_desktop.core.live.loop import Mailbox
from emotion_desktop.core.live.swap import ModelSwap


def test_the_first_model_is_the_one_posted_when_the_run_began() -> None:
    loaded: list[Path] = []
    paths = Mailbox(Path("a.pt"))
    swap = ModelSwap(paths, lambda p: loaded.append(p) or f"predictor {p.stem}")
    paths.post(Path("b.pt"))  # after the run began: a swap, not the first model
    assert swap.first() == "predictor a" and loaded == [Path("a.pt")]


def test_a_new_model_is_loaded_once_and_the_same_path_loads_nothing() -> None:
    loaded: list[Path] = []
    paths = Mailbox(Path("a.pt"))
    swap = ModelSwap(paths, lambda p: loaded.append(p) or f"predictor {p.stem}")
    assert swap() is None and loaded == []
    paths.post(Path("b.pt"))
    assert swap() == "predictor b" and swap() is None
    paths.post(Path("b.pt"))  # the same model picked again: nothing to load
    assert swap() is None and loaded == [Path("b.pt")] and swap.path == Path("b.pt")


def test_a_model_that_fails_to_load_is_not_retried_every_frame() -> None:
    calls: list[Path] = []

    def load(path: Path) -> str:
        calls.append(path)
        raise ValueError("broken")

    paths = Mailbox(Path("a.pt"))
    swap = ModelSwap(paths, load)
    paths.post(Path("bad.pt"))
    with pytest.raises(ValueError, match="broken"):
        swap()
    assert swap() is None and calls == [Path("bad.pt")]
