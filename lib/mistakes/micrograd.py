"""Classic mistakes in Lesson 1's exercises (a neuron's gradients by hand, the operations of an
engine of your own, the backward pass, an MLP, the training loop), each made for real: the
faulty step, rule, backward pass, network or loop runs on the test's own inputs.
"""
import math
from types import SimpleNamespace

from lib.grading import Mistake
from lib.micrograd.engine import Value, _topological_order

# --- ex-neuron-grads: the gradients of o = tanh(x1*w1 + x2*w2 + b) ----------------------------


def _neuron_backward(x1, x2, w1, w2, b, tanh_slope, chain_rule=True, partner_value=True):
    """do/dnode for every node, walked back from o: tanh_slope(n, o) is tanh's local derivative;
    without `chain_rule` a node gets only its local derivative; without `partner_value` a factor
    of a product gets its own value times the gradient instead of the other factor's."""
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

# A rule gives input i's new .grad from g: its old grad g.old, g.i, the inputs' values g.v, the
# operation's result g.out, the gradient g.grad arriving at out, the exponent g.k. Inputs are
# updated in turn, as `self.grad ...` then `other.grad ...` are in the exercise.
_CORRECT_RULES = {
    "add": lambda g: g.old + g.grad,
    "mul": lambda g: g.old + g.v[1 - g.i] * g.grad,
    "exp": lambda g: g.old + g.out * g.grad,
    "tanh": lambda g: g.old + (1 - g.out**2) * g.grad,
    "pow": lambda g: g.old + g.k * g.v[0] ** (g.k - 1) * g.grad,
}

_BACKWARD_MISTAKES = [
    ("add", "the + _backward overwrites .grad (=) instead of adding to it (+=), so a value used "
            "twice keeps only its last share", lambda g: g.grad),
    ("add", "the + _backward does not pass on `grad`, the gradient arriving at its output: "
            "each input gets 1 * grad, not 1 (the chain rule is dropped)", lambda g: g.old + 1.0),
    ("mul", "in the * _backward each factor got its own value times grad; it gets the other "
            "factor's value", lambda g: g.old + g.v[g.i] * g.grad),
    ("mul", "the * _backward overwrites .grad (=) instead of adding to it (+=), so a value used "
            "twice keeps only its last share", lambda g: g.v[1 - g.i] * g.grad),
    ("mul", "the * _backward does not multiply by `grad`, the gradient arriving from its output "
            "(the chain rule is dropped)", lambda g: g.old + g.v[1 - g.i]),
    ("pow", "in the ** _backward the factor k is missing: the derivative of x**k is "
            "k * x**(k - 1)", lambda g: g.old + g.v[0] ** (g.k - 1) * g.grad),
    ("pow", "in the ** _backward the exponent was not lowered by one: the derivative of x**k is "
            "k * x**(k - 1)", lambda g: g.old + g.k * g.v[0] ** g.k * g.grad),
    ("pow", "the ** _backward does not multiply by `grad`, the gradient arriving from its output "
            "(the chain rule is dropped)", lambda g: g.old + g.k * g.v[0] ** (g.k - 1)),
    ("pow", "the ** _backward overwrites self.grad instead of adding to it, so a value used twice "
            "keeps only its last share", lambda g: g.k * g.v[0] ** (g.k - 1) * g.grad),
    ("pow", "the ** _backward uses the exponent 2 whatever k is (the derivative of x**2, 2x): "
            "use the k the operation received", lambda g: g.old + 2 * g.v[0] * g.grad),
    ("tanh", "the tanh _backward uses tanh(x) where its derivative 1 - tanh(x)**2 belongs",
     lambda g: g.old + g.out * g.grad),
    ("tanh", "the tanh _backward computes 1 - x**2 from the input x; the derivative is "
             "1 - t**2 with t = tanh(x)", lambda g: g.old + (1 - g.v[0] ** 2) * g.grad),
    ("tanh", "the tanh _backward does not multiply by `grad`, the gradient arriving from its output "
             "(the chain rule is dropped)", lambda g: g.old + (1 - g.out**2)),
    ("tanh", "the tanh _backward overwrites self.grad instead of adding to it, so a value used "
             "twice keeps only its last share", lambda g: (1 - g.out**2) * g.grad),
    ("exp", "the exp _backward does not multiply by `grad`, the gradient arriving from its output "
            "(the chain rule is dropped)", lambda g: g.old + g.out),
    ("exp", "the exp _backward overwrites self.grad instead of adding to it, so a value used twice "
            "keeps only its last share", lambda g: g.out * g.grad),
    ("exp", "the exp _backward uses the input x as the local derivative; the derivative of "
            "e**x is e**x itself", lambda g: g.old + g.v[0] * g.grad),
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
                g = SimpleNamespace(old=node.grad, i=i, v=values, out=out.data, grad=grad, k=k)
                node.grad = self.rules[op](g)
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

    # the operations the exercise gives, written as it writes them
    __radd__, __rmul__ = __add__, __mul__
    __neg__ = lambda self: self * -1  # noqa: E731
    __sub__ = lambda self, other: self + (-other)  # noqa: E731
    __rsub__ = lambda self, other: other + (-self)  # noqa: E731
    __truediv__ = lambda self, other: self * other**-1  # noqa: E731
    __rtruediv__ = lambda self, other: other * self**-1  # noqa: E731
    relu = lambda self: self * (1.0 if self.data > 0 else 0.0)  # noqa: E731
    backward = Value.backward  # the exercise's engine uses the library's backward()


def value_backward(expression, inputs, first=None):
    """Mistakes in the `_backward` of +, *, **, exp and tanh for expression(*inputs); those of
    the operation `first` ("add", "mul", "pow", "exp", "tanh") first, as a test of it wants.

    One list of Mistakes per input, each holding the gradient that input would get (a mistake
    in an operation the expression does not use gives the right one, which a check ignores).
    """
    per_input = [[] for _ in inputs]
    for op, description, rule in sorted(_BACKWARD_MISTAKES, key=lambda m: m[0] != first):
        try:
            leaves = [_Scalar(x, {**_CORRECT_RULES, op: rule}) for x in inputs]
            expression(*leaves).backward()
            grads = [leaf.grad for leaf in leaves]
        except (ArithmeticError, TypeError, ValueError):  # e.g. a complex power: nothing to match
            continue
        for mistakes, grad in zip(per_input, grads):
            mistakes.append(Mistake(description, grad))
    return per_input


# --- ex-backward: the topological sort and the backward pass over a graph -------------------------


def _depth_first(root, key=id, seen=None, dedupe=True):
    """A topological order by depth-first search; `key` tells nodes apart, `seen` may be a set
    that outlives the call, and without `dedupe` a node reached twice is listed twice."""
    order, seen = [], set() if seen is None else seen

    def visit(node):
        if dedupe and key(node) in seen:
            return
        seen.add(key(node))
        for child in node._prev:
            visit(child)
        order.append(node)
    visit(root)
    return order


def _breadth_first(root):
    order, seen, frontier = [], {id(root)}, [root]
    while frontier:
        node = frontier.pop(0)
        order.append(node)
        for child in node._prev:
            if id(child) not in seen:
                seen.add(id(child))
                frontier.append(child)
    return order[::-1]  # reversed below: the root first, then breadth-first


def _backward_with(order_of, reverse=True, seed=True):
    def backward(root):
        order = order_of(root)
        if seed:
            root.grad = 1.0
        for node in (reversed(order) if reverse else order):
            node._backward(node.grad)
    return backward


def _shared_state():
    seen = set()  # one set for every call: a global, or a mutable default argument
    return _backward_with(lambda root: _depth_first(root, seen=seen))


_GRAPH_MISTAKES = [
    ("the topological sort keeps state between calls (a `visited` set outside the function, or a "
     "mutable default argument): a second backward pass skips the nodes the first one saw",
     _shared_state),
    ("the nodes were processed inputs-first: walk the topological order in reverse, from the "
     "output back to the inputs", lambda: _backward_with(_topological_order, reverse=False)),
    ("the output's own gradient was never set to 1.0 before the backward pass, so nothing flows "
     "back", lambda: _backward_with(_topological_order, seed=False)),
    ("without a `visited` set a node reached along two paths is listed twice, and its _backward "
     "passes its gradient on twice", lambda: _backward_with(lambda r: _depth_first(r, dedupe=False))),
    ("the order is breadth-first from the output, not a topological sort: a node's _backward ran "
     "before every use of it had added its share", lambda: _backward_with(_breadth_first)),
    ("nodes were told apart by their value (node.data) instead of by identity, so a node with the "
     "same value as another was skipped",
     lambda: _backward_with(lambda r: _depth_first(r, key=lambda node: node.data))),
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


# The network exercises' mistakes (ex-mlp, ex-train) live beside this module.
from lib.mistakes.micrograd_nn import mlp_count, mlp_forward, training_loop  # noqa: E402,F401
