"""emotion_desktop: live facial emotion recognition with a CAE-pretrained CNN."""

import os

__version__ = "0.1.0"

MAX_IMAGE_PIXELS = 80_000_000
# OpenCV refuses, in every format and before allocating, to decode an image with more pixels
# than this: a 455 KB WebP can claim 16,000 x 16,000 pixels (1.8 GB decoded). It reads the limit
# once, when cv2 is first imported, so it is set here, before any module of ours imports cv2.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS))
