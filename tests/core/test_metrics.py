import json

import numpy as np

from emotion_desktop.core.model.json_parts import read_part
from emotion_desktop.core.model.metrics import Scores, score


def test_a_class_without_test_faces_reads_no_faces_and_stays_out_of_the_macro() -> None:
    """A folder without angry faces once printed angry's recall as 0.0%, as if all missed."""
    scores = score(np.array([0, 0, 3]), np.array([0, 1, 3]))  # afraid 1 of 2, happy 1 of 1
    rows = {line.split()[0]: line for line in scores.table().splitlines()[3:]}
    assert rows["afraid"].endswith("50.0%") and rows["happy"].endswith("100.0%")
    assert rows["angry"].endswith("no faces")
    assert scores.macro_accuracy == 0.75 and scores.accuracy == 2 / 3


def test_a_class_with_no_test_faces_has_no_recall_in_the_json() -> None:
    """evaluate --json reported 0.0 for a class with no test faces, where its table says
    "no faces": a reader could not tell it from a class never recognised."""
    scores = score(np.array([0, 0, 3]), np.array([0, 1, 3]))
    assert scores.per_class["afraid"] == 0.5 and scores.per_class["sad"] is None
    assert json.loads(json.dumps(scores.to_dict()))["per_class_accuracy"]["sad"] is None
    assert read_part(Scores, scores.to_dict()) == scores  # a card with it still reads
    assert "no faces" in scores.table().splitlines()[8]
