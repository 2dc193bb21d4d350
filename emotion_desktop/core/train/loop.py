"""The paper's two stages: train the auto-encoder, then the classifier it initialises.

Every loop reports through one ``progress`` callback that receives frozen :class:`Progress`
events and checks ``cancel()`` between batches, raising :class:`TrainingCancelled`. After each
epoch the run's state is written to a resume file, so a cancelled or crashed run continues from
its last finished epoch. Randomness is seeded per epoch (``seed``, stage, epoch), so a resumed
run draws the same augmentations and dropout masks as an uninterrupted one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emotion_desktop.core.callbacks import CancelFn
from emotion_desktop.core.data.dataset import augment, batches, to_tensor
from emotion_desktop.core.errors import DatasetError, TrainingCancelled
from emotion_desktop.core.model.networks import (
    Classifier,
    ConvAutoEncoder,
    EmotionCNN,
    Encoder,
    mirrored_softmax,
    standardise,
)
from emotion_desktop.core.train import distributed
from emotion_desktop.core.train.config import TrainConfig
from emotion_desktop.core.train.resume import ResumeFile, run_identity

STAGE_CAE = "cae"
STAGE_CNN = "cnn"


@dataclass(frozen=True)
class Progress:
    """One event of a training run, for a progress bar and live curves.

    ``fraction`` runs 0..1 over the whole run and never backwards: the CAE stage maps onto
    0..0.5 and the classifier onto 0.5..1 (0..1 where the CAE stage is off). ``end_of_epoch``
    events carry the epoch's means and validation figures; batch events carry the batch loss.
    """

    stage: str
    epoch: int
    epochs: int
    batch: int
    batches: int
    fraction: float
    train_loss: float
    end_of_epoch: bool = False
    val_loss: float | None = None
    train_accuracy: float | None = None
    val_accuracy: float | None = None
    preview: np.ndarray | None = field(default=None, compare=False)  # CAE: inputs over outputs


ProgressFn = Callable[[Progress], None]


@dataclass
class History:
    """Per-epoch figures of both stages; saved in the resume file and the model card."""

    cae_loss: list[float] = field(default_factory=list)
    cae_val_loss: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=lambda: {STAGE_CAE: 0.0, STAGE_CNN: 0.0})

    def add_cnn_epoch(
        self, loss: float, accuracy: float | None, val: Evaluation | None, seconds: float
    ) -> None:
        """A classifier epoch's figures; NaN for validation where there are no validation
        faces (the curves keep one point an epoch)."""
        self.train_loss.append(loss)
        self.train_accuracy.append(accuracy or 0.0)
        self.val_loss.append(val.loss if val else math.nan)
        self.val_accuracy.append(val.accuracy if val else math.nan)
        self.seconds[STAGE_CNN] += seconds


@dataclass(frozen=True)
class Evaluation:
    loss: float
    accuracy: float
    probabilities: np.ndarray  # [N, 7]

    @property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)


def _stage_span(stage: str, use_cae: bool) -> tuple[float, float]:
    if not use_cae:
        return 0.0, 1.0
    return (0.0, 0.5) if stage == STAGE_CAE else (0.5, 1.0)


def _epoch_end(
    stage: str,
    epoch: int,
    epochs: int,
    span: tuple[float, float],
    loss: float,
    **figures: object,
) -> Progress:
    """The event closing an epoch of ``stage``, at its end of the stage's ``span``."""
    low, high = span
    fraction = low + (high - low) * (epoch + 1) / epochs
    return Progress(stage, epoch, epochs, 0, 0, fraction, loss, end_of_epoch=True, **figures)


def _batch_reporter(
    progress: ProgressFn | None, stage: str, epoch: int, epochs: int, low: float, high: float
) -> Callable[[int, int, float], None] | None:
    """The per-batch callback of one epoch, mapping its batches onto the stage's span."""
    if progress is None:
        return None

    def on_batch(b: int, n: int, loss: float) -> None:
        fraction = low + (high - low) * (epoch + (b + 1) / n) / epochs
        progress(Progress(stage, epoch, epochs, b, n, fraction, loss))

    return on_batch


def _seed_epoch(seed: int, stage: str, epoch: int) -> torch.Generator:
    """Seed dropout (global RNG) and return the augmentation/shuffle generator for an epoch."""
    value = seed * 100_003 + (0 if stage == STAGE_CAE else 50_000) + epoch
    torch.manual_seed(value)
    return torch.Generator().manual_seed(value)


def _check_cancel(cancel: CancelFn | None) -> None:
    if cancel is not None and distributed.any_rank(cancel()):
        raise TrainingCancelled(
            "training was cancelled; run it again to resume from the last epoch"
        )


def train_one_epoch(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor | None,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    config: TrainConfig,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    on_batch: Callable[[int, int, float], None] | None = None,
    cancel: CancelFn | None = None,
    weights: torch.Tensor | None = None,
) -> tuple[float, float | None]:
    """One pass over ``x``; classification when targets ``y`` are given, reconstruction
    otherwise. ``y`` holds class indices [N] or distributions [N, 7] (FER+'s votes); ``weights``
    are per-item sampling weights (see :func:`dataset.batches`).

    Returns the mean loss and, for classification, the accuracy on the augmented batches. Under
    ``torchrun`` each process takes its share of every batch and DDP averages the gradients.
    """
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    index_batches = batches(len(x), config.batch_size, generator, weights)
    for b, index in enumerate(index_batches):
        _check_cancel(cancel)
        index = distributed.shard(index)
        inputs = x[index]
        if config.augment:
            inputs = augment(inputs, generator)
        optimizer.zero_grad(set_to_none=True)
        if y is None:
            loss = _reconstruction_loss(model, inputs)
        else:
            logits = model(inputs)
            target = y[index]
            loss = F.cross_entropy(logits, target, label_smoothing=config.label_smoothing)
            truth = target.argmax(1) if target.ndim == 2 else target
            correct += int((logits.argmax(1) == truth).sum())
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total_loss += loss.item() * len(index)
        seen += len(index)
        if on_batch is not None:
            on_batch(b, len(index_batches), loss.item())
    return total_loss / max(seen, 1), (correct / seen if y is not None and seen else None)


def _reconstruction_loss(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """MSE against the standardised input; works on a bare or a DDP-wrapped auto-encoder."""
    return F.mse_loss(model(inputs), standardise(inputs))


@torch.inference_mode()
def evaluate(
    model: Classifier, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256, flip: bool = False
) -> Evaluation:
    """Loss, accuracy and probabilities; ``flip`` averages with the mirrored faces (test-time)."""
    model.eval()
    logits = []
    for index in batches(len(x), batch_size):
        logits.append(mirrored_softmax(model, x[index], flip))
    probs = torch.cat(logits) if logits else torch.zeros(0, 7)
    loss = float(F.nll_loss(probs.clamp_min(1e-8).log(), y)) if len(y) else 0.0
    accuracy = float((probs.argmax(1) == y).float().mean()) if len(y) else 0.0
    return Evaluation(loss, accuracy, probs.cpu().numpy())


@torch.inference_mode()
def reconstruction_loss(cae: ConvAutoEncoder, x: torch.Tensor, batch_size: int = 256) -> float:
    cae.eval()
    total = sum(float(cae.reconstruction_loss(x[i])) * len(i) for i in batches(len(x), batch_size))
    return total / max(len(x), 1)


def _preview(cae: ConvAutoEncoder, sample: torch.Tensor) -> np.ndarray:
    """Inputs above their reconstructions, both rescaled to 0..255, as one uint8 image."""
    cae.eval()
    with torch.inference_mode():
        pairs = torch.cat([standardise(sample), cae(sample)], 2)  # [n, 1, 2S, S]
    pairs = pairs - pairs.amin(dim=(1, 2, 3), keepdim=True)
    pairs = pairs / pairs.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)
    return (torch.cat(list(pairs[:, 0]), 1) * 255).byte().cpu().numpy()


def train_cae(
    x: torch.Tensor,
    x_val: torch.Tensor,
    config: TrainConfig,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    resume: ResumeFile | None = None,
    history: History | None = None,
    weights: torch.Tensor | None = None,
) -> ConvAutoEncoder:
    """Stage 1: unsupervised reconstruction of the training faces (Adam, fixed rate)."""
    resume = resume or ResumeFile(None, {})
    history = history if history is not None else History()
    torch.manual_seed(config.seed)
    cae = ConvAutoEncoder(config.model_config()).to(distributed.device())
    optimizer = torch.optim.Adam(cae.parameters(), lr=config.lr_cae)
    start = 0
    if resume.state.get("stage") == STAGE_CAE:
        cae.load_state_dict(resume.state["cae"])
        optimizer.load_state_dict(resume.state["optimizer"])
        start = resume.state["epoch"] + 1
    model = distributed.wrap(cae)
    low, high = _stage_span(STAGE_CAE, True)
    epochs = config.epochs_cae
    sample = x_val[:8] if len(x_val) else x[:8]
    for epoch in range(start, epochs):
        t0 = time.perf_counter()
        generator = _seed_epoch(config.seed, STAGE_CAE, epoch)

        on_batch = _batch_reporter(progress, STAGE_CAE, epoch, epochs, low, high)
        loss, _ = train_one_epoch(
            model, x, None, optimizer, generator, config, None, on_batch, cancel, weights
        )
        val_loss = reconstruction_loss(cae, x_val) if len(x_val) else math.nan
        history.cae_loss.append(loss)
        history.cae_val_loss.append(val_loss)
        history.seconds[STAGE_CAE] += time.perf_counter() - t0
        resume.save(
            stage=STAGE_CAE,
            epoch=epoch,
            cae=cae.state_dict(),
            optimizer=optimizer.state_dict(),
            history=asdict(history),
        )
        if progress:
            figures = {"val_loss": val_loss, "preview": _preview(cae, sample)}
            progress(_epoch_end(STAGE_CAE, epoch, epochs, (low, high), loss, **figures))
    return cae


def train_classifier(
    x: torch.Tensor,
    y: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    config: TrainConfig,
    init: Encoder | EmotionCNN | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    resume: ResumeFile | None = None,
    history: History | None = None,
    weights: torch.Tensor | None = None,
) -> EmotionCNN:
    """Stage 2: the classifier, its conv layers from ``init`` (a CAE encoder) or from scratch;
    ``init`` a whole trained classifier fine-tunes it (every layer starts from its weights).

    AdamW with a one-cycle schedule and label smoothing. The weights of the epoch with the lowest
    validation loss are the ones returned; ``config.patience`` stops early after that many epochs
    without improvement.
    """
    # Over 60 lines with its eleven parameters: the epoch loop stays whole because the resume
    # file, the best weights and the early stop are read and written together, once an epoch.
    resume = resume or ResumeFile(None, {})
    history = history if history is not None else History()
    cnn = _initial_classifier(config, init)
    model = distributed.wrap(cnn)
    optimizer, scheduler = _one_cycle(cnn, config, len(x), weights)
    best_loss, best_state, start, stale = math.inf, None, 0, 0
    if resume.state.get("stage") == STAGE_CNN:
        cnn.load_state_dict(resume.state["cnn"])
        optimizer.load_state_dict(resume.state["optimizer"])
        scheduler.load_state_dict(resume.state["scheduler"])
        best_loss, best_state = resume.state["best_loss"], resume.state["best"]
        start, stale = resume.state["epoch"] + 1, resume.state["stale"]
    low, high = _stage_span(STAGE_CNN, config.use_cae)
    epochs = config.epochs_cnn
    if config.patience and stale >= config.patience:
        start = epochs  # the run had stopped early; only its saving was left to do
    for epoch in range(start, epochs):
        t0 = time.perf_counter()
        generator = _seed_epoch(config.seed, STAGE_CNN, epoch)

        on_batch = _batch_reporter(progress, STAGE_CNN, epoch, epochs, low, high)
        loss, acc = train_one_epoch(
            model, x, y, optimizer, generator, config, scheduler, on_batch, cancel, weights
        )
        val = evaluate(cnn, x_val, y_val) if len(x_val) else None
        val_loss = val.loss if val else loss
        history.add_cnn_epoch(loss, acc, val, time.perf_counter() - t0)
        if val_loss < best_loss:
            best_loss, stale = val_loss, 0
            best_state = {k: v.clone() for k, v in cnn.state_dict().items()}
        else:
            stale += 1
        resume.save(
            stage=STAGE_CNN,
            epoch=epoch,
            cnn=cnn.state_dict(),
            optimizer=optimizer.state_dict(),
            scheduler=scheduler.state_dict(),
            best=best_state,
            best_loss=best_loss,
            stale=stale,
            history=asdict(history),
        )
        if progress:
            figures = {"train_accuracy": acc}
            if val:
                figures.update(val_loss=val.loss, val_accuracy=val.accuracy)
            progress(_epoch_end(STAGE_CNN, epoch, epochs, (low, high), loss, **figures))
        if config.patience and stale >= config.patience:
            break
    if best_state is not None:
        cnn.load_state_dict(best_state)
    cnn.eval()
    return cnn


def _initial_classifier(config: TrainConfig, init: Encoder | EmotionCNN | None) -> EmotionCNN:
    """The classifier before its first epoch, on the training device: conv layers from a CAE
    encoder, every layer from a classifier being fine-tuned, or seeded random weights."""
    torch.manual_seed(config.seed + 1)
    if isinstance(init, Encoder):
        encoder = Encoder(init.config)
        encoder.load_state_dict(init.state_dict())
        cnn = EmotionCNN(config.model_config(), encoder)
    else:
        cnn = EmotionCNN(config.model_config())
        if init is not None:
            cnn.load_state_dict(init.state_dict())
    return cnn.to(distributed.device())


def _one_cycle(
    cnn: EmotionCNN, config: TrainConfig, faces: int, weights: torch.Tensor | None
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.OneCycleLR]:
    """AdamW and its one-cycle schedule, stepped once a batch: weighted sampling draws as many
    faces an epoch as the weights sum to, so the steps are counted from that."""
    optimizer = torch.optim.AdamW(cnn.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    per_epoch = faces if weights is None else max(1, round(float(weights.sum())))
    steps = max(1, math.ceil(per_epoch / config.batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, epochs=config.epochs_cnn, steps_per_epoch=steps
    )
    return optimizer, scheduler


def fit(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    val_images: np.ndarray,
    val_labels: np.ndarray,
    config: TrainConfig,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    resume_path: Path | None = None,
    identity: dict | None = None,
    train_targets: np.ndarray | None = None,
    sample_weights: np.ndarray | None = None,
    base: EmotionCNN | None = None,
) -> tuple[EmotionCNN, History]:
    """Both stages on prepared crops; resumes from ``resume_path`` when it matches ``identity``.
    ``base``, a trained classifier, is fine-tuned instead: the CAE stage is skipped.

    ``train_targets`` (float [N, 7]) replace the hard labels as the classifier's targets;
    ``sample_weights`` mix sources of different sizes in both stages; the CAE stage learns from
    every training face of every source and never reads a label.

    The resume file is left in place: the caller removes it once the model is safely saved, so a
    failed save (a full disk) can be retried without training again.
    """
    if len(train_images) == 0:
        raise DatasetError("there are no training images")
    config.model_config().validate()
    resume = ResumeFile(resume_path, run_identity(config, identity or {}))
    history = History(**resume.state["history"]) if "history" in resume.state else History()
    device = distributed.device()
    x, x_val = to_tensor(train_images).to(device), to_tensor(val_images).to(device)
    if train_targets is not None:
        y = torch.from_numpy(train_targets).float().to(device)
    else:
        y = torch.from_numpy(train_labels).long().to(device)
    y_val = torch.from_numpy(val_labels).long().to(device)
    weights = torch.from_numpy(sample_weights).double() if sample_weights is not None else None
    init: Encoder | EmotionCNN | None = base
    if base is None and config.use_cae:
        if resume.state.get("stage") == STAGE_CNN:
            init = None  # the classifier's own saved weights already include its encoder
        else:
            init = train_cae(x, x_val, config, progress, cancel, resume, history, weights).encoder
    cnn = train_classifier(
        x, y, x_val, y_val, config, init, progress, cancel, resume, history, weights
    )
    return cnn, history
