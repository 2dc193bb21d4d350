"""emotion_desktop: live facial emotion recognition with a CAE-pretrained CNN."""

__version__ = "0.1.0"
