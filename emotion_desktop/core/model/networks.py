"""The paper's two networks: a convolutional auto-encoder with a tied decoder, and the CNN it
initialises.

Encoder (Wiranata et al. 2020, table 1): conv3x3 32 ReLU, pool 2x2, conv3x3 64 ReLU, pool 2x2,
conv3x3 128 ReLU, and optionally a third pool 2x2. The paper's text is ambiguous about that third
pool; with it the first fully connected layer is 4x smaller (5.3 M parameters in all at 48x48
instead of 20 M) and training about 3x faster, at no measured cost in accuracy, so it is the
default and the choice is stored in every checkpoint.

Every network standardises each image on its own (zero mean, unit variance) as its first step:
without that, raw 0-255 input kept the classifier at chance for many epochs, and keeping it inside
the model means training, inference and saved checkpoints can never disagree about it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from emotion_desktop.core.emotions import NUM_CLASSES

CONV_CHANNELS: tuple[int, ...] = (32, 64, 128)


@dataclass(frozen=True)
class ModelConfig:
    """What a checkpoint must record to rebuild its network."""

    input_size: int = 48
    third_pool: bool = True
    dropout: float = 0.4

    @property
    def num_pools(self) -> int:
        return 3 if self.third_pool else 2

    @property
    def feature_size(self) -> int:
        """Side of the encoder's output map."""
        return self.input_size // (2**self.num_pools)

    def validate(self) -> None:
        if self.input_size % (2**self.num_pools):
            raise ValueError(
                f"input size {self.input_size} must be divisible by {2**self.num_pools} "
                f"for {self.num_pools} poolings"
            )

    def to_dict(self) -> dict:
        return asdict(self)


def standardise(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Per-image zero mean and unit variance over (C, H, W)."""
    x = x.float()
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = x.std(dim=(1, 2, 3), keepdim=True)
    return (x - mean) / (std + eps)


class Encoder(nn.Module):
    """The shared convolution/pooling stack of both networks."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        channels = (1, *CONV_CHANNELS)
        self.convs = nn.ModuleList(
            nn.Conv2d(cin, cout, kernel_size=3, padding=1)
            for cin, cout in zip(channels, channels[1:])
        )
        for conv in self.convs:
            nn.init.xavier_uniform_(conv.weight)
            nn.init.zeros_(conv.bias)

    def pools_after(self, index: int) -> bool:
        """Whether a 2x2 max-pool follows convolution ``index``."""
        return index < self.config.num_pools

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            if self.pools_after(i):
                x = F.max_pool2d(x, 2)
        return x


class ConvAutoEncoder(nn.Module):
    """Stage 1: reconstructs a standardised face through the encoder and a tied decoder.

    The decoder owns no convolution weights: each stride-1 transposed convolution reuses the weight
    tensor of the encoder convolution it mirrors, so every gradient the reconstruction produces
    lands on the encoder that the classifier will inherit. Only the decoder biases are its own
    (their shape is the encoder's input channels, which no encoder tensor has).
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config or ModelConfig()
        self.encoder = Encoder(self.config)
        self.decoder_biases = nn.ParameterList(
            nn.Parameter(torch.zeros(conv.in_channels)) for conv in self.encoder.convs
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(standardise(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Mirror the encoder: up-sample for each pool, transposed conv for each conv."""
        convs = self.encoder.convs
        for i in reversed(range(len(convs))):
            if self.encoder.pools_after(i):
                z = F.interpolate(z, scale_factor=2, mode="nearest")
            z = F.conv_transpose2d(z, convs[i].weight, self.decoder_biases[i], padding=1)
            if i > 0:
                z = F.relu(z)
        return z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def reconstruction_loss(self, x: torch.Tensor) -> torch.Tensor:
        """Mean squared error against the standardised input the encoder saw."""
        return F.mse_loss(self(x), standardise(x))


class Classifier(nn.Module):
    """A network whose ``forward`` gives logits over the seven emotions.

    ``class_bias`` is added to those logits: zero as trained, set by ``core.balance`` to shift a
    trained model away from its training set's class frequencies. It is not a parameter (no
    training step changes it) and not in the state dict; checkpoints store it beside the weights.
    """

    config: ModelConfig

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("class_bias", torch.zeros(NUM_CLASSES), persistent=False)

    @torch.inference_mode()
    def probabilities(self, x: torch.Tensor, mirrored: bool = False) -> torch.Tensor:
        """Softmax over the emotions; ``mirrored`` averages each face with its mirror image
        (the test-time augmentation every figure of a model card is measured with)."""
        return mirrored_softmax(self, x, mirrored)


def mirrored_softmax(model: nn.Module, x: torch.Tensor, mirrored: bool) -> torch.Tensor:
    """Softmax of ``model``'s logits, averaged with the mirrored faces' where ``mirrored``; any
    module giving logits (a DDP-wrapped classifier in training too)."""
    probabilities = F.softmax(model(x), dim=1)
    if mirrored:
        probabilities = (probabilities + F.softmax(model(x.flip(3)), dim=1)) / 2
    return probabilities


class EmotionCNN(Classifier):
    """Stage 2: the encoder's layers, then fully connected 1024 ReLU, 512 ReLU, 7.

    ``forward`` returns logits; the paper's softmax is applied by the loss in training and by
    :meth:`probabilities` at inference.
    """

    def __init__(self, config: ModelConfig | None = None, encoder: Encoder | None = None) -> None:
        super().__init__()
        if encoder is not None:
            config = encoder.config if config is None else config
            if encoder.config.input_size != config.input_size or (
                encoder.config.third_pool != config.third_pool
            ):
                raise ValueError("encoder and classifier configurations disagree")
        self.config = config or ModelConfig()
        self.encoder = encoder if encoder is not None else Encoder(self.config)
        side = self.config.feature_size
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(CONV_CHANNELS[-1] * side * side, 1024),
            nn.ReLU(),
            nn.Dropout(self.config.dropout),
            nn.Linear(1024, 512),
            nn.ReLU(),
            nn.Dropout(self.config.dropout),
            nn.Linear(512, NUM_CLASSES),
        )
        for layer in self.classifier:
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)

    @classmethod
    def from_autoencoder(cls, cae: ConvAutoEncoder, dropout: float | None = None) -> EmotionCNN:
        """A classifier whose conv layers start as a copy of the trained CAE encoder's."""
        encoder = Encoder(cae.config)
        encoder.load_state_dict(cae.encoder.state_dict())
        config = (
            cae.config
            if dropout is None
            else ModelConfig(cae.config.input_size, cae.config.third_pool, dropout)
        )
        return cls(config, encoder)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits_of(self.hidden(self.maps(x)))

    def maps(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's output [N, 128, side, side]: what the convolutions see, and where."""
        return self.encoder(standardise(x))

    def hidden(self, maps: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activations [N, 512] from :meth:`maps`."""
        return self.classifier[:-1](maps)

    def logits_of(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.classifier[-1](hidden) + self.class_bias


class EnsembleCNN(Classifier):
    """Classifiers of one configuration trained with different seeds, probabilities averaged.

    Networks trained from different seeds err on different faces, so their average beats each of
    them (the README's accuracy table has the numbers). ``forward`` returns the log of the mean
    probability: the softmax that turns one network's logits into probabilities gives that mean
    back, so training's evaluation and inference treat either kind the same.
    """

    def __init__(self, members: list[EmotionCNN]) -> None:
        super().__init__()
        if len(members) < 2 or len({m.config for m in members}) != 1:
            raise ValueError("an ensemble needs two or more members of one configuration")
        self.config = members[0].config
        self.members = nn.ModuleList(members)

    @classmethod
    def empty(cls, config: ModelConfig, size: int) -> EnsembleCNN:
        """``size`` untrained members, to load a saved ensemble's weights into."""
        return cls([EmotionCNN(config) for _ in range(size)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probabilities = torch.stack([F.softmax(m(x), dim=1) for m in self.members]).mean(0)
        return probabilities.clamp_min(1e-12).log() + self.class_bias


# A face's layout: the encoder's maps averaged over a grid of 2 x 2 regions (512 numbers per
# network), enough to tell a turned head from a straight one (README, Personal calibration).
LAYOUT_GRID = 2


@torch.inference_mode()
def probabilities_and_layout(
    model: Classifier, x: torch.Tensor, mirrored: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """:meth:`Classifier.probabilities` (averaged with the mirrored faces' where ``mirrored``)
    and, from the same pass, each face's layout: the encoder's maps averaged over a
    :data:`LAYOUT_GRID` grid, each member's side by side for an ensemble.

    A personal profile compares faces by their layout. The hidden layers are trained to name an
    expression whichever way a head is turned, so they hide the turn; the convolutions' maps
    keep where things are in the face. The layout is always the faces' as given: averaged with
    the mirror, a head turned left would look half turned right."""
    members = list(model.members) if isinstance(model, EnsembleCNN) else [model]
    views = (x, x.flip(3)) if mirrored else (x,)
    probabilities, layout = [], None
    for view in views:
        maps = [m.maps(view) for m in members]
        if layout is None:
            layout = torch.cat([F.adaptive_avg_pool2d(m, LAYOUT_GRID).flatten(1) for m in maps], 1)
        hidden = [m.hidden(s) for m, s in zip(members, maps)]
        if isinstance(model, EnsembleCNN):
            mean = torch.stack([F.softmax(m.logits_of(h), 1) for m, h in zip(members, hidden)])
            logits = mean.mean(0).clamp_min(1e-12).log() + model.class_bias
        else:
            logits = model.logits_of(hidden[0])
        probabilities.append(F.softmax(logits, dim=1))
    return sum(probabilities) / len(views), layout


def layout_size(model: Classifier) -> int:
    """Width of :func:`probabilities_and_layout`'s layout for ``model``."""
    members = len(model.members) if isinstance(model, EnsembleCNN) else 1
    return members * CONV_CHANNELS[-1] * LAYOUT_GRID**2


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
