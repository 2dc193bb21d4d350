"""Following faces from frame to frame, so each keeps one id and a steady label.

A classifier looking at one frame at a time flickers between expressions as light and pose
change. Matching faces between frames by box overlap lets the probabilities of one person be
averaged over time, and a short grace keeps a face through a frame or two the detector misses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.model.inference import FaceResult
from emotion_desktop.core.vision.faces import Box


@dataclass(frozen=True)
class TrackedFace:
    """One face as the overlay shows it: its id, box and smoothed probabilities.

    ``missed`` counts the frames since the face was last matched (0 when seen in this frame);
    ``uncertain`` is true when the top probability is below the tracker's threshold.
    """

    id: int
    box: Box
    probabilities: tuple[float, ...]
    label: str
    confidence: float
    uncertain: bool
    missed: int = 0


class _Track:
    def __init__(self, track_id: int, box: Box, probabilities: np.ndarray) -> None:
        self.id = track_id
        self.box = box
        self.probabilities = probabilities
        self.missed = 0


def _check_smoothing(value: float) -> float:
    """0 shows each frame's probabilities as they are; towards 1 the label changes slowly.

    1 itself would freeze a face's first estimate for ever, so it is refused.
    """
    if not 0.0 <= value < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {value}")
    return float(value)


class FaceTracker:
    """Greedy IoU matching between frames, exponential smoothing, a grace before dropping.

    ``smoothing`` is the weight kept from the previous estimate:
    ``p = smoothing * p_before + (1 - smoothing) * p_now``. A face unmatched for more than
    ``grace`` updates is dropped; a new face gets the next id, never a reused one.
    """

    def __init__(
        self,
        smoothing: float = 0.6,
        threshold: float = 0.45,
        grace: int = 5,
        min_iou: float = 0.3,
    ) -> None:
        self._smoothing = _check_smoothing(smoothing)
        self.threshold = threshold
        self.grace = grace
        self.min_iou = min_iou
        self._tracks: list[_Track] = []
        self._next_id = 1

    @property
    def smoothing(self) -> float:
        return self._smoothing

    @smoothing.setter
    def smoothing(self, value: float) -> None:
        self._smoothing = _check_smoothing(value)

    def reset(self) -> None:
        """Forget every face (a new source); ids keep counting up."""
        self._tracks = []

    def active_boxes(self) -> list[Box]:
        """Boxes of the faces matched in the latest update, for frames without detection."""
        return [t.box for t in self._tracks if t.missed == 0]

    def update(self, results: Sequence[FaceResult]) -> tuple[TrackedFace, ...]:
        """Match this frame's faces to the known ones and return every face still tracked."""
        smoothing = self.smoothing  # read once: the GUI may change it between frames
        unmatched = set(range(len(results)))
        for track, index in self._match(results):
            unmatched.discard(index)
            fresh = np.asarray(results[index].probabilities, np.float64)
            track.probabilities = smoothing * track.probabilities + (1 - smoothing) * fresh
            track.box = results[index].box
            track.missed = -1  # becomes 0 below
        for track in self._tracks:
            track.missed += 1
        self._tracks = [t for t in self._tracks if t.missed <= self.grace]
        for index in sorted(unmatched):
            result = results[index]
            self._tracks.append(
                _Track(self._next_id, result.box, np.asarray(result.probabilities, np.float64))
            )
            self._next_id += 1
        return tuple(self._face(t) for t in self._tracks)

    def _match(self, results: Sequence[FaceResult]) -> list[tuple[_Track, int]]:
        """Pairs of (track, result index), best overlap first, each side used once."""
        pairs = sorted(
            (
                (track.box.iou(result.box), t, r)
                for t, track in enumerate(self._tracks)
                for r, result in enumerate(results)
            ),
            reverse=True,
        )
        used_tracks: set[int] = set()
        used_results: set[int] = set()
        matches = []
        for iou, t, r in pairs:
            if iou < self.min_iou:
                break
            if t in used_tracks or r in used_results:
                continue
            used_tracks.add(t)
            used_results.add(r)
            matches.append((self._tracks[t], r))
        return matches

    def _face(self, track: _Track) -> TrackedFace:
        index = int(np.argmax(track.probabilities))
        confidence = float(track.probabilities[index])
        return TrackedFace(
            id=track.id,
            box=track.box,
            probabilities=tuple(float(p) for p in track.probabilities),
            label=NAMES[index],
            confidence=confidence,
            uncertain=confidence < self.threshold,
            missed=track.missed,
        )


def largest(faces: Sequence[TrackedFace]) -> TrackedFace | None:
    """The face nearest the camera (largest box), the one the probability panel follows."""
    return max(faces, key=lambda f: f.box.area, default=None)
