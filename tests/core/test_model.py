import pytest
import torch

from emotion_desktop.core.model.networks import (
    ConvAutoEncoder,
    EmotionCNN,
    EnsembleCNN,
    ModelConfig,
    count_parameters,
)


@pytest.mark.parametrize("third_pool", [True, False])
def test_shapes(third_pool: bool) -> None:
    config = ModelConfig(input_size=48, third_pool=third_pool)
    x = torch.rand(3, 1, 48, 48)
    assert ConvAutoEncoder(config)(x).shape == x.shape
    assert EmotionCNN(config)(x).shape == (3, 7)


def test_decoder_owns_no_convolution_weights() -> None:
    cae = ConvAutoEncoder(ModelConfig(input_size=24))
    own = {n for n, _ in cae.named_parameters() if not n.startswith("encoder.")}
    assert own == {"decoder_biases.0", "decoder_biases.1", "decoder_biases.2"}
    assert all(p.dim() == 1 for n, p in cae.named_parameters() if n in own)
    assert count_parameters(cae) == count_parameters(cae.encoder) + 1 + 32 + 64


def test_changing_an_encoder_weight_changes_the_reconstruction() -> None:
    torch.manual_seed(0)
    cae = ConvAutoEncoder(ModelConfig(input_size=24)).eval()
    x = torch.rand(2, 1, 24, 24)
    with torch.no_grad():
        before = cae(x).clone()
        cae.encoder.convs[0].weight[0, 0, 1, 1] += 1.0
        after = cae(x)
    assert not torch.allclose(before, after)


def test_reconstruction_gradient_reaches_every_encoder_weight() -> None:
    cae = ConvAutoEncoder(ModelConfig(input_size=24))
    cae.reconstruction_loss(torch.rand(2, 1, 24, 24)).backward()
    assert all(
        conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0
        for conv in cae.encoder.convs
    )


def test_classifier_starts_from_the_cae_encoder() -> None:
    cae = ConvAutoEncoder(ModelConfig(input_size=24))
    cnn = EmotionCNN.from_autoencoder(cae)
    for a, b in zip(cae.encoder.convs, cnn.encoder.convs):
        assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
        assert (
            a.weight.data_ptr() != b.weight.data_ptr()
        )  # a copy: fine-tuning leaves the CAE alone


def test_fully_connected_sizes_follow_the_paper() -> None:
    cnn = EmotionCNN(ModelConfig(input_size=48, third_pool=True))
    linears = [m for m in cnn.classifier if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [1024, 512, 7]
    assert linears[0].in_features == 128 * 6 * 6


def test_inputs_are_standardised_so_scale_does_not_matter() -> None:
    cnn = EmotionCNN(ModelConfig(input_size=24)).eval()
    x = torch.rand(2, 1, 24, 24)
    assert torch.allclose(cnn(x), cnn(x * 255), atol=1e-4)


def test_probabilities_sum_to_one() -> None:
    probs = EmotionCNN(ModelConfig(input_size=24)).eval().probabilities(torch.rand(4, 1, 24, 24))
    assert torch.allclose(probs.sum(1), torch.ones(4), atol=1e-5)


def test_input_size_must_fit_the_pools() -> None:
    with pytest.raises(ValueError, match="divisible by 8"):
        EmotionCNN(ModelConfig(input_size=50))


def test_ensemble_gives_the_mean_of_its_members_probabilities() -> None:
    members = [EmotionCNN(ModelConfig(input_size=24)).eval() for _ in range(3)]
    x = torch.rand(4, 1, 24, 24)
    expected = torch.stack([m.probabilities(x) for m in members]).mean(0)
    assert torch.allclose(EnsembleCNN(members).eval().probabilities(x), expected, atol=1e-6)
    with pytest.raises(ValueError):
        EnsembleCNN(members[:1])
    with pytest.raises(ValueError):
        EnsembleCNN([members[0], EmotionCNN(ModelConfig(input_size=24, dropout=0.1))])
