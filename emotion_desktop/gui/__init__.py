"""The Qt layer: widgets that move core work onto worker threads and show its results."""
