"""The real-time loop: the newest camera frame through the model, and recording."""
