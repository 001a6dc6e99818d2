"""The instructor's round trip on the real Lesson 1 files, one command per step, as
book/instructor-guide.md describes it: release -> intake -> autograde -> feedback -> grades
(+ report). Grading the same batch again, serially this time, gives the same grades.
"""
import csv
import html
import re
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

import submissions
from conftest import ROOT, copy_course, release_lesson, tool_env

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("instructor-journey"),
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="the sandbox needs bubblewrap")]

LESSON = "01-micrograd"


def grader(*args, course):
    """`python -m grader --course <course> ...`, as the Makefile's instructor targets run it."""
    result = subprocess.run([sys.executable, "-m", "grader", "--course", str(course), *args], cwd=ROOT,
                            env=tool_env(), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def journey(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("journey"))
    release_lesson(course, LESSON)  # make release
    release = nbformat.read(course / "book" / LESSON / "micrograd.ipynb", as_version=4)
    answers = submissions.solutions(LESSON)
    good = nbformat.from_dict(nbformat.reads(nbformat.writes(release), as_version=4))
    for cell in good.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = answers[meta["grade_id"]]
    zip_path = course / "lms-download.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:  # as an LMS names the files
        archive.writestr("ada_1001_2001_micrograd.ipynb", nbformat.writes(good))
        archive.writestr("grace_1002_2002_micrograd.ipynb", nbformat.writes(release))
    steps = {"intake": grader("intake", str(zip_path), LESSON, course=course),
             "autograde": grader("autograde", LESSON, "--workers", "2", course=course),
             "feedback": grader("feedback", LESSON, course=course),
             "grades": grader("grades", course=course),
             "report": grader("report", course=course)}
    first = (course / "grades.csv").read_text()
    grader("autograde", LESSON, "--workers", "1", course=course)
    grader("grades", course=course)
    return course, steps, first, (course / "grades.csv").read_text()


def test_intake_places_the_lms_files(journey):
    course, steps, _, _ = journey
    assert "Placed 2 submission(s)" in steps["intake"]
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["ada", "grace"]


def test_grades_have_a_column_per_graded_cell_and_the_total(journey):
    course, _, first, _ = journey
    rows = {r["student_id"]: r for r in csv.DictReader(first.splitlines())}
    points = submissions.points(LESSON)
    assert set(rows) == {"ada", "grace"}
    for cell, value in points.items():
        assert float(rows["ada"][f"{LESSON}/{cell}"]) == value
        assert float(rows["grace"][f"{LESSON}/{cell}"]) == 0
    assert float(rows["ada"]["total"]) == sum(points.values())


def test_feedback_shows_visible_test_messages_but_no_hidden_tests(journey):
    course, _, _, _ = journey
    page = next((course / "feedback" / "grace" / LESSON).glob("*.html")).read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "NotImplementedError" in text
    for line in submissions.hidden_tests(LESSON):
        assert line not in text


def test_the_report_sits_beside_the_grades(journey):
    course, steps, _, _ = journey
    assert (course / "grading" / "report.html").exists()
    with open(course / "grading" / "report.csv") as f:
        assert {r["student_id"] for r in csv.DictReader(f)} == {"ada", "grace"}
    assert "Report:" in steps["autograde"]


def test_grading_again_serially_gives_identical_grades(journey):
    _, _, first, second = journey
    assert first == second
