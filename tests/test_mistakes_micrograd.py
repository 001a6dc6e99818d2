"""lib.mistakes.micrograd: Lesson 1's test cells name each classic mistake a student can make.

Every test runs the lesson's own test cell (hidden tests included, as the autograder does) on
the reference answer with exactly one mistake typed into it, and reads the failure message.
"""
import pytest

from lesson_cells import LessonCells, assert_diagnosed, description
from lib.mistakes import micrograd as micrograd_mistakes

run_test_cell = LessonCells("01-micrograd", helpers=["torch-reference", "torch-compare-helper"]).run_test_cell


# --- Exercise 1: the neuron's gradients by hand ------------------------------------------------

NEURON = dict(x1=2.0, x2=0.0, w1=-3.0, w2=1.0, b=6.8813735870195432)
_NEURON_DESCRIPTIONS = [m.description for m in micrograd_mistakes.neuron_grads(**NEURON)]

NEURON_MISTAKES = {
    "tanh(n) itself": [('grads["n"] = (1 - o**2) * grads["o"]', 'grads["n"] = o * grads["o"]')],
    "computed from n": [("o = math.tanh(x1 * w1 + x2 * w2 + b)", "n = x1 * w1 + x2 * w2 + b\n    o = math.tanh(n)"),
                        ('grads["n"] = (1 - o**2) * grads["o"]', 'grads["n"] = (1 - n**2) * grads["o"]')],
    "chain rule is dropped": [('grads["n"] = (1 - o**2) * grads["o"]', 'grads["n"] = 1 - o**2'),
                              ('grads["b"] = grads["n"]', 'grads["b"] = 1.0'),
                              ('grads["x1w1x2w2"] = grads["n"]', 'grads["x1w1x2w2"] = 1.0'),
                              ('grads["x1w1"] = grads["x1w1x2w2"]', 'grads["x1w1"] = 1.0'),
                              ('grads["x2w2"] = grads["x1w1x2w2"]', 'grads["x2w2"] = 1.0')],
    "its own value": [('grads["x1"] = w1 *', 'grads["x1"] = x1 *'), ('grads["w1"] = x1 *', 'grads["w1"] = w1 *'),
                      ('grads["x2"] = w2 *', 'grads["x2"] = x2 *'), ('grads["w2"] = x2 *', 'grads["w2"] = w2 *')],
}


def test_every_neuron_mistake_is_covered():
    assert len(_NEURON_DESCRIPTIONS) >= 3
    assert sorted(description(f, _NEURON_DESCRIPTIONS) for f in NEURON_MISTAKES) == sorted(_NEURON_DESCRIPTIONS)


@pytest.mark.parametrize("fragment", NEURON_MISTAKES)
def test_a_neuron_mistake_is_named(fragment):
    message = run_test_cell("test-neuron-grads", "ex-neuron-grads", NEURON_MISTAKES[fragment])
    assert_diagnosed(message, fragment, _NEURON_DESCRIPTIONS)


def test_the_correct_neuron_gradients_pass():
    assert run_test_cell("test-neuron-grads", "ex-neuron-grads") is None


def test_an_unrelated_neuron_error_gets_only_the_difference():
    message = run_test_cell("test-neuron-grads", "ex-neuron-grads", [('grads = {"o": 1.0}', 'grads = {"o": -1.0}')])
    assert "max difference" in message and "Likely mistake" not in message


# --- Exercise 2: _backward of exp, tanh and ** ---------------------------------------------------

EXP = "self.grad += e * grad"
TANH = "self.grad += (1 - t**2) * grad"
POW = "self.grad += k * self.data ** (k - 1) * grad"

# (test cell, the line as a student wrote it, words that pick out the mistake's description)
BACKWARD_MISTAKES = [
    ("test-pow-backward", (POW, "self.grad += self.data ** (k - 1) * grad"), "factor k is missing"),
    ("test-pow-backward", (POW, "self.grad += k * self.data ** k * grad"), "exponent was not lowered"),
    ("test-pow-backward", (POW, "self.grad += k * self.data ** (k - 1)"), "** _backward does not multiply"),
    ("test-pow-backward", (POW, "self.grad = k * self.data ** (k - 1) * grad"), "** _backward overwrites"),
    ("test-tanh-backward", (TANH, "self.grad += t * grad"), "uses tanh(x) where"),
    ("test-tanh-backward", (TANH, "self.grad += (1 - self.data**2) * grad"), "computes 1 - x**2"),
    ("test-tanh-backward", (TANH, "self.grad += 1 - t**2"), "tanh _backward does not multiply"),
    ("test-tanh-backward", (TANH, "self.grad = (1 - t**2) * grad"), "tanh _backward overwrites"),
    ("test-exp-backward", (EXP, "self.grad += e"), "exp _backward does not multiply"),
    ("test-exp-backward", (EXP, "self.grad = e * grad"), "exp _backward overwrites"),
    ("test-exp-backward", (EXP, "self.grad += self.data * grad"), "uses the input x"),
]


def _backward_descriptions():
    return [m.description for m in micrograd_mistakes.value_backward(lambda x: x.exp().tanh() ** 2, [0.3])[0]]


def test_every_backward_mistake_is_covered():
    descriptions = _backward_descriptions()
    covered = sorted(description(fragment, descriptions) for _, _, fragment in BACKWARD_MISTAKES)
    assert covered == sorted(descriptions)
    for op in ["exp", "tanh", "**"]:
        assert sum(d.startswith(f"the {op} ") or d.startswith(f"in the {op} ") for d in descriptions) >= 3


@pytest.mark.parametrize("test_id, edit, fragment", BACKWARD_MISTAKES, ids=[f for _, _, f in BACKWARD_MISTAKES])
def test_a_backward_mistake_is_named(test_id, edit, fragment):
    descriptions = _backward_descriptions()
    message = run_test_cell(test_id, "ex-value-backward", [edit])
    assert_diagnosed(message, fragment, descriptions)


@pytest.mark.parametrize("test_id", ["test-exp-backward", "test-tanh-backward", "test-pow-backward"])
def test_the_correct_backward_passes(test_id):
    assert run_test_cell(test_id, "ex-value-backward") is None


@pytest.mark.parametrize("test_id, edit", [("test-exp-backward", (EXP, "self.grad += 2 * e * grad")),
                                           ("test-tanh-backward", (TANH, "self.grad += (1 + t**2) * grad")),
                                           ("test-pow-backward", (POW, "self.grad += k * self.data * grad"))])
def test_an_unrelated_backward_error_gets_only_the_difference(test_id, edit):
    message = run_test_cell(test_id, "ex-value-backward", [edit])
    assert "max difference" in message and "Likely mistake" not in message
