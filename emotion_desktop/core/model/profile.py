"""A personal profile: what calibration learnt about one person's face, for one model.

People's faces differ more than a general model allows (one resting face reads as sad, another's
smile stays small). A profile holds a few small arrays that correct the model's output for one
person (:mod:`~emotion_desktop.core.model.calibrate` makes them); the network itself is never
changed. It records the model it was made with by the model file's SHA-256, so it is refused
for any other model instead of being applied silently to outputs it does not describe.

A profile file is JSON (no pickle): numbers in lists, checked for type, shape and finiteness
before anything is built from them, so a damaged or hostile file is one :class:`ProfileError`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType

import numpy as np

from emotion_desktop.core.emotions import INDEX_BY_NAME, NAMES, NUM_CLASSES
from emotion_desktop.core.errors import ProfileError
from emotion_desktop.core.files import atomic_write_text, read_json
from emotion_desktop.core.model.rows import softmax, unit_rows

KIND = "emotion_desktop.Profile"
FORMAT_VERSION = 1
SUFFIX = ".profile"
# The largest profile this app writes is a few kilobytes; anything far larger is not one.
MAX_PROFILE_BYTES = 2**20
MAX_NAME_CHARS = 80

METHOD = "layout-gated-affine"
# Profiles of the first method compared faces by the last hidden layer; they cannot be applied.
EARLIER_METHODS = ("gated-affine",)
# The widest layout a model of this app has: 512 numbers per network, 16 networks at most.
MAX_LAYOUT = 512 * 16


def _shapes(expressions: int) -> dict[str, tuple[int | None, ...]]:
    """The arrays of a "layout-gated-affine" profile (None: a size the model sets):

    - ``weight`` [7, 7], ``bias`` [7]: the person's scores, ``W @ log p + b``;
    - ``anchors`` [expressions, layout]: the unit mean layout (see
      :func:`~emotion_desktop.core.model.networks.probabilities_and_layout`) of the person's
      faces of each expression shown;
    - ``gate`` [2]: cosine similarities to the nearest anchor: below the first a face gets the
      model's own reading, from the second on the profile's; in between, a linear blend.
    """
    return {
        "weight": (NUM_CLASSES, NUM_CLASSES),
        "bias": (NUM_CLASSES,),
        "anchors": (expressions, None),
        "gate": (2,),
    }


def _checked_arrays(arrays: object, expressions: int) -> dict[str, np.ndarray]:
    """``arrays`` as read-only float32 arrays of the method's shapes; ProfileError otherwise."""
    shapes = _shapes(expressions)
    if not isinstance(arrays, Mapping) or set(arrays) != set(shapes):
        raise ProfileError(f"method {METHOD} needs the arrays {', '.join(shapes)}")
    checked = {}
    for key, shape in shapes.items():
        array = np.asarray(arrays[key])
        fits = array.ndim == len(shape) and all(
            want == have if want is not None else 1 <= have <= MAX_LAYOUT
            for want, have in zip(shape, array.shape)
        )
        if not fits or array.dtype.kind not in "fiu":
            size = " x ".join("layout" if n is None else str(n) for n in shape)
            raise ProfileError(f"its {key} is not {size} numbers")
        with np.errstate(over="ignore"):  # 1e300 is float32's inf: refused below
            checked[key] = _frozen(array)
        if not np.isfinite(checked[key]).all():
            raise ProfileError(f"its {key} holds values that are not numbers (NaN or inf)")
    low, high = checked["gate"]
    if not 0 <= low < high <= 1:
        raise ProfileError("its gate is not two rising similarities from 0 to 1")
    return checked


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float32)  # a copy: the caller's array stays theirs
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class Profile:
    """One person's calibration for one model (``model``: its file's SHA-256; ``model_name``:
    its file's stem when the profile was made, for messages). ``emotions``: the expressions
    the person showed, in ``NAMES`` order. Checked when made, so a Profile is always usable."""

    name: str
    model: str
    model_name: str
    emotions: tuple[str, ...]
    arrays: Mapping[str, np.ndarray]
    method: str = METHOD
    created: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat("T", "seconds")
    )

    def __post_init__(self) -> None:
        for key in ("name", "model", "model_name", "method", "created"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip() or len(value) > 200:
                raise ProfileError(f"its {key} is not a short text: {str(value)[:40]!r}")
        if len(self.name) > MAX_NAME_CHARS:
            raise ProfileError(f"its name is longer than {MAX_NAME_CHARS} characters")
        if self.method in EARLIER_METHODS:
            raise ProfileError("it was made by an earlier version of this app: calibrate again")
        if self.method != METHOD:
            raise ProfileError(f"its method {self.method[:40]!r} is not one this app knows")
        if not isinstance(self.emotions, tuple | list) or not self.emotions:
            raise ProfileError("it names no expression it was calibrated with")
        if any(e not in NAMES for e in self.emotions) or len(set(self.emotions)) != len(
            self.emotions
        ):
            raise ProfileError(f"its expressions are not among {', '.join(NAMES)}")
        ordered = tuple(n for n in NAMES if n in self.emotions)
        object.__setattr__(self, "emotions", ordered)
        arrays = _checked_arrays(self.arrays, len(ordered))
        object.__setattr__(self, "arrays", MappingProxyType(arrays))

    @property
    def layout_size(self) -> int:
        """The width of the layout its anchors come from: the model's."""
        return self.arrays["anchors"].shape[1]

    @property
    def corrects(self) -> bool:
        """False where calibration found nothing to correct (the model read every expression
        shown as shown, :func:`~emotion_desktop.core.model.calibrate.misread_expressions`):
        its map is then the identity and every reading stays the model's."""
        weight, bias = self.arrays["weight"], self.arrays["bias"]
        return not (np.array_equal(weight, np.eye(NUM_CLASSES)) and not bias.any())

    def probabilities(self, probabilities: np.ndarray, layout: np.ndarray) -> np.ndarray:
        """The model's probabilities [N, 7] and the layout [N, L] of N faces -> this person's
        probabilities (float32, rows summing to 1).

        The profile's reading counts as much as a face is laid out like the person's
        calibration faces (similarity to the nearest anchor, through the gate): a turned head,
        unlike the straight faces the profile learnt from, keeps the model's reading. And a
        face most like the person's own face of the expression the model reads keeps that
        reading. On KDEF's held-out people, the two, with a map fitted only where the model
        misread the person, left no one worse off, on straight faces or turned ones, read as
        Live or as Batch reads them."""
        scores = np.log(np.clip(probabilities, 1e-12, None)) @ self.arrays["weight"].T
        personal = softmax(scores + self.arrays["bias"])
        similarity = unit_rows(layout) @ self.arrays["anchors"].T
        low, high = (float(g) for g in self.arrays["gate"])
        share = np.clip((similarity.max(axis=1, keepdims=True) - low) / (high - low), 0, 1)
        blended = (1 - share) * probabilities + share * personal
        read = probabilities.argmax(axis=1)
        shown = np.array([INDEX_BY_NAME[e] for e in self.emotions])
        kept = (shown[similarity.argmax(axis=1)] == read) & (blended.argmax(axis=1) != read)
        blended[kept] = probabilities[kept]
        return blended.astype(np.float32)


_fingerprints: dict[tuple[Path, int, int], str] = {}
_fingerprints_lock = threading.Lock()


def model_fingerprint(path: Path) -> str:
    """The SHA-256 of a model file: the same for a renamed, moved or exported copy, different
    for a retrained or fine-tuned one. Kept per (file, time, size): hashing 20 MB takes ~50 ms,
    too long to repeat for every check."""
    path = Path(path)
    stat = path.stat()
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size)
    with _fingerprints_lock:
        known = _fingerprints.get(key)
    if known is not None:
        return known
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(2**20):
            digest.update(chunk)
    with _fingerprints_lock:
        _fingerprints[key] = digest.hexdigest()
    return digest.hexdigest()


def check_profile(profile: Profile, model: Path) -> None:
    """ProfileError, naming both models, unless ``profile`` was made with the model at
    ``model``: its corrections describe that model's outputs and no other's."""
    if model_fingerprint(model) != profile.model:
        raise ProfileError(
            f"profile {profile.name} was made with the model {profile.model_name}, not with "
            f"{Path(model).stem}: make a profile with {Path(model).stem}, or use "
            f"{profile.model_name}"
        )


def profile_to_dict(profile: Profile) -> dict:
    return {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "name": profile.name,
        "model": {"sha256": profile.model, "name": profile.model_name},
        "emotions": list(profile.emotions),
        "method": profile.method,
        "created": profile.created,
        # six significant digits: a float32's full repr would triple the file for nothing
        "arrays": {
            k: np.char.mod("%.6g", v).astype(float).tolist() for k, v in profile.arrays.items()
        },
    }


def write_profile(profile: Profile, path: Path) -> None:
    """Write ``profile`` to ``path`` atomically (a crash never leaves half a profile)."""
    atomic_write_text(Path(path), json.dumps(profile_to_dict(profile), indent=1) + "\n")


def read_profile(path: Path) -> Profile:
    """The profile in the file at ``path``; ProfileError, saying why, for anything that is not
    a profile this app wrote: a missing, special or huge file, JSON of another shape, numbers
    that are not finite, arrays of the wrong size. Nothing is built from a file that fails."""
    path = Path(path)
    try:
        data = read_json(path, MAX_PROFILE_BYTES)
    except OSError as exc:
        raise ProfileError(f"cannot read the profile {path}: {exc.strerror or exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path} is not a profile (not JSON): {_first_line(exc)}") from exc
    try:
        return _from_dict(data)
    except ProfileError as exc:
        raise ProfileError(f"{path} is not a usable profile: {exc}") from exc


def _from_dict(data: object) -> Profile:
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise ProfileError(f"no '{KIND}' header")
    if data.get("format_version") != FORMAT_VERSION:
        raise ProfileError(
            f"format version {str(data.get('format_version'))[:20]}; this app reads "
            f"version {FORMAT_VERSION}"
        )
    model, arrays, emotions = data.get("model"), data.get("arrays"), data.get("emotions")
    if not isinstance(model, dict) or not isinstance(arrays, dict):
        raise ProfileError("its model or arrays are missing")
    if not isinstance(emotions, list) or not all(isinstance(e, str) for e in emotions):
        raise ProfileError("its expressions are not a list of names")
    return Profile(
        name=data.get("name"),  # type: ignore[arg-type]  # Profile checks every field
        model=model.get("sha256"),
        model_name=model.get("name"),
        emotions=tuple(emotions),
        arrays={str(k): _array(k, v) for k, v in arrays.items()},
        method=data.get("method"),  # type: ignore[arg-type]
        created=data.get("created"),  # type: ignore[arg-type]
    )


def _array(key: str, value: object) -> np.ndarray:
    """A list (of lists) of finite numbers as float32; ProfileError for anything else (text,
    booleans, None, ragged lists). Nesting is bounded by the JSON parser and by the shape
    check that follows; sizes by the file's cap."""
    rows = value if isinstance(value, list) else [value]
    flat = [x for row in rows for x in (row if isinstance(row, list) else [row])]
    if any(isinstance(x, bool) or not isinstance(x, int | float) for x in flat):
        raise ProfileError(f"its {key} holds something other than numbers")
    if not all(abs(x) < 1e30 for x in flat):  # NaN fails too; 10**400 has no float
        raise ProfileError(f"its {key} holds values that are not numbers (NaN or inf)")
    try:
        return np.array(value, dtype=np.float32)
    except ValueError as exc:  # ragged
        raise ProfileError(f"its {key} is not a table of numbers") from exc


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
