"""The rules every lesson keeps (README, Contributors: "The rules of a lesson").

- No answer on the page: the student edition never prints the source of what an exercise of
  the same lesson asks the student to write (the exercise's references, grader/references.py).
- Predict, then run: at least three `predict` cells, each answered by a `reveal` of its guess.
- The lesson closes with `## Exercises`, whose exercises are checked by `attempt`.
- Every graded exercise has a mistake catalogue (tests/test_mistakes_<module>.py, CATALOGUE).
- Code fits the book's column (88 characters), and every plot is labelled and titled.
"""
import ast
import importlib
import inspect
import re
import types

import jupytext
import nbformat
import pytest

from conftest import LESSONS, nbgrader_meta, solution_path, student_path
from grader import references
from tools import mistake_catalogue

pytestmark = pytest.mark.skipif(not LESSONS, reason="no lessons in solutions/")

MISTAKE_TESTS = mistake_catalogue.MISTAKE_TESTS  # the test file that holds each lesson's catalogue
MAX_COLUMNS = 88


def code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def resolve(dotted):
    """The object a dotted public name refers to (the longest importable module, then attributes)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


def lesson_references(lesson):
    """The lib objects the lesson's exercises ask for (torch's references are not on the page)."""
    names = {n for exercise in references.REFERENCES.get(lesson, {}).values() for n in exercise}
    return [resolve(n) for n in sorted(names) if n.startswith("lib.")]


def shows(target, reference):
    """Does printing the source of `target` show (part of) `reference`?"""
    if target is reference:
        return True
    if isinstance(target, types.ModuleType):  # a module's source holds all it defines
        return getattr(reference, "__module__", None) == target.__name__
    target = inspect.unwrap(getattr(target, "__func__", target))
    owner = getattr(reference, "__qualname__", None)
    return (owner is not None and getattr(target, "__module__", None) == reference.__module__
            and getattr(target, "__qualname__", "").startswith(owner + "."))


def getsource_targets(lesson):
    """(source text, object) of every `getsource(...)` argument in the student edition, each
    evaluated after the notebook's imports."""
    cells = code_cells(student_path(lesson))
    namespace = {}
    for cell in cells:
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue  # IPython magics: no imports of ours there
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                exec(compile(ast.Module([node], []), "<imports>", "exec"), namespace)
    found = []
    for cell in cells:
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and node.args
                    and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) == "getsource"):
                text = ast.unparse(node.args[0])
                try:
                    found.append((text, eval(text, dict(namespace))))
                except Exception as err:
                    pytest.fail(f"{lesson}: cannot tell what `getsource({text})` prints ({err}); "
                                "name the object through the notebook's imports")
    return found


def test_no_answer_on_the_page(lesson):
    refs = lesson_references(lesson)
    shown = [(text, ref.__qualname__) for text, target in getsource_targets(lesson)
             for ref in refs if shows(target, ref)]
    assert not shown, (f"{lesson}: the student edition prints the source of what its exercises ask for: "
                       f"{shown}; describe it in words instead")


def test_the_page_rule_notices_a_printed_answer():
    """The check above on a known case: printing a method of an exercise's class is caught."""
    from lib.micrograd import engine

    assert shows(engine.Value.__mul__, engine.Value) and shows(engine, engine.Value)
    assert not shows(engine.Value.__mul__, engine.Value.__add__)


def tags(cell):
    return cell.metadata.get("tags", [])


def test_predict_then_run(lesson):
    cells = code_cells(solution_path(lesson))
    predicts = [i for i, c in enumerate(cells) if "predict" in tags(c)]
    assert len(predicts) >= 3, f"{lesson}: {len(predicts)} predict cells, at least 3 wanted"
    for i in predicts:
        cell = cells[i]
        assert not nbgrader_meta(cell) and "skip-execution" not in tags(cell), (
            f"{lesson}: a predict cell is plain and runs in the book: {cell.source[:60]!r}")
        assigned = [t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)]
        assert assigned, f"{lesson}: a predict cell assigns the guess to a name: {cell.source[:60]!r}"
        answered = any(re.search(rf"\breveal\(\s*{re.escape(name)}\b", later.source)
                       for name in assigned for later in cells[i + 1:])
        assert answered, f"{lesson}: no later cell calls reveal({assigned[0]}, ...)"


def test_an_exercise_set_closes_the_lesson(lesson):
    text = solution_path(lesson, "md").read_text()
    body = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)  # headings outside code
    headings = re.findall(r"^## (.+)$", body, flags=re.MULTILINE)
    assert headings and headings[-1].strip() == "Exercises", (
        f"{lesson}: the last section is {headings[-1] if headings else None!r}, not 'Exercises'")
    exercises = text[text.rindex("\n## Exercises"):]
    assert "attempt(" in exercises, f"{lesson}: the exercise set has no checker (lib.practice.attempt)"


def test_every_graded_exercise_has_a_mistake_catalogue(lesson):
    module = importlib.import_module(f"test_mistakes_{MISTAKE_TESTS[lesson]}")
    exercises = {nbgrader_meta(c)["grade_id"] for c in code_cells(solution_path(lesson))
                 if nbgrader_meta(c).get("solution")}
    catalogue = getattr(module, "CATALOGUE", [])
    missing = sorted(e for e in exercises if sum(w.exercise == e for w in catalogue) < 5)
    assert not missing, f"{lesson}: exercises with fewer than 5 catalogued mistakes: {missing}"


def test_the_instructor_page_lists_the_catalogues():
    assert mistake_catalogue.PAGE.read_text() == mistake_catalogue.render(), (
        "book/mistakes.md is out of date: run python tools/mistake_catalogue.py")


def test_code_fits_the_column(lesson):
    long = [(n, line) for n, cell in enumerate(jupytext.read(solution_path(lesson, "md")).cells)
            if cell.cell_type == "code" for line in cell.source.splitlines() if len(line) > MAX_COLUMNS]
    assert not long, (f"{lesson}: {len(long)} code lines over {MAX_COLUMNS} characters, e.g. cell {long[0][0]}: "
                      f"{long[0][1]!r}")


# A cell draws when it calls one of these; it labels when it names all three of LABELS.
DRAWS = re.compile(r"\b(plt|ax|axes|axs|ax\d)\.(plot|imshow|hist|bar|barh|scatter|semilogy|loglog|matshow|step)\(")
LABELS = (re.compile(r"xlabel|set_xlabel|xticklabels|set_xticks|xticks"), re.compile(r"ylabel|set_ylabel|yticks"),
          re.compile(r"\btitle\(|set_title|suptitle"))


def unlabelled_plots(source):
    """The drawing calls of a cell that lacks an x label, a y label or a title."""
    if not DRAWS.search(source):
        return []
    return [pattern.pattern for pattern in LABELS if not pattern.search(source)]


def test_every_plot_is_labelled(lesson):
    bad = [(cell.source.splitlines()[0], unlabelled_plots(cell.source))
           for cell in jupytext.read(solution_path(lesson, "md")).cells
           if cell.cell_type == "code" and unlabelled_plots(cell.source)]
    assert not bad, f"{lesson}: plots without axis labels or a title: {bad}"


def test_the_plot_rule_notices_a_missing_label():
    labelled = "plt.plot(xs, ys)\nplt.xlabel('step'); plt.ylabel('loss'); plt.title('loss')"
    assert unlabelled_plots(labelled) == []
    assert unlabelled_plots(labelled.replace("plt.title('loss')", "")) == [LABELS[2].pattern]
