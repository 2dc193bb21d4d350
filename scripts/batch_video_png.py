"""Render the Batch tab after it has read a video, a row selected, into a PNG for the README.

python scripts/batch_video_png.py [VIDEO] [OUT.png]

Defaults: the shared face video, read with the shipped default model at every frame, in a
1280x720 window, offscreen (the widgets themselves, drawn without a display).
"""

from readme_window import arguments, open_window, save, wait

video, out = arguments("1280x720-batch-video.png")
app, window = open_window()
batch = window.batch
window.tabs.setCurrentWidget(batch)
batch.add_paths([video])
wait(app, batch.has_ended)
batch.table.selectRow(120)
save(app, window, out)  # the frame at the selected row is decoded on a worker meanwhile
# no close(): it would ask about the rows not exported
