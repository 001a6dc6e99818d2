"""The answer's process and the test kernel's stand-ins (grader/testing.py, answer_process.py, wire.py).

This test's own interpreter plays the test kernel: an IPython shell runs the same cells the
judge would, and each exercise's answer runs in a sandboxed process of its own.
"""
import shutil
import sys

import pytest
import torch

from conftest import ROOT

sys.path.insert(0, str(ROOT))  # the grader package lives at the repository's root
from grader import cells, testing, wire  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="the sandbox needs bubblewrap")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """Run cells as the test kernel; a cell's error comes back as (type name, message)."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.showtraceback = lambda *a, **k: None
    testing.start(course=None, sandboxed=True, budget=8)
    shell.user_ns["__judge__"] = testing
    shell.run_cell("import torch", store_history=False)

    def run(source):
        result = shell.run_cell(source, store_history=False)
        error = result.error_in_exec or result.error_before_exec
        return (type(error).__name__, str(error)) if error else result.result

    yield run, shell.user_ns
    for process in list(testing._exercises.values()) + list(testing._spare.values()):
        process.close()


def answer(run, exercise, source, references=(), context=("import torch",)):
    return run(f"__judge__.answer({exercise!r}, {source!r}, context={list(context)!r}, references={list(references)!r})")


def test_plain_data_comes_back_and_nothing_the_student_defined_survives(kernel):
    run, ns = kernel
    answer(run, "plain", "class Liar(float):\n    def __eq__(self, other):\n        return True\n"
                         "class T(torch.Tensor):\n    pass\n"
                         "def f(x):\n    return {'a': Liar(2.5), ('k', 1): [b'x', {3}], 't': torch.ones(2).as_subclass(T) * x}")
    run("__judge__.enter('plain', ['f'])")
    got = run("f(3.0)")
    assert type(got["a"]) is float and got["a"] == 2.5 and not got["a"] == 3.0
    assert got[("k", 1)] == [b"x", {3}]
    assert type(got["t"]) is torch.Tensor and got["t"].tolist() == [3.0, 3.0]


def test_objects_live_in_the_answer_and_work_through_operators(kernel):
    run, ns = kernel
    answer(run, "objects", "import math\nclass V:\n    def __init__(self, d):\n        self.data = d\n"
                           "    def __mul__(self, o):\n        return V(self.data * (o.data if isinstance(o, V) else o))\n"
                           "    __rmul__ = __mul__\n    def exp(self):\n        return V(math.exp(self.data))\n"
                           "    def __eq__(self, other):\n        return True\n")
    run("__judge__.enter('objects', ['V'])")
    assert run("(2 * V(3.0)).exp().data") == pytest.approx(403.428793, rel=1e-6)
    assert run("V(1.0) == V(2.0)") is False  # the student's __eq__ never decides anything here
    assert "your V object" in run("repr(V(1.0))")


def test_inputs_changed_in_place_are_seen_by_the_tests(kernel):
    run, ns = kernel
    answer(run, "mutate", "def f(xs, t, d):\n    xs.append(9)\n    t += 1\n    d['k'] = 1\n    return None")
    run("__judge__.enter('mutate', ['f'])\nxs, t, d = [1], torch.zeros(2), {}\nf(xs, t, d)")
    assert ns["xs"] == [1, 9] and ns["t"].tolist() == [1.0, 1.0] and ns["d"] == {"k": 1}


def test_the_tests_functions_are_called_back_on_plain_data(kernel):
    run, ns = kernel
    answer(run, "callback", "def f(schedule, n):\n    return [schedule(step) for step in range(n)]")
    assert run("__judge__.enter('callback', ['f'])\nf(lambda step: 0.1 if step < 2 else 0.01, 4)") == [0.1, 0.1, 0.01, 0.01]


def test_the_answer_cannot_see_the_tests_namespace(kernel):
    run, ns = kernel
    run("expected_secret = 42")
    answer(run, "namespace", "def f():\n    return globals().get('expected_secret')")
    assert run("__judge__.enter('namespace', ['f'])\nf()") is None


def test_a_reference_is_unavailable_and_its_use_scores_zero(kernel):
    run, ns = kernel
    answer(run, "reference", "import operator, importlib\n"
                             "def f(x):\n    x = x.detach().requires_grad_()\n"
                             "    try:\n        operator.attrgetter('backward')(x.exp())()\n    except Exception:\n        pass\n"
                             "    return 1.0", references=["torch.autograd"])
    kind, message = run("__judge__.enter('reference', ['f'])\nf(torch.tensor(1.0))")
    assert kind == "ReferenceUsed" and "torch.Tensor.backward" in message
    kind, _ = run("__judge__.enter('reference', ['f'])")
    assert kind == "ReferenceUsed"  # every later test cell of the exercise


def test_a_loop_is_stopped_and_says_so(kernel):
    run, ns = kernel
    answer(run, "loop", "def f():\n    while True:\n        pass")
    kind, message = run("__judge__.enter('loop', ['f'])\nf()")
    assert kind == "AnswerStopped" and "time limit" in message


def test_an_exit_ends_only_its_exercise(kernel):
    run, ns = kernel
    answer(run, "exit", "import os\ndef f():\n    os._exit(3)")
    kind, message = run("__judge__.enter('exit', ['f'])\nf()")
    assert kind == "AnswerStopped" and "ended" in message
    answer(run, "after-exit", "def g():\n    return 5")
    assert run("__judge__.enter('after-exit', ['g'])\ng()") == 5


def test_an_error_in_the_answer_names_its_line(kernel):
    run, ns = kernel
    answer(run, "error", "def f(x):\n    y = x + 1\n    return y / 0")
    kind, message = run("__judge__.enter('error', ['f'])\nf(1)")
    assert kind == "StudentCodeError" and "ZeroDivisionError" in message and "line 3" in message
    assert "return y / 0" in message


def test_printed_output_is_cut(kernel, capsys):
    run, ns = kernel
    answer(run, "flood", "def f():\n    print('x' * 1_000_000)\n    return 1")
    assert run("__judge__.enter('flood', ['f'])\nf()") == 1
    assert "output cut by the grader" in capsys.readouterr().out


def test_a_reply_that_breaks_the_rules_is_refused():
    make = lambda *args: ("handle", args)  # noqa: E731
    with pytest.raises(wire.WireError):
        wire.decode({"tensor": {"dtype": "float64", "shape": [3], "data": "AAAA"}}, make)
    with pytest.raises(wire.WireError):
        wire.decode({"tensor": {"dtype": "object", "shape": [1], "data": ""}}, make)
    with pytest.raises(wire.WireError):
        wire.decode({"__reduce__": "os.system"}, make)


def test_the_judge_runs_the_cells_a_test_needs_and_only_those():
    sources = ["import torch\nimport math", "words = open('w').read().split()", "model = train(words)",
               "def helper(x):\n    return math.tanh(x) + torch.zeros(1)", "unused = 1"]
    assert cells.needed(sources, len(sources), cells.used("helper(2)"), lambda i: True) == [0, 3]
    assert cells.needed(sources, len(sources), cells.used("print(len(words))"), lambda i: True) == [1]
    # a function's own arguments and locals are not the notebook's names
    assert cells.used("def f(words):\n    model = 3\n    return model + len(words)") == {"len"}


def test_a_blank_exercise_starts_no_process_and_its_tests_say_not_attempted(kernel):
    """An answer cell still holding the release's stub: no process starts for it, and each of its
    test cells raises one line that says so (a class hands in many half-done notebooks)."""
    import nbformat

    import submissions
    from conftest import solution_path, student_path
    from grader.judge import Judge

    lesson = "01-micrograd"
    release = nbformat.read(student_path(lesson), as_version=4)
    source = nbformat.read(solution_path(lesson), as_version=4)
    first, *others = submissions.solutions(lesson)
    graded = submissions.answered(lesson, {first: submissions.solutions(lesson)[first] + "\n"})
    for cell in graded.cells:  # every other exercise left as released, but for its whitespace
        if cell.metadata.get("nbgrader", {}).get("grade_id") in others:
            cell.source = "\n" + next(c.source for c in release.cells if c.metadata.get("nbgrader", {}).get(
                "grade_id") == cell.metadata["nbgrader"]["grade_id"]) + "  \n"
    plan, _ = Judge().plan(graded, release, source, lesson, ROOT)
    steps = [c.source for c in plan.cells]
    assert f"exercises={[first]!r}" in steps[0]  # only the attempted exercise's process starts ahead
    assert sum(s.startswith("__judge__.answer(") for s in steps) == 1
    assert {s for s in steps if s.startswith("__judge__.not_attempted(")} == {
        f"__judge__.not_attempted({exercise!r})" for exercise in others}
    run, _ = kernel
    kind, message = run(f"__judge__.not_attempted({others[0]!r})")
    assert kind == "NotAttempted" and message.startswith("Not attempted yet") and "\n" not in message


@pytest.mark.slow
def test_a_notebook_that_spends_its_time_budget_stops_and_says_why(tmp_path):
    """nbgrader autograde with a 10 s budget on a submission whose first answer sleeps 20 s: the
    tests still to run score zero, their feedback and the findings say why, and grading ends."""
    import json
    import time

    import submissions
    from conftest import copy_course, release_lesson, run_tool

    lesson = "01-micrograd"
    course = copy_course(tmp_path)
    release_lesson(course, lesson)
    first = next(iter(submissions.solutions(lesson)))
    slow = submissions.answered(lesson, {first: "import time\ntime.sleep(20)\n" + submissions.solutions(lesson)[first]})
    submissions.write(slow, course, "slow", lesson)
    start = time.monotonic()
    run_tool("nbgrader", "autograde", lesson, "--Judge.notebook_budget=10", cwd=course)
    assert time.monotonic() - start < 120
    scores = submissions.scores(course, lesson)["slow"]
    assert scores["test-exp-backward"] == scores["test-pow-backward"] == 0
    graded = (course / "autograded" / "slow" / lesson / "micrograd.ipynb").read_text()
    assert "took its whole budget (10 s)" in graded
    record = json.loads((course / "grading" / "findings" / lesson / "slow.json").read_text())
    assert "time budget" in {f["kind"] for f in record["findings"]}


def test_a_parameter_comes_back_as_a_parameter_and_an_output_as_data():
    """A test can read `requires_grad` of the parameters an answer returns (a layer's weight);
    a computed tensor comes back as data only, with no graph of the answer's process."""
    import torch

    make = lambda *args: ("handle", args)  # noqa: E731
    weight = torch.nn.Parameter(torch.randn(3, 2, dtype=torch.float64))
    frozen = torch.randn(3, 2, dtype=torch.float64)
    back = [wire.decode(wire.encode(value, {}), make) for value in (weight, frozen, weight * 2)]
    assert [t.requires_grad for t in back] == [True, False, False]
    assert all(torch.equal(t.detach(), v.detach()) for t, v in zip(back, (weight, frozen, weight * 2)))
