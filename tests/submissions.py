"""Build student submissions from the real notebooks: answered, blank, wrong, tampered.

A submission starts from the student edition (book/) exactly as a student downloads it;
"answering" pastes the reference solution (solutions/, markers removed) into each
exercise cell, as a student who solved it would.
"""
import copy
import re

import nbformat

from conftest import nbgrader_meta, solution_path, student_path

_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)
_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.MULTILINE | re.DOTALL)


def solutions(lesson):
    """grade_id -> the answer a student would type (the solution without markers)."""
    nb = nbformat.read(solution_path(lesson), as_version=4)
    return {nbgrader_meta(c)["grade_id"]: _MARKER.sub("", c.source)
            for c in nb.cells if nbgrader_meta(c).get("solution")}


def points(lesson):
    """grade_id -> points of each test cell."""
    nb = nbformat.read(solution_path(lesson), as_version=4)
    return {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"]
            for c in nb.cells if nbgrader_meta(c).get("grade")}


def hidden_tests(lesson):
    """Every distinctive line of the hidden tests (the ones a student must never see)."""
    nb = nbformat.read(solution_path(lesson), as_version=4)
    blocks = [b for c in nb.cells if nbgrader_meta(c).get("grade") for b in _HIDDEN.findall(c.source)]
    return {line.strip() for b in blocks for line in b.splitlines()[1:-1] if len(line.strip()) > 20}


def blank(lesson):
    return nbformat.read(student_path(lesson), as_version=4)


def answered(lesson, overrides=None, only=None):
    """The student edition with every exercise answered (or those in `only`, the others left
    blank); `overrides` maps grade_id -> source."""
    nb = blank(lesson)
    answers = {k: v for k, v in {**solutions(lesson), **(overrides or {})}.items() if only is None or k in only}
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def with_tests_replaced(nb, source="pass"):
    """A copy whose test cells were edited by the student (e.g. to always pass)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade"):
            cell.source = source
    return nb


def scores(course, lesson):
    """student -> {grade cell: score} of `lesson`, from the course's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student.id: {g.cell.name: g.score for nb in s.notebooks for g in nb.grades}
                for s in gb.assignment_submissions(lesson)}


def write(nb, course, student, lesson):
    folder = course / "submitted" / student / lesson
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{lesson.split('-', 1)[1]}.ipynb")
