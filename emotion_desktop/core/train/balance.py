"""Post-hoc class balance: shift a trained model's logits against its training prior.

FER+ holds 30 neutral faces for each disgusted one, and a network trained on it learns that
prior: it says "disgusted" only when sure, so few disgusted faces are found and the macro figure
(mean per-class recall) suffers. Logit adjustment (Menon et al., "Long-tail learning via logit
adjustment", ICLR 2021) subtracts ``tau * log(prior)`` from the logits: tau 0 is the model as
trained, tau 1 the optimum for balanced error. Nothing is retrained; the shift is the model's
``class_bias``.

tau is chosen on the validation faces of every source, never on a test face (:func:`choose_tau`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from emotion_desktop.core.callbacks import StepFn
from emotion_desktop.core.data.dataset import FaceSet, batches, to_tensor
from emotion_desktop.core.data.prepare import PreparedData
from emotion_desktop.core.emotions import NAMES, NUM_CLASSES
from emotion_desktop.core.model.card import AccuracyPair, ClassBalance, TauChoice
from emotion_desktop.core.model.checkpoints import load_model, save_with_splits
from emotion_desktop.core.model.metrics import score
from emotion_desktop.core.model.rows import softmax
from emotion_desktop.core.train.card import card_test_sections, now
from emotion_desktop.core.train.evaluate import score_faces
from emotion_desktop.core.train.loop import History
from emotion_desktop.core.train.run import TrainResult
from emotion_desktop.core.train.saved_data import prepare_saved_data

TAUS = tuple(round(0.1 * i, 1) for i in range(11))
MAX_ACCURACY_LOSS = 0.01  # validation accuracy the balance may cost, all sources together


def training_prior(data: PreparedData) -> np.ndarray:
    """Class frequencies of the training targets as the classifier saw them: each source's
    targets (FER+'s vote distributions, one-hot elsewhere) at its sampling weight."""
    mass = sum(s.weight * s.train.targets.sum(axis=0, dtype=np.float64) for s in data.sources)
    mass = np.maximum(np.asarray(mass, dtype=np.float64), 1.0)  # no log of an absent class
    return mass / mass.sum()


@torch.inference_mode()
def mirrored_logits(model: torch.nn.Module, faces: FaceSet) -> tuple[np.ndarray, np.ndarray]:
    """The logits of each face and of its mirror image (with the model's class bias, which
    :func:`balance_model` zeroes first)."""
    x = to_tensor(faces.images)
    plain, mirrored = [], []
    for index in batches(len(x), 256):
        plain.append(model(x[index]))
        mirrored.append(model(x[index].flip(3)))
    empty = torch.zeros(0, NUM_CLASSES)
    return (
        torch.cat(plain or [empty]).numpy(),
        torch.cat(mirrored or [empty]).numpy(),
    )


def _predict(logits: tuple[np.ndarray, np.ndarray], bias: np.ndarray) -> np.ndarray:
    """The classes the mirrored average picks once ``bias`` is added (as ``mirrored_softmax``)."""
    plain, mirrored = logits
    return (softmax(plain + bias) + softmax(mirrored + bias)).argmax(axis=1)


@dataclass(frozen=True)
class Choice:
    """The tau chosen, the bias it gives, and every tau's validation figures (for the card)."""

    tau: float
    bias: np.ndarray
    table: list[TauChoice]  # per tau, each source's validation accuracy and macro


def choose_tau(
    validation: dict[str, tuple[tuple[np.ndarray, np.ndarray], np.ndarray]],
    prior: np.ndarray,
) -> Choice:
    """The tau of :data:`TAUS` with the best mean validation macro over the sources, among those
    costing at most :data:`MAX_ACCURACY_LOSS` of accuracy on all validation faces together
    (tau 0 always qualifies). ``validation`` maps a source's name to its faces' logits and
    labels.

    The accuracy bound is on the pooled faces, not per source: KDEF's 392 validation faces move
    a quarter point per face, too coarse to tell a one-point loss from chance.
    """
    table = []
    for tau in TAUS:
        bias = -tau * np.log(prior)
        figures, right, count = {}, 0, 0
        for name, (logits, labels) in validation.items():
            predictions = _predict(logits, bias)
            s = score(labels, predictions)
            figures[name] = AccuracyPair(accuracy=s.accuracy, macro_accuracy=s.macro_accuracy)
            right, count = right + int((predictions == labels).sum()), count + len(labels)
        table.append(TauChoice(tau=tau, accuracy=right / max(count, 1), validation=figures))
    floor = table[0].accuracy - MAX_ACCURACY_LOSS
    best = max(
        (row for row in table if row.accuracy >= floor),
        key=lambda row: np.mean([f.macro_accuracy for f in row.validation.values()]),
    )
    return Choice(best.tau, -best.tau * np.log(prior), table)


def balance_model(
    model_path: Path,
    folders: list[Path],
    out: Path,
    cache_dir: Path | None = None,
    step: StepFn | None = None,
) -> TrainResult:
    """Write ``out``: the model at ``model_path`` with the class bias its validation faces
    choose, its card's test figures measured again (the old ones kept under ``class_balance``).

    ``folders`` are the sources it was trained on; its saved splits are used, so the validation
    faces are the ones training chose its epoch on and no test face chooses tau.
    """
    loaded = load_model(model_path)
    data = prepare_saved_data(loaded, folders, cache_dir, step)
    model = loaded.model
    model.class_bias.zero_()
    prior = training_prior(data)
    choice = choose_tau(
        {s.name: (mirrored_logits(model, s.val), s.val.labels) for s in data.sources}, prior
    )
    model.class_bias.copy_(torch.from_numpy(choice.bias).float())
    tests = {s.name: score_faces(model, s.test, True) for s in data.sources}
    plain = score_faces(model, data.first.test, False)
    balanced_before = loaded.card.class_balance
    before = (balanced_before and balanced_before.tests_before) or loaded.card.tests or {}
    card = replace(
        loaded.card,
        created=now(),
        name=Path(out).stem,
        class_balance=ClassBalance(
            method="logit adjustment (Menon et al. 2021): logits minus tau * log(prior)",
            tau=choice.tau,
            prior=dict(zip(NAMES, prior.round(4).tolist())),
            rule="best mean validation macro over the sources, losing at most "
            f"{MAX_ACCURACY_LOSS:.0%} accuracy on all validation faces together",
            choices=tuple(choice.table),
            tests_before=before,
        ),
        **card_test_sections(tests, data, plain),
    )
    ensemble = loaded.card.ensemble
    half = ensemble is not None and ensemble.weights == "float16"
    save_with_splits(Path(out), model, loaded.crop, card, data.splits(), half)
    return TrainResult(Path(out), card, tests[data.first.name], History(), data.absences)
