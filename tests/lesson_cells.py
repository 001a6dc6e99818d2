"""A lesson's solution notebook as the tests/test_mistakes_*.py files use it: run one of its test
cells on the reference answer with a mistake typed into it, and check the mistake it names.

`LessonCells(lesson, helpers)` reads the notebook once: `cells` (grade_id -> source), `imports`
(the cell that imports lib.grading) and `answers` (grade_id -> what a student would type).
"""
import contextlib
import io
import re
from dataclasses import dataclass

import nbformat

import submissions
from conftest import nbgrader_meta, solution_path


class LessonCells:
    def __init__(self, lesson, helpers=()):
        """`helpers`: the grade_ids of the locked cells that run before every answer, in order."""
        notebook = nbformat.read(solution_path(lesson), as_version=4)
        self.cells = {nbgrader_meta(c)["grade_id"]: c.source
                      for c in notebook.cells if nbgrader_meta(c).get("grade_id")}
        self.imports = next(c.source for c in notebook.cells
                            if c.cell_type == "code" and "from lib.grading import" in c.source)
        self.answers = submissions.solutions(lesson)
        self.helpers = list(helpers)

    def run_test_cell(self, test_id, answer_id, edits=(), context=None, hidden=True):
        """Run the imports, `context`, the helper cells, the answer with `edits` (old, new) applied
        and then the test cell, in one namespace as the notebook does, with stdout silenced; the
        failure message, or None. `context` is what the lesson's earlier cells define: a dict of
        names, or a function that adds them to the namespace.

        `hidden=False` runs the test cell as the student edition holds it, without its hidden
        tests; an exception the student's code raises is then a failure too, reported as
        "TypeName: message" (what the student would see)."""
        answer = self.answers[answer_id]
        for old, new in edits:
            assert old in answer, f"the mistake no longer fits the solution: {old!r}"
            answer = answer.replace(old, new)
        namespace = {}
        with contextlib.redirect_stdout(io.StringIO()):
            exec(self.imports, namespace)
            if callable(context):
                context(namespace)
            elif context is not None:
                namespace.update(context)
            for helper in self.helpers:
                exec(self.cells[helper], namespace)
            exec(answer, namespace)
            test = self.cells[test_id] if hidden else _HIDDEN.sub("", self.cells[test_id])
            try:
                exec(test, namespace)
            except AssertionError as err:
                return str(err)
            except Exception as err:
                if hidden:
                    raise
                return f"{type(err).__name__}: {err}"
        return None


_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Wrong:
    """One entry of an exercise's mistake catalogue: a wrong answer that a *visible* test cell
    must fail with a message that names the mistake.

    `edits` are (old, new) replacements applied to the reference answer of `exercise`; `names`
    is text the failure message must contain; `kind` is "classic" (a mistake from the lecture or
    that students make when they understand the idea only halfway) or "sloppy" (hard-coding,
    aliasing, mutating the input, a forgotten edge case); `what` says the mistake in the
    instructor's words (the instructor guide's catalogue page lists it)."""

    exercise: str
    test: str
    edits: tuple
    names: str
    kind: str
    what: str


def fails_visibly(cells, wrong, context=None):
    """Run `wrong` through its visible test cell: it must fail, and the message name it."""
    message = cells.run_test_cell(wrong.test, wrong.exercise, wrong.edits, context, hidden=False)
    assert message is not None, f"the visible tests of {wrong.exercise} pass this mistake: {wrong.what}"
    assert wrong.names in message, f"{wrong.what}: the message does not say {wrong.names!r}:\n{message}"
    return message


def catalogue_is_complete(catalogue, exercises):
    """At least 5 entries per exercise, at least 2 of them sloppy; kinds are the two named."""
    assert {w.kind for w in catalogue} <= {"classic", "sloppy"}
    for exercise in exercises:
        entries = [w for w in catalogue if w.exercise == exercise]
        assert len(entries) >= 5, f"{exercise}: {len(entries)} catalogue entries, at least 5 wanted"
        assert sum(w.kind == "sloppy" for w in entries) >= 2, f"{exercise}: fewer than 2 sloppy entries"


def descriptions(mistakes):
    """The descriptions of a table of mistakes (lib.grading.Mistake objects, or descriptions)."""
    return [getattr(m, "description", m) for m in mistakes]


def description(fragment, mistakes):
    """The one description in `mistakes` that contains `fragment` (several mistakes, one mistake
    reached different ways, may share it)."""
    matching = set(d for d in descriptions(mistakes) if fragment in d)
    assert len(matching) == 1, f"{fragment!r} should pick out exactly one mistake, not {sorted(matching)}"
    return matching.pop()


def assert_diagnosed(message, fragment, mistakes):
    """The failure `message` names the mistake `fragment` (its description, or words that pick
    it out of `mistakes`) and no other mistake of the table."""
    all_descriptions = descriptions(mistakes)
    named = fragment if fragment in all_descriptions else description(fragment, all_descriptions)
    assert message is not None, "the test cell passed an answer carrying the mistake"
    assert f"Likely mistake: {named}" in message
    others = [d for d in all_descriptions if d != named and d in message]
    assert not others, f"another mistake was named too: {others}"


def all_covered(fragments, mistakes):
    """Every mistake of the table (at least 3) is picked out by one of the fragments or more."""
    assert len(mistakes) >= 3
    assert {description(f, mistakes) for f in fragments} == set(descriptions(mistakes))
