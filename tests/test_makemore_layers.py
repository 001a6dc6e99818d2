"""lib.makemore.layers: torch.nn-style layers (Lessons 4 to 6). Each layer computes what its
torch counterpart computes, lists its parameters, keeps its output, and refuses bad input; a
Sequential of them trains with lib.makemore.mlp's loop and samples in eval mode."""
import string

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.makemore import (BatchNorm1d, Embedding, FlattenConsecutive, Linear, Sequential, Tanh, Vocab,
                          build_dataset, sample, split_loss, train)

SEED = 2147483647
LETTERS = Vocab(string.ascii_lowercase)
WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "harper", "evelyn"]


def seeded(seed=SEED):
    return torch.Generator().manual_seed(seed)


# --- Linear -----------------------------------------------------------------------------------

def test_linear_weight_is_randn_over_sqrt_fan_in_and_bias_is_zero():
    layer = Linear(30, 200, generator=seeded())
    torch.testing.assert_close(layer.weight.detach(), torch.randn((30, 200), generator=seeded()) / 30**0.5)
    assert torch.equal(layer.bias.detach(), torch.zeros(200))
    assert [p.shape for p in layer.parameters()] == [(30, 200), (200,)]
    assert all(p.requires_grad for p in layer.parameters())


def test_linear_without_bias_has_only_its_weight():
    layer = Linear(4, 3, bias=False, generator=seeded())
    x = torch.randn(5, 4, generator=seeded(1))
    assert layer.parameters() == [layer.weight]
    torch.testing.assert_close(layer(x), x @ layer.weight)
    assert layer.out is not None and torch.equal(layer.out, layer(x))


def test_linear_matches_torch_linear_and_keeps_its_output():
    layer = Linear(6, 4, generator=seeded())
    with torch.no_grad():
        layer.bias += torch.arange(4.0)
    x = torch.randn(7, 6, generator=seeded(1))
    y = layer(x)
    torch.testing.assert_close(y, F.linear(x, layer.weight.T, layer.bias))
    assert y is layer.out


def test_fan_in_scaling_keeps_unit_variance():
    x = torch.randn(2000, 500, generator=seeded(1))
    assert Linear(500, 300, generator=seeded())(x).std().item() == pytest.approx(1.0, abs=0.05)


def test_linear_refuses_inputs_of_the_wrong_width():
    with pytest.raises(ValueError, match="fan_in=6; got shape \\(7, 5\\)"):
        Linear(6, 4)(torch.zeros(7, 5))


# --- BatchNorm1d ------------------------------------------------------------------------------

def reference(bn_input, running_mean, running_var, gamma, beta, training, momentum, eps):
    """torch's batch_norm on (N, C) or (N, T, C), with the channels last like our layer."""
    x = bn_input if bn_input.dim() == 2 else bn_input.transpose(1, 2)  # torch wants (N, C, T)
    out = F.batch_norm(x, running_mean, running_var, gamma, beta, training=training, momentum=momentum, eps=eps)
    return out if bn_input.dim() == 2 else out.transpose(1, 2)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 40), t=st.one_of(st.none(), st.integers(1, 5)), dim=st.integers(1, 8),
       momentum=st.sampled_from([0.1, 0.001, 0.5]), seed=st.integers(0, 2**31))
def test_batchnorm_equals_torch_batch_norm_in_both_modes(n, t, dim, momentum, seed):
    g = seeded(seed)
    shape = (n, dim) if t is None else (n, t, dim)
    bn = BatchNorm1d(dim, momentum=momentum)
    with torch.no_grad():
        bn.gamma += torch.randn(dim, generator=g)
        bn.beta += torch.randn(dim, generator=g)
    running_mean, running_var = torch.zeros(dim, dtype=torch.float64), torch.ones(dim, dtype=torch.float64)
    gamma, beta = bn.gamma.detach().double(), bn.beta.detach().double()
    for _ in range(3):  # three training steps, then eval
        x = torch.randn(shape, generator=g, dtype=torch.float64) * 3 + 1
        got = bn(x)
        want = reference(x, running_mean, running_var, gamma, beta, True, momentum, 1e-5)
        torch.testing.assert_close(got.detach(), want)
        torch.testing.assert_close(bn.running_mean, running_mean)
        torch.testing.assert_close(bn.running_var, running_var)
    bn.training = False
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    torch.testing.assert_close(bn(x).detach(), reference(x, running_mean, running_var, gamma, beta, False, momentum, 1e-5))


def test_batchnorm_training_output_has_zero_mean_unit_variance_per_feature():
    x = torch.randn(32, 200, generator=seeded()) * 5 + 3
    out = BatchNorm1d(200)(x)
    torch.testing.assert_close(out.mean(0), torch.zeros(200), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.var(0, unbiased=False), torch.ones(200), atol=1e-3, rtol=0)


def test_batchnorm_statistics_of_3d_input_are_over_dims_0_and_1():
    x = torch.randn(4, 5, 3, generator=seeded())
    bn = BatchNorm1d(3, momentum=1.0)  # momentum 1: the running statistics become the batch's
    bn(x)
    flat = x.reshape(-1, 3)
    torch.testing.assert_close(bn.running_mean, flat.mean(0))
    torch.testing.assert_close(bn.running_var, flat.var(0))  # unbiased, over all 20 values
    assert bn.running_mean.shape == (3,) and bn.out.shape == (4, 5, 3)


def test_running_statistics_are_buffers_without_gradient():
    bn = BatchNorm1d(3)
    x = torch.randn(8, 3, generator=seeded(), requires_grad=True)
    bn(x).sum().backward()
    assert not bn.running_mean.requires_grad and not bn.running_var.requires_grad
    assert bn.parameters() == [bn.gamma, bn.beta]
    assert torch.equal(bn.gamma.detach(), torch.ones(3)) and torch.equal(bn.beta.detach(), torch.zeros(3))


def test_eval_mode_uses_running_statistics_and_does_not_update_them():
    bn = BatchNorm1d(2)
    bn.running_mean, bn.running_var = torch.tensor([1.0, -2.0]), torch.tensor([4.0, 9.0])
    bn.training = False
    x = torch.tensor([[3.0, 1.0], [5.0, -2.0], [1.0, 4.0]])
    torch.testing.assert_close(bn(x), (x - bn.running_mean) / torch.sqrt(bn.running_var + 1e-5))
    assert torch.equal(bn.running_mean, torch.tensor([1.0, -2.0]))
    one = bn(x[:1])  # a single example is fine in eval mode
    assert one.shape == (1, 2)


def test_batchnorm_refuses_bad_input():
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match="\\(N, 3\\) or \\(N, T, 3\\)"):
        bn(torch.zeros(4, 5))
    with pytest.raises(ValueError, match="\\(N, 3\\) or \\(N, T, 3\\)"):
        bn(torch.zeros(3))
    with pytest.raises(ValueError, match="at least 2 values .*call \\.eval\\(\\) before"):
        bn(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm1d(3, momentum=2)


# --- Tanh, Embedding, FlattenConsecutive --------------------------------------------------------

def test_tanh_has_no_parameters_and_keeps_its_output():
    x = torch.linspace(-3, 3, 7)
    layer = Tanh()
    assert torch.equal(layer(x), torch.tanh(x)) and torch.equal(layer.out, torch.tanh(x))
    assert layer.parameters() == []


def test_embedding_looks_up_rows():
    emb = Embedding(27, 10, generator=seeded())
    torch.testing.assert_close(emb.weight.detach(), torch.randn((27, 10), generator=seeded()))
    ix = torch.tensor([[0, 5, 13], [1, 1, 26]])
    assert torch.equal(emb(ix), emb.weight[ix]) and emb.out.shape == (2, 3, 10)
    assert emb.parameters() == [emb.weight] and emb.weight.requires_grad
    with pytest.raises(TypeError, match="integer indices"):
        emb(torch.zeros(2, 3))


def test_flatten_consecutive_concatenates_runs_of_n():
    x = torch.arange(2 * 8 * 3).view(2, 8, 3)
    out = FlattenConsecutive(2)(x)
    assert out.shape == (2, 4, 6)
    assert torch.equal(out[1, 2], torch.cat([x[1, 4], x[1, 5]]))  # positions 4 and 5, side by side
    assert FlattenConsecutive(4)(x).shape == (2, 2, 12)
    whole = FlattenConsecutive(8)(x)  # one position left: the middle dimension goes
    assert whole.shape == (2, 24) and torch.equal(whole, x.view(2, -1))
    assert FlattenConsecutive(1)(x).shape == (2, 8, 3)


def test_flatten_consecutive_refuses_bad_input():
    with pytest.raises(ValueError, match="T divisible by 3; got T=8"):
        FlattenConsecutive(3)(torch.zeros(2, 8, 4))
    with pytest.raises(ValueError, match="\\(B, T, C\\)"):
        FlattenConsecutive(2)(torch.zeros(2, 8))


# --- Sequential, with lib.makemore.mlp ---------------------------------------------------------

def lecture_model(block_size=3, n_embd=10, n_hidden=64, g=None):
    g = g or seeded()
    return Sequential([
        Embedding(27, n_embd, generator=g), FlattenConsecutive(block_size),
        Linear(n_embd * block_size, n_hidden, bias=False, generator=g), BatchNorm1d(n_hidden), Tanh(),
        Linear(n_hidden, 27, generator=g),
    ])


def test_sequential_chains_layers_and_collects_parameters():
    model = lecture_model()
    X = torch.tensor([[0, 0, 5], [0, 5, 13]])
    logits = model(X)
    h = torch.tanh(model.layers[3](model.layers[0].weight[X].view(2, -1) @ model.layers[2].weight))
    assert logits.shape == (2, 27) and model.out is logits
    assert sum(p.nelement() for p in model.parameters()) == 27 * 10 + 30 * 64 + 2 * 64 + 64 * 27 + 27
    assert model.parameters()[0] is model.layers[0].weight
    torch.testing.assert_close(logits, h @ model.layers[-1].weight + model.layers[-1].bias)


def test_train_and_eval_switch_every_batchnorm():
    model = Sequential([Linear(3, 4), BatchNorm1d(4), Tanh(), Linear(4, 2), BatchNorm1d(2)])
    assert model.training
    assert model.eval() is model and not model.training
    assert [getattr(layer, "training", None) for layer in model.layers] == [None, False, None, None, False]
    model.train()
    assert model.layers[1].training and model.layers[4].training
    with pytest.raises(ValueError, match="at least one layer"):
        Sequential([])


def test_training_a_sequential_with_the_mlp_loop():
    X, Y = build_dataset(WORDS, LETTERS, block_size=3)
    model = lecture_model()
    model.eval()
    before = split_loss(model, X, Y)
    losses = train(model, X, Y, steps=300, lr=0.1, generator=seeded(1), progress=False)
    assert not model.training  # train ran in training mode and put the mode back
    assert not torch.equal(model.layers[3].running_mean, torch.zeros(64))  # the loop updated the buffers
    assert sum(losses[-50:]) < sum(losses[:50]) and split_loss(model, X, Y) < before


def test_split_loss_and_sample_use_eval_mode_and_restore_it():
    X, Y = build_dataset(WORDS, LETTERS, block_size=3)
    model = lecture_model()
    train(model, X, Y, steps=50, lr=0.1, progress=False)
    assert model.training
    loss = split_loss(model, X, Y)
    model.eval()
    assert loss == F.cross_entropy(model(X), Y).item()  # the running statistics
    model.train()
    names = sample(model, LETTERS, 5, seeded(SEED + 10), block_size=3)
    assert model.training and len(names) == 5 and all(name.endswith(".") for name in names)
    model.block_size = 3  # or from the model itself
    assert sample(model, LETTERS, 5, seeded(SEED + 10)) == names
    del model.block_size
    with pytest.raises(ValueError, match="pass block_size="):
        sample(model, LETTERS, 1)


def test_recorded_update_ratios_through_after_step():
    X, Y = build_dataset(WORDS, LETTERS, block_size=3)
    model = lecture_model()
    seen = []
    train(model, X, Y, steps=5, lr=0.1, progress=False,
          after_step=lambda step, rate: seen.append((step, rate, model.parameters()[0].grad is not None)))
    assert seen == [(s, 0.1, True) for s in range(5)]
