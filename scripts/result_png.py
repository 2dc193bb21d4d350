"""Render the Training tab's Result page, as a finished run shows it, into a PNG for the README.

python scripts/result_png.py [RUN.pt] [ACTIVE.pt] [OUT.png]

Defaults: the shipped KDEF-only model as "this run" beside the shipped default as the active
model, in a 1280x720 window, offscreen (the widgets themselves, drawn without a display).
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from emotion_desktop.core import paths  # noqa: E402
from emotion_desktop.core.model.card import read_card  # noqa: E402
from emotion_desktop.gui.main_window import MainWindow  # noqa: E402

root = Path(__file__).resolve().parents[1]
models = root / "resources" / "models"
run = Path(sys.argv[1]) if len(sys.argv) > 1 else models / "kdef-paper.pt"
active = Path(sys.argv[2]) if len(sys.argv) > 2 else paths.default_model_path()
out = Path(sys.argv[3]) if len(sys.argv) > 3 else root / "docs/screens/1280x720-training-result.png"

app = QApplication([])
settings = QSettings(str(out.with_suffix(".ini")), QSettings.Format.IniFormat)
window = MainWindow(settings)
window.resize(1280, 720)
window.show()
window.tabs.setCurrentWidget(window.training)
training = window.training
training.result_view.show_run(run, read_card(run), active.stem, read_card(active))
training.pages.setCurrentWidget(training.result_page)
for _ in range(20):
    app.processEvents()
window.grab().save(str(out))
out.with_suffix(".ini").unlink(missing_ok=True)
print(out)
