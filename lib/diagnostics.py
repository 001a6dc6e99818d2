"""Health checks for a network in training: histograms of activations and gradients, and the
size of each update relative to the parameter it changes. Introduced in Lesson 4.

Every function takes layers (with the `.out` that lib.makemore.layers keeps) or parameters,
draws one matplotlib figure, and returns `(figure, stats)`, where `stats` holds the numbers
the figure shows, so that they can be printed or tested.

- `forward_backward` runs one forward and backward pass that keeps the gradient of every
  layer's output, which `gradient_histograms` needs (it does not update anything).
- `activation_histograms`: mean, std and saturation of the outputs of one kind of layer
  (tanh by default). A tanh unit counts as saturated when |t| > 0.97, the lecture's threshold:
  there its local gradient 1 - t^2 is below 0.06, so almost nothing flows back through it.
- `gradient_histograms`: mean and std of the gradients of those same outputs.
- `weight_gradient_histograms`: for each weight matrix, the spread of its gradient and the
  grad:data ratio std(grad) / std(weight).
- `update_ratios` / `update_ratio_plot`: log10(std(lr * grad) / std(data)) per parameter and
  step; about -3 (updates a thousandth of the values) is the lecture's rule of thumb for a
  healthy learning rate.
"""
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

SATURATION = 0.97  # |t| above this counts as a saturated tanh (the lecture's threshold)
UPDATE_GUIDE = -3.0  # log10 of a healthy update-to-data ratio (the lecture's rule of thumb)


def forward_backward(model, X, Y):
    """One forward and backward pass on (X, Y) that keeps each layer's output gradient.

    Clears the parameters' gradients first and changes no parameter; returns the loss.
    """
    for p in model.parameters():
        p.grad = None
    logits = model(X)
    for layer in model.layers:
        if layer.out.requires_grad:
            layer.out.retain_grad()
    loss = F.cross_entropy(logits, Y)
    loss.backward()
    return loss.item()


def _layers_of(layers, kind):
    chosen = [(i, layer) for i, layer in enumerate(layers) if isinstance(layer, kind)]
    if not chosen:
        raise ValueError(f"no layer of type {kind.__name__} among {[type(layer).__name__ for layer in layers]}")
    return chosen


def _histogram(ax, values, label):
    counts, edges = torch.histogram(values.detach().float().flatten(), bins=50, density=True)
    ax.plot(edges[:-1], counts, label=label)


def activation_histograms(layers, kind, saturation=SATURATION, title="activation distribution"):
    """Histograms of the outputs of every layer of type `kind`; stats per layer:
    {'layer', 'name', 'mean', 'std', 'saturated'} with `saturated` the percentage of |out| > saturation."""
    fig, ax = plt.subplots(figsize=(10, 3))
    stats = []
    for i, layer in _layers_of(layers, kind):
        out = layer.out.detach()
        row = {"layer": i, "name": type(layer).__name__, "mean": out.mean().item(), "std": out.std().item(),
               "saturated": (out.abs() > saturation).float().mean().item() * 100}
        stats.append(row)
        _histogram(ax, out, f"layer {i} ({row['name']})")
    ax.legend(fontsize="small")
    ax.set_title(title)
    plt.close(fig)
    return fig, stats


def gradient_histograms(layers, kind, title="gradient distribution"):
    """Histograms of the gradients of the outputs of every layer of type `kind` (run
    `forward_backward` first); stats per layer: {'layer', 'name', 'mean', 'std'}."""
    fig, ax = plt.subplots(figsize=(10, 3))
    stats = []
    for i, layer in _layers_of(layers, kind):
        grad = layer.out.grad if layer.out.retains_grad else None
        if grad is None:
            raise ValueError(f"layer {i} has no output gradient: run diagnostics.forward_backward(model, X, Y) first")
        stats.append({"layer": i, "name": type(layer).__name__, "mean": grad.mean().item(), "std": grad.std().item()})
        _histogram(ax, grad, f"layer {i} ({type(layer).__name__})")
    ax.legend(fontsize="small")
    ax.set_title(title)
    plt.close(fig)
    return fig, stats


def weight_gradient_histograms(parameters, title="weight gradient distribution"):
    """Histograms of the gradients of every 2-D parameter (the weight matrices; biases and
    BatchNorm's gamma/beta are left out, as in the lecture); stats per weight:
    {'index', 'shape', 'mean', 'std', 'grad_to_data'} with grad_to_data = std(grad) / std(weight)."""
    fig, ax = plt.subplots(figsize=(10, 3))
    stats = []
    for i, p in enumerate(parameters):
        if p.ndim != 2:
            continue
        if p.grad is None:
            raise ValueError(f"parameter {i} has no gradient: run a backward pass first")
        grad = p.grad
        stats.append({"index": i, "shape": tuple(p.shape), "mean": grad.mean().item(), "std": grad.std().item(),
                      "grad_to_data": (grad.std() / p.detach().std()).item()})
        _histogram(ax, grad, f"{i} {tuple(p.shape)}")
    ax.legend(fontsize="small")
    ax.set_title(title)
    plt.close(fig)
    return fig, stats


@torch.no_grad()
def update_ratios(parameters, lr):
    """log10(std(lr * grad) / std(data)) for each parameter: how large this step's update is
    relative to the values it changes (call after backward, with the step's learning rate)."""
    return [((lr * p.grad).std() / p.data.std()).log10().item() for p in parameters]


def update_ratio_plot(history, parameters, guide=UPDATE_GUIDE, title="update : data ratio (log10)"):
    """Plot the update ratios recorded over training (`history[step][i]` for parameter i) of
    every 2-D parameter, with a horizontal line at `guide`. stats: {index: last recorded value}."""
    if not history:
        raise ValueError("no update ratios recorded: append update_ratios(parameters, lr) after each step")
    fig, ax = plt.subplots(figsize=(10, 3))
    stats = {}
    for i, p in enumerate(parameters):
        if p.ndim != 2:
            continue
        ax.plot([step[i] for step in history], label=f"param {i} {tuple(p.shape)}")
        stats[i] = history[-1][i]
    ax.axhline(guide, color="k", linewidth=1, label=f"guide ({guide:g})")
    ax.set_xlabel("step")
    ax.legend(fontsize="small")
    ax.set_title(title)
    plt.close(fig)
    return fig, stats
