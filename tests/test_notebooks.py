"""The notebooks: one authored source per lesson, its paired twin, and the student edition.

Each lesson is solutions/NN-slug/slug.md (MyST, authored) paired with slug.ipynb (the
nbgrader source); book/NN-slug/slug.ipynb is the generated student edition. The student
edition runs top to bottom in tests/test_colab.py, in a bare Colab-like runtime; the solution
notebooks run top to bottom through nbval (the root conftest.py), which also compares what each
lesson's headline cells print with the output stored in the .ipynb.
"""
import ast
import json
import os
import re
import subprocess
import sys

import jupytext
import nbformat
import pytest

from lib.grading import BLANK_STUB

from conftest import (BOOK, LESSONS, ROOT, copy_course, nbgrader_meta, run_tool,
                      solution_path, student_path, tool_env)

sys.path.insert(0, str(ROOT / "tools"))
from headline_outputs import cells_of  # noqa: E402  (what a pair must agree on)

pytestmark = pytest.mark.skipif(not LESSONS, reason="no lessons in solutions/")


def test_pair_is_in_sync(lesson):
    text = jupytext.read(solution_path(lesson, "md"))
    paired = jupytext.read(solution_path(lesson, "ipynb"))
    assert cells_of(text) == cells_of(paired), (
        f"{lesson}: the .md and the .ipynb differ. Run `make sync` after editing one of them "
        "(it keeps the newer file), then `make student`.")


# nbval (`--nbval-lax`) compares the output of the cells with this tag with the output stored in
# the solution .ipynb, after the sanitisers in SANITIZE; tools/headline_outputs.py stores it.
CHECKED = "nbval-check-output"
SANITIZE = ROOT / "tests" / "nbval-sanitize.cfg"


def test_only_the_headline_cells_carry_outputs(lesson):
    """A lesson's headline cells (tagged CHECKED) store their output and an execution count (nbval
    compares nothing in a cell without one); every other code cell stores neither."""
    nb = nbformat.read(solution_path(lesson), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    checked = [c for c in code if CHECKED in c.metadata.get("tags", [])]
    stale = "run `python tools/headline_outputs.py " + lesson + "`"
    assert len(checked) >= 2, f"{lesson}: {len(checked)} cells tagged {CHECKED}, at least 2 wanted"
    for cell in code:
        first = (cell.source.splitlines() or [""])[0]
        if cell in checked:
            assert cell.outputs and cell.execution_count is not None, f"{lesson}: {first!r} stores no output: {stale}"
            assert not nbgrader_meta(cell) and "predict" not in cell.metadata.get("tags", []), (
                f"{lesson}: {first!r}: exercise, test and predict cells are never {CHECKED}")
        else:
            assert not cell.outputs and cell.execution_count is None, f"{lesson}: {first!r} stores an output: {stale}"


def strict_check(folder, stored):
    """pytest --nbval-lax with the course's sanitisers on a notebook whose one headline cell prints
    an NLL and an address, and stores `stored` as the NLL and another address."""
    cell = nbformat.v4.new_code_cell(
        'print("average NLL of the count model: 2.4540")\nprint(object())', execution_count=1,
        outputs=[nbformat.v4.new_output("stream", name="stdout", text=(
            f"average NLL of the count model: {stored}\n<object object at 0x7f0000000000>\n"))])
    cell.metadata["tags"] = [CHECKED]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nbformat.write(nb, folder / "headline.ipynb")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-o", "addopts=",
         "-c", os.devnull, "--rootdir", str(folder),  # not the course's pytest settings
         "--nbval-lax", "--nbval-current-env", f"--nbval-sanitize-with={SANITIZE}", "headline.ipynb"],
        cwd=folder, env=tool_env(), capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_the_strict_check_bites_through_the_sanitisers(tmp_path):
    """A headline number that moves by one in its last digit fails with a diff, though the
    sanitisers hide the address that differs too; the same number passes."""
    changed = strict_check(tmp_path, "2.4541")
    assert changed.returncode == 1, changed.stdout[-3000:] + changed.stderr[-3000:]
    assert "Cell outputs differ" in changed.stdout
    for number in ("2.4540", "2.4541"):  # the diff: the printed line, then the stored one
        assert re.search(rf"^\s*[-+] average NLL of the count model: {number}$", changed.stdout, re.MULTILINE), (
            changed.stdout[-3000:])
    same = strict_check(tmp_path, "2.4540")
    assert same.returncode == 0, same.stdout[-3000:] + same.stderr[-3000:]


def test_the_student_edition_carries_no_test_tags(lesson):
    cells = nbformat.read(student_path(lesson), as_version=4).cells
    assert not [c.source[:60] for c in cells if CHECKED in c.metadata.get("tags", [])]


def test_exercise_and_test_cells_are_skipped_by_the_book(lesson):
    nb = nbformat.read(solution_path(lesson), as_version=4)
    graded = [c for c in nb.cells if nbgrader_meta(c).get("solution") or nbgrader_meta(c).get("grade")]
    assert graded, f"{lesson} has no graded cells"
    for cell in graded:
        meta = nbgrader_meta(cell)
        assert "skip-execution" in cell.metadata.get("tags", []), f"{meta['grade_id']} lacks the skip-execution tag"
        if meta.get("grade"):
            assert meta.get("points", 0) > 0 and meta.get("locked"), f"{meta['grade_id']}: test cells are locked and score points"


def test_only_visible_test_cells_let_run_all_continue(lesson):
    """JupyterLab's Run All (and nbclient) go on past an error only in a cell tagged
    `raises-exception`: every test cell has it, so a blank exercise does not stop the
    notebook; no other cell has it, so any other error still does."""
    for path in (solution_path(lesson), student_path(lesson)):
        for cell in nbformat.read(path, as_version=4).cells:
            tagged = "raises-exception" in cell.metadata.get("tags", [])
            assert tagged == bool(nbgrader_meta(cell).get("grade")), (
                f"{path.name}: {nbgrader_meta(cell).get('grade_id') or cell.source[:60]!r}")


def test_every_lesson_starts_with_the_same_colab_cell():
    firsts = set()
    for lesson in LESSONS:
        nb = nbformat.read(solution_path(lesson), as_version=4)
        firsts.add(next(c.source for c in nb.cells if c.cell_type == "code"))
    assert len(firsts) == 1
    (cell,) = firsts
    assert '"google.colab" in sys.modules' in cell and "pip" in cell


def test_student_edition_holds_no_answers(lesson):
    text = student_path(lesson).read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    sources = "\n".join(c.source for c in nbformat.read(student_path(lesson), as_version=4).cells)
    assert f'raise NotImplementedError("{BLANK_STUB}' in sources
    assert not list((BOOK / lesson).glob("*.md")), "the authored .md (with answers) was released"


# `nbgrader generate_assignment LESSON --force` (what `make student` runs) for several lessons
# in one process: a process of its own per lesson spends most of its time importing nbgrader
# and checking the gradebook's schema (about 10 s of every 12).
GENERATE_ALL = """
import sys
from nbgrader.apps.generateassignmentapp import GenerateAssignmentApp

for lesson in sys.argv[1:]:
    GenerateAssignmentApp.clear_instance()
    app = GenerateAssignmentApp.instance()
    app.initialize([lesson, "--force"])
    app.start()
"""


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A copy of the course with every lesson's student edition generated afresh."""
    course = copy_course(tmp_path_factory.mktemp("course"))
    run_tool(sys.executable, "-c", GENERATE_ALL, *LESSONS, cwd=course)
    return course


@pytest.mark.xdist_group("release")  # one worker generates every lesson once
def test_student_edition_is_up_to_date(lesson, released):
    course = released
    fresh = sorted(p.relative_to(course / "book") for p in (course / "book" / lesson).rglob("*") if p.is_file())
    committed = sorted(p.relative_to(BOOK) for p in (BOOK / lesson).rglob("*") if p.is_file())
    assert fresh == committed, "the released files differ: run `make student`"
    for rel in fresh:
        assert json.loads((course / "book" / rel).read_text()) == json.loads((BOOK / rel).read_text()), (
            f"book/{rel} is stale: run `make student` and commit book/{lesson}/")



def stub_raises_when_run(source):
    """Line numbers of `raise` statements a cell runs as it is executed: at its top level or in
    a class body (a function's body runs only when called)."""
    found = []

    def visit(body):
        for node in body:
            if isinstance(node, ast.Raise):
                found.append(node.lineno)
            elif isinstance(node, ast.ClassDef):
                visit(node.body)
            elif isinstance(node, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))

    visit(ast.parse(source).body)
    return found


def test_a_blank_exercise_cell_runs_without_error(lesson):
    """JupyterLab's Run All also runs the exercise cells, and stops at the first error outside a
    cell tagged raises-exception: a blank exercise's stub must raise only when its function is
    called (by the test cell below it), never when the cell itself runs."""
    for cell in nbformat.read(student_path(lesson), as_version=4).cells:
        if nbgrader_meta(cell).get("solution"):
            lines = stub_raises_when_run(cell.source)
            assert not lines, (f"{lesson}: {nbgrader_meta(cell)['grade_id']} raises as it runs (line {lines[0]}): "
                               "put the solution region inside a function or method body")


def test_the_run_all_rule_notices_a_stub_in_a_class_body():
    assert stub_raises_when_run("class A:\n    raise NotImplementedError\n") == [2]
    assert stub_raises_when_run("def f():\n    raise NotImplementedError\n") == []
