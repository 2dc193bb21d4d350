"""Making a personal profile from a few face crops per expression of one person.

The network is never changed. A profile is a per-person affine map of the model's seven
log-probabilities, fitted on the person's faces, and anchors in the layout of the network's
convolutions that say how much a face is like those the map was fitted on (see
``Profile.probabilities``).
Chosen among the issue's candidates on KDEF's held-out people (``benchmarks/calibration.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from emotion_desktop.core.data.dataset import prepare_face, to_tensor
from emotion_desktop.core.data.sources import is_labelled_folder, scan_labelled_folder
from emotion_desktop.core.emotions import INDEX_BY_NAME, NAMES, NUM_CLASSES
from emotion_desktop.core.errors import DatasetError, ImageError, ProfileError
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.model.networks import probabilities_and_layout
from emotion_desktop.core.model.profile import Profile, model_fingerprint
from emotion_desktop.core.model.rows import unit_rows

# The fit, chosen on the held-out people of KDEF person folds 0-2 (folds 3 and 4
# were kept unseen until they were; benchmarks/calibration.py gives every figure).
# PULL_WEIGHT and PULL_BIAS: how strongly W stays near I and b near 0, times
# (7 / expressions shown)^2, so a profile of fewer expressions moves the model less (neutral
# alone: 49 times less freely). SMOOTHING: the margin loss's softness.
PULL_WEIGHT = 0.3
PULL_BIAS = 0.1
SMOOTHING = 2.0
FIT_STEPS = 200
# A 2-second burst's frames are near copies of each other: ten spread over it tell the fit as
# much as all of them, and the network's pass over the crops is what a profile's time is spent on.
MAX_CROPS_PER_EXPRESSION = 10
# Similarities (cosine, layout) to the nearest anchor below which the profile is not applied and
# from which it is applied whole. On KDEF's held-out people, 94.5% of the session-B straight
# faces sit at 0.85 or more, 86% of the half profiles and every full profile below 0.75; on the
# shared video, the lowest frames are a bent head and a face unlike any anchor. Chosen after
# all five folds had been seen (README, Personal calibration).
GATE = (0.75, 0.85)


def make_profile(
    predictor: Predictor, crops_by_emotion: dict[str, list[np.ndarray]], name: str
) -> Profile:
    """A profile named ``name`` for ``predictor``'s model from the person's face crops (uint8
    [S, S], as :meth:`Predictor.frame` makes them) of any subset of the seven expressions;
    ProfileError where no crop is given or an expression is not one of the seven."""
    unknown = [e for e in crops_by_emotion if e not in INDEX_BY_NAME]
    if unknown:
        raise ProfileError(f"{unknown[0]!r} is not one of the expressions {', '.join(NAMES)}")
    shown = {e: _spread(list(c)) for e, c in crops_by_emotion.items() if len(c)}
    if not shown:
        raise ProfileError("no face was given for any expression: nothing to calibrate with")
    crops = np.stack([c for burst in shown.values() for c in burst])  # one network pass
    labels = np.array([INDEX_BY_NAME[e] for e, burst in shown.items() for _ in burst])
    # always with the mirrored average, whatever ``predictor`` classifies with: Live (no mirror)
    # and Batch (mirror) apply one profile, and one made without it lost Batch 1.4 points and
    # made 4 of KDEF's 70 held-out people worse instead of 1; made with it, Live loses 0.6
    probabilities, layout = probabilities_and_layout(
        predictor.model, to_tensor(crops), mirrored=True
    )
    probabilities = probabilities.numpy()
    if misread_expressions(probabilities, labels):
        weight, bias = fit_affine(np.log(np.clip(probabilities, 1e-12, None)), labels)
    else:
        weight, bias = np.eye(NUM_CLASSES, dtype=np.float32), np.zeros(NUM_CLASSES, np.float32)
    return Profile(
        name=name,
        model=model_fingerprint(predictor.path),
        model_name=predictor.path.stem,
        emotions=tuple(shown),
        arrays={
            "weight": weight,
            "bias": bias,
            "anchors": anchors(layout.numpy(), labels),
            "gate": np.array(GATE),
        },
    )


def misread_expressions(probabilities: np.ndarray, labels: np.ndarray) -> list[int]:
    """The expressions shown whose faces the model reads, on average, as another expression.

    A profile corrects the model only where there are some (otherwise its map is the
    identity): fitted on faces the model already reads right, the map only reshuffles its
    margins. On KDEF's held-out people the model read all seven calibration photos of 14 of
    the 70 right; a map fitted on them gained those 14 one point on frontal faces, helping two
    and leaving one worse off: the only person a full profile made worse on frontal faces.
    With this rule a full profile gains 11.6 points there instead of 11.8, and no one is worse
    off (found after all five folds had been seen; benchmarks/calibration.py)."""
    return [
        int(c) for c in np.unique(labels) if probabilities[labels == c].mean(axis=0).argmax() != c
    ]


def anchors(layout: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The unit mean of the unit layouts of each expression shown, in label order."""
    unit = unit_rows(layout)
    return unit_rows(np.stack([unit[labels == c].mean(0) for c in np.unique(labels)]))


def _spread(crops: list[np.ndarray]) -> list[np.ndarray]:
    """At most :data:`MAX_CROPS_PER_EXPRESSION` crops, evenly spaced over the burst."""
    if len(crops) <= MAX_CROPS_PER_EXPRESSION:
        return crops
    chosen = np.linspace(0, len(crops) - 1, MAX_CROPS_PER_EXPRESSION).round().astype(int)
    return [crops[i] for i in chosen]


def fit_affine(log_probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """W [7, 7] and b [7] such that ``W @ z + b`` reads each of the person's faces as the
    expression it shows, pulled toward no correction (W = I, b = 0).

    The loss asks only that each face's own expression beat the others (a smoothed hinge on
    the gap between its score and the log-sum-exp of the others), not that it be certain: a
    face the model already reads right costs little and moves nothing, so a profile corrects
    what the general model gets wrong for this person and leaves the rest. Cross-entropy,
    which pushes every face toward certainty, cost a neutral-only profile 4 to 10 points on
    KDEF (it made every subtle expression neutral). Each expression weighs the same, whatever
    its number of frames. The problem is convex in (W, b); numpy, not torch: a few hundred
    tiny torch calls took seconds on two busy cores."""
    z = np.asarray(log_probs, np.float64)
    y = np.asarray(labels)
    counts = np.bincount(y, minlength=NUM_CLASSES)
    shown = int((counts > 0).sum())
    sample_weight = 1.0 / (counts[y] * shown)
    pull = (NUM_CLASSES / shown) ** 2
    own = np.eye(NUM_CLASSES, dtype=bool)[y]
    eye = np.eye(NUM_CLASSES)

    def loss_and_gradient(params: np.ndarray) -> tuple[float, np.ndarray]:
        weight, bias = params[:-NUM_CLASSES].reshape(eye.shape), params[-NUM_CLASSES:]
        scores = z @ weight.T + bias
        others = np.where(own, -np.inf, scores)
        top = others.max(1, keepdims=True)
        share = np.exp(others - top)
        total = share.sum(1, keepdims=True)
        gap = scores[own] - (top[:, 0] + np.log(total[:, 0]))
        hinge = np.logaddexp(0.0, -SMOOTHING * gap) / SMOOTHING
        slope = -sample_weight / (1.0 + np.exp(np.clip(SMOOTHING * gap, -50, 50)))
        d_scores = slope[:, None] * np.where(own, 1.0, -share / total)
        penalty = PULL_WEIGHT * ((weight - eye) ** 2).sum() + PULL_BIAS * (bias**2).sum()
        value = float((hinge * sample_weight).sum() + pull * penalty / 2)
        d_weight = d_scores.T @ z + pull * PULL_WEIGHT * (weight - eye)
        d_bias = d_scores.sum(0) + pull * PULL_BIAS * bias
        return value, np.concatenate([d_weight.ravel(), d_bias])

    params = _minimise(loss_and_gradient, np.concatenate([eye.ravel(), np.zeros(NUM_CLASSES)]))
    weight, bias = params[:-NUM_CLASSES].reshape(eye.shape), params[-NUM_CLASSES:]
    return weight.astype(np.float32), bias.astype(np.float32)


def _minimise(
    loss_and_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]],
    start: np.ndarray,
    memory: int = 8,
) -> np.ndarray:
    """L-BFGS (the two-loop recursion) with a backtracking line search, for a smooth convex
    loss of a few dozen parameters: converged in tens of steps, milliseconds in numpy."""
    x, (value, grad) = start, loss_and_gradient(start)
    steps: list[tuple[np.ndarray, np.ndarray, float]] = []
    for _ in range(FIT_STEPS):
        direction = -grad
        alphas = []
        for s, g, rho in reversed(steps):
            alphas.append(rho * (s @ direction))
            direction = direction - alphas[-1] * g
        if steps:
            s, g, _ = steps[-1]
            direction = direction * (s @ g) / (g @ g)
        for (s, g, rho), alpha in zip(steps, reversed(alphas)):
            direction = direction + s * (alpha - rho * (g @ direction))
        step, slope = 1.0, grad @ direction
        while True:  # Armijo: a convex loss always admits a small enough step
            new_x = x + step * direction
            new_value, new_grad = loss_and_gradient(new_x)
            if new_value <= value + 1e-4 * step * slope or step < 1e-10:
                break
            step /= 2
        s, g = new_x - x, new_grad - grad
        if s @ g > 1e-12:
            steps = [*steps[-(memory - 1) :], (s, g, 1.0 / (s @ g))]
        x, value, grad = new_x, new_value, new_grad
        if np.abs(grad).max() < 1e-6:
            break
    return x


def crops_from_folder(
    folder: Path, predictor: Predictor
) -> tuple[dict[str, list[np.ndarray]], dict[Path, str]]:
    """The face crops of a labelled folder (one sub-folder per expression, as training reads
    it), framed as training frames its photos for ``predictor``'s model, by expression; and
    the images that gave none, with why. DatasetError where the folder is not labelled."""
    folder = Path(folder)
    if not folder.is_dir() or not is_labelled_folder(folder):
        raise DatasetError(
            f"{folder} is not a labelled folder: expected one sub-folder per expression "
            f"({', '.join(NAMES)}), any of them"
        )
    scan = scan_labelled_folder(folder)
    crops: dict[str, list[np.ndarray]] = {}
    problems = {folder / name: why for name, why in scan.unreadable.items()}
    for record in scan.records:
        try:
            crop, _ = prepare_face(record, predictor.crop, predictor.detector)
        except ImageError as exc:
            problems[record.path] = str(exc)
            continue
        crops.setdefault(NAMES[record.label], []).append(crop)
    return crops, problems
