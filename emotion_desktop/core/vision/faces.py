"""Face detection with OpenCV's Haar cascades and the crop every model input goes through.

One crop function serves training, the live camera and batch labelling, and its settings are
stored in each checkpoint, so a model always sees faces prepared the way it was trained on.
"""

from __future__ import annotations

import os
import stat
import struct
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

import cv2
import numpy as np

from emotion_desktop import MAX_IMAGE_PIXELS
from emotion_desktop.core.errors import ImageError

MAX_PIXELS = MAX_IMAGE_PIXELS  # larger images are refused rather than decoded into gigabytes
MIN_DETECT_SIDE = 24  # the Haar cascades' window: nothing smaller can hold a face
MIN_FACE = 0.12  # the smallest face a photo search finds, as a fraction of the shorter side
MAX_PADDED_SIDE = 4096  # a padded crop square larger than this is shrunk before it is padded
REDUCED_DECODES = (
    (8, cv2.IMREAD_REDUCED_GRAYSCALE_8),
    (4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
    (2, cv2.IMREAD_REDUCED_GRAYSCALE_2),
)


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


def check_regular_file(path: Path) -> None:
    """ImageError unless ``path`` is a regular file: opening a named pipe blocks until someone
    writes to it, and a device can stream without end, so neither is ever opened."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise ImageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(mode):
        raise ImageError(f"{path} is a folder: give an image file")
    if not stat.S_ISREG(mode):
        raise ImageError(f"{path} is not a regular file (a pipe, device or socket)")


def read_image(path: Path | str) -> np.ndarray:
    """Decode an image file to a BGR array; ImageError for anything unreadable or too large."""
    path = Path(path)
    data, _ = _read_file(path)
    return _decode(data, cv2.IMREAD_COLOR, path, 1.0)


def _read_file(path: Path) -> tuple[np.ndarray, tuple[int, int] | None]:
    """An image file's bytes and its (width, height) where the header says (PNG, JPEG, BMP).

    ImageError for a file that is not regular, cannot be read or is empty, and for a header
    claiming more than MAX_PIXELS: that is checked before the rest of the file is read, and
    long before OpenCV would allocate the decoded pixels (gigabytes for a 30,000 x 30,000 scan).
    """
    check_regular_file(path)
    try:
        with open(path, "rb") as f:  # unlike cv2.imread, handles non-ASCII paths
            size = _header_size(f)
            if size is not None and size[0] * size[1] > MAX_PIXELS:
                raise ImageError(
                    f"{path} is {size[0]}x{size[1]}, more than {MAX_PIXELS:,} pixels; "
                    "downscale it first"
                )
            f.seek(0)
            data = np.fromfile(f, dtype=np.uint8)
    except OSError as exc:
        raise ImageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if data.size == 0:
        raise ImageError(f"{path} is empty")
    return data, size


def _decode(data: np.ndarray, flag: int, path: Path, factor: float) -> np.ndarray:
    """``cv2.imdecode`` with ImageError for what it refuses; ``factor`` is the reduction the
    flag asks for, so the pixel limit applies to the image's full size."""
    try:
        image = cv2.imdecode(data, flag)
    except cv2.error as exc:  # raised, rather than None returned, past OpenCV's pixel limit
        raise ImageError(f"{path} is too large or corrupt to decode") from exc
    if image is None:
        raise ImageError(f"{path} is not an image OpenCV can decode (corrupt or unsupported)")
    if image.shape[0] * image.shape[1] * factor**2 > MAX_PIXELS:
        raise ImageError(f"{path} has more than {MAX_PIXELS:,} pixels; downscale it first")
    return image


def _header_size(f: IO[bytes]) -> tuple[int, int] | None:
    """(width, height) from the header of a PNG, JPEG or BMP file open at its start; None for
    other formats or odd headers (OpenCV's own pixel limit covers those)."""
    try:
        head = f.read(26)
        if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
            return struct.unpack(">II", head[16:24])
        if head.startswith(b"BM") and len(head) >= 26:
            width, height = struct.unpack("<ii", head[18:26])
            return abs(width), abs(height)
        if head.startswith(b"\xff\xd8"):
            return _jpeg_size(f)
    except (OSError, struct.error):
        return None
    return None


def _jpeg_size(f: IO[bytes]) -> tuple[int, int] | None:
    """Walk the JPEG segments to the first start-of-frame marker, which holds the size."""
    f.seek(2)
    while True:
        marker = f.read(4)
        if len(marker) < 4 or marker[0] != 0xFF:
            return None
        kind, length = marker[1], struct.unpack(">H", marker[2:4])[0]
        if 0xC0 <= kind <= 0xCF and kind not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">xHH", f.read(5))
            return width, height
        f.seek(length - 2, os.SEEK_CUR)


def read_gray(path: Path | str, reduce_to: int = 0) -> tuple[np.ndarray, float]:
    """Decode an image file straight to grey, and the factor from its pixels to the file's.

    With ``reduce_to``, a JPEG at least twice that wide is decoded at 1/2, 1/4 or 1/8 of its
    size (the DCT does the scaling, several times faster than decoding all and resizing), as
    long as it stays ``reduce_to`` wide: face detection works on such a copy anyway. Boxes found
    in the result times the factor are boxes in the original. ImageError as ``read_image``.
    """
    path = Path(path)
    data, size = _read_file(path)
    flag, factor = cv2.IMREAD_GRAYSCALE, 1.0
    if reduce_to and size is not None and data[:2].tobytes() == b"\xff\xd8":
        for reduction, reduced in REDUCED_DECODES:
            if size[0] >= reduce_to * reduction:
                flag, factor = reduced, float(reduction)
                break
    return _decode(data, flag, path, factor), factor


def to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def is_blank(gray: np.ndarray, threshold: float = 8.0) -> bool:
    """True for placeholder images (all black or flat): KDEF's copy holds several."""
    return float(gray.std()) < threshold or float(gray.mean()) < 1.0


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
        if factor == 1.0:
            return gray, factor
        return cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA), factor

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
