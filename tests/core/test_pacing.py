"""Live's pace while training shares the cores: the token bucket, and the processing loop
analysing at most the paced rate of a faster camera, its frames passed over counted apart."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

from emotion_desktop.core.live.loop import LatestFrame, LiveResult, Mailbox, process_frames
from emotion_desktop.core.live.pacing import SHARED_FPS, Pacer
from emotion_desktop.core.stream.frames import LivePipeline
from tests.core.test_live import HAPPY, FakePredictor


@pytest.mark.parametrize(("camera_fps", "expected"), [(24, 16), (30, 16), (60, 16), (15, 15)])
def test_the_pacer_admits_its_rate_of_a_faster_camera_and_every_frame_of_a_slower(
    camera_fps: int, expected: int
) -> None:
    pacer = Pacer(16.0)
    admitted = [pacer.admit(i / camera_fps) for i in range(camera_fps * 10)]
    assert sum(admitted) == expected * 10
    # spread out, not 16 in a burst and then a gap: at 24 fps one left out, then two in
    left_out_in_a_row = max(
        len(run) for run in "".join("T" if a else "F" for a in admitted).split("T")
    )
    assert left_out_in_a_row <= math.ceil(camera_fps / 16) - 1


def test_a_pacer_without_a_rate_admits_every_frame() -> None:
    pacer = Pacer()
    assert all(pacer.admit(i / 1000) for i in range(100))


def test_the_shared_rate_keeps_the_issues_floor_of_15_fps() -> None:
    assert SHARED_FPS >= 15


def camera(buffer: LatestFrame, fps: float, seconds: float) -> threading.Thread:
    """Frames put into ``buffer`` at ``fps`` for ``seconds``, then the buffer closed."""

    def run() -> None:
        for i in range(round(fps * seconds)):
            buffer.put(np.full((40, 60, 3), i % 255, np.uint8))
            time.sleep(1 / fps)
        buffer.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_processing_paced_at_16_fps_analyses_16_of_a_48_fps_cameras_frames() -> None:
    buffer, results = LatestFrame(), []
    thread = camera(buffer, fps=48, seconds=1.5)
    started = time.monotonic()
    pipeline = LivePipeline(FakePredictor([], HAPPY, "fake"))
    process_frames(buffer, pipeline, results.append, lambda: False, pace=Mailbox(16.0))
    elapsed = time.monotonic() - started
    thread.join()
    last: LiveResult = results[-1]
    assert len(results) <= 16 * elapsed + 2  # the bucket holds two frames
    assert len(results) >= 16 * 1.5 * 0.6  # and the pace is not a stop
    assert last.paced >= buffer.captured // 3 and last.max_fps == 16.0
    # every frame is analysed, passed over or dropped (the last result cannot count the frames
    # passed over after it: at most two at 48 fps)
    accounted = len(results) + last.paced + buffer.dropped
    assert buffer.captured - 2 <= accounted <= buffer.captured


def test_a_pace_lifted_mid_run_lets_every_frame_through_again() -> None:
    buffer, results = LatestFrame(), []
    pace: Mailbox[float | None] = Mailbox(8.0)
    thread = camera(buffer, fps=40, seconds=1.0)
    threading.Timer(0.5, pace.post, (None,)).start()
    pipeline = LivePipeline(FakePredictor([], HAPPY, "fake"))
    process_frames(buffer, pipeline, results.append, lambda: False, pace=pace)
    thread.join()
    paced_after_lift = [r.paced for r in results if r.max_fps is None]
    assert results[0].max_fps == 8.0 and paced_after_lift
    assert len(set(paced_after_lift)) == 1  # nothing passed over once the pace was lifted
    assert len(paced_after_lift) >= 10  # about 20 frames in the second half-second
