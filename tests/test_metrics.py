import numpy as np

from emotion_desktop.core.metrics import score


def test_a_class_without_test_faces_reads_no_faces_and_stays_out_of_the_macro() -> None:
    """A folder without angry faces once printed angry's recall as 0.0%, as if all missed."""
    scores = score(np.array([0, 0, 3]), np.array([0, 1, 3]))  # afraid 1 of 2, happy 1 of 1
    rows = {line.split()[0]: line for line in scores.table().splitlines()[3:]}
    assert rows["afraid"].endswith("50.0%") and rows["happy"].endswith("100.0%")
    assert rows["angry"].endswith("no faces")
    assert scores.macro_accuracy == 0.75 and scores.accuracy == 2 / 3
