"""lib.makemore.wavenet: the lecture's flat and hierarchical models, built from lib's layers with
its sizes and its order of random draws, and their view as dilated causal convolutions."""
import math

import pytest
import torch
import torch.nn.functional as F

from lib.makemore import FlattenConsecutive, Linear, Sequential
from lib.makemore.layers import BatchNorm1d
from lib.makemore.wavenet import dilated_logits, flat_model, hierarchical_model


def seeded(seed=42):
    return torch.Generator().manual_seed(seed)


def num_parameters(model):
    return sum(p.nelement() for p in model.parameters())


@pytest.mark.parametrize("build, count", [
    (lambda: flat_model(block_size=3, n_embd=10, n_hidden=200), 12_097),
    (lambda: flat_model(block_size=8, n_embd=10, n_hidden=200), 22_097),
    (lambda: hierarchical_model(n_embd=10, n_hidden=68), 22_397),
    (lambda: hierarchical_model(n_embd=24, n_hidden=128), 76_579),
])
def test_parameter_counts_are_the_lectures(build, count):
    assert num_parameters(build()) == count


def test_weights_are_drawn_from_the_generator_in_layer_order():
    model = hierarchical_model(n_embd=24, n_hidden=128, generator=seeded())
    g = seeded()
    expected = [torch.randn((27, 24), generator=g)]
    for fan_in in (48, 256, 256):
        expected.append(torch.randn((fan_in, 128), generator=g) / fan_in**0.5)
    expected.append(0.1 * torch.randn((128, 27), generator=g) / 128**0.5)  # the quieted output layer
    weights = [model.layers[0].weight] + [layer.weight for layer in model.layers if isinstance(layer, Linear)]
    for got, want in zip(weights, expected, strict=True):
        torch.testing.assert_close(got.detach(), want)
    # The hidden Linears have no bias (BatchNorm's beta replaces it); the output layer's is zero.
    linears = [layer for layer in model.layers if isinstance(layer, Linear)]
    assert [layer.bias is None for layer in linears] == [True, True, True, False]
    assert torch.equal(linears[-1].bias.detach(), torch.zeros(27))


def test_shapes_through_the_hierarchy():
    model = hierarchical_model(n_embd=10, n_hidden=68, generator=seeded())
    model(torch.zeros(4, 8, dtype=torch.long))
    assert [tuple(layer.out.shape) for layer in model.layers] == [
        (4, 8, 10), (4, 4, 20), (4, 4, 68), (4, 4, 68), (4, 4, 68),
        (4, 2, 136), (4, 2, 68), (4, 2, 68), (4, 2, 68),
        (4, 136), (4, 68), (4, 68), (4, 68), (4, 27)]


def test_flat_model_fuses_the_whole_context_at_once():
    model = flat_model(block_size=8, n_embd=10, n_hidden=200, generator=seeded())
    model(torch.zeros(5, 8, dtype=torch.long))
    assert isinstance(model.layers[1], FlattenConsecutive) and model.layers[1].n == 8
    assert tuple(model.layers[1].out.shape) == (5, 80)


def test_initial_loss_is_near_uniform():
    g = seeded()
    model = hierarchical_model(generator=g)
    X, Y = torch.randint(0, 27, (512, 8), generator=g), torch.randint(0, 27, (512,), generator=g)
    assert abs(F.cross_entropy(model(X), Y).item() - math.log(27)) < 0.1


@pytest.mark.parametrize("block_size", [1, 3, 6, 12])
def test_block_size_must_be_a_power_of_two(block_size):
    with pytest.raises(ValueError, match="power of 2"):
        hierarchical_model(block_size=block_size)


def test_batchnorm_class_can_be_swapped():
    class Marked(BatchNorm1d):
        pass

    model = hierarchical_model(n_embd=4, n_hidden=6, generator=seeded(), batchnorm=Marked)
    assert sum(isinstance(layer, Marked) for layer in model.layers) == 3


def trained_looking(model, g, block_size=8):
    """Give the BatchNorms non-trivial running statistics, gamma and beta, then switch to eval mode."""
    model(torch.randint(0, 27, (64, block_size), generator=g))
    with torch.no_grad():
        for layer in model.layers:
            if isinstance(layer, BatchNorm1d):
                layer.running_mean += 0.3 * torch.randn(layer.running_mean.shape, generator=g)
                layer.running_var *= 1 + torch.rand(layer.running_var.shape, generator=g)
                layer.gamma += 0.2 * torch.randn(layer.gamma.shape, generator=g)
                layer.beta += 0.2 * torch.randn(layer.beta.shape, generator=g)
    return model.eval()


@pytest.mark.parametrize("length", [8, 9, 20])
def test_dilated_convolutions_give_the_logits_of_every_window(length):
    g = seeded(3)
    model = trained_looking(hierarchical_model(n_embd=6, n_hidden=10, generator=g), g)
    ids = torch.randint(0, 27, (3, length), generator=g)
    got = dilated_logits(model, ids)
    with torch.no_grad():
        windows = torch.stack([model(ids[:, i:i + 8]) for i in range(length - 7)], dim=1)
    assert got.shape == (3, length - 7, 27)
    torch.testing.assert_close(got, windows, rtol=1e-5, atol=1e-5)


def test_dilated_convolutions_with_a_longer_context_and_output_bias():
    g = seeded(4)
    model = trained_looking(hierarchical_model(block_size=16, n_embd=5, n_hidden=7, generator=g), g, block_size=16)
    with torch.no_grad():
        model.layers[-1].bias += 1.0
    ids = torch.randint(0, 27, (2, 20), generator=g)
    with torch.no_grad():
        windows = torch.stack([model(ids[:, i:i + 16]) for i in range(5)], dim=1)
    torch.testing.assert_close(dilated_logits(model, ids), windows, rtol=1e-5, atol=1e-5)


def test_the_flat_model_is_one_convolution_with_a_kernel_as_wide_as_the_context():
    g = seeded(5)
    model = trained_looking(flat_model(block_size=8, n_embd=4, n_hidden=9, generator=g), g)
    ids = torch.randint(0, 27, (2, 11), generator=g)
    with torch.no_grad():
        windows = torch.stack([model(ids[:, i:i + 8]) for i in range(4)], dim=1)
    torch.testing.assert_close(dilated_logits(model, ids), windows, rtol=1e-5, atol=1e-5)


def test_dilated_logits_refuses_training_mode_short_input_and_other_models():
    model = hierarchical_model(n_embd=4, n_hidden=6, generator=seeded())
    with pytest.raises(ValueError, match="eval"):
        dilated_logits(model, torch.zeros(1, 8, dtype=torch.long))
    model.eval()
    with pytest.raises(ValueError, match="block_size"):
        dilated_logits(model, torch.zeros(1, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="hierarchical_model"):
        dilated_logits(Sequential([Linear(3, 3)]), torch.zeros(1, 8, dtype=torch.long))
