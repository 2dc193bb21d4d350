"""Draw a model card's confusion matrix on one source's test set as a PNG (the README's pictures).

python scripts/confusion_png.py [CARD.json] [SOURCE] [OUT.png]    (SOURCE: kdef or ferplus)
"""

import sys
from pathlib import Path

import cv2
import numpy as np

from emotion_desktop.core.model.card import read_card
from emotion_desktop.core.model.metrics import percent

root = Path(__file__).resolve().parents[1]
card_file = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "resources/models/default.json"
source = sys.argv[2] if len(sys.argv) > 2 else "kdef"
out = Path(sys.argv[3]) if len(sys.argv) > 3 else root / f"docs/confusion-default-{source}.png"
card = read_card(card_file)  # the card beside CARD.pt is CARD.json itself
test = card.tests_by_source()[source]
cm = np.array(test.confusion)
names = list(test.per_class)
title = {"kdef": "KDEF random 80/20 test set", "ferplus": "FER+ test set"}[source]
cell, left, top = 70, 130, 110
img = np.full((top + cell * 7 + 20, left + cell * 7 + 110, 3), 255, np.uint8)
font = cv2.FONT_HERSHEY_SIMPLEX
for i in range(7):
    share = cm[i] / max(cm[i].sum(), 1)
    for j in range(7):
        v = share[j]
        colour = (
            (255, int(255 - 200 * v), int(255 - 200 * v))
            if i == j
            else (int(255 - 200 * v), int(255 - 200 * v), 255)
        )
        x0, y0 = left + j * cell, top + i * cell
        cv2.rectangle(img, (x0, y0), (x0 + cell, y0 + cell), colour, -1)
        cv2.rectangle(img, (x0, y0), (x0 + cell, y0 + cell), (200, 200, 200), 1)
        cv2.putText(img, str(cm[i][j]), (x0 + 18, y0 + 42), font, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, names[i], (10, top + i * cell + 42), font, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(
        img,
        percent(test.per_class[names[i]]),
        (left + 7 * cell + 15, top + i * cell + 42),
        font,
        0.55,
        (0, 0, 0),
        1,
        cv2.LINE_AA,
    )
    lbl = names[i][:5]
    cv2.putText(img, lbl, (left + i * cell + 8, top - 12), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
cv2.putText(
    img,
    "true (rows) vs predicted (columns); recall at right",
    (10, 30),
    font,
    0.6,
    (0, 0, 0),
    1,
    cv2.LINE_AA,
)
cv2.putText(
    img,
    f"{card.name or 'default'} model, {title}, {test.accuracy:.1%}",
    (10, 60),
    font,
    0.6,
    (0, 0, 0),
    1,
    cv2.LINE_AA,
)
cv2.putText(img, "recall", (left + 7 * cell + 10, top - 12), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
cv2.imwrite(str(out), img)
