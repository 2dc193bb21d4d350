"""Which two networks of one recipe to average into a shipped model.

Networks of one recipe that differ only in their training seed differ on a test set by as much
as a change of recipe does (the README's *Accuracy* has the figures), so which two are averaged
matters. Every pair is judged as it would ship: averaged (as :class:`EnsembleCNN` averages),
then balanced by :func:`choose_tau`, and ranked by the figure that rule maximises, the mean
validation macro over the sources. Only validation faces are read: a test face never chooses.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion_desktop.core.callbacks import StepFn
from emotion_desktop.core.errors import CheckpointError
from emotion_desktop.core.model.card import AccuracyPair
from emotion_desktop.core.model.checkpoints import half_round_trip
from emotion_desktop.core.model.rows import softmax
from emotion_desktop.core.train.balance import choose_tau, mirrored_logits, training_prior
from emotion_desktop.core.train.ensemble import load_members
from emotion_desktop.core.train.saved_data import prepare_saved_data

Outputs = tuple[np.ndarray, np.ndarray]  # probabilities of each face and of its mirror image


@dataclass(frozen=True)
class PairScore:
    """A pair's figures on the validation faces once averaged and balanced."""

    names: tuple[str, str]
    tau: float
    mean_macro: float  # what the ranking maximises
    accuracy: float  # all validation faces together: breaks ties
    validation: Mapping[str, AccuracyPair]  # each source's accuracy and macro


def _mean_log(a: Outputs, b: Outputs) -> tuple[np.ndarray, np.ndarray]:
    """Log of the two networks' mean probabilities, for the faces and for their mirrors, as
    :meth:`EnsembleCNN.forward` computes it."""
    plain, mirrored = (np.log(np.maximum((x + y) / 2, 1e-12)) for x, y in zip(a, b))
    return plain, mirrored


def rank_pairs(
    outputs: dict[str, dict[str, Outputs]],
    labels: dict[str, np.ndarray],
    prior: np.ndarray,
) -> list[PairScore]:
    """Every pair of networks, best first. ``outputs`` holds, per network and per source, the
    probabilities of each validation face and of its mirror; ``labels`` each source's true
    classes; ``prior`` the training class frequencies that :func:`choose_tau` takes out."""
    ranked = []
    for a, b in itertools.combinations(outputs, 2):
        validation = {
            source: (_mean_log(outputs[a][source], outputs[b][source]), labels[source])
            for source in labels
        }
        choice = choose_tau(validation, prior)
        row = next(r for r in choice.table if r.tau == choice.tau)
        macro = float(np.mean([f.macro_accuracy for f in row.validation.values()]))
        ranked.append(PairScore((a, b), choice.tau, macro, row.accuracy, row.validation))
    return sorted(ranked, key=lambda p: (p.mean_macro, p.accuracy), reverse=True)


def rank_networks(
    networks: list[Path],
    folders: list[Path],
    cache_dir: Path | None = None,
    step: StepFn | None = None,
) -> list[PairScore]:
    """Every pair of the saved ``networks`` (averageable: :func:`load_members`), named by file
    stem, ranked on the validation faces of their shared split; ``folders`` are the sources
    they were trained on. Each network is rounded to float16 first, as ``ensemble`` stores it
    before ``balance`` chooses."""
    loaded, _ = load_members(networks)
    names = [path.stem for path in networks]
    if len(set(names)) < len(names):
        raise CheckpointError("two networks share a file name: the table names them by it")
    data = prepare_saved_data(loaded[0], folders, cache_dir, step)
    outputs = {}
    for name, network in zip(names, loaded):
        model = half_round_trip(network.model).eval()
        outputs[name] = {}
        for s in data.sources:
            plain, mirrored = mirrored_logits(model, s.val)
            outputs[name][s.name] = (softmax(plain), softmax(mirrored))
    labels = {s.name: s.val.labels for s in data.sources}
    return rank_pairs(outputs, labels, training_prior(data))
