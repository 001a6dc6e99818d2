"""The bad submissions a class really sends, built from Lesson 1's real student notebook.

Each entry: student id -> (how to build the notebook, expected score per test cell as a
fraction of its points, the finding kinds the report must show). The cases tamper with Lesson
1's first exercise, `ex-neuron-grads` (tested by test-neuron-grads); its neighbour
`ex-value-backward` (test-add-mul-backward, test-exp-backward, test-tanh-backward,
test-pow-backward, test-value-expressions) is answered correctly, so a tamper that reached past
its own exercise would show there. `ex-backward`, `ex-mlp` and `ex-train` are left blank (their
tests score zero, and a blank exercise starts no process): only `good` answers every exercise.
"""
import copy
import os

import nbformat

from conftest import ROOT as REPOSITORY  # the checkout under test: its solutions/ must stay hidden too

LESSON = "01-micrograd"
NEURON = "ex-neuron-grads"
NEURON_TESTS = {"test-neuron-grads"}
VALUE_TESTS = {"test-add-mul-backward", "test-exp-backward", "test-tanh-backward", "test-pow-backward",
               "test-value-expressions"}
ANSWERED = {NEURON, "ex-value-backward"}  # the exercises the tampered notebooks answer
OTHER_TESTS = {"test-backward", "test-mlp", "test-train"}
ALL_TESTS = NEURON_TESTS | VALUE_TESTS | OTHER_TESTS


def _gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _with_answer(nb, grade_id, source):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if _gid(cell) == grade_id:
            cell.source = source
    return nb


def build(good, answered, blank, neuron_answer, course, listen_port):
    """{student: (notebook or raw bytes, zeroed test cells, finding kinds)}: `good` answers every
    exercise, `answered` those in ANSWERED, `blank` none."""
    right = neuron_answer
    wrong = right.replace('grads["n"] = (1 - o**2) * grads["o"]', 'grads["n"] = (1 - o) * grads["o"]')
    assert wrong != right

    def neuron(source):
        return _with_answer(answered, NEURON, source)

    cases = {}
    cases["good"] = (good, set(), set())
    cases["k01-infinite-loop"] = (neuron("while True:\n    pass\n" + right), NEURON_TESTS, {"timeout"})
    cases["k02-memory-bomb"] = (neuron("hog = bytearray(16 * 2**30)\n" + right), NEURON_TESTS, set())
    cases["k03-exception"] = (neuron("raise ValueError('not done yet')\n" + right), NEURON_TESTS, set())
    cases["k04-os-exit"] = (neuron("import os\nos._exit(3)\n" + right), NEURON_TESTS, {"process died"})
    cases["k04-sys-exit"] = (neuron("import sys\nsys.exit('bye')\n" + right), NEURON_TESTS, set())

    edited = copy.deepcopy(answered)
    for cell in edited.cells:
        if _gid(cell) in NEURON_TESTS | VALUE_TESTS:
            cell.source = "assert True"
    cases["k05-tests-assert-true"] = (_with_answer(edited, NEURON, wrong), NEURON_TESTS, {"edited test cell"})
    deleted = copy.deepcopy(answered)
    deleted.cells = [c for c in deleted.cells if _gid(c) not in NEURON_TESTS]
    cases["k05-test-deleted"] = (deleted, set(), {"deleted test cell"})
    duplicated = copy.deepcopy(answered)
    i = next(i for i, c in enumerate(duplicated.cells) if _gid(c) == NEURON)
    twin = copy.deepcopy(duplicated.cells[i])
    twin.source = wrong
    duplicated.cells.insert(i + 1, twin)
    cases["k05-duplicated"] = (duplicated, set(), {"duplicated cell"})
    reordered = copy.deepcopy(answered)
    graded = [i for i, c in enumerate(reordered.cells) if _gid(c) in NEURON_TESTS | {NEURON}]
    a, b = graded[0], graded[-1]
    reordered.cells[a], reordered.cells[b] = reordered.cells[b], reordered.cells[a]
    cases["k05-reordered"] = (reordered, set(), {"cells reordered"})
    retyped = copy.deepcopy(answered)
    for cell in retyped.cells:
        if _gid(cell) in NEURON_TESTS:
            cell.cell_type = "markdown"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    cases["k05-cell-type"] = (retyped, set(), {"cell type changed"})

    # Tampering with the checks or the comparisons: they do not run where the answer runs.
    cases["k06-patch-checker"] = (neuron("import lib.grading\nlib.grading.check_all = lambda *a, **k: None\n" + wrong),
                                  NEURON_TESTS, set())
    cases["k06-patch-torch"] = (neuron("import torch\ntorch.allclose = lambda *a, **k: True\n"
                                       "torch.Tensor.__eq__ = lambda self, other: True\n" + wrong), NEURON_TESTS, set())
    cases["k06-rebind-check"] = (neuron("check_all = lambda *a, **k: None\n" + wrong), NEURON_TESTS, set())
    # The tests' own reference helper does not exist where the answer runs; torch's autograd is unavailable.
    cases["k07-calls-helper"] = (neuron("def neuron_grads(x1, x2, w1, w2, b):\n"
                                        "    return torch_neuron_grads(x1, x2, w1, w2, b)\n"), NEURON_TESTS, set())
    cases["k07-calls-reference"] = (neuron("def neuron_grads(x1, x2, w1, w2, b):\n"
                                           "    t = torch.tensor(x1, requires_grad=True)\n"
                                           "    torch.tanh(t).backward()\n"
                                           "    return {}\n"), NEURON_TESTS, {"reference used"})
    cases["k08-always-equal"] = (neuron("class Anything(float):\n    def __eq__(self, other):\n        return True\n"
                                        "def neuron_grads(x1, x2, w1, w2, b):\n"
                                        "    return {k: Anything(0) for k in ['o','n','b','x1w1x2w2','x1w1','x2w2','x1','w1','x2','w2']}\n"),
                                  NEURON_TESTS, set())
    cases["k08-lying-tensor"] = (neuron("import torch\nclass Liar(torch.Tensor):\n    pass\n" + wrong), NEURON_TESTS, set())
    cases["k09-warning"] = (neuron(right.replace("    return grads", "    torch.tensor(torch.tensor(1.0))  # warns on stderr\n    return grads")),
                            set(), set())
    snoop = (f"import socket\nfor path in ['{course}/solutions/{LESSON}/micrograd.md', '{course}/gradebook.db',\n"
             f"             '{REPOSITORY}/solutions/{LESSON}/micrograd.md', '{REPOSITORY}/gradebook.db']:\n"
             "    try:\n        open(path).read(10); print('READ', path)\n    except OSError as err:\n        print('refused', type(err).__name__)\n"
             f"try:\n    open('{course}/escaped.txt', 'w').write('x'); print('WROTE')\nexcept OSError as err:\n    print('refused', type(err).__name__)\n"
             f"try:\n    socket.create_connection(('127.0.0.1', {listen_port}), timeout=2); print('CONNECTED')\n"
             "except OSError as err:\n    print('refused', type(err).__name__)\n")
    cases["k10-snoop"] = (neuron(snoop + right), set(), set())
    cases["k11-flood"] = (neuron(right.replace("    return grads", "    print('spam ' * 200_000)\n    return grads")),
                          set(), {"output truncated"})
    # display data never leaves the answer's process: only its text stands in the notebook
    cases["k11-display-flood"] = (neuron(right.replace(
        "    return grads", "    from IPython.display import HTML, display\n    display(HTML('<p>' * 5_000_000))\n    return grads")),
        set(), set())
    cases["k12-invalid-json"] = (b'{"cells": [', ALL_TESTS, {"unreadable notebook"})
    cases["k12-empty-file"] = (b"", ALL_TESTS, {"unreadable notebook"})
    # links to the solutions: never followed, graded as blank, reported
    source = course / "solutions" / LESSON / "micrograd.ipynb"
    cases["k13-symlink"] = (lambda path: path.symlink_to(source), ALL_TESTS, {"unsafe file"})
    cases["k13-hardlink"] = (lambda path: os.link(source, path), ALL_TESTS, {"unsafe file"})
    cases["z-blank"] = (blank, ALL_TESTS, set())
    return {student: (nb, zeroed if student == "good" else zeroed | OTHER_TESTS, kinds)
            for student, (nb, zeroed, kinds) in cases.items()}


def write(nb, course, student):
    folder = course / "submitted" / student / LESSON
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "micrograd.ipynb"
    if callable(nb):
        nb(path)
    elif isinstance(nb, bytes):
        path.write_bytes(nb)
    else:
        nbformat.write(nb, path)
