"""Making a personal profile from a few face crops per expression of one person.

The model's log-probabilities of the person's crops are the only input: the network is never
changed, and the fit runs on a [N, 7] table, in well under a second on two cores.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from emotion_desktop.core.data.dataset import prepare_face
from emotion_desktop.core.data.sources import is_labelled_folder, scan_labelled_folder
from emotion_desktop.core.emotions import INDEX_BY_NAME, NAMES, NUM_CLASSES
from emotion_desktop.core.errors import DatasetError, ImageError, ProfileError
from emotion_desktop.core.model.inference import Predictor
from emotion_desktop.core.model.profile import Profile, model_fingerprint

# The fit, chosen on the held-out people of KDEF folds 0 and 1 (benchmarks/calibration.py gives
# the figures of all five). PULL_WEIGHT and PULL_BIAS: how strongly W stays near I and b
# near 0, times (7 / expressions shown)^2, so a profile of fewer expressions moves the model
# less (neutral alone: 49 times less freely). SMOOTHING: the margin loss's softness.
PULL_WEIGHT = 0.3
PULL_BIAS = 0.1
SMOOTHING = 2.0
FIT_STEPS = 100


def make_profile(
    predictor: Predictor, crops_by_emotion: dict[str, list[np.ndarray]], name: str
) -> Profile:
    """A profile named ``name`` for ``predictor``'s model from the person's face crops (uint8
    [S, S], as :meth:`Predictor.frame` makes them) of any subset of the seven expressions;
    ProfileError where no crop is given or an expression is not one of the seven."""
    unknown = [e for e in crops_by_emotion if e not in INDEX_BY_NAME]
    if unknown:
        raise ProfileError(f"{unknown[0]!r} is not one of the expressions {', '.join(NAMES)}")
    shown = {e: list(c) for e, c in crops_by_emotion.items() if len(c)}
    if not shown:
        raise ProfileError("no face was given for any expression: nothing to calibrate with")
    general = predictor.with_profile(None)
    log_probs, labels = [], []
    for emotion, crops in shown.items():
        probabilities = general.predict(np.stack(crops))
        log_probs.append(np.log(np.clip(probabilities, 1e-12, None)))
        labels += [INDEX_BY_NAME[emotion]] * len(crops)
    weight, bias = fit_affine(np.concatenate(log_probs), np.array(labels))
    return Profile(
        name=name,
        model=model_fingerprint(predictor.path),
        model_name=predictor.path.stem,
        emotions=tuple(shown),
        method="affine",
        arrays={"weight": weight, "bias": bias},
    )


def fit_affine(log_probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """W [7, 7] and b [7] such that ``W @ z + b`` reads each of the person's faces as the
    expression it shows, pulled toward no correction (W = I, b = 0).

    The loss asks only that each face's own expression beat the others (a smoothed hinge on
    the gap between its score and the log-sum-exp of the others), not that it be certain: a
    face the model already reads right costs little and moves nothing, so a profile corrects
    what the general model gets wrong for this person and leaves the rest. Cross-entropy,
    which pushes every face toward certainty, cost a neutral-only profile 4 to 10 points on
    KDEF (it made every subtle expression neutral). Each expression weighs the same, whatever
    its number of frames."""
    z = torch.as_tensor(log_probs, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.long)
    counts = torch.bincount(y, minlength=NUM_CLASSES).float()
    shown = int((counts > 0).sum())
    sample_weight = (1.0 / counts.clamp_min(1))[y] / shown
    pull = (NUM_CLASSES / shown) ** 2
    own = torch.nn.functional.one_hot(y, NUM_CLASSES).bool()
    eye = torch.eye(NUM_CLASSES)
    weight = eye.clone().requires_grad_(True)
    bias = torch.zeros(NUM_CLASSES, requires_grad=True)
    optimiser = torch.optim.LBFGS([weight, bias], max_iter=FIT_STEPS, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        scores = z @ weight.T + bias
        gap = scores[own] - scores.masked_fill(own, -torch.inf).logsumexp(1)
        hinge = torch.nn.functional.softplus(-SMOOTHING * gap) / SMOOTHING
        penalty = PULL_WEIGHT * (weight - eye).square().sum() + PULL_BIAS * bias.square().sum()
        value = (hinge * sample_weight).sum() + pull * penalty / 2
        value.backward()
        return value

    with torch.enable_grad():
        optimiser.step(loss)
    return weight.detach().numpy(), bias.detach().numpy()


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
