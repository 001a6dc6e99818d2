"""The grading round trip on real files: release, submit, autograde, feedback, export.

In one batch: the reference solution scores full marks, the blank student edition 0, a
wrong answer partial marks, an infinite loop is stopped by the timeout and the student
after it is still graded, and a student's edit to a test cell is undone.
"""
import csv
import html
import re

import pytest

import submissions
from conftest import LESSONS, copy_course, release_lesson, run_tool

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not LESSONS, reason="no lessons")]

# One realistic wrong answer per lesson: (exercise grade_id, text to replace, replacement,
# the test cells that must then fail). The other tests of the lesson still pass.
WRONG = {
    # pow's local derivative without its factor k
    "01-micrograd": ("ex-value-backward", "k * self.data ** (k - 1)", "self.data ** (k - 1)",
                     {"test-pow-backward", "test-value-expressions"}),
    # normalising without keepdim: the lesson's own broadcasting bug
    "02-bigram": ("ex-bigram-probs", "counts.sum(1, keepdim=True)", "counts.sum(1)", {"test-bigram-probs"}),
    # the hidden layer without its tanh
    "03-mlp": ("ex-mlp-forward", "torch.tanh(emb.view(X.shape[0], -1) @ W1 + b1)", "emb.view(X.shape[0], -1) @ W1 + b1",
               {"test-mlp-forward"}),
    # BatchNorm normalising with the unbiased variance (the lecture's class) instead of torch's biased one
    "04-batchnorm": ("ex-batchnorm1d", "x.var(0, keepdim=True, unbiased=False)", "x.var(0, keepdim=True)",
                     {"test-batchnorm-train"}),
    # BatchNorm statistics over dimension 0 only: the lecture's 3-D bug
    "06-wavenet": ("ex-batchnorm-statistics", "dims = tuple(range(x.dim() - 1))", "dims = 0",
                   {"test-batchnorm-statistics"}),
    # attention scores without the 1/sqrt(head_size) scaling
    "07-gpt": ("ex-attention-head", "q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5", "q @ k.transpose(-2, -1)",
               {"test-attention-head"}),
    # BatchNorm's variance step backpropagated without Bessel's correction (1/n for 1/(n-1))
    "05-backprop": ("ex-backward-batchnorm", "1.0 / (n - 1)", "1.0 / n", {"test-backward-batchnorm"}),
    # ties broken by the smallest pair instead of the first occurrence
    "08-tokenizer": ("ex-train", "pair = max(counts, key=counts.get)", "pair = max(sorted(counts), key=counts.get)",
                     {"test-train"}),
}

# The lessons whose WRONG answer is a mistake their test cells diagnose (lib.mistakes): its
# feedback must name it.
DIAGNOSED_WRONG = {"01-micrograd", "02-bigram", "03-mlp", "04-batchnorm", "05-backprop", "06-wavenet", "07-gpt", "08-tokenizer"}

# The runaway cell and the edited test cells exercise nbgrader itself, the same for every
# lesson: they are graded in this lesson's batch only.
PIPELINE_LESSON = LESSONS[0] if LESSONS else None

TIMEOUT = 15  # seconds per cell: short, so the runaway submission is cut quickly


# One graded batch per lesson serves all its tests: keep them on one xdist worker.
@pytest.fixture(scope="module", params=[pytest.param(lesson, marks=pytest.mark.xdist_group(f"grade-{lesson}"))
                                        for lesson in LESSONS])
def graded(request, tmp_path_factory):
    lesson = request.param
    course = copy_course(tmp_path_factory.mktemp(f"course-{lesson}"))
    release_lesson(course, lesson)

    answers = submissions.solutions(lesson)
    first_exercise = next(iter(answers))
    grade_id, old, new, failing = WRONG[lesson]
    assert old in answers[grade_id], f"the wrong-answer fixture for {lesson} no longer matches its solution"
    batch = {
        "b-reference": submissions.answered(lesson),
        "c-blank": submissions.blank(lesson),
        "d-wrong": submissions.answered(lesson, {grade_id: answers[grade_id].replace(old, new)}),
    }
    if lesson == PIPELINE_LESSON:  # what nbgrader does to any notebook: checked once
        batch["a-loop"] = submissions.answered(lesson, {first_exercise: "while True:\n    pass\n" + answers[first_exercise]})
        batch["e-edited-tests"] = submissions.with_tests_replaced(submissions.blank(lesson), "pass")
    for student, nb in batch.items():
        submissions.write(nb, course, student, lesson)
    run_tool("nbgrader", "autograde", lesson, f"--Execute.timeout={TIMEOUT}", cwd=course, timeout=1200)
    run_tool("nbgrader", "generate_feedback", lesson, cwd=course)
    run_tool("nbgrader", "export", "--to", "grades.csv", cwd=course)
    return lesson, course, submissions.scores(course, lesson), failing


def test_reference_solution_scores_full_marks(graded):
    lesson, _, scores, _ = graded
    assert scores["b-reference"] == submissions.points(lesson)


def test_blank_student_edition_scores_zero(graded):
    _, _, scores, _ = graded
    assert sum(scores["c-blank"].values()) == 0


def test_wrong_answer_loses_exactly_its_tests(graded):
    lesson, _, scores, failing = graded
    expected = {k: (0 if k in failing else v) for k, v in submissions.points(lesson).items()}
    assert scores["d-wrong"] == expected
    assert 0 < sum(expected.values()) < sum(submissions.points(lesson).values())


def test_infinite_loop_is_stopped_and_the_batch_goes_on(graded):
    lesson, course, scores, _ = graded
    if lesson != PIPELINE_LESSON:
        pytest.skip(f"checked once, with {PIPELINE_LESSON}")
    executed = (course / "autograded" / "a-loop" / lesson).glob("*.ipynb")
    assert "ran past the time limit" in next(executed).read_text()
    assert scores["b-reference"] == submissions.points(lesson)  # graded after the runaway one


def test_edited_test_cells_are_restored(graded):
    lesson, course, scores, _ = graded
    if lesson != PIPELINE_LESSON:
        pytest.skip(f"checked once, with {PIPELINE_LESSON}")
    assert sum(scores["e-edited-tests"].values()) == 0
    restored = next((course / "autograded" / "e-edited-tests" / lesson).glob("*.ipynb")).read_text()
    assert "check" in restored  # the original test code ran again


def test_feedback_hides_the_hidden_tests(graded):
    lesson, course, scores, _ = graded
    pages = list((course / "feedback").rglob("*.html"))
    assert len(pages) == len(scores)
    hidden = submissions.hidden_tests(lesson)
    assert hidden
    for page in pages:
        text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
        assert "BEGIN HIDDEN TESTS" not in text
        for line in hidden:
            assert line not in text, f"{page.name} shows the hidden test line {line!r}"


def test_feedback_names_the_likely_mistake(graded):
    lesson, course, _, _ = graded
    if lesson not in DIAGNOSED_WRONG:
        pytest.skip(f"the wrong answer of {lesson} is not one of its diagnosed mistakes")
    page = next((course / "feedback" / "d-wrong" / lesson).glob("*.html"))
    text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
    # The failure as the notebook showed it (lib.grading's "✗ quantity ..." with the mistake on
    # the next line), or the error line of a lesson's own assertion.
    assert re.search(r"(?:Error: |✗ )[^\n]*(?:\n[^\n]*)?Likely mistake: [a-z]", text), "the failure message names no mistake"


def test_grades_export_lists_every_student(graded):
    lesson, course, scores, _ = graded
    with open(course / "grades.csv") as f:
        rows = {r["student_id"]: float(r[f"{lesson}/total"]) for r in csv.DictReader(f)}
    assert rows == {s: float(sum(v.values())) for s, v in scores.items()}
