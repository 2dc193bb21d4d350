"""Row-wise helpers for numpy arrays of per-face numbers (one face per row): the model's
outputs after the network, where the class balance and personal profiles work."""

from __future__ import annotations

import numpy as np


def softmax(z: np.ndarray) -> np.ndarray:
    """Each row's probabilities from its logits."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (a row of zeros stays zeros), for cosine similarities."""
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
