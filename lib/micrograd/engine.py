"""A scalar value that remembers how it was computed, so it can be differentiated.

Introduced in Lesson 1 (micrograd). This module holds `Value`, the whole
autograd engine. Every arithmetic operation builds a new `Value` that points
back at its inputs (`_prev`) and carries a small `_backward(grad)` function
that knows the local derivative of that one operation: given `grad`, the
gradient of the final output with respect to this operation's result, it adds
each input's share into that input's `.grad`. `Value.backward()` visits the
nodes from the output back to the inputs and calls those functions in order,
which is the chain rule applied one node at a time.
"""

import math
import numbers


def _no_backward(grad):
    # Leaves (inputs and parameters) have no inputs to pass a gradient on to.
    pass


class Value:
    """One number in a computation graph, plus the gradient of the final output with respect to it."""

    # Slots make each node smaller and faster to create; a training step builds tens of thousands.
    __slots__ = ("data", "grad", "_backward", "_prev", "_op", "label")

    def __init__(self, data, _children=(), _op="", label=""):
        if not isinstance(data, (int, float)):
            if not isinstance(data, numbers.Real):  # e.g. a numpy integer is fine, a string is not
                raise TypeError(
                    f"Value holds a number; got {type(data).__name__} {data!r}. "
                    "Pass an int or float, e.g. Value(float(x))."
                )
            data = float(data)
        self.data = data
        self.grad = 0.0
        self._backward = _no_backward
        # A tuple, not a set: it keeps operand order, and in `a + a` it lists `a`
        # twice, which is right because `a` then receives the gradient twice.
        self._prev = tuple(_children)
        self._op = _op
        self.label = label

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    # Each operation computes its result `out` and attaches out._backward(grad):
    # given grad, the gradient that has arrived at `out`, it adds
    # (local derivative) * grad into the .grad of each input.
    #
    # The inputs are handed to _backward as default arguments (self=self).
    # Defaults are evaluated once, when the `def` runs, so each node's function
    # keeps its own inputs, just as a closure would; they are simply cheaper
    # for Python (a function and one tuple, where a closure adds a cell object
    # per variable), and a training step creates tens of thousands of nodes.
    # _backward never refers to `out` itself: `out` holding a function that
    # holds `out` would be a reference cycle, and a graph full of cycles waits
    # for Python's slow cycle collector instead of being freed at once.

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward(grad, self=self, other=other):
            self.grad += grad
            other.grad += grad

        out._backward = _backward
        return out

    def __sub__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data - other.data, (self, other), "-")

        def _backward(grad, self=self, other=other):
            self.grad += grad
            other.grad -= grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward(grad, self=self, other=other):
            self.grad += other.data * grad
            other.grad += self.data * grad

        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        quotient = self.data / other.data
        out = Value(quotient, (self, other), "/")

        def _backward(grad, self=self, other=other, quotient=quotient):
            # d(a/b)/da = 1/b  and  d(a/b)/db = -a/b**2 = -(a/b)/b
            self.grad += grad / other.data
            other.grad -= quotient / other.data * grad

        out._backward = _backward
        return out

    def __pow__(self, exponent):
        if not isinstance(exponent, (int, float)):
            raise TypeError(
                f"Value ** only supports int/float exponents; got {type(exponent).__name__}. "
                "For a Value exponent write (exponent * base.log()).exp()."
            )
        result = self.data**exponent
        if isinstance(result, complex):
            raise ValueError(
                f"{self.data} ** {exponent} is not a real number; "
                "a negative base needs an integer exponent."
            )
        out = Value(result, (self,), f"**{exponent}")

        def _backward(grad, self=self, exponent=exponent):
            self.grad += (exponent * self.data ** (exponent - 1)) * grad

        out._backward = _backward
        return out

    def __neg__(self):
        out = Value(-self.data, (self,), "neg")

        def _backward(grad, self=self):
            self.grad -= grad

        out._backward = _backward
        return out

    def exp(self):
        e = math.exp(self.data)
        out = Value(e, (self,), "exp")

        def _backward(grad, self=self, e=e):
            self.grad += e * grad  # exp is its own derivative

        out._backward = _backward
        return out

    def log(self):
        if self.data <= 0:
            raise ValueError(
                f"log needs a positive number; got {self!r}. "
                "Make the input positive first, e.g. add a small epsilon."
            )
        out = Value(math.log(self.data), (self,), "log")

        def _backward(grad, self=self):
            self.grad += grad / self.data

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward(grad, self=self, t=t):
            self.grad += (1 - t**2) * grad

        out._backward = _backward
        return out

    def relu(self):
        positive = self.data > 0
        out = Value(self.data if positive else 0.0, (self,), "ReLU")

        def _backward(grad, self=self, positive=positive):
            if positive:  # the slope is 1 where the input was positive and 0 elsewhere
                self.grad += grad

        out._backward = _backward
        return out

    # A plain number on the left (2 * v): Python then asks the Value on the right.

    def __radd__(self, other):  # other + self
        return self + other

    def __rsub__(self, other):  # other - self
        return Value(other) - self

    def __rmul__(self, other):  # other * self
        return self * other

    def __rtruediv__(self, other):  # other / self
        return Value(other) / self

    def backward(self):
        """Fill in `.grad` of every node this value depends on: d(self)/d(node).

        Gradients accumulate (+=), so zero them (`model.zero_grad()`, or
        `.grad = 0.0` on your leaves) before each fresh backward pass.
        """
        self.grad = 1.0
        # Outputs before inputs: a node's grad is complete before it is passed on.
        for node in reversed(_topological_order(self)):
            node._backward(node.grad)


def _topological_order(root):
    """Every node reachable from root, each listed after all of its inputs.

    Depth-first search, written with an explicit stack instead of recursion so
    that a graph 100,000 nodes deep does not hit Python's recursion limit. A
    node is pushed twice: first to visit its inputs, then (with inputs_done
    set) to be listed once they all have been.
    """
    order = []
    visited = set()
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            # Reversed, so they come off the stack in operand order, as recursion would visit them.
            for child in reversed(node._prev):
                stack.append((child, False))
    return order
