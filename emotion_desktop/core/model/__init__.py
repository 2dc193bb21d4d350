"""The networks, their files and cards, and inference on face crops."""
