"""Render the Batch tab after it has read a video, a row selected, into a PNG for the README.

python scripts/batch_video_png.py [VIDEO] [OUT.png]

Defaults: the shared face video, read with the shipped default model at every frame, in a
1280x720 window, offscreen (the widgets themselves, drawn without a display).
"""

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from emotion_desktop.gui.main_window import MainWindow  # noqa: E402

root = Path(__file__).resolve().parents[1]
video = (
    Path(sys.argv[1])
    if len(sys.argv) > 1
    else root.parent / "shared/data/video/WolfgangLanger_Pexels.mp4"
)
out = Path(sys.argv[2]) if len(sys.argv) > 2 else root / "docs/screens/1280x720-batch-video.png"

os.environ["EMOTION_DESKTOP_DATA_DIR"] = tempfile.mkdtemp()  # the shipped default is active
app = QApplication([])
settings = QSettings(str(out.with_suffix(".ini")), QSettings.Format.IniFormat)
window = MainWindow(settings)
window.resize(1280, 720)
window.show()
batch = window.batch
window.tabs.setCurrentWidget(batch)
batch.add_paths([video])
deadline = time.monotonic() + 120
while not batch.has_ended() and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.01)
batch.table.selectRow(120)
for _ in range(200):  # the frame at the selected row is decoded on a worker
    app.processEvents()
    time.sleep(0.01)
window.grab().save(str(out))  # no close(): it would ask about the rows not exported
out.with_suffix(".ini").unlink(missing_ok=True)
print(out)
