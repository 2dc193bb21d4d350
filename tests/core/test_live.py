"""The live loop: the newest-frame buffer, the per-frame step, the capture and processing loops,
the model swap and recording; a fake camera and model stand in for the real ones."""

from __future__ import annotations

import csv
import threading
from dataclasses import astuple
from pathlib import Path

import cv2
import numpy as np
import pytest

from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.errors import VideoSourceError
from emotion_desktop.core.live.loop import (
    RECORD_COLUMNS,
    CsvRecorder,
    LatestFrame,
    LiveResult,
    RateMeter,
    capture_frames,
    process_frames,
)
from emotion_desktop.core.model.checkpoints import load_model
from emotion_desktop.core.model.inference import FaceResult
from emotion_desktop.core.stream.frames import (
    LiveOptions,
    LivePipeline,
    live_pipeline,
    make_predictor,
)
from emotion_desktop.core.stream.tracking import FaceTracker
from emotion_desktop.core.vision.faces import Box

HAPPY = tuple(0.9 if n == "happy" else 0.1 / 6 for n in NAMES)
SAD = tuple(0.9 if n == "sad" else 0.1 / 6 for n in NAMES)


def test_latest_frame_keeps_only_the_newest_and_counts_drops() -> None:
    buffer = LatestFrame()
    for level in (1, 2, 3):
        buffer.put(np.full((2, 2, 3), level, np.uint8))
    frame = buffer.take(timeout=0)
    assert frame is not None and frame.index == 2 and int(frame.image[0, 0, 0]) == 3
    assert buffer.dropped == 2 and buffer.captured == 3
    assert buffer.take(timeout=0.01) is None
    assert not buffer.finished
    buffer.close()
    assert buffer.finished


def test_a_waiting_take_wakes_when_a_frame_arrives() -> None:
    buffer = LatestFrame()
    timer = threading.Timer(0.05, buffer.put, args=(np.zeros((2, 2, 3), np.uint8),))
    timer.start()
    frame = buffer.take(timeout=5)
    timer.join()
    assert frame is not None and buffer.dropped == 0


def test_rate_meter_counts_events_per_second() -> None:
    meter = RateMeter(window=2.0)
    for i in range(11):
        meter.tick(now=i * 0.1)
    assert meter.rate() == pytest.approx(10.0)
    meter.tick(now=10.0)  # older ticks fall out of the window
    assert meter.rate() == 0.0


# ---- pipeline with fakes -------------------------------------------------------------------


class FakeDetector:
    def __init__(self, boxes: list[Box]) -> None:
        self.boxes = boxes
        self.calls = 0

    def detect(self, gray: np.ndarray) -> list[Box]:
        self.calls += 1
        return list(self.boxes)


class FakePredictor:
    """Detects fixed boxes and labels every face with fixed probabilities."""

    def __init__(self, boxes: list[Box], probabilities: tuple[float, ...], name: str) -> None:
        self.detector = FakeDetector(boxes)
        self.probabilities = probabilities
        self.path = Path(f"{name}.pt")
        self.batches: list[int] = []

    def predict_boxes(self, gray: np.ndarray, boxes: list[Box]) -> list[FaceResult]:
        assert gray.ndim == 2
        self.batches.append(len(boxes))
        return [FaceResult(b, self.probabilities) for b in boxes]


def test_pipeline_detects_every_kth_frame_and_reuses_tracked_boxes() -> None:
    boxes = [Box(10, 10, 30, 30), Box(60, 10, 20, 20)]
    predictor = FakePredictor(boxes, HAPPY, "fake")
    pipeline = LivePipeline(predictor, FaceTracker(), detect_every=3)
    frame = np.zeros((100, 100, 3), np.uint8)
    steps = [pipeline.step(frame) for _ in range(7)]
    assert [t.detected for _, t in steps] == [True, False, False, True, False, False, True]
    assert predictor.detector.calls == 3
    assert predictor.batches == [2] * 7  # all faces of a frame in one batch, every frame
    faces, timings = steps[-1]
    assert {f.box for f in faces} == set(boxes)
    assert {f.label for f in faces} == {"happy"}
    assert timings.total_ms >= timings.classify_ms >= 0 and timings.detect_ms >= 0
    assert steps[1][1].detect_ms == 0.0


def test_pipeline_refuses_a_detection_interval_below_one() -> None:
    with pytest.raises(ValueError, match="detect_every"):
        LivePipeline(FakePredictor([], HAPPY, "fake"), detect_every=0)


class FakeSource:
    """``frames`` grey frames, then the end, or a VideoSourceError when ``fail`` is set."""

    description = "fake camera"
    is_camera = True

    def __init__(self, frames: int, fail: bool = False) -> None:
        self.frames = frames
        self.fail = fail
        self.opened = self.closed = False
        self.delivered = 0

    def open(self) -> None:
        self.opened = True

    def read(self, cancelled: object = None) -> np.ndarray | None:
        if self.delivered == self.frames:
            if self.fail:
                raise VideoSourceError("fake camera stopped delivering frames")
            return None
        self.delivered += 1
        return np.full((40, 60, 3), self.delivered, np.uint8)

    def close(self) -> None:
        self.closed = True


def run_loops(source: FakeSource, pipeline: LivePipeline, swap=lambda: None):
    """Capture on a thread, process here; returns the reported results and capture error."""
    buffer = LatestFrame()
    errors: list[Exception] = []

    def capture() -> None:
        try:
            capture_frames(source, buffer, lambda: False)
        except VideoSourceError as exc:
            errors.append(exc)

    thread = threading.Thread(target=capture)
    thread.start()
    results: list[LiveResult] = []
    process_frames(buffer, pipeline, results.append, lambda: False, swap)
    thread.join(5)
    return results, errors, buffer


def test_capture_and_process_loops_end_with_the_source() -> None:
    source = FakeSource(20)
    predictor = FakePredictor([Box(5, 5, 20, 20)], HAPPY, "first")
    results, errors, buffer = run_loops(source, LivePipeline(predictor, detect_every=2))
    assert not errors and source.opened and source.closed
    assert buffer.captured == 20
    assert 1 <= len(results) == 20 - buffer.dropped
    indices = [r.frame.index for r in results]
    assert indices == sorted(indices) and indices[-1] == 19  # the newest frame is never lost
    assert all(r.faces and r.faces[0].label == "happy" for r in results)
    assert results[-1].model == Path("first.pt")


def test_a_source_failing_mid_stream_closes_the_buffer_and_reports_the_error() -> None:
    source = FakeSource(3, fail=True)
    pipeline = LivePipeline(FakePredictor([], HAPPY, "fake"))
    results, errors, buffer = run_loops(source, pipeline)
    assert [str(e) for e in errors] == ["fake camera stopped delivering frames"]
    assert source.closed and buffer.finished
    assert results and all(r.faces == () for r in results)


def test_swapping_the_predictor_takes_effect_without_a_restart() -> None:
    swapped = FakePredictor([Box(5, 5, 20, 20)], SAD, "second")
    pending = [swapped]

    def swap() -> FakePredictor | None:
        return pending.pop() if pending else None

    first = FakePredictor([Box(5, 5, 20, 20)], HAPPY, "first")
    pipeline = LivePipeline(first, FaceTracker(smoothing=0.0), detect_every=1)
    results, _, _ = run_loops(FakeSource(5), pipeline, swap)
    assert results[0].model == Path("second.pt") and results[-1].faces[0].label == "sad"
    assert first.batches == []


def test_the_cancel_check_stops_processing() -> None:
    buffer = LatestFrame()
    buffer.put(np.zeros((4, 4, 3), np.uint8))
    reported: list[LiveResult] = []
    count = process_frames(
        buffer, LivePipeline(FakePredictor([], HAPPY, "x")), reported.append, lambda: True
    )
    assert count == 0 and reported == []


def test_recorder_writes_a_row_per_seen_face(tmp_path: Path) -> None:
    source = FakeSource(4)
    predictor = FakePredictor([Box(1, 2, 30, 40), Box(40, 2, 10, 10)], HAPPY, "fake")
    results, _, _ = run_loops(source, LivePipeline(predictor, detect_every=1))
    recorder = CsvRecorder(tmp_path / "rec" / "live.csv")
    for result in results:
        recorder.write(result)
    recorder.close()
    with (tmp_path / "rec" / "live.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == RECORD_COLUMNS
    assert len(rows) - 1 == recorder.rows == 2 * len(results)
    first = dict(zip(rows[0], rows[1]))
    assert (first["face_id"], first["x"], first["y"], first["w"], first["h"]) == (
        "1",
        "1",
        "2",
        "30",
        "40",
    )
    assert first["label"] == "happy" and float(first["happy"]) == pytest.approx(0.9)


def test_a_1080p_frame_is_shrunk_before_the_step_and_faces_come_back_in_its_pixels(
    shared_data: Path, tiny_model: Path
) -> None:
    """A webcam's 1080p frame costs what a 640x360 one does: the step shrinks it first (the
    tracker keeps the small image's pixels), and the overlay gets boxes in the frame's own."""
    photo = cv2.imread(str(sorted((shared_data / "faces" / "happy").glob("*.jpg"))[0]))
    small = np.full((360, 640, 3), 90, np.uint8)
    small[80:280, 220:420] = cv2.resize(photo, (200, 200), interpolation=cv2.INTER_AREA)
    large = cv2.resize(small, (1920, 1080), interpolation=cv2.INTER_LINEAR)
    options = LiveOptions()
    predictor = make_predictor(load_model(tiny_model), options)
    (face_640,), _ = live_pipeline(predictor, options).step(small)
    pipeline = live_pipeline(predictor, options)
    (face_1080,), _ = pipeline.step(large)
    assert pipeline.tracker.active_boxes() == [face_640.box]  # worked on at 640x360
    expected = face_640.box.scaled(3)
    for got, want in zip(astuple(face_1080.box), astuple(expected), strict=True):
        assert abs(got - want) <= 3
    assert face_1080.probabilities == pytest.approx(face_640.probabilities, abs=1e-4)
