"""Image files to pixels: the one reader every photo, KDEF portrait and dataset image goes
through, refusing what could hang or exhaust the machine before OpenCV decodes it.

A pipe or device is never opened, and a header claiming more than MAX_PIXELS is refused before
the file is read whole; large JPEGs can be decoded reduced, since detection works on a reduced
copy anyway.
"""

from __future__ import annotations

import os
import stat
import struct
from pathlib import Path
from typing import IO

import cv2
import numpy as np

from emotion_desktop import MAX_IMAGE_PIXELS
from emotion_desktop.core.errors import ImageError

MAX_PIXELS = MAX_IMAGE_PIXELS  # larger images are refused rather than decoded into gigabytes
# The names every folder scan, the batch tab and the CLI take for images this module decodes.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
REDUCED_DECODES = (
    (8, cv2.IMREAD_REDUCED_GRAYSCALE_8),
    (4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
    (2, cv2.IMREAD_REDUCED_GRAYSCALE_2),
)


def is_image_file(path: Path | str) -> bool:
    """Whether ``path`` is named as an image this app decodes (by its suffix)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


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


def shrunk(
    image: np.ndarray, width: int, interpolation: int = cv2.INTER_AREA
) -> tuple[np.ndarray, float]:
    """``image`` at most ``width`` pixels wide (itself where it is no wider) and the factor
    its coordinates were multiplied by."""
    factor = min(1.0, width / image.shape[1])
    if factor == 1.0:
        return image, factor
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=interpolation), factor


def to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def is_blank(gray: np.ndarray, threshold: float = 8.0) -> bool:
    """True for placeholder images (all black or flat): KDEF's copy holds several."""
    return float(gray.std()) < threshold or float(gray.mean()) < 1.0
