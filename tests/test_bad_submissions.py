"""A class's bad submissions, graded in one sandboxed batch (tests/bad_submissions.py lists them).

For every kind: the batch finishes, the other students' scores are untouched, each test cell
gets the score the answer deserves, the report records what happened, and the feedback says
why in one sentence.
"""
import csv
import html
import re
import shutil
import socket
import sys

import nbformat
import pytest

import bad_submissions as bad
import submissions
from conftest import ROOT, copy_course, release_lesson, nbgrader_meta, run_tool

sys.path.insert(0, str(ROOT))  # the grader package lives at the repository's root

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800), pytest.mark.xdist_group("bad-submissions"),
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="the sandbox needs bubblewrap")]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    from grader import batch as grader_batch, report

    course = copy_course(tmp_path_factory.mktemp("bad-course"))
    release_lesson(course, bad.LESSON)
    blank, answered = submissions.blank(bad.LESSON), submissions.answered(bad.LESSON)
    partly = submissions.answered(bad.LESSON, only=bad.ANSWERED)
    answers = submissions.solutions(bad.LESSON)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    cases = bad.build(answered, partly, blank, answers[bad.NEURON], course, listener.getsockname()[1])
    for student, (nb, _, _) in cases.items():
        bad.write(nb, course, student)
    try:
        results = grader_batch.grade(course, bad.LESSON, workers=2, timeout=15, progress=False)
    finally:
        listener.close()
    run_tool("nbgrader", "generate_feedback", bad.LESSON, "--force", cwd=course)
    report.write_report(course)
    return course, cases, results, submissions.scores(course, bad.LESSON)


def expected_scores(zeroed):
    return {cell: (0 if cell in zeroed else points) for cell, points in submissions.points(bad.LESSON).items()}


def test_every_submission_is_graded_and_the_batch_finishes(batch):
    course, cases, results, scores = batch
    assert set(scores) == set(cases)
    failed = [s for s, found in results.items() if any(f.kind == "grading failed" for f in found)]
    assert not failed




def test_each_cell_gets_the_score_it_deserves(batch):
    course, cases, results, scores = batch
    wrong = {}
    for student, (_, zeroed, _) in cases.items():
        got = {cell: scores[student].get(cell) for cell in submissions.points(bad.LESSON)}
        if got != expected_scores(zeroed):
            wrong[student] = got
    assert not wrong


def test_the_report_records_what_happened(batch):
    course, cases, results, scores = batch
    missing = {s: kinds - {f.kind for f in results[s]} for s, (_, _, kinds) in cases.items()}
    assert not {s: k for s, k in missing.items() if k}
    assert not [f for f in results["good"]], "a correct, untouched submission has nothing to report"
    with open(course / "grading" / "report.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["student_id"] for r in rows} == set(cases)
    assert all(r["sandbox"] == "on" for r in rows)
    assert (course / "grading" / "report.html").exists()


def feedback_text(course, student):
    page = next((course / "feedback" / student / bad.LESSON).glob("*.html")).read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_feedback_says_why_in_one_sentence(batch):
    course, cases, results, scores = batch
    assert "Your answer called torch.Tensor.backward, the reference this exercise is compared with" in \
        feedback_text(course, "k07-calls-reference")
    assert "name 'torch_neuron_grads' is not defined" in feedback_text(course, "k07-calls-helper")
    assert "ran past the time limit" in feedback_text(course, "k01-infinite-loop")
    assert "process ended" in feedback_text(course, "k04-os-exit")


def test_the_sandbox_refused_reading_writing_and_the_network(batch):
    course, cases, results, scores = batch
    executed = nbformat.read(course / "autograded" / "k10-snoop" / bad.LESSON / "micrograd.ipynb", as_version=4)
    cell = next(c for c in executed.cells if nbgrader_meta(c).get("grade_id") == bad.NEURON)
    printed = "".join(o.get("text", "") for o in cell.outputs).split("\n")  # the answer's own output
    # four reads (solutions and gradebook, of the graded course and of the repository), one
    # write into the course, one connection to the grader's 127.0.0.1: all refused
    assert sum(line.startswith("refused") for line in printed) == 6, printed
    assert not (course / "escaped.txt").exists()


def test_a_flood_of_output_is_cut(batch):
    course, cases, results, scores = batch
    for student in ["k11-flood", "k11-display-flood"]:  # printed text, and display data (20 MB of HTML)
        executed = (course / "autograded" / student / bad.LESSON / "micrograd.ipynb").stat().st_size
        assert executed < 2_000_000, student
