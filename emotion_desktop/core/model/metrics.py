"""Accuracy figures from predictions: overall, per class, macro and the confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emotion_desktop.core.emotions import NAMES, NUM_CLASSES
from emotion_desktop.core.model.json_parts import write_part


@dataclass(frozen=True)
class Scores:
    """A model's figures on a set of test faces; a card part (``json_parts``) under these keys."""

    accuracy: float
    macro_accuracy: float  # mean of per-class recall: fair where classes are unbalanced
    # None: no faces of the class (not 0% recall)
    per_class: dict[str, float | None] = field(metadata={"key": "per_class_accuracy"})
    # rows: true class, columns: predicted class, in NAMES order
    confusion: list[list[int]] = field(metadata={"key": "confusion_matrix"})
    count: int

    def __post_init__(self) -> None:
        """ValueError unless a recall per class and a square matrix of them: a card's figures
        are read from a file, and the confusion table draws every cell."""
        if set(self.per_class) != set(NAMES):
            raise ValueError(f"per_class_accuracy names {sorted(self.per_class)}, not {NAMES}")
        if len(self.confusion) != NUM_CLASSES or any(len(r) != NUM_CLASSES for r in self.confusion):
            raise ValueError(f"confusion_matrix is not {NUM_CLASSES} rows of {NUM_CLASSES}")

    def to_dict(self) -> dict:
        return write_part(self)

    def table(self) -> str:
        """Plain-text report: overall, per class and the confusion matrix."""
        short = [n[:4] for n in NAMES]
        lines = [
            f"accuracy {self.accuracy:.2%}  macro {self.macro_accuracy:.2%}  ({self.count} faces)",
            "",
            "true \\ predicted".ljust(16) + "".join(f"{s:>6}" for s in short) + "  recall",
        ]
        for name, row in zip(NAMES, self.confusion):
            recall = percent(self.per_class[name], ".1%")
            lines.append(f"{name:<16}" + "".join(f"{v:>6}" for v in row) + f"  {recall}")
        return "\n".join(lines)


def percent(recall: float | None, spec: str = ".0%") -> str:
    """A class's recall as text; "no faces" where the test set held none of the class."""
    return "no faces" if recall is None else format(recall, spec)


def score(y_true: np.ndarray, y_pred: np.ndarray) -> Scores:
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    support = confusion.sum(axis=1)
    recall = np.divide(np.diag(confusion), support, out=np.zeros(NUM_CLASSES), where=support > 0)
    present = support > 0
    return Scores(
        accuracy=float((y_true == y_pred).mean()) if len(y_true) else 0.0,
        macro_accuracy=float(recall[present].mean()) if present.any() else 0.0,
        per_class={n: float(r) if p else None for n, r, p in zip(NAMES, recall, present)},
        confusion=confusion.tolist(),
        count=int(len(y_true)),
    )
