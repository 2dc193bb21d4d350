"""Face detection with OpenCV's Haar cascades and the crop every model input goes through.

One crop function serves training, the live camera and batch labelling, and its settings are
stored in each checkpoint, so a model always sees faces prepared the way it was trained on.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from emotion_desktop.core.vision.images import shrunk

MIN_DETECT_SIDE = 24  # the Haar cascades' window: nothing smaller can hold a face
MIN_FACE = 0.12  # the smallest face a photo search finds, as a fraction of the shorter side
MAX_PADDED_SIDE = 4096  # a padded crop square larger than this is shrunk before it is padded


@dataclass(frozen=True)
class Box:
    """A face rectangle in pixel coordinates of the image it was found in."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h

    def scaled(self, factor: float) -> Box:
        return Box(*(round(v * factor) for v in (self.x, self.y, self.w, self.h)))

    def iou(self, other: Box) -> float:
        ix = max(0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union else 0.0


EQUALIZE_MODES = ("clahe", "global", "none")
STUDIO_FRAMINGS = ("head", "profile")
# What a model file, card or saved settings from before CropSettings.studio meant by leaving it
# out: its KDEF faces were found with the profile cascade.
BEFORE_STUDIO = {"studio": "profile"}


@dataclass(frozen=True)
class CropSettings:
    """How a face box becomes a model input: margin, square size, contrast equalisation, and
    how a studio portrait's face is found (see :func:`locate_studio_face`).

    ``equalize`` is ``"clahe"`` (local, robust to uneven webcam light), ``"global"``
    (``cv2.equalizeHist``) or ``"none"``. ``studio`` is ``"head"`` or ``"profile"``, the
    framing of models saved before this setting existed.
    """

    size: int = 48
    margin: float = 0.1
    equalize: str = "clahe"
    studio: str = "head"

    def to_dict(self) -> dict:
        return asdict(self)


def cascade_path(name: str) -> Path:
    """A Haar cascade file, from the PyInstaller bundle when frozen, else from opencv-python."""
    bundled = Path(getattr(sys, "_MEIPASS", "")) / "cv2" / "data" / name
    if bundled.is_file():
        return bundled
    return Path(cv2.data.haarcascades) / name


def load_cascade(name: str) -> cv2.CascadeClassifier:
    classifier = cv2.CascadeClassifier(str(cascade_path(name)))
    if classifier.empty():
        raise RuntimeError(f"OpenCV could not load the Haar cascade {name}")
    return classifier


class FaceDetector:
    """Frontal Haar cascade on a downscaled grey image, boxes returned at full resolution.

    Downscaling to ``detect_width`` pixels is where the speed comes from: the cascade's cost grows
    with the pixel count, and webcam faces are large. ``min_face`` is the smallest face side as a
    fraction of the image's shorter side. Each detector owns its cascades (OpenCV's are not
    safe to share between threads), so give each worker thread its own detector.
    """

    def __init__(
        self,
        detect_width: int = 320,
        min_face: float = MIN_FACE,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
    ) -> None:
        self.detect_width = detect_width
        self.min_face = min_face
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.frontal = load_cascade("haarcascade_frontalface_default.xml")
        self._profile: cv2.CascadeClassifier | None = None

    def clone(self) -> FaceDetector:
        """A detector with the same settings and its own cascades, for another thread."""
        return FaceDetector(self.detect_width, self.min_face, self.scale_factor, self.min_neighbors)

    @property
    def profile(self) -> cv2.CascadeClassifier:
        if self._profile is None:
            self._profile = load_cascade("haarcascade_profileface.xml")
        return self._profile

    def downscaled(self, gray: np.ndarray) -> tuple[np.ndarray, float] | None:
        """``gray`` at most ``detect_width`` wide and the factor used; None where the copy
        would be smaller than the cascades' 24-pixel window (a 700x1 strip holds no face)."""
        factor = min(1.0, self.detect_width / gray.shape[1])
        if min(gray.shape[:2]) * factor < MIN_DETECT_SIDE:
            return None
        return shrunk(gray, self.detect_width)

    def detect_profile(self, gray: np.ndarray) -> tuple[Box, str] | None:
        """The largest profile face in ``gray`` and ``profile`` or ``profile-mirrored`` (the
        cascade only knows faces turned one way, so the mirror image is searched too)."""
        scaled = self.downscaled(gray)
        if scaled is None:
            return None
        small, factor = scaled
        side = max(20, round(min(small.shape) * 0.25))
        for how, image in (("profile", small), ("profile-mirrored", cv2.flip(small, 1))):
            found = self.profile.detectMultiScale(image, 1.1, 3, minSize=(side, side))
            if len(found):
                x, y, w, h = max(found, key=lambda b: b[2] * b[3])
                if how == "profile-mirrored":
                    x = image.shape[1] - x - w
                return Box(int(x), int(y), int(w), int(h)).scaled(1 / factor), how
        return None

    def detect(self, gray: np.ndarray) -> list[Box]:
        """Faces in ``gray``, largest first."""
        scaled = self.downscaled(gray)
        if scaled is None:
            return []
        small, factor = scaled
        side = max(20, round(min(small.shape) * self.min_face))
        found = self.frontal.detectMultiScale(
            small, self.scale_factor, self.min_neighbors, minSize=(side, side)
        )
        boxes = [Box(*map(int, b)).scaled(1 / factor) for b in found]
        return sorted(boxes, key=lambda b: b.area, reverse=True)


def locate_studio_face(
    gray: np.ndarray, detector: FaceDetector, framing: str = "head"
) -> tuple[Box, str]:
    """Find the one face of a KDEF-style studio photo, whatever its angle.

    Takes the frontal cascade's face, else a fixed square where KDEF places the head
    (``framing="head"``). ``"profile"`` tries :meth:`FaceDetector.detect_profile` before that
    square: it finds about half of KDEF's full profiles, each framed its own way (the front of
    the face, an ear, a cheek), and a model trained on such crops reads full profiles worse than
    one that sees every unfound face as the same whole head. Returns the box and the path it
    took: ``frontal``, ``profile``, ``profile-mirrored`` or ``centre``.
    """
    boxes = detector.detect(gray)
    if boxes:
        return boxes[0], "frontal"
    if framing == "profile" and (profile := detector.detect_profile(gray)):
        return profile
    # KDEF centres the head; a full profile's face sits at one side of it, so the square
    # takes most of the width rather than guessing the side.
    height, width = gray.shape
    w = round(width * 0.85)
    return Box((width - w) // 2, round(height * 0.45 - w / 2), w, w), "centre"


def crop_face(gray: np.ndarray, box: Box, settings: CropSettings) -> np.ndarray:
    """Square crop around ``box`` with a margin, padded at the borders, resized, equalised."""
    side = round(max(box.w, box.h) * (1 + 2 * settings.margin))
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    pad = max(0, -x0, -y0, x0 + side - gray.shape[1], y0 + side - gray.shape[0])
    if pad and side > MAX_PADDED_SIDE:
        return _crop_shrunk(gray, x0, y0, side, settings)
    if pad:
        gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x0, y0 = x0 + pad, y0 + pad
    face = gray[y0 : y0 + side, x0 : x0 + side]
    face = cv2.resize(face, (settings.size, settings.size), interpolation=cv2.INTER_AREA)
    return equalise(face, settings.equalize)


def _crop_shrunk(
    gray: np.ndarray, x0: int, y0: int, side: int, settings: CropSettings
) -> np.ndarray:
    """``crop_face`` for a square far larger than the image (a whole 1 x 60,000 strip): the
    part inside the image is shrunk first and padded after, so the square is never allocated
    at full size (gigabytes for such a strip)."""
    height, width = gray.shape
    left, top = max(0, x0), max(0, y0)
    right, bottom = min(width, x0 + side), min(height, y0 + side)
    scale = MAX_PADDED_SIDE / side
    inside = cv2.resize(
        gray[top:bottom, left:right],
        (max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale))),
        interpolation=cv2.INTER_AREA,
    )
    small = MAX_PADDED_SIDE
    pad_top, pad_left = round((top - y0) * scale), round((left - x0) * scale)
    face = cv2.copyMakeBorder(
        inside,
        pad_top,
        max(0, small - pad_top - inside.shape[0]),
        pad_left,
        max(0, small - pad_left - inside.shape[1]),
        cv2.BORDER_REPLICATE,
    )
    face = cv2.resize(face, (settings.size, settings.size), interpolation=cv2.INTER_AREA)
    return equalise(face, settings.equalize)


def equalise(face: np.ndarray, method: str) -> np.ndarray:
    if method == "clahe":
        return _clahe().apply(face)
    if method == "global":
        return cv2.equalizeHist(face)
    if method == "none":
        return face
    raise ValueError(f"unknown equalisation {method!r}")


_per_thread = threading.local()


def _clahe() -> cv2.CLAHE:
    """This thread's CLAHE: OpenCV's keeps state while it runs, so two threads sharing one
    (Live beside Batch, or beside training's face preparation) corrupt each other's crops."""
    clahe = getattr(_per_thread, "clahe", None)
    if clahe is None:
        clahe = _per_thread.clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
    return clahe


def whole_image_box(gray: np.ndarray) -> Box:
    """The image itself as one face, for folders of pre-cropped faces."""
    return Box(0, 0, gray.shape[1], gray.shape[0])
