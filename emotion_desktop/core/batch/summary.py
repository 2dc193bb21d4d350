"""What a video's rows say per face: how long each face was seen, its emotions over the
frames, and the arrays a timeline plots. Built from the rows a run gave (``LabelRow`` with
``frame`` and ``time``) and the video's final :class:`VideoProgress`; no frame is read again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion_desktop.core.batch.results import LabelRow
from emotion_desktop.core.batch.video import VideoProgress
from emotion_desktop.core.emotions import EMOTIONS


@dataclass(frozen=True)
class FaceSummary:
    """One face id through a video: ``frames`` it was seen in, the share of those frames per
    emotion (its top label, in EMOTIONS order), its mean probabilities, and when it was first
    and last seen (seconds; None where the video gives no frame times)."""

    face: int
    frames: int
    shares: tuple[float, ...]
    mean: tuple[float, ...]
    first: float | None
    last: float | None

    @property
    def top(self) -> int:
        """The emotion (its index) the face shows in most of its frames."""
        return int(np.argmax(self.shares))


@dataclass(frozen=True)
class VideoSummary:
    """A video's faces, and its frames: ``analysed`` through the model, ``faceless`` of them
    without a face (None where no final progress was given, e.g. a run cancelled mid-video)."""

    file: Path
    faces: tuple[FaceSummary, ...]
    analysed: int | None = None
    faceless: int | None = None
    read: int | None = None
    total: int | None = None


def summarise(
    file: Path, rows: Iterable[LabelRow], progress: VideoProgress | None = None
) -> VideoSummary:
    """The per-face summary of the video ``file`` from its ``rows`` (rows of other files are
    left out) and its final ``progress``."""
    by_face: dict[int, list[LabelRow]] = {}
    for row in rows:
        if row.file == file:
            by_face.setdefault(row.face, []).append(row)
    faces = tuple(_face_summary(face, by_face[face]) for face in sorted(by_face))
    if progress is None:
        return VideoSummary(file, faces)
    return VideoSummary(
        file, faces, progress.analysed, progress.faceless, progress.read, progress.total
    )


def _face_summary(face: int, rows: Sequence[LabelRow]) -> FaceSummary:
    probabilities = np.array([r.result.probabilities for r in rows], dtype=np.float64)
    tops = np.bincount([r.result.index for r in rows], minlength=len(EMOTIONS))
    times = [r.time for r in rows if r.time is not None]
    frames = len({r.frame for r in rows})
    return FaceSummary(
        face,
        frames,
        tuple(float(t) for t in tops / len(rows)),
        tuple(float(m) for m in probabilities.mean(axis=0)),
        min(times) if times else None,
        max(times) if times else None,
    )


def face_timeline(file: Path, rows: Iterable[LabelRow], face: int) -> tuple[np.ndarray, np.ndarray]:
    """The times (seconds, or frame indices where the video gives no times) of the frames
    ``face`` was seen in, in order, and its probabilities there: shape (frames, emotions)."""
    picked = sorted(
        (r for r in rows if r.file == file and r.face == face), key=lambda r: r.frame or 0
    )
    use_time = all(r.time is not None for r in picked)
    x = np.array([r.time if use_time else r.frame for r in picked], dtype=np.float64)
    y = np.array([r.result.probabilities for r in picked], dtype=np.float64)
    return x, y.reshape(len(picked), len(EMOTIONS))
