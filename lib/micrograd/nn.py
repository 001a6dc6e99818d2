"""Neurons, layers and multi-layer perceptrons built out of `Value`s.

Introduced in Lesson 1 (micrograd). This module holds `Module` (the shared
`parameters()` / `zero_grad()` interface), `Neuron`, `Layer` and `MLP`. There
is nothing new mathematically here: a neuron is just an expression made of
`Value` operations, so `Value.backward()` already knows how to train it.
"""

import random

from .engine import Value

ACTIVATIONS = ("tanh", "relu", "linear")


class Module:
    """Anything with trainable parameters."""

    def parameters(self):
        return []

    def zero_grad(self):
        # backward() adds into .grad, so old gradients must be cleared before each pass.
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """activation(b + w0*x0 + w1*x1 + ...) for one input vector x.

    Weights start uniform in [-1, 1) from the `random` module, so seed it for
    repeatable runs. The bias of a tanh neuron starts the same way (as in the
    Lesson 1 lecture); relu and linear neurons start with bias 0.0, like the
    classic micrograd package, so both draw the same random numbers in the
    same order.
    """

    def __init__(self, nin, activation="tanh"):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}; got {activation!r}")
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(random.uniform(-1, 1) if activation == "tanh" else 0.0)
        self.activation = activation

    def __call__(self, x):
        if len(x) != len(self.w):
            raise ValueError(f"Neuron expects {len(self.w)} inputs; got {len(x)}")
        # Start from the bias and add left to right, the same order of floating
        # point operations as sum(..., self.b) in the classic engine.
        act = self.b
        for wi, xi in zip(self.w, x):
            act = act + wi * xi
        if self.activation == "tanh":
            return act.tanh()
        if self.activation == "relu":
            return act.relu()
        return act

    def parameters(self):
        return self.w + [self.b]

    def __repr__(self):
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer(Module):
    """nout independent neurons that all read the same input vector."""

    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        outs = [n(x) for n in self.neurons]
        # A one-neuron layer gives a plain Value, which is what a loss wants.
        return outs[0] if len(outs) == 1 else outs

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self):
        first = self.neurons[0]
        return f"Layer({len(first.w)}, {len(self.neurons)}, activation={first.activation!r})"


class MLP(Module):
    """Layers applied one after another: nin -> nouts[0] -> ... -> nouts[-1].

    Hidden layers use `activation`; the last layer uses `output_activation`,
    which defaults to `activation` (Lesson 1's all-tanh MLP(3, [4, 4, 1])).
    """

    def __init__(self, nin, nouts, activation="tanh", output_activation=None):
        if output_activation is None:
            output_activation = activation
        sizes = [nin] + list(nouts)
        last = len(nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation=output_activation if i == last else activation)
            for i in range(len(nouts))
        ]
        self.nin, self.nouts = nin, list(nouts)
        self.activation, self.output_activation = activation, output_activation

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self):
        return (
            f"MLP({self.nin}, {self.nouts}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r})"
        )


def train(model, xs, ys, steps, learning_rate, zero_grad=True):
    """Gradient descent on the summed squared error sum((model(x) - y)**2); the loss of every step.

    Each step zeroes the gradients (unless `zero_grad=False`, Lesson 1's classic bug), runs
    the forward pass and the loss, `loss.backward()`, then moves every parameter by
    -learning_rate * grad. The loss is recorded as a float before that step's update.
    """
    losses = []
    for _ in range(steps):
        if zero_grad:
            model.zero_grad()
        loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys))
        loss.backward()
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        losses.append(loss.data)
    return losses
