"""Grading integrity by behaviour: the red-team batch (tests/red_team.py) graded as a class would be.

Per lesson, one batch through `grader.batch.grade` (what `make autograde` runs): the reference
solution, submissions that each carry a few tricks in some exercises and a correct answer in
the exercise after each, and honest answers that do unusual things. Every trick scores
zero on its own exercise and changes nothing else; every honest answer keeps full marks.
(That the scores do not depend on the number of workers is checked on a smaller class, in
tests/test_instructor_journey.py and tests/test_cluster.py.)
"""
import shutil
import sys

import pytest

import red_team
import submissions
from conftest import ROOT, copy_course, release_lesson

sys.path.insert(0, str(ROOT))  # the grader package lives at the repository's root

LESSONS = ["01-micrograd", "05-backprop", "07-gpt", "08-tokenizer"]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800), pytest.mark.skipif(shutil.which("bwrap") is None, reason="the sandbox needs bubblewrap")]


def exercises_and_tests(lesson):
    """{exercise: [its test cells]} in the lesson's order."""
    import nbformat
    from conftest import nbgrader_meta, solution_path

    out, current = {}, None
    for cell in nbformat.read(solution_path(lesson), as_version=4).cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            current = meta["grade_id"]
            out[current] = []
        elif meta.get("grade") and current:
            out[current].append(meta["grade_id"])
    return out


@pytest.fixture(scope="module", params=[pytest.param(lesson, marks=pytest.mark.xdist_group(f"red-{lesson}"))
                                        for lesson in LESSONS])
def batch(request, tmp_path_factory):
    from grader import batch as grader_batch

    lesson = request.param
    course = copy_course(tmp_path_factory.mktemp(f"red-{lesson}"))
    release_lesson(course, lesson)
    answers = submissions.solutions(lesson)
    planned = red_team.submissions_for(lesson, answers)
    for student, (overrides, _) in planned.items():
        submissions.write(submissions.answered(lesson, overrides, only=answered_exercises(lesson, overrides)),
                          course, student, lesson)
    submissions.write(submissions.answered(lesson), course, "b-reference", lesson)
    findings = grader_batch.grade(course, lesson, workers=2, progress=False)
    return lesson, planned, submissions.scores(course, lesson), findings


def answered_exercises(lesson, overrides):
    """The exercises a red-team submission answers: those its tricks or unusual answers are in,
    and the exercise after each, answered correctly, so that a trick that reached past its own
    exercise shows there. The others stay blank (a blank exercise starts no process)."""
    order = list(exercises_and_tests(lesson))
    return set(overrides) | {order[(order.index(ex) + 1) % len(order)] for ex in overrides}


def test_every_trick_scores_zero_on_its_exercise_and_nothing_else_changes(batch):
    lesson, planned, scores, _ = batch
    points, tests = submissions.points(lesson), exercises_and_tests(lesson)
    assert scores["b-reference"] == points
    wrong = {}
    for student, (overrides, verdict) in planned.items():
        answered = answered_exercises(lesson, overrides)
        expected = {cell: (0 if not any(cell in tests[ex] for ex in answered) else value)
                    for cell, value in points.items()}
        for exercise, outcome in verdict.items():
            if outcome.startswith("zero"):
                expected.update({cell: 0 for cell in tests[exercise]})
        if scores[student] != expected:
            wrong[student] = {c: (scores[student][c], expected[c]) for c in points if scores[student][c] != expected[c]}
    assert not wrong


def test_a_borrowed_reference_is_named_in_the_findings(batch):
    lesson, planned, _, findings = batch
    unexplained = []
    for student, (_, verdict) in planned.items():
        for exercise, outcome in verdict.items():
            if outcome.startswith("zero:borrow"):
                kinds = {f.kind for f in findings[student] if f.cell == exercise}
                if not kinds & {"reference used", "refused"}:
                    unexplained.append((student, outcome))
    assert not unexplained
