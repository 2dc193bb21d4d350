"""Accuracy figures from predictions: overall, per class, macro and the confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emotion_desktop.core.emotions import NAMES, NUM_CLASSES


@dataclass(frozen=True)
class Scores:
    accuracy: float
    macro_accuracy: float  # mean of per-class recall: fair where classes are unbalanced
    per_class: dict[str, float | None]  # None: no faces of the class (not 0% recall)
    confusion: list[list[int]]  # rows: true class, columns: predicted class, in NAMES order
    count: int

    def to_dict(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "macro_accuracy": self.macro_accuracy,
            "per_class_accuracy": self.per_class,
            "confusion_matrix": self.confusion,
            "count": self.count,
        }

    @classmethod
    def from_dict(cls, figures: object) -> Scores | None:
        """The scores a model card holds (:meth:`to_dict`), None where they are missing or
        damaged: a card is read from disk, and a bad one must not stop the window."""
        try:
            confusion = [[int(v) for v in row] for row in figures["confusion_matrix"]]
            per_class = {n: _recall(figures["per_class_accuracy"][n]) for n in NAMES}
            scores = cls(
                float(figures["accuracy"]),
                float(figures["macro_accuracy"]),
                per_class,
                confusion,
                int(figures["count"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        shape_ok = len(confusion) == NUM_CLASSES and all(len(r) == NUM_CLASSES for r in confusion)
        return scores if shape_ok else None

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


def _recall(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


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
