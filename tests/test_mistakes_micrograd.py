"""lib.mistakes.micrograd: Lesson 1's test cells name each classic mistake a student can make.

Every test runs the lesson's own test cell on the reference answer with exactly one mistake
typed into it, and reads the failure message: the catalogue through the visible tests (as the
student edition holds them), the older checks with the hidden tests too (as the autograder).
"""
import pytest

from lesson_cells import LessonCells, Wrong, assert_diagnosed, catalogue_is_complete, description, fails_visibly
from lib.micrograd import Value
from lib.mistakes import micrograd as micrograd_mistakes

HELPERS = ["torch-reference", "torch-compare-helper", "backward-helper", "mlp-helper", "train-helper"]
CELLS = LessonCells("01-micrograd", helpers=HELPERS)
CONTEXT = {"Value": Value}  # what the lesson's earlier cells define and the answers use


def run_test_cell(test_id, answer_id, edits=(), hidden=True):
    return CELLS.run_test_cell(test_id, answer_id, edits, context=CONTEXT, hidden=hidden)


EXERCISES = ["ex-neuron-grads", "ex-value-backward", "ex-backward", "ex-mlp", "ex-train"]

# --- Exercise 1: the neuron's gradients by hand ------------------------------------------------

NEURON = dict(x1=2.0, x2=0.0, w1=-3.0, w2=1.0, b=6.8813735870195432)
_NEURON_DESCRIPTIONS = [m.description for m in micrograd_mistakes.neuron_grads(**NEURON)]
TANH_N = ('grads["n"] = (1 - o**2) * grads["o"]', 'grads["n"] = o * grads["o"]')
FROM_N = [("o = math.tanh(x1 * w1 + x2 * w2 + b)", "n = x1 * w1 + x2 * w2 + b\n    o = math.tanh(n)"),
          ('grads["n"] = (1 - o**2) * grads["o"]', 'grads["n"] = (1 - n**2) * grads["o"]')]
NO_CHAIN = [('grads["n"] = (1 - o**2) * grads["o"]', 'grads["n"] = 1 - o**2'),
            ('grads["b"] = grads["n"]', 'grads["b"] = 1.0'),
            ('grads["x1w1x2w2"] = grads["n"]', 'grads["x1w1x2w2"] = 1.0'),
            ('grads["x1w1"] = grads["x1w1x2w2"]', 'grads["x1w1"] = 1.0'),
            ('grads["x2w2"] = grads["x1w1x2w2"]', 'grads["x2w2"] = 1.0')]
OWN_VALUE = [('grads["x1"] = w1 *', 'grads["x1"] = x1 *'), ('grads["w1"] = x1 *', 'grads["w1"] = w1 *'),
             ('grads["x2"] = w2 *', 'grads["x2"] = x2 *'), ('grads["w2"] = x2 *', 'grads["w2"] = w2 *')]
TYPED_IN = [("    o = math.tanh(x1 * w1 + x2 * w2 + b)\n",
             "    x1, x2, w1, w2, b = 2.0, 0.0, -3.0, 1.0, 6.8813735870195432\n"
             "    o = math.tanh(x1 * w1 + x2 * w2 + b)\n")]
W2_ZERO = [('grads["w2"] = x2 * grads["x2w2"]', 'grads["w2"] = 0.0  # x2 is 0')]

NEURON_MISTAKES = {
    "tanh(n) itself": [TANH_N],
    "computed from n": FROM_N,
    "chain rule is dropped": NO_CHAIN,
    "its own value": OWN_VALUE,
    "lecture's numbers typed in": TYPED_IN,
}

# --- Exercise 2: the operations of MyValue ------------------------------------------------------

ADD = "self.grad += grad\n            other.grad += grad"
MUL = "self.grad += other.data * grad\n            other.grad += self.data * grad"
EXP = "self.grad += e * grad"
TANH = "self.grad += (1 - t**2) * grad"
POW = "self.grad += k * self.data ** (k - 1) * grad"

# (test cell, the lines as a student wrote them, words that pick out the mistake's description)
BACKWARD_MISTAKES = [
    ("test-add-mul-backward", (ADD, "self.grad = grad\n            other.grad = grad"), "+ _backward overwrites"),
    ("test-add-mul-backward", (ADD, "self.grad += 1.0\n            other.grad += 1.0"), "+ _backward does not pass"),
    ("test-add-mul-backward", (MUL, "self.grad += self.data * grad\n            other.grad += other.data * grad"),
     "its own value times grad"),
    ("test-add-mul-backward", (MUL, "self.grad = other.data * grad\n            other.grad = self.data * grad"),
     "the * _backward overwrites"),
    ("test-add-mul-backward", (MUL, "self.grad += other.data\n            other.grad += self.data"),
     "the * _backward does not multiply"),
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
    ("test-pow-backward", (POW, "self.grad += 2 * self.data * grad"), "exponent 2 whatever k is"),
]
SLOPPY_BACKWARD = {"exponent 2 whatever k is"}
WHAT = {  # each mistake in the instructor's words
    "+ _backward overwrites": "+ assigns .grad = grad instead of adding (+=)",
    "+ _backward does not pass": "+ adds 1 instead of grad: the chain rule dropped",
    "its own value times grad": "* gives each factor its own value times grad",
    "the * _backward overwrites": "* assigns .grad instead of adding (+=)",
    "the * _backward does not multiply": "* forgets to multiply by the arriving grad",
    "factor k is missing": "** without the factor k: x**(k-1)",
    "exponent was not lowered": "** as k * x**k",
    "** _backward does not multiply": "** forgets to multiply by the arriving grad",
    "** _backward overwrites": "** assigns .grad instead of adding (+=)",
    "uses tanh(x) where": "tanh's derivative taken as t = tanh(x)",
    "computes 1 - x**2": "tanh's derivative as 1 - x**2, from the input",
    "tanh _backward does not multiply": "tanh forgets to multiply by the arriving grad",
    "tanh _backward overwrites": "tanh assigns .grad instead of adding (+=)",
    "exp _backward does not multiply": "exp forgets to multiply by the arriving grad",
    "exp _backward overwrites": "exp assigns .grad instead of adding (+=)",
    "uses the input x": "exp's derivative taken as x",
    "exponent 2 whatever k is": "** hard-codes the lecture's exponent 2",
}
UNWRAPPED = ("other = other if isinstance(other, MyValue) else MyValue(other)\n"
             "        out = MyValue(self.data + other.data", "out = MyValue(self.data + other.data")

# --- Exercise 3: the backward pass --------------------------------------------------------------

VISIT = ("        if node not in visited:\n            visited.add(node)\n            for child in node._prev:\n"
         "                visit(child)\n            order.append(node)")
BFS = ("    order, seen, frontier = [], {id(root)}, [root]\n    while frontier:\n        node = frontier.pop(0)\n"
       "        order.insert(0, node)\n        for child in node._prev:\n            if id(child) not in seen:\n"
       "                seen.add(id(child))\n                frontier.append(child)\n")
SORT = VISIT.join(["    order, visited = [], set()\n\n    def visit(node):\n", "\n\n    visit(root)\n"])

# --- Exercise 4: the MLP ------------------------------------------------------------------------

CHAIN = "        for layer in self.layers:\n            x = layer(x)\n        return x"

# --- Exercise 5: the training loop --------------------------------------------------------------

CATALOGUE = [
    Wrong("ex-neuron-grads", "test-neuron-grads", (TANH_N,), "tanh(n) itself", "classic",
          "tanh's local derivative taken as tanh(n)"),
    Wrong("ex-neuron-grads", "test-neuron-grads", tuple(FROM_N), "computed from n instead", "classic",
          "tanh's local derivative computed from n, 1 - n**2"),
    Wrong("ex-neuron-grads", "test-neuron-grads", tuple(NO_CHAIN), "chain rule is dropped", "classic",
          "each node gets only its local derivative"),
    Wrong("ex-neuron-grads", "test-neuron-grads", tuple(OWN_VALUE), "its own value", "classic",
          "a factor of a product gets its own value times the gradient"),
    Wrong("ex-neuron-grads", "test-neuron-grads", tuple(TYPED_IN), "lecture's numbers typed in", "sloppy",
          "the lecture's inputs hard-coded in the function"),
    Wrong("ex-neuron-grads", "test-neuron-grads", tuple(W2_ZERO), "lecture's numbers typed in", "sloppy",
          "dw2 typed in as 0 because the lecture's x2 is 0"),
    *[Wrong("ex-value-backward", test, (edit,), fragment, "sloppy" if fragment in SLOPPY_BACKWARD else "classic",
            WHAT[fragment]) for test, edit, fragment in BACKWARD_MISTAKES],
    Wrong("ex-value-backward", "test-add-mul-backward", (UNWRAPPED,), "must be wrapped first", "sloppy",
          "a plain number operand of + is not wrapped in MyValue"),
    Wrong("ex-backward", "test-backward", (("for node in reversed(order):", "for node in order:"),),
          "processed inputs-first", "classic", "the topological order walked forwards"),
    Wrong("ex-backward", "test-backward", (("    root.grad = 1.0\n", ""),), "never set to 1.0", "classic",
          "the output's gradient never seeded with 1"),
    Wrong("ex-backward", "test-backward",
          ((VISIT, "        for child in node._prev:\n            visit(child)\n        order.append(node)"),),
          "without a `visited` set", "classic", "no visited set: a shared node listed twice"),
    Wrong("ex-backward", "test-backward", ((SORT, BFS),), "breadth-first", "classic",
          "breadth-first order instead of a topological sort"),
    Wrong("ex-backward", "test-backward",
          (("if node not in visited:\n            visited.add(node)",
            "if node.data not in visited:\n            visited.add(node.data)"),),
          "told apart by their value", "sloppy", "visited keyed by node.data"),
    Wrong("ex-backward", "test-backward",
          (("def backward(root):", "_visited = set()\n\n\ndef backward(root):"),
           ("order, visited = [], set()", "order, visited = [], _visited")),
          "keeps state between calls", "sloppy", "a visited set that outlives the call"),
    Wrong("ex-mlp", "test-mlp", (("        return act.tanh()", "        return act"),), "activation is missing",
          "classic", "the neuron without its tanh"),
    Wrong("ex-mlp", "test-mlp", (("        act = self.b\n", "        act = 0.0\n"),), "left out of the sum",
          "classic", "the bias left out of the neuron's sum"),
    Wrong("ex-mlp", "test-mlp", (("return self.w + [self.b]", "return self.w"),), "leaves out the biases",
          "classic", "parameters() without the biases"),
    Wrong("ex-mlp", "test-mlp", ((CHAIN, "        out = x\n        for layer in self.layers:\n"
                                          "            out = layer(x)\n        return out"),),
          "every layer reads the network's input", "classic", "layers not chained"),
    Wrong("ex-mlp", "test-mlp", (("return self.w + [self.b]", "return [self.b] + self.w"),),
          "bias before the weights", "classic", "parameters() in another order"),
    Wrong("ex-mlp", "test-mlp", (("for _ in range(nin)]", "for _ in range(3)]"),), "hard-coded", "sloppy",
          "the lecture's 3 inputs hard-coded"),
    Wrong("ex-mlp", "test-mlp", (("self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]",
                                  "self.w = [Value(random.uniform(-1, 1))] * nin"),),
          "repeats one object", "sloppy", "one weight Value repeated (aliasing)"),
    Wrong("ex-mlp", "test-mlp", (("return outs[0] if len(outs) == 1 else outs", "return outs"),),
          "nout == 1 is the edge case", "sloppy", "a one-neuron layer returns a list"),
    Wrong("ex-train", "test-train", (("        model.zero_grad()\n", ""),), "never zeroed", "classic",
          "no zero_grad"),
    Wrong("ex-train", "test-train", (("p.data -= learning_rate * p.grad", "p.data += learning_rate * p.grad"),),
          "goes up the gradient", "classic", "gradient ascent"),
    Wrong("ex-train", "test-train", (("        model.zero_grad()\n        loss = ", "        loss = "),
                                     ("        loss.backward()\n", "        loss.backward()\n        model.zero_grad()\n")),
          "zeroed after loss.backward()", "classic", "zero_grad between backward and update"),
    Wrong("ex-train", "test-train", (("        loss.backward()\n",
                                      "        loss = loss * (1.0 / len(xs))\n        loss.backward()\n"),),
          "mean of the squared errors", "classic", "a mean instead of the lecture's sum"),
    Wrong("ex-train", "test-train", (("losses.append(loss.data)", "losses.append(loss)"),), "plain floats",
          "sloppy", "the Value loss returned instead of floats"),
    Wrong("ex-train", "test-train", (("for _ in range(steps):", "for _ in range(12):"),), "not a fixed number",
          "sloppy", "the number of steps hard-coded"),
]


@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: f"{w.exercise}:{w.what[:40]}")
def test_catalogued_mistake_fails_a_visible_test_and_is_named(wrong):
    fails_visibly(CELLS, wrong, context=CONTEXT)


def test_every_exercise_has_a_catalogue():
    catalogue_is_complete(CATALOGUE, EXERCISES)


@pytest.mark.parametrize("test_id, answer_id", [
    ("test-neuron-grads", "ex-neuron-grads"), ("test-add-mul-backward", "ex-value-backward"),
    ("test-exp-backward", "ex-value-backward"), ("test-tanh-backward", "ex-value-backward"),
    ("test-pow-backward", "ex-value-backward"), ("test-value-expressions", "ex-value-backward"),
    ("test-backward", "ex-backward"), ("test-mlp", "ex-mlp"), ("test-train", "ex-train")])
def test_the_reference_answer_passes_every_test(test_id, answer_id):
    assert run_test_cell(test_id, answer_id) is None


# --- the older checks, hidden tests included -----------------------------------------------------

def test_every_neuron_mistake_is_covered():
    assert len(_NEURON_DESCRIPTIONS) >= 3
    assert sorted(description(f, _NEURON_DESCRIPTIONS) for f in NEURON_MISTAKES) == sorted(_NEURON_DESCRIPTIONS)


@pytest.mark.parametrize("fragment", NEURON_MISTAKES)
def test_a_neuron_mistake_is_named(fragment):
    message = run_test_cell("test-neuron-grads", "ex-neuron-grads", NEURON_MISTAKES[fragment])
    assert_diagnosed(message, fragment, _NEURON_DESCRIPTIONS)


def test_an_unrelated_neuron_error_gets_only_the_difference():
    message = run_test_cell("test-neuron-grads", "ex-neuron-grads", [('grads = {"o": 1.0}', 'grads = {"o": -1.0}')])
    assert "max difference" in message and "Likely mistake" not in message


def _backward_descriptions():
    return [m.description for m in micrograd_mistakes.value_backward(lambda x: (x * x + x).exp().tanh() ** 2, [0.3])[0]]


def test_every_backward_mistake_is_covered():
    descriptions = _backward_descriptions()
    covered = sorted(set(description(fragment, descriptions) for _, _, fragment in BACKWARD_MISTAKES))
    assert covered == sorted(descriptions)
    for op in ["exp", "tanh", "**", "+", "*"]:
        assert sum(d.startswith(f"the {op} ") or d.startswith(f"in the {op} ") for d in descriptions) >= 2


@pytest.mark.parametrize("test_id, edit, fragment", BACKWARD_MISTAKES, ids=[f for _, _, f in BACKWARD_MISTAKES])
def test_a_backward_mistake_is_named(test_id, edit, fragment):
    message = run_test_cell(test_id, "ex-value-backward", [edit])
    assert_diagnosed(message, fragment, _backward_descriptions())


@pytest.mark.parametrize("test_id, edit", [("test-exp-backward", (EXP, "self.grad += 2 * e * grad")),
                                           ("test-tanh-backward", (TANH, "self.grad += (1 + t**2) * grad")),
                                           ("test-pow-backward", (POW, "self.grad += k * self.data * grad"))])
def test_an_unrelated_backward_error_gets_only_the_difference(test_id, edit):
    message = run_test_cell(test_id, "ex-value-backward", [edit])
    assert "max difference" in message and "Likely mistake" not in message


def test_a_recursive_backward_is_told_about_the_recursion_limit():
    """The end-of-lesson challenge: the lecture's recursive sort fails on a 10,000-deep chain."""
    import lib.micrograd.engine as engine

    x = Value(0.5)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    namespace = {}
    exec(CELLS.answers["ex-backward"], namespace)
    with pytest.raises(RecursionError):
        namespace["backward"](y)
    engine.Value.backward(y)  # the library's iterative sort copes
    assert x.grad == pytest.approx(1.0001**10_000)
