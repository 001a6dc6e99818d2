"""Classic mistakes in Lesson 1's network exercises (Neuron, Layer and MLP; the training loop),
each made for real on the test's own inputs. `lib.mistakes.micrograd` re-exports them beside the
engine exercises' mistakes.
"""
import math

from lib.grading import Mistake

# --- ex-mlp: Neuron, Layer and MLP ---------------------------------------------------------------


def mlp_count(nin, nouts):
    """{description: the number of parameters that mistake gives} for MLP(nin, nouts)."""
    sizes = [nin] + list(nouts)
    pairs = list(zip(sizes, sizes[1:]))
    return {
        "parameters() leaves out the biases: every neuron has nin weights AND one bias":
            sum(i * o for i, o in pairs),
        "the number of weights is hard-coded (the lecture's 3 inputs): a neuron has one weight "
        "per input, nin of them": sum(3 * o + o for _, o in pairs),
    }


def _forward(values, nin, nouts, x, *, activation=True, bias=True, chain=True, bias_first=False):
    """The output of MLP(nin, nouts) whose parameters() are `values`, computed with plain floats."""
    sizes = [nin] + list(nouts)
    values = list(values)
    inputs, first = list(x), list(x)
    for i, o in zip(sizes, sizes[1:]):
        reads = inputs if chain else first
        outs = []
        for _ in range(o):
            chunk, values = values[: i + 1], values[i + 1:]
            w, b = (chunk[1:], chunk[0]) if bias_first else (chunk[:i], chunk[i])
            act = (b if bias else 0.0) + sum(wi * xi for wi, xi in zip(w, reads))
            outs.append(math.tanh(act) if activation else act)
        inputs = outs
    return inputs[0] if len(inputs) == 1 else inputs


def mlp_forward(values, nin, nouts, x):
    """Mistakes in the forward pass of MLP(nin, nouts) with parameters() = values, on input x."""
    return [
        Mistake("the neuron's activation is missing: it returns w·x + b, not tanh(w·x + b)",
                _forward(values, nin, nouts, x, activation=False)),
        Mistake("the bias is in parameters() but left out of the sum: act = b + sum(w_i * x_i)",
                _forward(values, nin, nouts, x, bias=False)),
        Mistake("every layer reads the network's input x; each layer should read the previous "
                "layer's outputs", _forward(values, nin, nouts, x, chain=False)),
        Mistake("parameters() lists the bias before the weights; the order is each neuron's "
                "weights, then its bias", _forward(values, nin, nouts, x, bias_first=True)),
    ]


# --- ex-train: the training loop -----------------------------------------------------------------


def _train(model, xs, ys, steps, learning_rate, *, zero="before", sign=-1.0, mean=False):
    losses = []
    for _ in range(steps):
        if zero == "before":
            model.zero_grad()
        loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys))
        if mean:
            loss = loss * (1.0 / len(xs))
        loss.backward()
        if zero == "after-backward":
            model.zero_grad()
        for p in model.parameters():
            p.data += sign * learning_rate * p.grad
        losses.append(loss.data)
    return losses


def training_loop(make_model, xs, ys, steps, learning_rate):
    """Mistakes in the training loop; `make_model()` gives a fresh copy of the starting model."""
    variants = [
        ("the gradients are never zeroed: backward() adds into .grad, so every update uses the "
         "sum of all earlier steps' gradients (call model.zero_grad() first in each step)",
         dict(zero="never")),
        ("the update goes up the gradient (p.data += lr * p.grad): step against it, "
         "p.data -= lr * p.grad", dict(sign=1.0)),
        ("the gradients are zeroed after loss.backward() and before the update, so the update "
         "sees only zeros: zero them at the start of each step", dict(zero="after-backward")),
        ("the loss is the mean of the squared errors; this exercise sums them, as the lecture "
         "does", dict(mean=True)),
    ]
    return [Mistake(d, _train(make_model(), xs, ys, steps, learning_rate, **kw)) for d, kw in variants]
