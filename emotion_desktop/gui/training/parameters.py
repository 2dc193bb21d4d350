"""The Training tab's parameters form: a preset, or the epochs, batch size, learning rate, input
size, split, angles, augmentation and CAE pre-training, saved as ``training/parameters``."""

from __future__ import annotations

import json
from dataclasses import replace

from PySide6.QtCore import QSettings, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QSpinBox

from emotion_desktop.core.train.config import TrainConfig
from emotion_desktop.gui.settings import json_setting

PRESETS: dict[str, TrainConfig] = {
    "Quick": TrainConfig(epochs_cae=2, epochs_cnn=15),
    "Paper": TrainConfig(),  # each network of the shipped KDEF-only model (kdef-paper)
    "KDEF + FER+": TrainConfig(epochs_cae=2, epochs_cnn=64),  # the shipped default model
}
TIPS = {
    "preset": "Quick: a first model in minutes. Paper: the paper's recipe on KDEF. "
    "KDEF + FER+: the shipped default's recipe (about 70 min on 2 cores).",
    "epochs_cae": "Epochs of the auto-encoder that pre-trains the convolutions "
    "(stage 1); each costs about as much as 2-3 CNN epochs. 0 skips nothing: untick "
    "CAE pre-training for that.",
    "epochs_cnn": "Epochs of the classifier (stage 2): the time grows in proportion; "
    "more epochs help until the validation curve flattens.",
    "batch_size": "Faces per training step. Larger batches run a little faster per "
    "epoch on a CPU but may need more epochs; 64 is the tested value.",
    "lr": "Peak learning rate of the classifier's one-cycle schedule; too high "
    "diverges, too low needs more epochs. No effect on time per epoch.",
    "input_size": "Side of the face crop in pixels. 48 is the tested value; 96 takes "
    "about 4x the time per epoch, 24 about a quarter, usually less accurately.",
    "protocol": "random: the paper's 80/20 split of the images. person: test faces "
    "come from people never seen in training (the honest figure; same time).",
    "angles": "all: KDEF's five camera angles. frontal: the straight-on images only "
    "(a fifth of the images, a fifth of the time).",
    "augment": "Random flips, shifts, rotations and brightness changes while "
    "training: more accurate on new faces, no extra time worth measuring.",
    "use_cae": "Pre-train the convolutions as an auto-encoder first (the paper's "
    "method); unticked, stage 1 is skipped and training is shorter.",
}


def _spin(low: int, high: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    return spin


class ParametersForm(QGroupBox):
    """The parameters of the next run; every edit is saved, and names its preset (or Custom)."""

    def __init__(self, settings: QSettings) -> None:
        super().__init__("Parameters")
        self.settings = settings
        self._applying = False  # parameters being set from a preset, not edited by the user
        self._build()
        self._connect()

    def _build(self) -> None:
        self.preset = QComboBox()
        self.preset.addItems([*PRESETS, "Custom"])
        self.epochs_cae = _spin(0, 2000)
        self.epochs_cnn = _spin(1, 5000)
        self.batch_size = _spin(4, 1024)
        self.lr = QDoubleSpinBox(decimals=4, minimum=0.0001, maximum=0.1, singleStep=0.0005)
        self.input_size = QComboBox()
        self.input_size.addItems(["24", "32", "48", "64", "96"])
        self.protocol = QComboBox()
        self.protocol.addItems(["random", "person"])
        self.angles = QComboBox()
        self.angles.addItems(["all", "frontal"])
        self.augment = QCheckBox("augmentation (flip, shift, rotation, brightness)")
        self.use_cae = QCheckBox("CAE pre-training (the paper's first stage)")
        for name, tip in TIPS.items():
            getattr(self, name).setToolTip(tip)
        form = QFormLayout(self)
        form.addRow("Preset", self.preset)
        form.addRow("CAE epochs", self.epochs_cae)
        form.addRow("CNN epochs", self.epochs_cnn)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Learning rate", self.lr)
        form.addRow("Input size", self.input_size)
        form.addRow("Split", self.protocol)
        form.addRow("Angles", self.angles)
        form.addRow(self.augment)
        form.addRow(self.use_cae)

    def _connect(self) -> None:
        self.preset.currentTextChanged.connect(self._on_preset_changed)
        for spin in (self.lr, self.epochs_cae, self.epochs_cnn, self.batch_size):
            spin.valueChanged.connect(self._on_parameter_edited)
        for box in (self.input_size, self.protocol, self.angles):
            box.currentTextChanged.connect(self._on_parameter_edited)
        for check in (self.augment, self.use_cae):
            check.toggled.connect(self._on_parameter_edited)

    def restore(self) -> None:
        """The saved parameters; the Quick preset where none are saved or they are damaged."""
        values = json_setting(self.settings, "training/parameters", {})
        try:
            config = TrainConfig.checked(values)
            self._check_ranges(config)
        except (ValueError, TypeError):
            values, config = {}, PRESETS["Quick"]  # damaged: the defaults
        self.apply_config(config if values else PRESETS["Quick"])
        self.protocol.setCurrentText(str(values.get("protocol", "random")))
        self.angles.setCurrentText(str(values.get("angles", "all")))
        self.preset.blockSignals(True)
        self.preset.setCurrentText(str(values.get("preset", "Quick")))
        self.preset.blockSignals(False)

    def config(self) -> TrainConfig:
        return replace(
            PRESETS["Paper"],
            epochs_cae=self.epochs_cae.value(),
            epochs_cnn=self.epochs_cnn.value(),
            batch_size=self.batch_size.value(),
            lr=self.lr.value(),
            input_size=int(self.input_size.currentText()),
            augment=self.augment.isChecked(),
            use_cae=self.use_cae.isChecked(),
        )

    def apply_config(self, config: TrainConfig) -> None:
        self._applying = True
        self.epochs_cae.setValue(config.epochs_cae)
        self.epochs_cnn.setValue(config.epochs_cnn)
        self.batch_size.setValue(config.batch_size)
        self.lr.setValue(config.lr)
        self.input_size.setCurrentText(str(config.input_size))
        self.augment.setChecked(config.augment)
        self.use_cae.setChecked(config.use_cae)
        self._applying = False

    def _check_ranges(self, config: TrainConfig) -> None:
        """ValueError where a saved parameter lies outside its box's range: a spin box takes no
        int beyond Qt's (2**70 raised OverflowError) and would clamp the rest to another run."""
        for spin, value in (
            (self.epochs_cae, config.epochs_cae),
            (self.epochs_cnn, config.epochs_cnn),
            (self.batch_size, config.batch_size),
        ):
            if not spin.minimum() <= value <= spin.maximum():
                raise ValueError(f"a saved training parameter is out of range: {value!r}")

    @Slot(str)
    def _on_preset_changed(self, name: str) -> None:
        if name in PRESETS:
            self.apply_config(PRESETS[name])
        self._save()

    @Slot()
    def _on_parameter_edited(self) -> None:
        if self._applying:
            return
        matching = [n for n, c in PRESETS.items() if c == self.config()]
        self.preset.blockSignals(True)
        self.preset.setCurrentText(matching[0] if matching else "Custom")
        self.preset.blockSignals(False)
        self._save()

    def _save(self) -> None:
        values = {
            **self.config().to_dict(),
            "protocol": self.protocol.currentText(),
            "angles": self.angles.currentText(),
            "preset": self.preset.currentText(),
        }
        self.settings.setValue("training/parameters", json.dumps(values))
