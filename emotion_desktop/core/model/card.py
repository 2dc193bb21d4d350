"""The model card: what a saved model learnt from, how, and how well it did.

The card (``NAME.json`` beside ``NAME.pt``) is what people read: data, split, settings,
machine, curves, test figures, terms of use. Evaluating, fine-tuning, averaging or balancing a
saved model read it too, so that no face that trained the model is counted as a test face.

It is a frozen :class:`ModelCard` of typed parts. Anyone can edit the file, so
:meth:`ModelCard.from_dict` checks every value against its part's types (``json_parts``) and
refuses a damaged card with one CheckpointError that names the bad value; readers use fields.
Keys a part does not name are kept in its ``extra`` and written back. The card is written by
``train.card`` (a run), ``train.ensemble`` and ``train.balance``, and saved by ``checkpoints``.

Version 1 is every card written before the card had a version; version 2 adds only the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Literal

from emotion_desktop.core.data.prepare import DataOptions
from emotion_desktop.core.errors import CheckpointError
from emotion_desktop.core.files import atomic_write_text, read_json
from emotion_desktop.core.model.json_parts import Damaged, read_part, write_part
from emotion_desktop.core.model.metrics import Scores

CARD_VERSION = 2
# The shipped cards are 25 KB (a card grows with its training curves and test sources): a
# card over this is not one the app wrote, and is refused unread rather than parsed into
# gigabytes (a 200 MB card took `label` to 2 GB).
MAX_CARD_BYTES = 16 * 2**20
Angles = Literal["all", "frontal"]


def _extra() -> Any:
    """The keys a part does not name, kept as read (see ``json_parts``)."""
    return field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SplitPart:
    """A split as a card summarises it (``splits.Split.describe``); the faces are in the
    split file."""

    protocol: str
    seed: int | None = None
    fold: int | None = None
    folds: int | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class Counts:
    """How many faces went to each part of a split, and the test faces per class."""

    train: int | None = None
    validation: int | None = None
    test: int | None = None
    test_per_class: Mapping[str, int] | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class SourcePart:
    """One source a model learnt from: its folder, sampling weight, split, and the files it
    skipped (file -> why)."""

    name: str
    kind: str | None = None
    folder: str | None = None
    weight: float | None = None
    found: int | None = None
    split: SplitPart | None = None
    skipped: int | None = None
    skipped_files: Mapping[str, str] | None = None
    test_duplicates_removed: int | None = None
    counts: Counts | None = None
    extra: Mapping[str, Any] = _extra()

    def __post_init__(self) -> None:
        if self.weight is not None and not self.weight > 0:
            raise ValueError(f"source {self.name}'s weight {self.weight} is not above 0")


@dataclass(frozen=True, kw_only=True)
class DataPart:
    """The data: the first source's folder and counts (KDEF in both shipped models), the
    angles kept, and every source (``sources``; cards older than sources had KDEF alone)."""

    folder: str | None = None
    found: int | None = None
    angles: Angles | None = None
    skipped: Mapping[str, str] | None = None
    missing: int | None = None
    counts: Counts | None = None
    face_location: Mapping[str, int] | None = None
    sources: tuple[SourcePart, ...] | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class TrainingPart:
    """How a model was trained and what the run took. The run's settings are
    ``train.config.TrainConfig``'s fields: those the model layer reads are named here, the
    others are in ``extra`` (``TrainConfig.from_card`` reads them all)."""

    seed: int | tuple[int, ...] | None = None  # an ensemble's: its members' seeds
    val_fraction: float | None = None
    use_cae: bool | None = None
    optimizer: str | None = None
    targets: str | None = None
    epochs_run_cnn: int | None = None
    seconds: Mapping[str, float] | None = None  # per stage
    seconds_total: float | None = None
    processes: int | None = None
    torch: str | None = None
    machine: str | None = None
    device: str | None = None
    extra: Mapping[str, Any] = _extra()
    extra_first: ClassVar[bool] = True  # the settings, then what the run took

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], **facts: Any) -> TrainingPart:
        """A run's settings (``TrainConfig.to_dict``) and what it took, as the part."""
        named = {f.name for f in fields(cls)}
        return cls(
            **{k: v for k, v in settings.items() if k in named},
            **facts,
            extra={k: v for k, v in settings.items() if k not in named},
        )

    def settings(self) -> dict[str, Any]:
        """The run's settings as ``TrainConfig.checked`` reads them (less an ensemble's seeds,
        which are its members')."""
        named = {"val_fraction": self.val_fraction, "use_cae": self.use_cae}
        if isinstance(self.seed, int):
            named["seed"] = self.seed
        return {**self.extra, **{k: v for k, v in named.items() if v is not None}}


@dataclass(frozen=True, kw_only=True)
class CardScores(Scores):
    """A source's test figures as a card holds them: the scores, whether each face was
    averaged with its mirror image, and how many of the split's test images its folder lacked
    (the figures are on the rest)."""

    test_time_flip: bool | None = None
    absent_test_images: int | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class MemberFigures:
    """One network of an ensemble: its name, seed and figures on its own."""

    name: str | None = None
    seed: int | None = None
    test_accuracy: float | None = None
    validation_accuracy: float | None = None
    seconds_total: float | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class EnsemblePart:
    """An ensemble's members, how its weights are stored and its validation accuracy."""

    weights: Literal["float16", "float32"] | None = None
    validation_accuracy: float | None = None
    members: tuple[MemberFigures, ...]
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class AccuracyPair:
    accuracy: float
    macro_accuracy: float
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class TauChoice:
    """One tau a class balance tried: accuracy on every validation face, and each source's."""

    tau: float
    accuracy: float
    validation: Mapping[str, AccuracyPair]
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class ClassBalance:
    """A class-balanced model's tau, the prior it shifts against, the taus tried, and the test
    figures before the balance."""

    method: str | None = None
    tau: float
    prior: Mapping[str, float] | None = None
    rule: str | None = None
    choices: tuple[TauChoice, ...] | None = None
    tests_before: Mapping[str, CardScores] | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class FineTunedFrom:
    """A fine-tune's base: its name, settings, and the sources in its weights."""

    name: str
    created: str | None = None
    training: TrainingPart | None = None
    learnt: tuple[str, ...] | None = None
    note: str | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class ModelCard:
    """A model's card. ``test`` (and ``data``'s folder and counts, ``split``) describe the
    first source, ``tests`` every source; ``figures`` are benchmarks/accuracy.py's, as it
    wrote them. A part a card lacks is None (or empty: ``data``, ``training``)."""

    version: int = CARD_VERSION
    created: str | None = None
    app_version: str | None = None
    method: str | None = None
    data: DataPart = DataPart()
    split: SplitPart | None = None
    training: TrainingPart = TrainingPart()
    history: Mapping[str, Any] | None = None  # train.loop.History's curves
    test: CardScores | None = None
    test_without_flip: CardScores | None = None
    tests: Mapping[str, CardScores] | None = None
    terms_of_use: str | None = None
    name: str | None = None
    fine_tuned_from: FineTunedFrom | None = None
    model_config: Mapping[str, Any] | None = None  # as the model file holds them, for people
    crop: Mapping[str, Any] | None = None
    ensemble: EnsemblePart | None = None
    class_balance: ClassBalance | None = None
    figures: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = _extra()

    @classmethod
    def from_dict(cls, raw: object, where: str = "the card") -> ModelCard:
        """The card in ``raw`` (parsed JSON); CheckpointError, naming the first value that does
        not fit, where it is damaged or of a newer version. A card without a version is
        version 1."""
        try:
            card = read_part(cls, {"version": 1, **raw} if isinstance(raw, dict) else raw)
        except Damaged as exc:
            raise CheckpointError(f"{where} is damaged: {exc}") from exc
        if not 1 <= card.version <= CARD_VERSION:
            raise CheckpointError(
                f"{where} is a card of version {card.version}; this version of the app reads "
                f"versions 1 to {CARD_VERSION}"
            )
        return card

    def to_dict(self) -> dict:
        """The card as JSON, as the current version: what :meth:`from_dict` reads back."""
        written = write_part(self)
        written.pop("version", None)
        return {"version": CARD_VERSION, **written}

    @property
    def angles(self) -> Angles:
        """Which angles the model was trained on ("all" for cards older than angles)."""
        return self.data.angles or "all"

    def tests_by_source(self) -> dict[str, CardScores]:
        """Test figures per source. Cards older than sources hold KDEF's alone, under ``test``."""
        if self.tests:
            return dict(self.tests)
        return {"kdef": self.test} if self.test is not None else {}

    def trained_sources(self) -> list[str]:
        """The names of the sources the model learnt from (``kdef`` for cards older than
        sources)."""
        return [s.name for s in self.data.sources or ()] or ["kdef"]

    def learnt_sources(self) -> list[str]:
        """The sources whose faces are in the model's weights: those it was trained on, and a
        fine-tuned model's base's, which it must not be tested on afresh."""
        names = self.trained_sources()
        base = self.fine_tuned_from.learnt if self.fine_tuned_from else None
        return names + [n for n in base or () if n not in names]

    def source_weights(self) -> dict[str, float]:
        """Each source's sampling weight by name, where the card records it."""
        return {s.name: s.weight for s in self.data.sources or () if s.weight is not None}

    def data_options(self, folders: list[Path]) -> DataOptions:
        """The data options the model was trained with, on ``folders``: its angles."""
        return DataOptions(folders[0], angles=self.angles, more=tuple(folders[1:]))


def card_path(checkpoint: Path) -> Path:
    return Path(checkpoint).with_suffix(".json")


def read_card(checkpoint: Path) -> ModelCard:
    """The card beside a checkpoint; CheckpointError where it is missing, cannot be read (a
    pipe, a file over MAX_CARD_BYTES, JSON nested too deep) or is damaged."""
    path = card_path(checkpoint)
    try:
        raw = read_json(path, MAX_CARD_BYTES)
    except OSError as exc:
        raise CheckpointError(f"{path.name} cannot be read ({exc.strerror or exc})") from exc
    except ValueError as exc:
        raise CheckpointError(f"{path.name} is not JSON ({exc})") from exc
    return ModelCard.from_dict(raw, path.name)


def write_card(checkpoint: Path, card: ModelCard) -> None:
    """Write the card beside a checkpoint, atomically, as the current version."""
    atomic_write_text(card_path(checkpoint), json.dumps(card.to_dict(), indent=2) + "\n")


def shown_card(checkpoint: Path) -> ModelCard:
    """:func:`read_card`, or an empty card where it cannot be read: what the window shows of a
    model, which a damaged card must not stop it listing (its columns stay blank)."""
    try:
        return read_card(checkpoint)
    except CheckpointError:
        return ModelCard()
