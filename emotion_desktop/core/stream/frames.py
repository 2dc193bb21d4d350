"""One frame in, tracked faces out: the step that Live runs on the newest camera frame and
video analysis runs on every sampled frame of a file, so both give the same faces and labels.

Grey, detect (every k-th frame; the frames between reuse the tracked boxes), classify, track.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import cv2
import numpy as np

from emotion_desktop.core.model.checkpoints import LoadedModel
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.stream.tracking import FaceTracker, TrackedFace
from emotion_desktop.core.vision.faces import Box, FaceDetector
from emotion_desktop.core.vision.images import shrunk, to_gray


@dataclass(frozen=True)
class LiveOptions:
    """Speed settings of the live pipeline, chosen for a webcam on two CPU cores.

    Detection is the expensive step, so it runs on every ``detect_every``-th frame and the
    frames between reuse the tracked boxes (a face moves little in 1/10 s). Webcam faces are
    large, so the detector works on a ``detect_width``-pixel image and ignores faces smaller
    than ``min_face`` of the frame height. ``flip`` (mirror averaging) is off: the temporal
    smoothing steadies the label for free, where the flip would double the classifier cost.
    A frame wider than ``work_width`` (a 1080p webcam) is shrunk to it before any other work:
    its faces are still far larger than the 48-pixel crops, and grey conversion, detection's
    own shrinking and the crops then cost what they cost at 640x360 (a 1080p step took 14 ms
    to classify against 5 ms). torch's thread count is ``core.runtime``'s, never set here.
    """

    detect_every: int = 3
    detect_width: int = 240
    min_face: float = 0.2
    flip: bool = False
    work_width: int = 640


def live_detector(options: LiveOptions) -> FaceDetector:
    """A face detector with Live's speed settings, for the one thread that will use it."""
    return FaceDetector(detect_width=options.detect_width, min_face=options.min_face)


def make_predictor(loaded: LoadedModel, options: LiveOptions) -> Predictor:
    """A predictor with its own face detector, to be built on the thread that will use it."""
    return Predictor(loaded, live_detector(options), flip=options.flip)


@dataclass(frozen=True)
class StepTimings:
    """Milliseconds spent on one frame; ``detect_ms`` is 0 on frames that reused boxes."""

    detect_ms: float
    classify_ms: float
    total_ms: float
    detected: bool


def work_gray(frame: np.ndarray, work_width: int | None) -> tuple[np.ndarray, float]:
    """``frame`` (BGR or grey) as the grey image the step works on, and the factor from the
    frame's pixels to its pixels: shrunk first, BGR and all, where wider than ``work_width``
    (None: never), because the bilinear resize of a 1080p frame costs less than its grey
    conversion at full size, which every later step would then pay for."""
    work, factor = shrunk(frame, work_width, cv2.INTER_LINEAR) if work_width else (frame, 1.0)
    return to_gray(work), factor


class LivePipeline:
    """One frame in, tracked faces and timings out: grey, detect (every k-th), classify, track."""

    def __init__(
        self,
        predictor: Predictor,
        tracker: FaceTracker | None = None,
        detect_every: int = 3,
        work_width: int | None = None,
    ) -> None:
        if detect_every < 1:
            raise ValueError("detect_every must be at least 1")
        self.predictor = predictor
        self.tracker = tracker or FaceTracker()
        self.detect_every = detect_every
        self.work_width = work_width  # None: every frame at its own size
        self._count = 0

    def detects(self, position: int) -> bool:
        """Whether the ``position``-th frame stepped (from 0) is one the detector searches."""
        return position % self.detect_every == 0

    def step(
        self, frame: np.ndarray, found: list[Box] | None = None
    ) -> tuple[tuple[TrackedFace, ...], StepTimings]:
        """``frame`` (BGR or grey) through the step; the faces' boxes are in its pixels.
        ``found``: the faces another thread's detector already found in it, on a frame that
        :meth:`detects` (video analysis detects a frame ahead on its reader thread, so
        detection and the network share the cores)."""
        start = time.perf_counter()
        gray, factor = work_gray(frame, self.work_width)
        detected = self.detects(self._count)
        self._count += 1
        if not detected:
            boxes = self.tracker.active_boxes()  # the tracker keeps the work image's pixels
        elif found is None:
            boxes = self.predictor.detector.detect(gray)
        else:
            boxes = [box.scaled(factor) for box in found]
        located = time.perf_counter()
        results = self.predictor.predict_boxes(gray, boxes)
        classified = time.perf_counter()
        faces = self.tracker.update(results)
        if factor != 1.0:
            faces = tuple(replace(face, box=face.box.scaled(1 / factor)) for face in faces)
        end = time.perf_counter()
        return faces, StepTimings(
            detect_ms=(located - start) * 1000 if detected else 0.0,
            classify_ms=(classified - located) * 1000,
            total_ms=(end - start) * 1000,
            detected=detected,
        )


def live_pipeline(predictor: Predictor, options: LiveOptions) -> LivePipeline:
    """The per-frame step with Live's settings, around ``predictor``."""
    return LivePipeline(predictor, None, options.detect_every, options.work_width)
