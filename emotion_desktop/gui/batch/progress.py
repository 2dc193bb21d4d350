"""The Batch tab's progress line: the bar, what the run has done, Pause and Cancel.

:class:`RunState` is the run's bookkeeping on the GUI thread; :func:`status_text` says it in
one line: files done of the count, their rate and the time left, and for a video being read,
its frames done of its total, frames a second and its own time left.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from emotion_desktop.core.batch.video import VideoProgress
from emotion_desktop.gui.batch.run import FileCount
from emotion_desktop.gui.format import duration

DONE = "Done:"  # the status line of a run that labelled everything it was given


@dataclass
class RunState:
    """What the run in progress (or the last one) has done; the GUI thread's alone."""

    images: int = 0  # photos done
    videos: int = 0  # videos done
    seconds: float = 0.0  # worked, not paused
    count: FileCount | None = None  # what there is to do, once the walk is counted
    ended_by: str = DONE
    model: str = ""
    video: VideoProgress | None = None  # the video being read, until it is done

    @property
    def files(self) -> int:
        return self.images + self.videos

    @property
    def has_videos(self) -> bool:
        return bool(self.videos or self.video or (self.count and self.count.videos))


def _video_text(video: VideoProgress) -> list[str]:
    frames = (
        f"{video.read:,} of {video.total:,} frames" if video.total else f"{video.read:,} frames"
    )
    parts = [f"{video.file.name}: {frames}", f"{video.rate:.1f} frames/s"]
    if video.total and video.rate > 0:
        parts.append(f"{duration(max(0, video.total - video.read) / video.rate)} left")
    return parts


def _files(state: RunState) -> tuple[int, int | None, str]:
    """Files done, files to do (None until counted), and their noun: images for a run of
    photos, files where videos are among them."""
    count = state.count
    if state.has_videos:
        return state.files, None if count is None else count.files, "file"
    return state.images, None if count is None else count.images, "image"


def status_text(state: RunState, finished: bool, paused: bool) -> str:
    """The line under the drop zone: ``finished`` says how the run ended."""
    done, total, noun = _files(state)
    rate = done / state.seconds if state.seconds > 0 else 0.0
    plural = noun + "s" * (done != 1)
    parts = [f"{done:,} {plural}"]
    if not state.has_videos:  # a video's rate is its frames a second, below
        parts.append(f"{rate:.1f} {noun}s/s")
    if finished:
        parts.insert(0, state.ended_by)
    elif total is not None:
        parts[0] = f"{done:,} of {total:,} {noun}s"
        if state.video is None and rate > 0:
            parts.append(f"ETA {duration(max(0, total - done) / rate)}")
    if state.video is not None and not finished:
        parts[1:1] = _video_text(state.video)
    if paused and not finished:
        parts.append("paused")
    return " · ".join(parts)


class ProgressLine(QWidget):
    """The bar, the status label, Pause and Cancel in one row."""

    def __init__(self) -> None:
        super().__init__()
        self.bar = QProgressBar(textVisible=False, maximumHeight=14)
        self.status = QLabel("Drop a folder to start.")
        self.pause_button = QPushButton("Pause")
        self.cancel_button = QPushButton("Cancel")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.status, 2)
        layout.addWidget(self.pause_button)
        layout.addWidget(self.cancel_button)

    def show_run(self, state: RunState, finished: bool, paused: bool, extra: list[str]) -> None:
        """The bar and the line for ``state``; ``extra``: what follows (faces, model, skipped)."""
        done, total, _ = _files(state)
        part = 0  # hundredths of the file being read: a video moves the bar as it is read
        if state.video is not None and state.video.fraction is not None and not finished:
            part = int(99 * state.video.fraction)
        if finished:  # the bar shows what was labelled: full only when all of it was
            self.bar.setRange(0, max(1, total or 0))
            self.bar.setValue(done if total else int(state.ended_by == DONE))
        elif total is None:
            self.bar.setRange(0, 0)  # busy: the walk has not been counted yet
        else:
            self.bar.setRange(0, max(1, total) * 100)
            self.bar.setValue(min(done * 100 + part, total * 100))
        text = " · ".join([status_text(state, finished, paused), *extra])
        self.status.setText(text.replace(": ·", ":"))

    def show_idle(self, text: str | None = None) -> None:
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        if text is not None:
            self.status.setText(text)
