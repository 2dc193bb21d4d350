"""The Live tab: camera view, overlay, probabilities panel."""
