"""Live's guided calibration without Qt: the session's steps fed frames of known timing, the
worker's crops of the largest face, and the profile swapped in between frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.live.calibration import (
    FULL,
    QUICK,
    CalibrationFrame,
    CalibrationSession,
    CalibrationTimings,
    Phase,
    ProfileLink,
    StepState,
    calibration_frame,
)
from emotion_desktop.core.live.loop import CapturedFrame, LiveResult, Mailbox
from emotion_desktop.core.live.swap import ModelSwap, ProfileRefused
from emotion_desktop.core.model.calibrate import make_profile
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.model.profile import Profile, model_fingerprint
from emotion_desktop.core.stream.frames import StepTimings, work_gray
from emotion_desktop.core.stream.tracking import TrackedFace
from emotion_desktop.core.vision.faces import Box, crop_face

FPS = 10
TIMINGS = CalibrationTimings(ready_s=1.0, steady_s=0.5, burst_s=1.0, tolerance=0.1, min_crops=5)
STILL = Box(100, 80, 120, 120)


class Feed:
    """Frames at ``FPS`` with a clock that only moves forward; each crop is numbered."""

    def __init__(self, session: CalibrationSession) -> None:
        self.session = session
        self.t = 1000.0
        self.n = 0

    def frames(self, seconds: float, box: Box | None = STILL, face: int = 1) -> None:
        for _ in range(round(seconds * FPS)):
            self.n += 1
            crop = None if box is None else np.full((8, 8), self.n % 256, np.uint8)
            self.session.feed(CalibrationFrame(self.t, face, box, crop))
            self.t += 1 / FPS

    def expression(self) -> None:
        """Long enough for one expression: get ready, hold still, the burst."""
        self.frames(TIMINGS.ready_s + TIMINGS.steady_s + TIMINGS.burst_s + 0.3)


def states(session: CalibrationSession) -> dict[str, StepState]:
    return {s.emotion: s.state for s in session.status().steps}


def test_each_expression_in_turn_gets_a_burst_of_the_steady_face() -> None:
    session = CalibrationSession(FULL, TIMINGS)
    feed = Feed(session)
    assert session.current == "neutral" and session.phase is Phase.READY
    feed.frames(0.5)
    assert session.phase is Phase.READY and session.status().progress == pytest.approx(0.4)
    feed.frames(0.7)  # ready, then still for a moment: not yet long enough
    assert session.phase is Phase.STEADY
    feed.frames(0.6)
    assert session.phase is Phase.CAPTURING and session.current == "neutral"
    feed.frames(1.2)
    assert session.current == "happy" and session.phase is Phase.READY
    for _ in FULL[1:]:
        feed.expression()
    status = session.status()
    assert session.finished and status.emotion is None and status.captured == 7
    crops = session.crops()
    assert list(crops) == list(FULL)
    assert all(10 <= len(c) <= 11 for c in crops.values())  # the burst: 1 s at 10 fps
    firsts = [int(c[0][0, 0]) for c in crops.values()]
    assert firsts == sorted(firsts)  # each burst is later frames than the one before


def test_a_moving_or_missing_face_is_waited_for() -> None:
    session = CalibrationSession(QUICK, TIMINGS)
    feed = Feed(session)
    feed.frames(1.0)
    for step in range(20):  # a face moving by a third of the tolerance each frame
        feed.frames(0.1, Box(100 + 5 * step, 80, 120, 120))
    feed.frames(0.4, None)  # gone
    feed.frames(0.4)  # back, but not still for long enough
    assert session.phase is Phase.STEADY and not session.crops()
    feed.frames(0.2)
    assert session.phase is Phase.CAPTURING


def test_a_burst_that_lost_the_face_or_met_another_is_taken_again() -> None:
    session = CalibrationSession(QUICK, TIMINGS)
    feed = Feed(session)
    feed.frames(1.6)
    assert session.phase is Phase.CAPTURING
    feed.frames(0.2)
    feed.frames(1.0, None)  # lost for the rest of the burst: 3 faces, fewer than 5
    assert session.phase is Phase.STEADY and not session.crops()
    feed.frames(0.6)
    assert session.phase is Phase.CAPTURING
    feed.frames(0.2, Box(300, 80, 150, 150), face=2)  # someone nearer the camera
    assert session.phase is Phase.STEADY
    feed.frames(0.5 + 1.2, Box(300, 80, 150, 150), face=2)
    assert session.finished and len(session.crops()["neutral"]) >= 10


def test_skip_passes_over_an_expression_and_redo_takes_one_again() -> None:
    session = CalibrationSession(("neutral", "happy", "sad"), TIMINGS)
    feed = Feed(session)
    feed.expression()
    neutral_first = int(session.crops()["neutral"][0][0, 0])
    assert session.current == "happy"
    session.skip()
    assert session.current == "sad" and states(session)["happy"] is StepState.SKIPPED
    feed.frames(1.8)  # sad is being captured when the user asks for neutral again
    assert session.phase is Phase.CAPTURING
    session.redo("neutral")
    assert session.current == "neutral" and session.phase is Phase.READY
    assert "neutral" not in session.crops() and states(session)["sad"] is StepState.PENDING
    feed.expression()
    assert int(session.crops()["neutral"][0][0, 0]) > neutral_first
    assert session.current == "sad"  # the one in progress comes back, not the skipped one
    feed.expression()
    assert session.finished and set(session.crops()) == {"neutral", "sad"}
    assert session.last_captured() == "sad"
    session.redo("happy")  # a skipped one can be taken after all
    assert not session.finished and session.current == "happy"
    feed.expression()
    assert session.finished and set(session.crops()) == {"neutral", "sad", "happy"}
    assert states(session) == dict.fromkeys(("neutral", "happy", "sad"), StepState.CAPTURED)


def test_skipping_everything_finishes_with_nothing() -> None:
    session = CalibrationSession(QUICK, TIMINGS)
    session.skip()
    assert session.finished and session.crops() == {} and session.status().captured == 0
    session.skip()  # nothing left to skip
    assert session.finished


def test_only_the_seven_expressions_once_each() -> None:
    for emotions in ((), ("neutral", "neutral"), ("contempt",)):
        with pytest.raises(ValueError):
            CalibrationSession(emotions)
    with pytest.raises(ValueError):
        CalibrationSession(QUICK).redo("happy")
    assert set(FULL) == set(NAMES)


# ---- the worker's side, with the tiny model ---------------------------------------------------


def _face(face_id: int, box: Box, missed: int = 0) -> TrackedFace:
    return TrackedFace(face_id, box, (1 / 7,) * 7, "neutral", 1 / 7, True, missed)


def _result(faces: tuple[TrackedFace, ...], timestamp: float = 5.0) -> LiveResult:
    image = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    return LiveResult(
        CapturedFrame(image, 3, timestamp), faces, StepTimings(0, 0, 0, True), 0, 0, 0, None
    )


@pytest.fixture
def predictor(tiny_model: Path) -> Predictor:
    return Predictor.from_checkpoint(tiny_model)


def test_the_worker_crops_the_largest_face_seen_as_the_model_does(predictor) -> None:
    big, small = Box(40, 30, 120, 120), Box(200, 30, 60, 60)
    lost = Box(10, 10, 200, 200)  # larger, but not seen in this frame
    frame = calibration_frame(
        _result((_face(2, small), _face(5, big), _face(7, lost, 1))), predictor
    )
    assert frame.face_id == 5 and frame.box == big and frame.timestamp == 5.0
    assert frame.crop.shape == (predictor.crop.size, predictor.crop.size)
    assert frame.crop.dtype == np.uint8 and not frame.crop.flags.writeable
    empty = calibration_frame(_result((_face(7, lost, 2),)), predictor)
    assert empty.box is None and empty.crop is None


def test_a_wide_frame_is_cropped_from_the_image_the_step_classified(predictor) -> None:
    """Live classifies a frame wider than its work width in a shrunk copy: the profile must
    learn those crops, not ones cut from the full-size frame."""
    box = Box(40, 30, 120, 120)
    result = _result((_face(5, box),))
    gray, factor = work_gray(result.frame.image, 160)
    assert factor == 0.5
    frame = calibration_frame(result, predictor, work_width=160)
    assert frame.box == box  # reported in the frame's own pixels
    assert np.array_equal(frame.crop, crop_face(gray, box.scaled(factor), predictor.crop))
    full = calibration_frame(result, predictor)
    assert not np.array_equal(frame.crop, full.crop)


def _attached(predictor: Predictor, profile: Profile | None = None):  # noqa: ANN202
    """A run's profile link over a model that loads ``predictor``: the link, the swap, the
    wrapped report and what it reported."""
    link = ProfileLink(Mailbox(profile), Mailbox(False))
    reported: list[object] = []
    swap, report = link.attach(
        ModelSwap(Mailbox(predictor.path), lambda p: predictor), reported.append
    )
    return link, swap, report, reported


def test_crops_follow_the_results_only_while_a_calibration_runs(predictor) -> None:
    link, swap, report, reported = _attached(predictor)
    swap.first()
    result = _result((_face(1, Box(40, 30, 120, 120)),))
    report(result)
    assert reported == [result]
    link.capturing.post(True)
    report(result)
    report("not a result")
    assert reported[1] is result and isinstance(reported[2], CalibrationFrame)
    assert reported[2].crop.shape == (predictor.crop.size,) * 2
    assert reported[3:] == ["not a result"]


def test_a_profile_posted_applies_from_the_next_frame_without_a_reload(predictor) -> None:
    loads: list[Path] = []

    def load(path: Path) -> Predictor:
        loads.append(path)
        return predictor

    link = ProfileLink(Mailbox(None), Mailbox(False))
    swap, _ = link.attach(ModelSwap(Mailbox(predictor.path), load), [].append)
    assert swap.first().profile is None and swap() is None
    crops = {"neutral": [np.zeros((predictor.crop.size,) * 2, np.uint8)] * 3}
    link.profiles.post(make_profile(predictor, crops, "me"))
    personal = swap()
    assert personal is not None and personal.profile_name == "me" and swap() is None
    assert swap.predictor is personal
    link.profiles.post(None)
    assert swap().profile is None and loads == [predictor.path]


def _arrays(width: int) -> dict[str, np.ndarray]:
    return {
        "weight": np.eye(7),
        "bias": np.zeros(7),
        "anchors": np.ones((1, width)),
        "gate": np.array([0.5, 0.9]),
    }


def test_a_profile_the_model_refuses_is_left_off_and_reported_once(predictor) -> None:
    stranger = Profile("them", "0" * 64, "other", ("neutral",), _arrays(512))
    _, swap, _, reported = _attached(predictor, stranger)
    assert swap.first().profile is None
    assert swap() is None  # not tried again every frame
    assert [r.profile for r in reported] == ["them"]
    assert isinstance(reported[0], ProfileRefused) and "made with the model other" in str(
        reported[0].message
    )
    narrow = Profile("narrow", model_fingerprint(predictor.path), "tiny", ("neutral",), _arrays(8))
    _, swap, _, reported = _attached(predictor, narrow)  # its model's, but not its network's
    assert swap.first().profile is None and "does not fit" in reported[0].message
