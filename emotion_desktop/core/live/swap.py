"""Changing the model, or the person's profile, while Live runs: the worker asks between frames,
and loads a model only when the user has picked another one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emotion_desktop.core.errors import ProfileError
from emotion_desktop.core.live.loop import Mailbox
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.model.profile import Profile

LoadFn = Callable[[Path], Predictor]  # builds a predictor on the thread that calls it


class ModelSwap:
    """The predictor for the newest model path posted to ``paths``, for one run's worker.

    Built and called on the worker: :meth:`first` loads the model posted when the run began, and
    each call (``process_frames``' ``swap_predictor``) returns a predictor for a newly posted
    path, or None while the path is the one in use. The tab only posts paths.
    """

    def __init__(self, paths: Mailbox[Path], load: LoadFn) -> None:
        self._paths = paths
        self._load = load
        self.path = paths.read()

    def first(self) -> Predictor:
        return self._load(self.path)

    def __call__(self) -> Predictor | None:
        latest = self._paths.read()
        if latest == self.path:
            return None
        self.path = latest
        return self._load(latest)


@dataclass(frozen=True)
class ProfileRefused:
    """Reported by the worker when the profile posted does not fit the model it runs (made
    with another model, or damaged): it is left off, and the tab says so."""

    profile: str
    message: str


class ProfileSwap:
    """A :class:`ModelSwap` whose predictors apply the newest profile posted to ``profiles``
    (None: none), for one run's worker: a profile chosen or made while Live runs applies from
    the next frame, without loading the model again. ``predictor``: the one returned last.

    The tab checks a profile against the model file before posting it, and posts None before
    it posts another model; a profile the model in use still refuses (the moment between the
    two, or a network it does not fit) is left off rather than stopping the camera, and told
    to ``refused`` once.
    """

    def __init__(
        self,
        models: ModelSwap,
        profiles: Mailbox[Profile | None],
        refused: Callable[[ProfileRefused], None] = lambda refusal: None,
    ) -> None:
        self._models = models
        self._profiles = profiles
        self._refused = refused
        self.predictor: Predictor  # set by first(), which the worker calls before any frame
        self.profile = profiles.read()  # the one posted last, applied where it fits

    def first(self) -> Predictor:
        self.profile = self._profiles.read()
        return self._apply(self._models.first())

    def __call__(self) -> Predictor | None:
        """A predictor for a newly posted model or profile; None while both are in use."""
        base, profile = self._models(), self._profiles.read()
        if base is None and profile is self.profile:
            return None
        self.profile = profile
        return self._apply(base or self.predictor)

    def _apply(self, base: Predictor) -> Predictor:
        try:
            self.predictor = base.with_profile(self.profile)
        except ProfileError as exc:  # left off, and not tried again every frame
            self.predictor = base.with_profile(None)
            if self.profile is not None:
                self._refused(ProfileRefused(self.profile.name, str(exc)))
        return self.predictor
