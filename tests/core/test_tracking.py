"""Face tracking across frames: ids by overlap, smoothing, the grace before a face is dropped."""

from __future__ import annotations

import numpy as np
import pytest

from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.model.inference import FaceResult
from emotion_desktop.core.stream.tracking import FaceTracker, TrackedFace, largest
from emotion_desktop.core.vision.faces import Box

HAPPY = tuple(0.9 if n == "happy" else 0.1 / 6 for n in NAMES)
SAD = tuple(0.9 if n == "sad" else 0.1 / 6 for n in NAMES)
FLAT = tuple(1 / 7 for _ in NAMES)


def face(box: Box, probabilities: tuple[float, ...] = HAPPY) -> FaceResult:
    return FaceResult(box, probabilities)


# ---- tracker -------------------------------------------------------------------------------


def test_a_face_that_moves_a_little_keeps_its_id() -> None:
    tracker = FaceTracker()
    first = tracker.update([face(Box(100, 100, 80, 80))])
    second = tracker.update([face(Box(106, 102, 80, 80))])
    assert [f.id for f in first] == [f.id for f in second] == [1]
    assert second[0].box == Box(106, 102, 80, 80)


def test_a_new_face_far_away_gets_a_new_id() -> None:
    tracker = FaceTracker()
    tracker.update([face(Box(0, 0, 50, 50))])
    faces = tracker.update([face(Box(0, 0, 50, 50)), face(Box(300, 0, 50, 50))])
    assert sorted(f.id for f in faces) == [1, 2]


def test_two_faces_swap_nothing_when_matched_by_overlap() -> None:
    tracker = FaceTracker()
    tracker.update([face(Box(0, 0, 50, 50), HAPPY), face(Box(200, 0, 50, 50), SAD)])
    faces = tracker.update([face(Box(204, 0, 50, 50), SAD), face(Box(4, 0, 50, 50), HAPPY)])
    by_id = {f.id: f for f in faces}
    assert by_id[1].label == "happy" and by_id[1].box.x == 4
    assert by_id[2].label == "sad" and by_id[2].box.x == 204


def test_smoothing_blends_old_and_new_probabilities() -> None:
    tracker = FaceTracker(smoothing=0.75)
    box = Box(10, 10, 60, 60)
    tracker.update([face(box, HAPPY)])
    (smoothed,) = tracker.update([face(box, SAD)])
    expected = 0.75 * np.array(HAPPY) + 0.25 * np.array(SAD)
    assert smoothed.probabilities == pytest.approx(tuple(expected))
    assert smoothed.label == "happy"


def test_no_smoothing_follows_each_frame() -> None:
    tracker = FaceTracker(smoothing=0.0)
    box = Box(10, 10, 60, 60)
    tracker.update([face(box, HAPPY)])
    (now,) = tracker.update([face(box, SAD)])
    assert now.label == "sad" and now.probabilities == pytest.approx(SAD)


def test_smoothing_of_one_or_more_is_refused() -> None:
    with pytest.raises(ValueError, match="smoothing"):
        FaceTracker(smoothing=1.0)
    tracker = FaceTracker()
    with pytest.raises(ValueError, match="smoothing"):
        tracker.smoothing = -0.1


def test_a_lost_face_is_kept_through_the_grace_then_dropped() -> None:
    tracker = FaceTracker(grace=2)
    tracker.update([face(Box(0, 0, 50, 50))])
    kept = [tracker.update([]) for _ in range(2)]
    assert [[f.missed for f in faces] for faces in kept] == [[1], [2]]
    assert tracker.active_boxes() == []
    assert tracker.update([]) == ()


def test_a_face_back_within_the_grace_keeps_its_id_and_a_new_one_gets_the_next() -> None:
    tracker = FaceTracker(grace=1)
    tracker.update([face(Box(0, 0, 50, 50))])
    tracker.update([])
    (back,) = tracker.update([face(Box(2, 0, 50, 50))])
    assert back.id == 1 and back.missed == 0
    tracker.update([])
    tracker.update([])
    (new,) = tracker.update([face(Box(2, 0, 50, 50))])
    assert new.id == 2


def test_below_the_threshold_a_face_is_uncertain() -> None:
    tracker = FaceTracker(threshold=0.5, smoothing=0.0)
    box = Box(0, 0, 50, 50)
    (flat,) = tracker.update([face(box, FLAT)])
    (sure,) = tracker.update([face(box, HAPPY)])
    assert flat.uncertain and flat.confidence == pytest.approx(1 / 7)
    assert not sure.uncertain and sure.confidence == pytest.approx(0.9)


def test_largest_picks_the_biggest_box() -> None:
    small = TrackedFace(1, Box(0, 0, 10, 10), HAPPY, "happy", 0.9, False)
    big = TrackedFace(2, Box(0, 0, 40, 40), SAD, "sad", 0.9, False)
    assert largest([small, big]) is big
    assert largest([]) is None


# ---- buffer and rates ----------------------------------------------------------------------
