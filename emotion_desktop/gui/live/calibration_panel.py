"""What the guided calibration shows: the expression asked for, what the app waits for, how far
the burst is, each expression's state, and the name the profile is saved under."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
)

from emotion_desktop.core.emotions import EMOTIONS
from emotion_desktop.core.live.calibration import CalibrationStatus, Phase, StepState

TITLES = {e.name: e.title for e in EMOTIONS}
_HINTS = {
    Phase.READY: "Look {}, and hold it",
    Phase.STEADY: "Hold still, facing the camera…",
    Phase.CAPTURING: "Capturing: keep looking {}…",
}
_MARKS = {StepState.CAPTURED: "✓ ", StepState.SKIPPED: "– ", StepState.PENDING: ""}
STEP_COLUMNS = 4


class CalibrationPanel(QFrame):
    """``skip_clicked``, ``cancel_clicked``; ``redo_clicked(str)``: an expression to take
    again (Redo last, or a click on its step); ``save_clicked(str)``: the name typed. Shown
    by :meth:`start`, hidden by whoever ends the calibration."""

    skip_clicked = Signal()
    redo_clicked = Signal(str)
    cancel_clicked = Signal()
    save_clicked = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.heading = QLabel()
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.heading.setFont(font)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.steps: dict[str, QToolButton] = {}
        self._grid = QGridLayout()
        for i, emotion in enumerate(TITLES):  # each in the grid at once: owned by the panel
            button = QToolButton(self)
            button.setObjectName(emotion)
            button.setCheckable(True)  # checked: the expression asked for now
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.clicked.connect(self._on_step_clicked)
            self.steps[emotion] = button
            self._grid.addWidget(button, i // STEP_COLUMNS, i % STEP_COLUMNS)
        self.skip_button = QPushButton("S&kip")
        self.skip_button.setToolTip("Leave this expression out of the profile")
        self.redo_button = QPushButton("&Redo last")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop calibrating; nothing is kept")
        buttons = QHBoxLayout()
        for button in (self.skip_button, self.redo_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.name_edit = QLineEdit(placeholderText="Your name")
        self.name_edit.setToolTip("The profile's name: letters, digits, spaces or . + - _")
        self.save_button = QPushButton("&Save profile")
        save_row = QHBoxLayout()
        save_row.addWidget(QLabel("&Name:", buddy=self.name_edit))
        save_row.addWidget(self.name_edit, 1)
        save_row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.hint)
        layout.addWidget(self.progress)
        layout.addLayout(self._grid)
        layout.addLayout(buttons)
        layout.addLayout(save_row)
        self.skip_button.clicked.connect(self.skip_clicked)
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.redo_button.clicked.connect(self._on_redo_button_clicked)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.name_edit.returnPressed.connect(self._on_save_button_clicked)
        self._last: str | None = None

    def start(self, emotions: tuple[str, ...]) -> None:
        """Show a step for each of ``emotions``, in their order."""
        for button in self.steps.values():
            self._grid.removeWidget(button)
            button.hide()
        for i, emotion in enumerate(emotions):
            self._grid.addWidget(self.steps[emotion], i // STEP_COLUMNS, i % STEP_COLUMNS)
            self.steps[emotion].show()
        self.show()

    def show_status(
        self, status: CalibrationStatus, running: bool, last: str | None, saving: bool
    ) -> None:
        """``status`` of the session; ``running``: frames are coming; ``last``: the
        expression a Redo takes again; ``saving``: the profile is being made."""
        self._last = last
        emotion = status.emotion
        shown = status.steps
        number = [s.emotion for s in shown].index(emotion) + 1 if emotion else len(shown)
        if status.phase is Phase.FINISHED:
            self.heading.setText(f"Done: {status.captured} of {len(shown)} captured")
            self.hint.setText(
                "Name the profile and save it; click an expression to take it again."
                if status.captured
                else "Nothing captured: click an expression to take it, or Cancel."
            )
        else:
            self.heading.setText(f"Show: {TITLES[emotion]}  ({number} of {len(shown)})")
            hint = _HINTS[status.phase].format(emotion)
            self.hint.setText(hint if running else "Paused: press Start (F5) to go on.")
        self.progress.setValue(round(status.progress * 100))
        for step in shown:
            button = self.steps[step.emotion]
            current = step.emotion == emotion
            button.setText(("▸ " if current else _MARKS[step.state]) + TITLES[step.emotion])
            button.setChecked(current)
            button.setEnabled(not saving)
            button.setToolTip(_step_tip(step.state, step.crops, current))
        finished = status.phase is Phase.FINISHED
        self.skip_button.setEnabled(not finished and not saving)
        self.redo_button.setEnabled(last is not None and not saving)
        self.save_button.setEnabled(finished and status.captured > 0 and not saving)
        self.save_button.setText("Making…" if saving else "&Save profile")

    @Slot()
    def _on_step_clicked(self) -> None:
        self.redo_clicked.emit(self.sender().objectName())

    @Slot()
    def _on_redo_button_clicked(self) -> None:
        if self._last is not None:
            self.redo_clicked.emit(self._last)

    @Slot()
    def _on_save_button_clicked(self) -> None:
        if self.save_button.isEnabled():
            self.save_clicked.emit(self.name_edit.text().strip())


def _step_tip(state: StepState, crops: int, current: bool) -> str:
    if current:
        return "The expression asked for now: click to start it again"
    if state is StepState.CAPTURED:
        return f"{crops} faces captured: click to take it again"
    if state is StepState.SKIPPED:
        return "Skipped: click to take it after all"
    return "Click to take this expression now"
