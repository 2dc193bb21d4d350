"""Thread counts per kind of work: Live computes on one thread, while a training run started
beside it, and every thread started later, keep the process's count (core.runtime)."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from emotion_desktop.core.batch.labelling import label_paths
from emotion_desktop.core.data.prepare import DataOptions
from emotion_desktop.core.live.loop import LatestFrame, process_frames
from emotion_desktop.core.model.card import ModelCard
from emotion_desktop.core.model.checkpoints import load_model
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.runtime import Work, configure_torch, threads_for, use_threads
from emotion_desktop.core.stream.frames import LiveOptions, live_pipeline, make_predictor
from emotion_desktop.core.train.config import TrainConfig
from emotion_desktop.core.train.run import train_from_folder
from tests.conftest import draw_face


@pytest.fixture
def process_threads() -> int:
    threads = configure_torch()
    if threads < 2:
        pytest.skip("one core: every kind of work has one thread")
    return threads


def on_thread(fn) -> object:  # noqa: ANN001
    """``fn()`` on a new thread (as a Task runs it), its result or exception here."""
    out: dict = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 (raised again on the calling thread)
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_live_steps_on_one_thread_while_later_threads_get_the_process_count(
    tiny_model: Path, process_threads: int
) -> None:
    before = torch.get_num_threads()
    buffer = LatestFrame()
    counts: list[int] = []  # torch's count on the Live worker, as each frame is reported
    beside: list[int] = []  # a thread started while Live runs, as a training Task is

    def report(result: object) -> None:
        counts.append(torch.get_num_threads())
        if len(counts) == 1:
            beside.append(on_thread(torch.get_num_threads))
        if len(counts) < 5:
            buffer.put(np.dstack([draw_face("HA", 1)] * 3))
        else:
            buffer.close()

    def live() -> int:
        options = LiveOptions()
        pipeline = live_pipeline(make_predictor(load_model(tiny_model), options), options)
        return process_frames(buffer, pipeline, report, lambda: False)

    buffer.put(np.dstack([draw_face("HA", 1)] * 3))
    assert on_thread(live) == 5
    assert counts == [1] * 5
    assert beside == [process_threads]
    assert torch.get_num_threads() == before  # the calling thread keeps its own


def test_a_thread_set_before_its_first_tensor_keeps_its_count(process_threads: int) -> None:
    """torch sets a thread's count from the process's at its first call: a count set before
    that call must survive it."""

    def first_call_after_setting() -> int:
        use_threads(Work.LIVE)
        torch.nn.functional.conv2d(torch.ones(1, 1, 48, 48), torch.ones(4, 1, 3, 3))
        return torch.get_num_threads()

    assert on_thread(first_call_after_setting) == 1
    assert on_thread(torch.get_num_threads) == process_threads


def test_training_on_a_thread_that_ran_live_trains_on_every_core(
    kdef_folder: Path, tmp_path: Path, process_threads: int
) -> None:
    config = TrainConfig(input_size=24, epochs_cae=0, epochs_cnn=1, batch_size=32)

    def live_then_train() -> tuple[int, ModelCard]:
        use_threads(Work.LIVE)
        card = train_from_folder(DataOptions(kdef_folder), config, tmp_path / "m.pt").card
        return torch.get_num_threads(), card

    threads, card = on_thread(live_then_train)
    assert threads == threads_for(Work.TRAINING) == process_threads
    assert card.training.machine.endswith(f" {process_threads} threads")


def test_labelling_computes_on_one_thread(
    tiny_model: Path, tmp_path: Path, process_threads: int
) -> None:
    """The Batch tab's worker too (the CLI's label sets one thread for its whole process)."""
    for index in range(3):
        cv2.imwrite(str(tmp_path / f"{index}.png"), draw_face("HA", index + 1))
    predictor = Predictor(load_model(tiny_model))

    def label() -> tuple[int, int]:
        events = [
            e for batch in label_paths([tmp_path], predictor, whole_image=True) for e in batch
        ]
        return len(events), torch.get_num_threads()

    assert on_thread(label) == (3, 1)
    assert on_thread(torch.get_num_threads) == process_threads


def test_small_batches_compute_on_one_thread_and_training_on_the_process_count() -> None:
    assert threads_for(Work.LIVE) == threads_for(Work.LABELLING) == 1
    assert threads_for(Work.TRAINING) == configure_torch()
