"""Render the Live tab in the middle of a guided calibration into a PNG for the README.

xvfb-run -s "-screen 0 1280x720x24" python scripts/calibration_png.py [VIDEO] [OUT.png]

Defaults: the shared face video as the camera, the shipped default model, a 1280x720 window;
the calibration's own timings. Neutral and happy are captured, sad is skipped, happy is taken
again (Redo last), and the picture is taken during that burst, on a frame whose face reads as
happy. Without a display it draws offscreen.
"""

import time

from readme_window import arguments, open_window, save, wait

from emotion_desktop.core.live.calibration import FULL, Phase
from emotion_desktop.core.stream.tracking import largest

video, out = arguments("1280x720-calibration.png")
app, window = open_window()
live = window.live
live.set_video_file(video)
pane = live.calibration
pane.panel.name_edit.setText("Me")


def face_shows(emotion: str) -> bool:
    """The largest face in the newest frame reads as ``emotion`` (a picture that asks for a
    smile shows one)."""
    result = live.latest()
    face = largest(result.faces) if result is not None else None
    return face is not None and face.label == emotion


pane.begin(FULL)
session = pane.session
wait(app, lambda: session.current == "sad")
pane.panel.skip_button.click()
pane.panel.redo_button.click()  # happy again
started = time.monotonic()
wait(
    app,
    lambda: (
        session.phase is Phase.CAPTURING
        and session.status().progress >= 0.4
        and (face_shows("happy") or time.monotonic() - started > 60)
    ),
)
save(app, window, out, settle=0.05)  # the burst goes on: the picture is of now
window.close()
