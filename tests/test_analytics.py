"""Class-wide mistake analytics (grader/analytics.py) through `python -m grader report`.

A gradebook that nbgrader built for the real Lesson 1 (generate_assignment) is filled through
its API, and autograded notebooks are written from the real student notebook with test outputs
as the judge leaves them: failure messages produced by running the lesson's own test cells on
an answer with a mistake typed in, hidden-test failures worded by the judge's own code, passes,
plus the judge's findings. No autograde run: what is checked is everything after grading.
"""
import csv
import html
import json
import re
import sys
import types

import nbformat
import pytest

from conftest import ROOT, copy_course, release_lesson, run_tool, student_path
import submissions
from lesson_cells import LessonCells
from lib.mistakes import micrograd as micrograd_mistakes
from test_mistakes_micrograd import NEURON, NEURON_MISTAKES

# nbgrader's add_submission warns about its own session bookkeeping; the rows are stored.
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

LESSON = "01-micrograd"
POINTS = submissions.points(LESSON)  # every test cell of the lesson and its points


def neuron_mistake(fragment):
    return next(m.description for m in micrograd_mistakes.neuron_grads(**NEURON) if fragment in m.description)


def backward_mistake(fragment):
    mistakes = micrograd_mistakes.value_backward(lambda x: x.exp().tanh() ** 2, [0.3])[0]
    return next(m.description for m in mistakes if fragment in m.description)


CHAIN_RULE = neuron_mistake("chain rule is dropped")
TANH_ITSELF = neuron_mistake("tanh(n) itself")
EXP_OVERWRITES = backward_mistake("exp _backward overwrites")


def failure_messages(monkeypatch):
    """Real messages: the lesson's test cells (hidden part included) run on answers carrying a
    mistake, the hidden ones reworded by the judge's grader.testing.hidden as in autograde."""
    from grader import testing

    run = LessonCells(LESSON, helpers=["torch-reference", "torch-compare-helper"]).run_test_cell
    chain_rule = run("test-neuron-grads", "ex-neuron-grads", NEURON_MISTAKES["chain rule is dropped"])
    tanh_itself = run("test-neuron-grads", "ex-neuron-grads", NEURON_MISTAKES["tanh(n) itself"])
    # Overwriting .grad is harmless in the visible exp(x*y), so only the hidden tests catch it.
    overwrite = run("test-exp-backward", "ex-value-backward", [("self.grad += e * grad", "self.grad = e * grad")])
    unrelated = run("test-pow-backward", "ex-value-backward", [("self.grad += k * self.data ** (k - 1) * grad",
                                                                 "self.grad += k * self.data * grad")])
    assert f"Likely mistake: {CHAIN_RULE}" in chain_rule and f"Likely mistake: {TANH_ITSELF}" in tanh_itself
    assert "Likely mistake" not in unrelated
    monkeypatch.setattr(testing, "get_ipython", lambda: types.SimpleNamespace(user_ns={}))
    testing.start(hidden_feedback="diagnosis")

    def as_hidden(message):
        with pytest.raises(testing.HiddenTestFailed) as failed:
            testing.hidden(f"raise AssertionError({message!r})")
        return str(failed.value)
    return {"chain rule": chain_rule, "tanh itself": tanh_itself,
            "hidden overwrite": as_hidden(overwrite), "hidden undiagnosed": as_hidden(unrelated)}


def error(message, ename="AssertionError", in_traceback_only=False):
    colored = f"\x1b[0;31m{ename}\x1b[0m: {message}"
    return nbformat.v4.new_output("error", ename=ename, evalue="" if in_traceback_only else message,
                                  traceback=["\x1b[0;31m" + "-" * 40 + "\x1b[0m", colored])


def class_of(messages):
    """{student: {test cell: error output or None (passed)}}, and each student's findings."""
    blank = "NotImplementedError: the answer raised it"
    outcomes = {
        "ada": {},
        "bob": {"test-neuron-grads": error(messages["chain rule"]),
                "test-exp-backward": error(messages["hidden overwrite"], "HiddenTestFailed")},
        "cy": {"test-neuron-grads": error(messages["tanh itself"]),
               "test-pow-backward": error(messages["hidden undiagnosed"], "HiddenTestFailed")},
        "dee": {test: error(blank, "AnswerError") for test in POINTS},
        "eve": {"test-neuron-grads": error(messages["chain rule"], in_traceback_only=True),
                "test-exp-backward": error(messages["hidden undiagnosed"], "HiddenTestFailed")},
    }
    findings = {
        "ada": [("edited test cell", "test-neuron-grads")],
        "cy": [("timeout", "ex-value-backward")],
        "dee": [("process died", "ex-neuron-grads"), ("output truncated", "test-exp-backward")],
    }
    return outcomes, findings


@pytest.fixture(scope="module")
def monkeymodule():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def analysed(tmp_path_factory, monkeymodule):
    from nbgrader.api import Gradebook

    from grader.batch import db_url

    course = copy_course(tmp_path_factory.mktemp("analytics"))
    release_lesson(course, LESSON)  # make release
    outcomes, findings = class_of(failure_messages(monkeymodule))
    release = nbformat.read(student_path(LESSON), as_version=4)
    with Gradebook(db_url(course)) as gb:
        for student, failed in outcomes.items():
            notebook = nbformat.from_dict(json.loads(json.dumps(release)))
            for cell in notebook.cells:
                test = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                if test in POINTS:
                    cell.outputs = [failed[test]] if test in failed else [nbformat.v4.new_output("stream", text="ok\n")]
            folder = course / "autograded" / student / LESSON
            folder.mkdir(parents=True)
            nbformat.write(notebook, folder / "micrograd.ipynb")
            gb.update_or_create_student(student)
            for nb in gb.add_submission(LESSON, student).notebooks:
                for grade in nb.grades:
                    grade.auto_score = 0 if grade.cell.name in failed else grade.max_score
            record = {"student": student, "lesson": LESSON, "sandbox": True, "graded": True, "log": "",
                      "findings": [{"kind": kind, "cell": cell, "message": f"{kind} in {cell}", "penalty": ""}
                                   for kind, cell in findings.get(student, [])]}
            (course / "grading" / "findings" / LESSON).mkdir(parents=True, exist_ok=True)
            (course / "grading" / "findings" / LESSON / f"{student}.json").write_text(json.dumps(record))
        # A submission nbgrader recorded without a graded notebook still counts as graded.
        gb.update_or_create_student("fay")
        for nb in gb.add_submission(LESSON, "fay").notebooks:
            for grade in nb.grades:
                grade.auto_score = 0
        gb.db.commit()
    run_tool(sys.executable, "-m", "grader", "--course", str(course), "report", cwd=ROOT)  # make report
    with open(course / "grading" / "analytics.csv") as f:
        rows = {(r["exercise"], r["mistake"]): r for r in csv.DictReader(f)}
    return course, rows, (course / "grading" / "analytics.html").read_text()


def counts(row):
    return {k: int(row[k]) for k in ("students", "in_visible_tests", "in_hidden_tests",
                                     "students_failing_exercise", "students_graded")}


def test_each_diagnosed_mistake_is_counted_once_per_student(analysed):
    _, rows, _ = analysed
    # bob and eve (whose message is only in the traceback) dropped the chain rule; it names
    # several gradients in one message, and still counts once per student.
    assert counts(rows["ex-neuron-grads", CHAIN_RULE]) == dict(
        students=2, in_visible_tests=2, in_hidden_tests=0, students_failing_exercise=4, students_graded=6)
    assert counts(rows["ex-neuron-grads", TANH_ITSELF])["students"] == 1
    assert counts(rows["ex-value-backward", EXP_OVERWRITES]) == dict(
        students=1, in_visible_tests=0, in_hidden_tests=1, students_failing_exercise=4, students_graded=6)


def test_failures_without_a_diagnosis_get_a_row_of_their_own(analysed):
    from grader.analytics import NO_DIAGNOSIS

    _, rows, _ = analysed
    assert counts(rows["ex-neuron-grads", NO_DIAGNOSIS])["students"] == 1  # dee's blank answer
    assert counts(rows["ex-value-backward", NO_DIAGNOSIS])["students"] == 3  # cy, dee, eve
    # dee's blank answer fails the lesson's other exercises too, each a row without a diagnosis
    others = {e for e, _ in rows} - {"ex-neuron-grads", "ex-value-backward"}
    assert others == set(submissions.solutions(LESSON)) - {"ex-neuron-grads", "ex-value-backward"}
    for exercise in others:
        assert counts(rows[exercise, NO_DIAGNOSIS])["students"] == 1
    assert len(rows) == 5 + len(others), sorted(rows)


def text_of(page):
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_hidden_tests_failed_most_and_limits_hit(analysed):
    _, _, page = analysed
    text = " ".join(text_of(page).split())
    hidden = text.split("Hidden tests failed most", 1)[1].split("Submissions that hit a limit", 1)[0]
    # eve's and bob's exp cells failed only in their hidden part, cy's pow cell; bob's and cy's
    # neuron cells failed in the visible part, so they are not hidden failures.
    assert "test cell students test-exp-backward 2 test-pow-backward 1" in hidden
    assert "test-neuron-grads" not in hidden
    limits = text.split("Submissions that hit a limit", 1)[1]
    assert "lesson student limit cell 01-micrograd cy timeout ex-value-backward 01-micrograd dee process died " \
           "ex-neuron-grads 01-micrograd dee output truncated test-exp-backward" in limits
    assert "edited test cell" not in limits and "ada" not in limits


def test_score_distribution(analysed):
    _, _, page = analysed
    text = " ".join(text_of(page).split())
    # part, out of, students, median, zero, full marks: ada everything; bob and eve all but the
    # neuron and exp cells, cy all but the neuron and pow cells (as many points); dee and fay 0
    total = sum(POINTS.values())
    partial = total - POINTS["test-neuron-grads"] - POINTS["test-exp-backward"]
    assert partial == total - POINTS["test-neuron-grads"] - POINTS["test-pow-backward"]
    assert f"lesson total {total:g} 6 {partial:g} 2 1" in text
    assert f"ex-neuron-grads {POINTS['test-neuron-grads']:g} 6 0 5 1" in text


def test_page_has_a_captioned_chart_per_question_and_is_linked(analysed):
    course, _, page = analysed
    figure = r"<figure><img alt='[^']+' src='data:image/png;base64,([A-Za-z0-9+/=]+)'><figcaption>[^<]+</figcaption>"
    charts = re.findall(figure, page)
    assert len(charts) == 4  # mistakes, scores, hidden tests, limits
    assert all(len(c) > 5000 for c in charts)
    assert "href='analytics.html'" in (course / "grading" / "report.html").read_text()
