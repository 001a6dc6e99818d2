"""Classic mistakes in Lesson 1's exercises: a neuron's gradients by hand, the operations of a
small engine of your own, the backward pass over a graph, an MLP, and the training loop.

Each mistake is made for real: the neuron's gradients are recomputed with the faulty step, an
expression runs through a minimal engine whose rule for one operation is the faulty one, a
faulty backward pass runs on the graph, a faulty network or training loop runs on the inputs.
"""
import math

from lib.grading import Mistake
from lib.micrograd.engine import Value, _topological_order

# --- ex-neuron-grads: the gradients of o = tanh(x1*w1 + x2*w2 + b) ----------------------------


def _neuron_backward(x1, x2, w1, w2, b, tanh_slope, chain_rule=True, partner_value=True):
    """The gradient of o with respect to every node, walked back from o with the given rules.

    tanh_slope(n, o) is the local derivative used for tanh; without `chain_rule` each node gets
    only its local derivative; without `partner_value` each factor of a product gets its own
    value times the gradient instead of the other factor's.
    """
    n = x1 * w1 + x2 * w2 + b
    o = math.tanh(n)

    def times(local, arriving):
        return local * arriving if chain_rule else local

    grads = {"o": 1.0}
    grads["n"] = times(tanh_slope(n, o), grads["o"])
    grads["b"] = times(1.0, grads["n"])
    grads["x1w1x2w2"] = times(1.0, grads["n"])
    grads["x1w1"] = times(1.0, grads["x1w1x2w2"])
    grads["x2w2"] = times(1.0, grads["x1w1x2w2"])
    for a, wa, product in [("x1", "w1", "x1w1"), ("x2", "w2", "x2w2")]:
        value = {"x1": x1, "w1": w1, "x2": x2, "w2": w2}
        grads[a] = times(value[wa] if partner_value else value[a], grads[product])
        grads[wa] = times(value[a] if partner_value else value[wa], grads[product])
    return grads


LECTURE_NEURON = dict(x1=2.0, x2=0.0, w1=-3.0, w2=1.0, b=6.8813735870195432)


def neuron_grads(x1, x2, w1, w2, b):
    """Mistakes in the hand-computed gradients of the neuron; each value is a dict node -> gradient."""
    correct_slope = lambda n, o: 1 - o**2  # noqa: E731
    return [
        Mistake("tanh's local derivative was taken as tanh(n) itself (the output o); "
                "the derivative of tanh is 1 - tanh(n)**2",
                _neuron_backward(x1, x2, w1, w2, b, lambda n, o: o)),
        Mistake("tanh's local derivative was computed from n instead of from tanh(n): "
                "it is 1 - o**2, with o = tanh(n)",
                _neuron_backward(x1, x2, w1, w2, b, lambda n, o: 1 - n**2)),
        Mistake("the chain rule is dropped: each node got only its local derivative, not "
                "multiplied by the gradient arriving from the node it feeds into",
                _neuron_backward(x1, x2, w1, w2, b, correct_slope, chain_rule=False)),
        Mistake("in a product each factor got its own value times the gradient; "
                "it gets the other factor's value",
                _neuron_backward(x1, x2, w1, w2, b, correct_slope, partner_value=False)),
        Mistake("the gradients are the lecture's numbers typed in: they must be computed from "
                "the inputs x1, x2, w1, w2, b the function receives",
                _neuron_backward(**LECTURE_NEURON, tanh_slope=correct_slope)),
    ]


# --- ex-value-backward: forward and `_backward` of +, *, **, exp and tanh -------------------------

# A rule gives input i's new .grad from (its old grad, i, the inputs' values v, the operation's
# result out, the gradient `grad` arriving at out, the exponent k); inputs are updated in
# turn, as `self.grad ...` then `other.grad ...` are in the exercise.
_CORRECT_RULES = {
    "add": lambda old, i, v, out, grad, k: old + grad,
    "mul": lambda old, i, v, out, grad, k: old + v[1 - i] * grad,
    "exp": lambda old, i, v, out, grad, k: old + out * grad,
    "tanh": lambda old, i, v, out, grad, k: old + (1 - out**2) * grad,
    "pow": lambda old, i, v, out, grad, k: old + k * v[0] ** (k - 1) * grad,
}

_BACKWARD_MISTAKES = [
    ("add", "the + _backward overwrites .grad (=) instead of adding to it (+=), so a value used "
            "twice keeps only its last share",
     lambda old, i, v, out, grad, k: grad),
    ("add", "the + _backward does not pass on `grad`, the gradient arriving at its output: "
            "each input gets 1 * grad, not 1 (the chain rule is dropped)",
     lambda old, i, v, out, grad, k: old + 1.0),
    ("mul", "in the * _backward each factor got its own value times grad; it gets the other "
            "factor's value",
     lambda old, i, v, out, grad, k: old + v[i] * grad),
    ("mul", "the * _backward overwrites .grad (=) instead of adding to it (+=), so a value used "
            "twice keeps only its last share",
     lambda old, i, v, out, grad, k: v[1 - i] * grad),
    ("mul", "the * _backward does not multiply by `grad`, the gradient arriving from its output "
            "(the chain rule is dropped)",
     lambda old, i, v, out, grad, k: old + v[1 - i]),
    ("pow", "in the ** _backward the factor k is missing: the derivative of x**k is k * x**(k - 1)",
     lambda old, i, v, out, grad, k: old + v[0] ** (k - 1) * grad),
    ("pow", "in the ** _backward the exponent was not lowered by one: the derivative of x**k is "
            "k * x**(k - 1)",
     lambda old, i, v, out, grad, k: old + k * v[0] ** k * grad),
    ("pow", "the ** _backward does not multiply by `grad`, the gradient arriving from its output "
            "(the chain rule is dropped)",
     lambda old, i, v, out, grad, k: old + k * v[0] ** (k - 1)),
    ("pow", "the ** _backward overwrites self.grad instead of adding to it, so a value used twice "
            "keeps only its last share",
     lambda old, i, v, out, grad, k: k * v[0] ** (k - 1) * grad),
    ("pow", "the ** _backward uses the exponent 2 whatever k is (the derivative of x**2, 2x): "
            "use the k the operation received",
     lambda old, i, v, out, grad, k: old + 2 * v[0] * grad),
    ("tanh", "the tanh _backward uses tanh(x) where its derivative 1 - tanh(x)**2 belongs",
     lambda old, i, v, out, grad, k: old + out * grad),
    ("tanh", "the tanh _backward computes 1 - x**2 from the input x; the derivative is "
             "1 - t**2 with t = tanh(x)",
     lambda old, i, v, out, grad, k: old + (1 - v[0] ** 2) * grad),
    ("tanh", "the tanh _backward does not multiply by `grad`, the gradient arriving from its output "
             "(the chain rule is dropped)",
     lambda old, i, v, out, grad, k: old + (1 - out**2)),
    ("tanh", "the tanh _backward overwrites self.grad instead of adding to it, so a value used "
             "twice keeps only its last share",
     lambda old, i, v, out, grad, k: (1 - out**2) * grad),
    ("exp", "the exp _backward does not multiply by `grad`, the gradient arriving from its output "
            "(the chain rule is dropped)",
     lambda old, i, v, out, grad, k: old + out),
    ("exp", "the exp _backward overwrites self.grad instead of adding to it, so a value used twice "
            "keeps only its last share",
     lambda old, i, v, out, grad, k: out * grad),
    ("exp", "the exp _backward uses the input x as the local derivative; the derivative of "
            "e**x is e**x itself",
     lambda old, i, v, out, grad, k: old + v[0] * grad),
]


class _Scalar:
    """Just enough of an autograd engine to run an exercise's expression under given rules.
    The operations the exercise gives (-, /, relu...) are written as it writes them."""

    def __init__(self, data, rules, parents=()):
        self.data = float(data)
        self.grad = 0.0
        self.rules = rules
        self._prev = tuple(parents)
        self._backward = lambda grad: None

    def _lift(self, other):
        return other if isinstance(other, _Scalar) else _Scalar(other, self.rules)

    def _node(self, op, data, inputs, k=None):
        out = _Scalar(data, self.rules, inputs)

        def _backward(grad):
            values = [node.data for node in inputs]
            for i, node in enumerate(inputs):
                node.grad = self.rules[op](node.grad, i, values, out.data, grad, k)
        out._backward = _backward
        return out

    def __add__(self, other):
        other = self._lift(other)
        return self._node("add", self.data + other.data, (self, other))

    def __mul__(self, other):
        other = self._lift(other)
        return self._node("mul", self.data * other.data, (self, other))

    def __pow__(self, k):
        return self._node("pow", self.data**k, (self,), k)

    def exp(self):
        return self._node("exp", math.exp(self.data), (self,))

    def tanh(self):
        return self._node("tanh", math.tanh(self.data), (self,))

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return other * self**-1

    def relu(self):
        return self * (1.0 if self.data > 0 else 0.0)

    backward = Value.backward  # the exercise's engine uses the library's backward()


def _input_grads(expression, inputs, rules):
    leaves = [_Scalar(x, rules) for x in inputs]
    expression(*leaves).backward()
    return [leaf.grad for leaf in leaves]


def value_backward(expression, inputs, first=None):
    """Mistakes in the `_backward` of +, *, **, exp and tanh for expression(*inputs); those of
    the operation `first` ("add", "mul", "pow", "exp", "tanh") first, as a test of it wants.

    Returns one list of Mistakes per input, each holding the gradient that input would get. A
    mistake in an operation the expression does not use gives the correct gradient, and a
    check ignores it.
    """
    per_input = [[] for _ in inputs]
    for op, description, rule in sorted(_BACKWARD_MISTAKES, key=lambda m: m[0] != first):
        try:
            grads = _input_grads(expression, inputs, {**_CORRECT_RULES, op: rule})
        except (ArithmeticError, TypeError, ValueError):  # e.g. a complex power: nothing to match
            continue
        for mistakes, grad in zip(per_input, grads):
            mistakes.append(Mistake(description, grad))
    return per_input


# --- ex-backward: the topological sort and the backward pass over a graph -------------------------


def _order_without_visited(root):
    order = []

    def visit(node):
        for child in node._prev:
            visit(child)
        order.append(node)
    visit(root)
    return order


def _order_breadth_first(root):
    order, seen, frontier = [], {id(root)}, [root]
    while frontier:
        node = frontier.pop(0)
        order.append(node)
        for child in node._prev:
            if id(child) not in seen:
                seen.add(id(child))
                frontier.append(child)
    return order[::-1]  # reversed below: the root first, then breadth-first


def _order_by_value(root):
    order, seen = [], set()

    def visit(node):
        if node.data not in seen:
            seen.add(node.data)
            for child in node._prev:
                visit(child)
            order.append(node)
    visit(root)
    return order


def _backward_with(order_of, reverse=True, seed=True):
    def backward(root):
        order = order_of(root)
        if seed:
            root.grad = 1.0
        for node in (reversed(order) if reverse else order):
            node._backward(node.grad)
    return backward


def _backward_with_shared_state():
    """A topological sort whose `visited` set outlives the call (a global, or a default argument)."""
    visited = set()

    def backward(root):
        order = []

        def visit(node):
            if node not in visited:
                visited.add(node)
                for child in node._prev:
                    visit(child)
                order.append(node)
        visit(root)
        root.grad = 1.0
        for node in reversed(order):
            node._backward(node.grad)
    return backward


_GRAPH_MISTAKES = [
    ("the topological sort keeps state between calls (a `visited` set outside the function, or a "
     "mutable default argument): a second backward pass skips the nodes the first one saw",
     _backward_with_shared_state),
    ("the nodes were processed inputs-first: walk the topological order in reverse, from the "
     "output back to the inputs", lambda: _backward_with(_topological_order, reverse=False)),
    ("the output's own gradient was never set to 1.0 before the backward pass, so nothing flows "
     "back", lambda: _backward_with(_topological_order, seed=False)),
    ("without a `visited` set a node reached along two paths is listed twice, and its _backward "
     "passes its gradient on twice", lambda: _backward_with(_order_without_visited)),
    ("the order is breadth-first from the output, not a topological sort: a node's _backward ran "
     "before every use of it had added its share", lambda: _backward_with(_order_breadth_first)),
    ("nodes were told apart by their value (node.data) instead of by identity, so a node with the "
     "same value as another was skipped", lambda: _backward_with(_order_by_value)),
]


def backward_pass(scenario):
    """Mistakes in a backward pass for `scenario(Value, backward)`, which builds graphs with the
    library's Value, calls `backward` on them and returns the leaves whose gradients are checked.
    One list of Mistakes per leaf."""
    per_leaf = None
    for description, make in _GRAPH_MISTAKES:
        try:
            grads = [leaf.grad for leaf in scenario(Value, make())]
        except (ArithmeticError, RecursionError, TypeError, ValueError):
            continue
        per_leaf = per_leaf or [[] for _ in grads]
        for mistakes, grad in zip(per_leaf, grads):
            mistakes.append(Mistake(description, grad))
    return per_leaf or []


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


def training_loop(make_model, xs, ys, steps, learning_rate, lecture_xs=None, lecture_ys=None):
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
    mistakes = [Mistake(d, _train(make_model(), xs, ys, steps, learning_rate, **kw)) for d, kw in variants]
    if lecture_xs is not None:
        mistakes.append(Mistake(
            "the loop trains on the lecture's four examples (the notebook's xs, ys) instead of "
            "the data passed to the function",
            _train(make_model(), lecture_xs, lecture_ys, steps, learning_rate)))
    return mistakes
