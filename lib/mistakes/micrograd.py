"""Classic mistakes in Lesson 1's exercises: backpropagation by hand through one neuron, and the
`_backward` of `exp`, `tanh` and `**` in a small engine of your own.

Each mistake is made for real: the neuron's gradients are recomputed with the faulty step, and
an expression is run through a minimal engine whose rule for one operation is the faulty one.
"""
import math

from lib.grading import Mistake

# --- Exercise 1 (ex-neuron-grads): the gradients of o = tanh(x1*w1 + x2*w2 + b) ----------------


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


def neuron_grads(x1, x2, w1, w2, b):
    """Mistakes in the hand-computed gradients of the neuron; each value is a dict node -> gradient."""
    correct_slope = lambda n, o: 1 - o**2
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
    ]


# --- Exercise 2 (ex-value-backward): `_backward` of exp, tanh and ** ----------------------------

# Each rule returns the input's new .grad from (its old .grad, its value x, the operation's
# result out, the gradient `grad` arriving at out, the exponent k).
_CORRECT_RULES = {
    "exp": lambda old, x, out, grad, k: old + out * grad,
    "tanh": lambda old, x, out, grad, k: old + (1 - out**2) * grad,
    "pow": lambda old, x, out, grad, k: old + k * x ** (k - 1) * grad,
}

_BACKWARD_MISTAKES = [
    ("pow", "in the ** _backward the factor k is missing: the derivative of x**k is k * x**(k - 1)",
     lambda old, x, out, grad, k: old + x ** (k - 1) * grad),
    ("pow", "in the ** _backward the exponent was not lowered by one: the derivative of x**k is "
            "k * x**(k - 1)",
     lambda old, x, out, grad, k: old + k * x**k * grad),
    ("pow", "the ** _backward does not multiply by `grad`, the gradient arriving from its output "
            "(the chain rule is dropped)",
     lambda old, x, out, grad, k: old + k * x ** (k - 1)),
    ("pow", "the ** _backward overwrites self.grad instead of adding to it, so a value used twice "
            "keeps only its last share",
     lambda old, x, out, grad, k: k * x ** (k - 1) * grad),
    ("tanh", "the tanh _backward uses tanh(x) where its derivative 1 - tanh(x)**2 belongs",
     lambda old, x, out, grad, k: old + out * grad),
    ("tanh", "the tanh _backward computes 1 - x**2 from the input x; the derivative is "
             "1 - t**2 with t = tanh(x)",
     lambda old, x, out, grad, k: old + (1 - x**2) * grad),
    ("tanh", "the tanh _backward does not multiply by `grad`, the gradient arriving from its output "
             "(the chain rule is dropped)",
     lambda old, x, out, grad, k: old + (1 - out**2)),
    ("tanh", "the tanh _backward overwrites self.grad instead of adding to it, so a value used "
             "twice keeps only its last share",
     lambda old, x, out, grad, k: (1 - out**2) * grad),
    ("exp", "the exp _backward does not multiply by `grad`, the gradient arriving from its output "
            "(the chain rule is dropped)",
     lambda old, x, out, grad, k: old + out),
    ("exp", "the exp _backward overwrites self.grad instead of adding to it, so a value used twice "
            "keeps only its last share",
     lambda old, x, out, grad, k: out * grad),
    ("exp", "the exp _backward uses the input x as the local derivative; the derivative of "
            "e**x is e**x itself",
     lambda old, x, out, grad, k: old + x * grad),
]


class _Scalar:
    """Just enough of an autograd engine to run an exercise's expression under given rules."""

    def __init__(self, data, rules, parents=()):
        self.data = float(data)
        self.grad = 0.0
        self.rules = rules
        self._prev = parents
        self._backward = lambda grad: None

    def _lift(self, other):
        return other if isinstance(other, _Scalar) else _Scalar(other, self.rules)

    def __add__(self, other):
        other = self._lift(other)
        out = _Scalar(self.data + other.data, self.rules, (self, other))

        def _backward(grad):
            self.grad += grad
            other.grad += grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._lift(other)
        out = _Scalar(self.data * other.data, self.rules, (self, other))

        def _backward(grad):
            self.grad += other.data * grad
            other.grad += self.data * grad
        out._backward = _backward
        return out

    __radd__ = __add__
    __rmul__ = __mul__

    def _unary(self, op, result, k=None):
        out = _Scalar(result, self.rules, (self,))

        def _backward(grad):
            self.grad = self.rules[op](self.grad, self.data, out.data, grad, k)
        out._backward = _backward
        return out

    def exp(self):
        return self._unary("exp", math.exp(self.data))

    def tanh(self):
        return self._unary("tanh", math.tanh(self.data))

    def __pow__(self, k):
        return self._unary("pow", self.data**k, k)

    def backward(self):
        # The same order as the exercise's engine: it decides which share an overwrite keeps.
        order, visited = [], set()

        def visit(node):
            if node not in visited:
                visited.add(node)
                for child in node._prev:
                    visit(child)
                order.append(node)
        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            node._backward(node.grad)


def _input_grads(expression, inputs, rules):
    leaves = [_Scalar(x, rules) for x in inputs]
    expression(*leaves).backward()
    return [leaf.grad for leaf in leaves]


def value_backward(expression, inputs):
    """Mistakes in the `_backward` of exp, tanh and ** for expression(*inputs).

    Returns one list of Mistakes per input, each holding the gradient that input would get. A
    mistake in an operation the expression does not use gives the correct gradient, and a
    check ignores it.
    """
    per_input = [[] for _ in inputs]
    for op, description, rule in _BACKWARD_MISTAKES:
        try:
            grads = _input_grads(expression, inputs, {**_CORRECT_RULES, op: rule})
        except (ArithmeticError, TypeError, ValueError):  # e.g. a complex power: nothing to match
            continue
        for mistakes, grad in zip(per_input, grads):
            mistakes.append(Mistake(description, grad))
    return per_input
