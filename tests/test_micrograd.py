"""lib.micrograd, Lesson 1's scalar autograd engine: what it computes and what it promises.

Values and gradients are checked against PyTorch's autograd in float64, one operation at a
time and on random expressions; then the engine's promises (gradients accumulate, deep graphs
work, bad input is refused with a useful message), the neural-net classes, the graph drawing,
and the benchmark's agreement with the classic micrograd package.
"""
import importlib.util
import math
import operator
import random
import shutil
import sys
from pathlib import Path

import graphviz
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lib.micrograd import MLP, Layer, Neuron, Value, draw_dot
from lib.micrograd import draw as draw_module
from lib.micrograd.draw import trace
from lib.micrograd.engine import _topological_order

ROOT = Path(__file__).resolve().parent.parent


def leaf(x):
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def close(ours, theirs, tol=1e-9):
    theirs = 0.0 if theirs is None else float(theirs)
    return math.isclose(ours, theirs, rel_tol=tol, abs_tol=tol)


def check_against_torch(build, inputs):
    """Run build() on Values and on float64 tensors; compare the output and every input's gradient."""
    values = [Value(x) for x in inputs]
    tensors = [leaf(x) for x in inputs]
    out, expected = build(*values), build(*tensors)
    out.backward()
    expected.backward()
    assert close(out.data, expected.item()), (out.data, expected.item())
    for i, (v, t) in enumerate(zip(values, tensors)):
        assert close(v.grad, t.grad), f"input {i}: grad {v.grad} vs torch {t.grad}"


# --- each operation on its own --------------------------------------------------------------

BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
UNARY = {
    "neg": lambda a: -a,
    "exp": lambda a: a.exp(),
    "tanh": lambda a: a.tanh(),
    "relu": lambda a: a.relu(),
    "**2": lambda a: a**2,
    "**3": lambda a: a**3,
    "**-1": lambda a: a**-1,
    "**-2.5": lambda a: a**-2.5,
}


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("a, b", [(2.0, -3.0), (-0.5, 4.25), (1e3, 7e-3)])
def test_binary_operation_matches_torch(op, a, b):
    check_against_torch(BINARY[op], [a, b])


@pytest.mark.parametrize("op", UNARY)
@pytest.mark.parametrize("a", [0.7, 2.3, -1.2])
def test_unary_operation_matches_torch(op, a):
    if op == "**-2.5" and a < 0:
        a = -a  # a fractional power needs a positive base
    check_against_torch(UNARY[op], [a])


@pytest.mark.parametrize("a", [0.3, 1.0, 42.0])
def test_log_matches_torch(a):
    check_against_torch(lambda x: x.log(), [a])


def test_relu_passes_gradient_only_where_input_is_positive():
    for x, expected_grad in [(2.0, 1.0), (-2.0, 0.0), (0.0, 0.0)]:
        a = Value(x)
        out = a.relu()
        out.backward()
        assert out.data == max(x, 0.0)
        assert a.grad == expected_grad


def test_tanh_is_one_operation_with_derivative_one_minus_t_squared():
    n = Value(0.8814)
    o = n.tanh()
    o.backward()
    assert o._op == "tanh" and o._prev == (n,)
    assert o.data == pytest.approx(0.7071, abs=1e-4)
    assert n.grad == pytest.approx(1 - o.data**2)


@pytest.mark.parametrize(
    "expression, expected_data, expected_grad",
    [
        (lambda a: 2 + a, 5.0, 1.0),
        (lambda a: a + 2, 5.0, 1.0),
        (lambda a: 2 - a, -1.0, -1.0),
        (lambda a: a - 2, 1.0, 1.0),
        (lambda a: 2 * a, 6.0, 2.0),
        (lambda a: a * 2, 6.0, 2.0),
        (lambda a: 6 / a, 2.0, -6 / 9),
        (lambda a: a / 2, 1.5, 0.5),
        (lambda a: 1.5 * a - 0.5 / a, 4.5 - 1 / 6, 1.5 + 0.5 / 9),
    ],
)
def test_plain_numbers_work_on_either_side(expression, expected_data, expected_grad):
    a = Value(3.0)
    out = expression(a)
    out.backward()
    assert isinstance(out, Value)
    assert out.data == pytest.approx(expected_data)
    assert a.grad == pytest.approx(expected_grad)


def test_each_backward_adds_local_derivative_times_incoming_grad():
    # The convention the lesson steps through by hand: out._backward(grad) feeds the inputs.
    a, b = Value(2.0), Value(-3.0)
    product = a * b
    product._backward(10.0)
    assert (a.grad, b.grad) == (-30.0, 20.0)
    product._backward(1.0)  # a second call adds, it does not overwrite
    assert (a.grad, b.grad) == (-33.0, 22.0)
    leaf_grad_before = a.grad
    a._backward(5.0)  # a leaf has no inputs: nothing happens
    assert a.grad == leaf_grad_before


def test_no_backward_function_holds_its_own_output():
    # Otherwise every node would sit in a reference cycle and wait for the cycle collector.
    a, b = Value(0.5), Value(2.0)
    outputs = [a + b, a - b, a * b, a / b, a**2, -a, a.exp(), a.log(), a.tanh(), a.relu()]
    for out in outputs:
        held = list(out._backward.__defaults__ or ()) + [c.cell_contents for c in out._backward.__closure__ or ()]
        assert held, out._op  # it does keep its inputs
        assert all(obj is not out for obj in held), out._op


# --- random expressions ----------------------------------------------------------------------

# Each works on Values and on tensors alike. Where an operation needs a safe input (exp, log,
# division, fractional powers), the input is made safe with other operations first, so every
# random expression is well defined and its numbers stay moderate.
RANDOM_UNARY = {
    "neg": lambda a: -a,
    "tanh": lambda a: a.tanh(),
    "relu": lambda a: a.relu(),
    "exp": lambda a: a.tanh().exp(),
    "log": lambda a: (a * a + 0.5).log(),
    "square": lambda a: a**2,
    "sqrt": lambda a: (a * a + 0.5) ** 0.5,
    "reciprocal": lambda a: 1 / (a * a + 0.5),
    "affine": lambda a: 2.0 - 3 * a,
}
RANDOM_BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 0.5),
}


@st.composite
def programs(draw):
    """Some input numbers and a list of steps; each step combines earlier results, so inputs
    and intermediate values are often reused (a graph, not only a tree)."""
    inputs = draw(st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=4))
    steps = []
    for i in range(draw(st.integers(1, 8))):
        available = len(inputs) + i
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(sorted(RANDOM_UNARY))), draw(st.integers(0, available - 1))))
        else:
            steps.append((draw(st.sampled_from(sorted(RANDOM_BINARY))),
                          draw(st.integers(0, available - 1)), draw(st.integers(0, available - 1))))
    return inputs, steps


def run_program(steps, *inputs):
    results = list(inputs)
    for name, *args in steps:
        op = RANDOM_UNARY.get(name) or RANDOM_BINARY[name]
        results.append(op(*(results[i] for i in args)))
    return results[-1]


@settings(max_examples=60, deadline=None)
@given(programs())
def test_random_expressions_match_torch(program):
    inputs, steps = program
    probe = run_program(steps, *[Value(x) for x in inputs])
    assume(all(abs(node.data) < 1e6 for node in trace(probe)[0]))
    check_against_torch(lambda *xs: run_program(steps, *xs), inputs)


# --- what backward() promises ----------------------------------------------------------------

def test_a_value_used_twice_gets_both_contributions():
    a = Value(3.0)
    b = a + a
    b.backward()
    assert b._prev == (a, a)
    assert a.grad == 2.0

    a = Value(3.0)
    (a * a).backward()
    assert a.grad == 6.0


def test_a_node_feeding_two_branches_sums_their_gradients():
    # f = (a*b) * (a+b): by hand df/da = b(a+b) + ab = -3 and df/db = a(a+b) + ab = -8
    a, b = Value(-2.0), Value(3.0)
    f = (a * b) * (a + b)
    f.backward()
    assert (a.grad, b.grad) == (-3.0, -8.0)


def test_backward_seeds_the_output_with_one():
    a = Value(4.0)
    out = a * 1.0
    out.backward()
    assert out.grad == 1.0
    assert a.grad == 1.0


def test_gradients_accumulate_until_zeroed():
    a = Value(2.0)
    out = a * 5.0
    out.backward()
    out.backward()
    assert a.grad == 10.0


def test_topological_order_lists_every_node_once_after_its_inputs():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = _topological_order(e)
    assert len(order) == len(set(order)) == 5  # a, b, c, d, e
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        assert all(position[child] < position[node] for child in node._prev)
    assert order[-1] is e


def test_a_chain_of_100000_nodes_backpropagates_without_recursion():
    assert sys.getrecursionlimit() < 100_000  # a recursive walk would fail on this graph
    x = Value(0.5)
    y = x
    for _ in range(100_000):
        y = y + x
    y.backward()
    assert y.data == 0.5 * 100_001
    assert x.grad == 100_001.0
    nodes, edges = trace(y)
    assert len(nodes) == 100_001 and len(edges) == 200_000
    del y, nodes, edges  # freeing a deep graph must not overflow the C stack either


def test_repr_shows_data_and_grad():
    a = Value(2.0)
    assert repr(a) == "Value(data=2.0, grad=0.0)"
    (a * 3).backward()
    assert repr(a) == "Value(data=2.0, grad=3.0)"


# --- bad input is refused where it enters, with a message that says what to do ----------------

def test_value_refuses_a_non_number():
    with pytest.raises(TypeError, match=r"Value holds a number; got str 'abc'"):
        Value("abc")
    with pytest.raises(TypeError, match="NoneType"):
        Value(None)
    with pytest.raises(TypeError, match="Value holds a number; got list"):
        Value(1.0) + [1.0]


def test_value_accepts_other_real_numbers_as_float():
    from fractions import Fraction

    assert Value(Fraction(1, 4)).data == 0.25
    assert Value(True).data == 1


def test_power_refuses_a_value_exponent():
    with pytest.raises(TypeError, match="only supports int/float exponents"):
        Value(2.0) ** Value(2.0)


def test_power_refuses_a_complex_result():
    with pytest.raises(ValueError, match="not a real number"):
        Value(-8.0) ** 0.5


@pytest.mark.parametrize("x", [0.0, -1.0])
def test_log_refuses_a_non_positive_number(x):
    with pytest.raises(ValueError, match="log needs a positive number"):
        Value(x).log()


# --- neurons, layers, MLPs -------------------------------------------------------------------

def test_neuron_computes_activation_of_bias_plus_weighted_sum():
    random.seed(0)
    for activation, f in [("tanh", math.tanh), ("relu", lambda s: max(s, 0.0)), ("linear", lambda s: s)]:
        n = Neuron(3, activation=activation)
        x = [1.5, -2.0, 0.25]
        expected = f(n.b.data + sum(w.data * xi for w, xi in zip(n.w, x)))
        assert n(x).data == pytest.approx(expected)
        assert len(n.parameters()) == 4


def test_neuron_initialisation():
    random.seed(1)
    tanh_neuron = Neuron(5)
    assert all(-1 <= p.data <= 1 for p in tanh_neuron.parameters())
    assert tanh_neuron.b.data != 0.0  # tanh neurons draw their bias too (as in the lecture)
    assert Neuron(5, activation="relu").b.data == 0.0  # like the classic package
    assert Neuron(5, activation="linear").b.data == 0.0


def test_neuron_refuses_an_unknown_activation():
    with pytest.raises(ValueError, match=r"'tanh', 'relu', 'linear'.*'sigmoid'"):
        Neuron(2, activation="sigmoid")


def test_neuron_refuses_an_input_of_the_wrong_length():
    with pytest.raises(ValueError, match="expects 3 inputs; got 2"):
        Neuron(3)([1.0, 2.0])


def test_layer_shapes():
    layer = Layer(3, 4)
    outs = layer([1.0, 2.0, 3.0])
    assert isinstance(outs, list) and len(outs) == 4
    assert len(layer.parameters()) == 4 * (3 + 1)
    single = Layer(3, 1)([1.0, 2.0, 3.0])
    assert isinstance(single, Value)  # a one-neuron layer gives a plain Value


def test_mlp_of_the_lecture_has_41_parameters():
    model = MLP(3, [4, 4, 1])
    params = model.parameters()
    assert len(params) == 41
    assert len({id(p) for p in params}) == 41
    out = model([2.0, 3.0, -1.0])
    assert isinstance(out, Value) and out._op == "tanh"
    assert repr(model) == "MLP(3, [4, 4, 1], activation='tanh', output_activation='tanh')"


def test_mlp_hidden_and_output_activations():
    model = MLP(2, [3, 3, 1], activation="relu", output_activation="linear")
    assert [n.activation for n in model.layers[0].neurons] == ["relu"] * 3
    assert [n.activation for n in model.layers[1].neurons] == ["relu"] * 3
    assert model.layers[2].neurons[0].activation == "linear"
    assert model([0.5, -0.5])._op == "+"  # the output is the bare weighted sum
    assert "output_activation='linear'" in repr(model)


def test_relu_mlp_draws_the_same_weights_as_the_classic_package():
    classic_nn = pytest.importorskip("micrograd.nn")
    random.seed(1337)
    theirs = classic_nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    ours = MLP(2, [16, 16, 1], activation="relu", output_activation="linear")
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]


def test_zero_grad_clears_every_parameter():
    model = MLP(3, [4, 4, 1])
    model([1.0, -1.0, 0.5]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_a_few_sgd_steps_reduce_the_loss_on_the_lecture_dataset():
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    random.seed(1337)
    model = MLP(3, [4, 4, 1])
    losses = []
    for _ in range(20):
        loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys))
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.1 * p.grad
        losses.append(loss.data)
    assert losses[-1] < 0.25 * losses[0]
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))


# --- drawing the graph -----------------------------------------------------------------------

def lecture_expression():
    a, b, c, f = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c"), Value(-2.0, label="f")
    e = a * b; e.label = "e"
    d = e + c; d.label = "d"
    L = d * f; L.label = "L"
    return L


def test_trace_finds_every_node_and_one_edge_per_operand():
    L = lecture_expression()
    nodes, edges = trace(L)
    assert sorted(n.label for n in nodes) == ["L", "a", "b", "c", "d", "e", "f"]
    assert len(edges) == 6
    a = Value(1.0)
    nodes, edges = trace(a + a)
    assert len(nodes) == 2 and len(edges) == 2


def test_draw_dot_renders_svg_with_every_label():
    L = lecture_expression()
    L.backward()
    dot = draw_dot(L)
    assert isinstance(dot, graphviz.Digraph)
    for label in ["a", "b", "c", "d", "e", "f", "L"]:
        assert f"{{ {label} | data" in dot.source
    assert "grad -2.0000" in dot.source or "grad 6.0000" in dot.source
    assert dot.source.count("shape=record") == 7
    assert dot.source.count('_op" [label=') == 3  # one oval per operation
    svg = dot.pipe(format="svg", encoding="utf-8")
    assert "<svg" in svg
    bundle = dot._repr_mimebundle_()  # what Jupyter calls to display it
    assert "<svg" in bundle["image/svg+xml"]


def test_draw_dot_escapes_record_characters_in_labels():
    a = Value(1.0, label="x|y {z} <w>")
    svg = draw_dot(a * 2).pipe(format="svg", encoding="utf-8")
    assert "x|y {z} &lt;w&gt;" in svg


def test_draw_dot_refuses_an_unknown_direction():
    with pytest.raises(ValueError, match="rankdir"):
        draw_dot(Value(1.0), rankdir="sideways")


def test_graphviz_pure_is_used_only_when_dot_is_missing(monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, **kw: "/usr/bin/dot" if name == "dot" else real_which(name, **kw))
    assert draw_module._graphviz_pure_fallback() is None
    monkeypatch.setattr(shutil, "which", lambda name, **kw: None if name == "dot" else f"/somewhere/{name}")
    assert draw_module._graphviz_pure_fallback() == "/somewhere/graphviz-pure"
    monkeypatch.setattr(shutil, "which", lambda name, **kw: None)
    assert draw_module._graphviz_pure_fallback() is None


def test_rendering_without_any_engine_says_what_to_install(monkeypatch):
    monkeypatch.setattr(draw_module.dot_command, "DOT_BINARY", "/nonexistent/dot")
    with pytest.raises(graphviz.ExecutableNotFound, match="pip install graphviz-pure"):
        draw_dot(Value(1.0)).pipe(format="svg")


# --- the benchmark against the classic engine --------------------------------------------------

def load_bench():
    spec = importlib.util.spec_from_file_location("micrograd_bench", ROOT / "bench" / "micrograd_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_engines_agree_on_the_losses():
    pytest.importorskip("micrograd.engine")
    bench = load_bench()
    run = bench.train_both(steps=2, n_samples=20)  # fewer points: a quick check
    ours, classic = run["losses"]["ours"], run["losses"]["classic"]
    assert len(ours) == len(classic) == 2
    assert ours[1] != ours[0]  # it trained
    assert all(abs(a - b) <= bench.LOSS_TOLERANCE for a, b in zip(ours, classic))
    assert all(len(s) == 2 and min(s) > 0 for s in run["seconds"].values())


def test_bench_fails_when_the_losses_disagree(monkeypatch, capsys):
    pytest.importorskip("micrograd.engine")
    bench = load_bench()
    fake = {"losses": {"classic": [1.0], "ours": [1.0 + 1e-6]}, "seconds": {"classic": [0.2], "ours": [0.1]}}
    monkeypatch.setattr(bench, "train_both", lambda steps: fake)
    assert bench.main(["--steps", "1"]) == 1
    assert "speedup (classic / ours): 2.00x" in capsys.readouterr().out
    fake["losses"]["ours"] = [1.0]
    assert bench.main(["--steps", "1"]) == 0


def test_train_is_the_lessons_loop_and_its_no_zero_grad_variant_differs():
    from lib.micrograd.nn import train

    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]

    def fresh():
        random.seed(1337)
        return MLP(3, [4, 4, 1])

    model, losses = fresh(), []
    for _ in range(5):
        model.zero_grad()
        loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys))
        loss.backward()
        for p in model.parameters():
            p.data -= 0.1 * p.grad
        losses.append(loss.data)
    assert train(fresh(), xs, ys, 5, 0.1) == losses
    assert all(isinstance(loss, float) for loss in losses)
    assert train(fresh(), xs, ys, 5, 0.1, zero_grad=False)[2:] != losses[2:]
