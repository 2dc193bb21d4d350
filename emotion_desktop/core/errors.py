"""Errors a user can cause. Each message says what was found and what to do next.

The CLI prints the message as one line and exits non-zero; the GUI shows it in a dialog.
Anything that is not one of these is a bug and reaches the crash handler instead.
"""


class EmotionDesktopError(Exception):
    """Base of every error caused by input rather than by a bug."""


class DatasetError(EmotionDesktopError):
    """A data folder holds no usable KDEF images, or a split cannot be made from it."""


class ImageError(EmotionDesktopError):
    """An image file cannot be read or decoded."""


class CheckpointError(EmotionDesktopError):
    """A model file is missing, truncated, of another architecture or unsafe to load."""


class VideoSourceError(EmotionDesktopError):
    """A camera, video file or stream cannot be opened or stopped delivering frames."""


class TrainingCancelled(EmotionDesktopError):
    """The user cancelled training; the partial run is kept so it can be resumed."""


class OutputError(EmotionDesktopError):
    """An output would replace an input, a special file or existing results not meant to go."""


class ModelFileError(EmotionDesktopError):
    """A model file cannot be renamed, deleted or exported; the message says why."""


class ProfileError(EmotionDesktopError):
    """A personal profile is damaged, not one this app wrote, or made with another model."""
