"""Predictor: a checkpoint in, emotion probabilities out, for crops, grey frames or image files."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from emotion_desktop.core.data.dataset import crop_whole, is_face_crop, to_tensor
from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.errors import ProfileError
from emotion_desktop.core.model.checkpoints import LoadedModel, load_model
from emotion_desktop.core.model.networks import layout_size, probabilities_and_layout
from emotion_desktop.core.model.profile import Profile, check_profile
from emotion_desktop.core.vision.faces import (
    MIN_DETECT_SIDE,
    Box,
    FaceDetector,
    crop_face,
    whole_image_box,
)
from emotion_desktop.core.vision.images import read_image, to_gray


@dataclass(frozen=True)
class FaceResult:
    """One face: where it is and the probability of each emotion, in ``NAMES`` order."""

    box: Box
    probabilities: tuple[float, ...]

    @property
    def index(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def label(self) -> str:
        return NAMES[self.index]

    @property
    def confidence(self) -> float:
        return float(max(self.probabilities))


class Predictor:
    """Runs a trained classifier on face crops prepared with the checkpoint's own crop settings.

    ``flip`` averages each face with its mirror image: the test-time augmentation the model
    card's figures were measured with, at twice the (small) classifier cost. ``profile``: one
    person's calibration (:meth:`with_profile`), applied to every face classified.
    """

    profile: Profile | None = None

    def __init__(
        self, loaded: LoadedModel, detector: FaceDetector | None = None, flip: bool = True
    ) -> None:
        self.model = loaded.model.eval()
        self.crop = loaded.crop
        self.card = loaded.card
        self.path = loaded.path
        self.detector = detector or FaceDetector()
        self.flip = flip

    @classmethod
    def from_checkpoint(cls, path: Path, detector: FaceDetector | None = None) -> Predictor:
        return cls(load_model(path), detector)

    def with_detector(self, detector: FaceDetector, flip: bool) -> Predictor:
        """This network with another detector and mirror setting, without loading it again:
        video analysis runs Live's faster settings on the model a Batch run loaded."""
        twin = copy.copy(self)
        twin.detector, twin.flip = detector, flip
        return twin

    def with_profile(self, profile: Profile | None) -> Predictor:
        """This network with a person's profile (None: none), without loading it again: Live,
        Batch and video analysis all classify through :meth:`predict`, which applies it.
        ProfileError where the profile was made with another model."""
        if profile is not None:
            check_profile(profile, self.path)
            if profile.layout_size != layout_size(self.model):
                raise ProfileError(
                    f"profile {profile.name} does not fit {self.path.stem}'s network (damaged?)"
                )
        twin = copy.copy(self)
        twin.profile = profile
        return twin

    @property
    def profile_name(self) -> str:
        """The profile's name, for the rows it labels; empty without one."""
        return "" if self.profile is None else self.profile.name

    @torch.inference_mode()
    def predict(self, crops: np.ndarray) -> np.ndarray:
        """uint8 crops [N, S, S] -> probabilities [N, 7] (float32)."""
        if len(crops) == 0:
            return np.zeros((0, len(NAMES)), np.float32)
        if self.profile is None:
            return self.model.probabilities(to_tensor(crops), mirrored=self.flip).numpy()
        probabilities, layout = probabilities_and_layout(
            self.model, to_tensor(crops), mirrored=self.flip
        )
        return self.profile.probabilities(probabilities.numpy(), layout.numpy())

    def predict_boxes(self, gray: np.ndarray, boxes: list[Box]) -> list[FaceResult]:
        """Classify given face boxes (Haar's, with the model's margin) of one grey image in a
        single batch."""
        return self._results(boxes, [crop_face(gray, b, self.crop) for b in boxes])

    def _results(self, boxes: list[Box], crops: list[np.ndarray]) -> list[FaceResult]:
        if not boxes:
            return []
        return [
            FaceResult(b, tuple(float(p) for p in row))
            for b, row in zip(boxes, self.predict(np.stack(crops)))
        ]

    def frame(
        self, gray: np.ndarray, whole_image: bool = False, detector: FaceDetector | None = None
    ) -> tuple[list[Box], list[np.ndarray]]:
        """The faces of a grey photo, largest first, and their crops, framed as training framed
        its photos (:func:`~emotion_desktop.core.data.dataset.prepare_face`): the faces the detector
        (this predictor's, or a thread's own) finds, with the model's margin; else, where
        ``whole_image`` (folders of pre-cropped faces), the image itself with no margin added;
        else none. An image no larger than a face crop is not searched, and one smaller than
        the cascades' window holds no face at all: a 1x1 image got an emotion."""
        if min(gray.shape) < MIN_DETECT_SIDE:
            return [], []
        boxes = [] if is_face_crop(gray) else (detector or self.detector).detect(gray)
        if boxes:
            return boxes, [crop_face(gray, b, self.crop) for b in boxes]
        if whole_image:
            return [whole_image_box(gray)], [crop_whole(gray, self.crop)]
        return [], []

    def predict_gray(self, gray: np.ndarray, whole_image: bool = False) -> list[FaceResult]:
        """Every face in a grey photo, largest first (see :meth:`frame`)."""
        return self._results(*self.frame(gray, whole_image))

    def predict_image(self, path: Path | str, whole_image: bool = False) -> list[FaceResult]:
        return self.predict_gray(to_gray(read_image(path)), whole_image)
