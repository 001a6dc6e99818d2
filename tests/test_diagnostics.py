"""lib.diagnostics: each figure comes with the numbers it shows, and those numbers are the
statistics the lecture prints (mean, std, saturation, grad:data and update:data ratios)."""
import math

import matplotlib
import pytest
import torch
import torch.nn.functional as F

matplotlib.use("Agg")

from lib import diagnostics
from lib.makemore import BatchNorm1d, Linear, Sequential, Tanh


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


def deep_net(gain=5 / 3):
    g = seeded()
    layers = [Linear(6, 20, generator=g), Tanh(), Linear(20, 20, generator=g), Tanh(), Linear(20, 5, generator=g)]
    with torch.no_grad():
        for layer in layers[:-1]:
            if isinstance(layer, Linear):
                layer.weight *= gain
    return Sequential(layers)


@pytest.fixture
def batch():
    return torch.randn(64, 6, generator=seeded(1)), torch.randint(0, 5, (64,), generator=seeded(2))


def test_activation_stats_are_mean_std_and_saturation_percent(batch):
    model = deep_net()
    model(batch[0])
    fig, stats = diagnostics.activation_histograms(model.layers, Tanh)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert [row["layer"] for row in stats] == [1, 3]
    t = model.layers[3].out
    assert stats[1]["mean"] == pytest.approx(t.mean().item())
    assert stats[1]["std"] == pytest.approx(t.std().item())
    assert stats[1]["saturated"] == pytest.approx((t.abs() > 0.97).float().mean().item() * 100)


def test_large_gains_saturate_the_tanh_units(batch):
    calm, wild = deep_net(gain=0.5), deep_net(gain=10)
    calm(batch[0]), wild(batch[0])
    _, calm_stats = diagnostics.activation_histograms(calm.layers, Tanh)
    _, wild_stats = diagnostics.activation_histograms(wild.layers, Tanh)
    assert all(row["saturated"] < 1 for row in calm_stats)
    assert all(row["saturated"] > 50 for row in wild_stats)


def test_saturation_threshold_is_a_parameter(batch):
    model = deep_net(gain=3)
    model(batch[0])
    _, loose = diagnostics.activation_histograms(model.layers, Tanh, saturation=0.5)
    _, strict = diagnostics.activation_histograms(model.layers, Tanh, saturation=0.99)
    assert all(a["saturated"] > b["saturated"] for a, b in zip(loose, strict))


def test_forward_backward_keeps_output_gradients_and_changes_nothing(batch):
    model = deep_net()
    before = [p.detach().clone() for p in model.parameters()]
    loss = diagnostics.forward_backward(model, *batch)
    assert loss == pytest.approx(F.cross_entropy(model.out, batch[1]).item())
    assert all(torch.equal(a, p.detach()) for a, p in zip(before, model.parameters()))
    _, stats = diagnostics.gradient_histograms(model.layers, Tanh)
    assert stats[0]["std"] == pytest.approx(model.layers[1].out.grad.std().item())
    # the chain rule, checked at one layer: d loss / d (input of the last Linear) = grad_out @ W.T
    last = model.layers[-1]
    logits = model.layers[3].out.detach() @ last.weight.detach() + last.bias.detach()
    grad_logits = (F.softmax(logits, 1) - F.one_hot(batch[1], 5)) / len(batch[1])
    torch.testing.assert_close(model.layers[3].out.grad, grad_logits @ last.weight.detach().T)


def test_gradient_histograms_need_a_backward_pass(batch):
    model = deep_net()
    model(batch[0])
    with pytest.raises(ValueError, match="forward_backward"):
        diagnostics.gradient_histograms(model.layers, Tanh)


def test_weight_gradient_stats_and_grad_to_data_ratio(batch):
    model = Sequential([Linear(6, 20, generator=seeded()), BatchNorm1d(20), Tanh(), Linear(20, 5, generator=seeded(3))])
    diagnostics.forward_backward(model, *batch)
    params = model.parameters()
    fig, stats = diagnostics.weight_gradient_histograms(params)
    assert [row["index"] for row in stats] == [0, 4]  # the two weight matrices only
    w = params[4]
    assert stats[1]["shape"] == (20, 5)
    assert stats[1]["grad_to_data"] == pytest.approx((w.grad.std() / w.detach().std()).item())
    assert stats[1]["std"] == pytest.approx(w.grad.std().item())


def test_update_ratio_is_log10_of_update_spread_over_data_spread():
    p = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    p.grad = torch.tensor([0.5, -0.5, 0.5, -0.5])
    (ratio,) = diagnostics.update_ratios([p], lr=0.1)
    assert ratio == pytest.approx(math.log10((0.1 * p.grad).std().item() / p.detach().std().item()))


def test_update_ratio_plot_shows_the_weights_and_the_guide():
    w, b = torch.ones(3, 3), torch.ones(3)
    history = [[-3.5, -1.0], [-3.0, -1.0], [-2.5, -1.0]]
    fig, stats = diagnostics.update_ratio_plot(history, [w, b])
    assert stats == {0: -2.5}
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert len(lines) == 2 and list(lines[0].get_ydata()) == [-3.5, -3.0, -2.5]
    assert set(lines[1].get_ydata()) == {-3.0}
    with pytest.raises(ValueError, match="no update ratios"):
        diagnostics.update_ratio_plot([], [w])


def test_asking_for_a_layer_type_that_is_absent_is_an_error(batch):
    model = deep_net()
    model(batch[0])
    with pytest.raises(ValueError, match="no layer of type BatchNorm1d"):
        diagnostics.activation_histograms(model.layers, BatchNorm1d)
