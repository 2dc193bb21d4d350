"""Frames and faces: image decoding, face detection and crops."""
