"""The training settings: every choice that shapes a trained model, stored whole in its card
and read back from cards and saved settings (where older files lack a setting, or hold a
value of the wrong type).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from emotion_desktop.core.model.networks import ModelConfig
from emotion_desktop.core.vision.faces import BEFORE_STUDIO, CropSettings


@dataclass(frozen=True)
class TrainConfig:
    """Every choice that shapes a trained model; stored whole in its card."""

    input_size: int = 48
    third_pool: bool = True
    dropout: float = 0.4
    margin: float = 0.1
    equalize: str = "clahe"
    studio: str = "head"  # how studio (KDEF) faces are found: see faces.locate_studio_face
    use_cae: bool = True
    epochs_cae: int = 15
    epochs_cnn: int = 150
    batch_size: int = 64
    lr_cae: float = 1e-3
    lr: float = 2e-3  # peak of the one-cycle schedule
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    augment: bool = True
    val_fraction: float = 0.1
    patience: int = 0  # stop after this many epochs without a better validation loss; 0: never
    seed: int = 0

    def model_config(self) -> ModelConfig:
        return ModelConfig(self.input_size, self.third_pool, self.dropout)

    def crop_settings(self) -> CropSettings:
        return CropSettings(self.input_size, self.margin, self.equalize, self.studio)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def checked(cls, data: object) -> TrainConfig:
        """:meth:`from_dict` for values from outside (saved settings, a card): TypeError where
        a field's value is not of its default's type (a float field takes an int)."""
        if not isinstance(data, dict):
            raise TypeError(f"training parameters must be a mapping, not {type(data).__name__}")
        defaults, values = cls(), dict(BEFORE_STUDIO)
        for f in fields(cls):
            if f.name not in data:
                continue
            value, default = data[f.name], getattr(defaults, f.name)
            wanted = (int, float) if isinstance(default, float) else type(default)
            if isinstance(value, bool) != isinstance(default, bool) or not isinstance(
                value, wanted
            ):
                raise TypeError(f"training parameter {f.name} is {value!r}")
            values[f.name] = float(value) if isinstance(default, float) else value
        return cls(**values)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """A card's training settings (see ``faces.BEFORE_STUDIO`` for older cards)."""
        known = {f.name for f in fields(cls)}
        return cls(**{**BEFORE_STUDIO, **{k: v for k, v in data.items() if k in known}})
