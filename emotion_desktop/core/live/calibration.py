"""Live's guided calibration without Qt: the expressions in turn, a steady face, a burst of its
crops, skip and redo.

The Live worker holds the frames, so it makes the crops: while a calibration runs,
:func:`with_calibration` follows each result it reports with a :class:`CalibrationFrame`, the
largest tracked face's crop framed as the model frames it (:meth:`Predictor.frame`'s
``crop_face``). The GUI thread feeds those to a :class:`CalibrationSession`, which names an
expression, gives the person time to make it, waits until the face holds still and keeps a
short burst of its crops. Time is the frames' own capture time: the session moves only while
frames come, so a paused camera pauses it, and a test can feed it frames of any timing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from emotion_desktop.core.emotions import NAMES
from emotion_desktop.core.live.loop import LiveResult, Mailbox, ReportFn
from emotion_desktop.core.live.swap import ModelSwap, ProfileSwap
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.model.profile import Profile
from emotion_desktop.core.stream.frames import work_gray
from emotion_desktop.core.stream.tracking import largest
from emotion_desktop.core.vision.faces import Box, crop_face

# Neutral first: the easiest face to hold, and the one a quick calibration takes alone.
FULL = ("neutral", "happy", "sad", "surprised", "angry", "disgusted", "afraid")
QUICK = ("neutral",)


@dataclass(frozen=True)
class CalibrationTimings:
    """How the session paces a person. ``ready_s``: time to make the named expression before
    the app looks for it; ``steady_s``: how long the face must hold still, moving less than
    ``tolerance`` of its width, before the burst; ``burst_s``: the burst; a burst with fewer
    than ``min_crops`` faces (the face was lost most of the time) is taken again."""

    ready_s: float = 2.0
    steady_s: float = 0.6
    burst_s: float = 2.0
    tolerance: float = 0.12
    min_crops: int = 5


@dataclass(frozen=True, eq=False)  # eq=False: comparing crops pixel by pixel is never meant
class CalibrationFrame:
    """One processed frame as the calibration sees it: its capture time and the largest face
    seen in it (id, box and read-only uint8 crop), or none (``box`` None)."""

    timestamp: float
    face_id: int = 0
    box: Box | None = None
    crop: np.ndarray | None = None


def calibration_frame(
    result: LiveResult, predictor: Predictor, work_width: int | None = None
) -> CalibrationFrame:
    """The largest face seen in ``result`` (not one kept through a missed frame), cropped with
    ``predictor``'s crop settings from the image the step classified it in (its frame, shrunk
    to ``work_width`` as the step shrinks it), so the profile learns the crops Live classifies."""
    face = largest([f for f in result.faces if not f.missed])
    if face is None:
        return CalibrationFrame(result.frame.timestamp)
    gray, factor = work_gray(result.frame.image, work_width)
    crop = crop_face(gray, face.box.scaled(factor), predictor.crop)
    crop.flags.writeable = False  # a payload between threads: nobody changes it
    return CalibrationFrame(result.frame.timestamp, face.id, face.box, crop)


def with_calibration(
    report: ReportFn,
    predictor: Callable[[], Predictor],
    capturing: Mailbox[bool],
    work_width: int | None = None,
) -> ReportFn:
    """``report`` for the Live worker that, while ``capturing`` holds True, follows each
    :class:`LiveResult` with its :class:`CalibrationFrame`, cropped with ``predictor()``'s
    settings (the one in use: after a model swap, the new model's)."""

    def reporting(payload: object) -> None:
        report(payload)
        if isinstance(payload, LiveResult) and capturing.read():
            report(calibration_frame(payload, predictor(), work_width))

    return reporting


@dataclass(frozen=True)
class ProfileLink:
    """What the Live worker reads for personal profiles, both posted by the tab: the profile
    to apply (None: none), and whether a calibration wants the largest face's crops."""

    profiles: Mailbox[Profile | None]
    capturing: Mailbox[bool]

    def attach(
        self, models: ModelSwap, report: ReportFn, work_width: int | None = None
    ) -> tuple[ProfileSwap, ReportFn]:
        """The worker's predictors (``models``' newest, with the newest profile; a profile
        the model refuses is reported, as a :class:`ProfileRefused`), and ``report``, followed
        by a crop for each result while a calibration runs."""
        swap = ProfileSwap(models, self.profiles, report)
        return swap, with_calibration(report, lambda: swap.predictor, self.capturing, work_width)


class Phase(Enum):
    READY = "ready"  # the expression is named; the person makes it
    STEADY = "steady"  # waiting for the face to hold still
    CAPTURING = "capturing"  # the burst
    FINISHED = "finished"  # every expression captured or skipped


class StepState(Enum):
    PENDING = "pending"
    CAPTURED = "captured"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Step:
    emotion: str
    state: StepState
    crops: int


@dataclass(frozen=True)
class CalibrationStatus:
    """What the panel shows: the phase, the expression asked for (None when finished), how
    far the phase is (0..1: the time to get ready, the stillness held, the burst taken), and
    every expression's step."""

    phase: Phase
    emotion: str | None
    progress: float
    steps: tuple[Step, ...]

    @property
    def captured(self) -> int:
        return sum(s.state is StepState.CAPTURED for s in self.steps)


def _near(a: Box, b: Box, tolerance: float) -> bool:
    """Whether two boxes of one face differ by less than ``tolerance`` of its width, in
    centre and in size: a face that holds still, within the detector's jitter."""
    allowed = tolerance * max(a.w, b.w)
    ax, ay, bx, by = a.x + a.w / 2, a.y + a.h / 2, b.x + b.w / 2, b.y + b.h / 2
    return abs(ax - bx) <= allowed and abs(ay - by) <= allowed and abs(a.w - b.w) <= allowed


class CalibrationSession:
    """The guided capture of ``emotions`` (in that order), one at a time, fed the worker's
    :class:`CalibrationFrame`\\ s. :meth:`skip` passes over the expression asked for,
    :meth:`redo` asks again for one captured or skipped; after either, the session goes on
    with the first expression still to do. Owned by one thread (the GUI's)."""

    def __init__(
        self, emotions: Sequence[str] = FULL, timings: CalibrationTimings | None = None
    ) -> None:
        emotions = tuple(emotions)
        if not emotions or len(set(emotions)) != len(emotions) or set(emotions) - set(NAMES):
            raise ValueError(f"expressions must be distinct names among {', '.join(NAMES)}")
        self.emotions = emotions
        self.timings = timings or CalibrationTimings()
        self._crops: dict[str, list[np.ndarray]] = {}
        self._skipped: set[str] = set()
        self._still: deque[tuple[float, int, Box]] = deque()
        self._burst: list[np.ndarray] = []
        self._face = 0
        self._last = 0.0
        self.current: str | None = emotions[0]
        self._begin(Phase.READY)

    # ---- what the user does ---------------------------------------------------------------

    def skip(self) -> None:
        """Pass over the expression asked for; its faces, if any were kept before, go."""
        if self.current is not None:
            self._crops.pop(self.current, None)
            self._skipped.add(self.current)
            self._next()

    def redo(self, emotion: str) -> None:
        """Ask for ``emotion`` again now, forgetting its burst; the expression being taken
        stays to do and comes after it."""
        if emotion not in self.emotions:
            raise ValueError(f"{emotion!r} is not one of this calibration's expressions")
        self._crops.pop(emotion, None)
        self._skipped.discard(emotion)
        self.current = emotion
        self._begin(Phase.READY)

    def last_captured(self) -> str | None:
        """The expression captured most recently (the one a Redo takes again)."""
        return next(reversed(self._crops), None)

    # ---- frames --------------------------------------------------------------------------

    def feed(self, frame: CalibrationFrame) -> None:
        """Move the session on with one frame from the worker."""
        now = self._last = frame.timestamp
        if self.phase is Phase.FINISHED:
            return
        if self._since is None:  # a phase starts at the first frame it sees
            self._since = now
        if self.phase is Phase.READY:
            if now - self._since >= self.timings.ready_s:
                self._begin(Phase.STEADY)
                self._hold(frame)
        elif self.phase is Phase.STEADY:
            self._hold(frame)
        else:
            self._capture(frame)

    def _hold(self, frame: CalibrationFrame) -> None:
        """Wait for one face that stays within the tolerance for ``steady_s``, then capture."""
        if frame.box is None:
            self._still.clear()
            return
        tolerance = self.timings.tolerance
        if any(i != frame.face_id or not _near(b, frame.box, tolerance) for _, i, b in self._still):
            self._still.clear()
        self._still.append((frame.timestamp, frame.face_id, frame.box))
        if frame.timestamp - self._still[0][0] >= self.timings.steady_s:
            self._begin(Phase.CAPTURING, since=frame.timestamp)
            self._face = frame.face_id
            self._capture(frame)

    def _capture(self, frame: CalibrationFrame) -> None:
        """Keep the face's crops for ``burst_s``; another face becoming the largest starts the
        wait for a steady face again (its expression is not this person's)."""
        if frame.box is not None and frame.face_id != self._face:
            self._begin(Phase.STEADY)
            self._hold(frame)
            return
        if frame.crop is not None:
            self._burst.append(frame.crop)
        if frame.timestamp - self._since < self.timings.burst_s:
            return
        if len(self._burst) < self.timings.min_crops:  # the face was lost most of the time
            self._begin(Phase.STEADY)
            return
        assert self.current is not None
        self._crops[self.current] = self._burst
        self._next()

    def _next(self) -> None:
        """On to the first expression neither captured nor skipped; finished when none is."""
        left = [e for e in self.emotions if e not in self._crops and e not in self._skipped]
        self.current = left[0] if left else None
        self._begin(Phase.READY if left else Phase.FINISHED)

    def _begin(self, phase: Phase, since: float | None = None) -> None:
        self.phase = phase
        self._since = since
        self._still.clear()
        self._burst = []

    # ---- what it shows and gives ---------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.phase is Phase.FINISHED

    def status(self) -> CalibrationStatus:
        elapsed = 0.0 if self._since is None else self._last - self._since
        if self.phase is Phase.READY:
            progress = elapsed / self.timings.ready_s
        elif self.phase is Phase.STEADY:
            held = self._still[-1][0] - self._still[0][0] if self._still else 0.0
            progress = held / self.timings.steady_s
        elif self.phase is Phase.CAPTURING:
            progress = elapsed / self.timings.burst_s
        else:
            progress = 1.0
        return CalibrationStatus(
            self.phase, self.current, min(max(progress, 0.0), 1.0), tuple(self._steps())
        )

    def _steps(self) -> list[Step]:
        steps = []
        for emotion in self.emotions:
            if emotion in self._crops:
                steps.append(Step(emotion, StepState.CAPTURED, len(self._crops[emotion])))
            else:
                state = StepState.SKIPPED if emotion in self._skipped else StepState.PENDING
                steps.append(Step(emotion, state, 0))
        return steps

    def crops(self) -> dict[str, list[np.ndarray]]:
        """The captured crops by expression (what :func:`make_profile` takes)."""
        return {e: list(c) for e, c in self._crops.items()}
