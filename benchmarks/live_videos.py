"""The videos and the training folder that benchmarks/live_window.py plays, made at run time
into a temporary folder (never committed): the shared video upscaled to 1920x1080, a video of
four faces from the shared photos, and KDEF-like photos made as the tests make them."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared/data"
VIDEO = SHARED / "video/WolfgangLanger_Pexels.mp4"
FACES = SHARED / "faces"
FOURCC = cv2.VideoWriter_fourcc(*"mp4v")
CELL = (320, 180)  # a 2x2 grid fills a 640x360 frame, the shared video's size


def upscaled(video: Path, out: Path, size: tuple[int, int] = (1920, 1080)) -> Path:
    """``video`` resized to ``size`` (a webcam's 1080p), every frame, same rate."""
    if out.is_file():
        return out
    source = cv2.VideoCapture(str(video))
    fps = source.get(cv2.CAP_PROP_FPS) or 24.0
    writer = cv2.VideoWriter(str(out), FOURCC, fps, size)
    while True:
        ok, frame = source.read()
        if not ok:
            break
        writer.write(cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR))
    source.release()
    writer.release()
    return out


def _face_tile(path: Path) -> np.ndarray | None:
    """A shared photo (a face filling it) as a square as high as a cell, where the frontal
    cascade finds exactly one face in it; else None."""
    image = cv2.imread(str(path))
    if image is None or image.shape[0] != image.shape[1]:
        return None
    tile = cv2.resize(image, (CELL[1], CELL[1]), interpolation=cv2.INTER_AREA)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    gray = cv2.cvtColor(tile, cv2.COLOR_BGR2GRAY)
    return tile if len(cascade.detectMultiScale(gray, 1.1, 5, minSize=(60, 60))) == 1 else None


def four_faces(out: Path, seconds: float = 20.0, fps: float = 24.0) -> Path:
    """640x360 frames holding four faces from the shared photos (four emotions), each drifting
    a few pixels so that the tracker follows moving faces, as in front of a webcam."""
    if out.is_file():
        return out
    tiles = []
    for folder in sorted(p for p in FACES.iterdir() if p.is_dir()):
        found = (_face_tile(path) for path in sorted(folder.glob("*")))
        tile = next((t for t in found if t is not None), None)
        if tile is not None:
            tiles.append(tile)
        if len(tiles) == 4:
            break
    if len(tiles) < 4:
        raise SystemExit(f"fewer than four usable face photos under {FACES}")
    writer = cv2.VideoWriter(str(out), FOURCC, fps, (2 * CELL[0], 2 * CELL[1]))
    for i in range(round(seconds * fps)):
        frame = np.full((2 * CELL[1], 2 * CELL[0], 3), 70, np.uint8)
        for k, tile in enumerate(tiles):
            drift = round(60 + 50 * math.sin(i / fps * 1.5 + k))  # pixels across its cell
            x0, y0 = (k % 2) * CELL[0] + drift, (k // 2) * CELL[1]
            frame[y0 : y0 + CELL[1], x0 : x0 + CELL[1]] = tile
        writer.write(frame)
    writer.release()
    return out


def kdef_like(root: Path, people: int) -> Path:
    """KDEF-named photos of ``people`` drawn actors, as the tests' ``kdef_folder`` makes them."""
    if root.is_dir():
        return root
    sys.path.insert(0, str(REPO))
    from tests.conftest import write_kdef_folder

    return write_kdef_folder(root, people=people)
