"""The course-local exchange: release, fetch, submit, collect, release and fetch feedback, with
nbgrader's own commands on the real Lesson 1; and grading before release says what to run.

The student side runs in a folder of its own, pointed at the same exchange as a student's
nbgrader_config.py on a shared machine would be.
"""
import subprocess
import sys

import pytest

from conftest import ROOT, copy_course, run_tool, tool_env

LESSON = "01-micrograd"
COURSE_ID = "scalars-to-gpt"


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("exchange"))
    home = tmp_path_factory.mktemp("student")
    student = ("--course", COURSE_ID, f"--Exchange.root={course / 'exchange'}")
    run_tool("nbgrader", "generate_assignment", LESSON, "--force", cwd=course)
    run_tool("nbgrader", "release_assignment", LESSON, cwd=course)
    run_tool("nbgrader", "fetch_assignment", LESSON, *student, cwd=home)
    run_tool("nbgrader", "submit", LESSON, *student, cwd=home)
    run_tool("nbgrader", "collect", LESSON, cwd=course)
    submitted = next((course / "submitted").iterdir()) / LESSON
    # Feedback as generate_feedback leaves it (the page itself is not what is tested here)
    feedback = course / "feedback" / submitted.parent.name / LESSON
    feedback.mkdir(parents=True)
    for name in ("timestamp.txt", "submission_secret.txt"):
        (feedback / name).write_text((submitted / name).read_text())
    (feedback / "micrograd.html").write_text("<p>feedback for you</p>")
    release = run_tool("nbgrader", "release_feedback", LESSON, cwd=course)
    run_tool("nbgrader", "fetch_feedback", LESSON, *student, cwd=home)
    return course, home, submitted, release


def test_the_exchange_lives_in_the_course_directory_and_is_ignored(round_trip):
    course, _, _, _ = round_trip
    assert (course / "exchange" / COURSE_ID / "outbound" / LESSON / "micrograd.ipynb").exists()
    ignored = subprocess.run(["git", "check-ignore", "exchange/x", "downloaded/x"], cwd=ROOT,
                             capture_output=True, text=True)
    assert ignored.stdout.split() == ["exchange/x", "downloaded/x"]


def test_release_and_collect_bring_the_notebook_to_submitted(round_trip):
    _, home, submitted, _ = round_trip
    assert (home / LESSON / "micrograd.ipynb").exists()
    assert (submitted / "micrograd.ipynb").read_bytes() == (home / LESSON / "micrograd.ipynb").read_bytes()


def test_release_feedback_reaches_the_student(round_trip):
    _, home, _, release = round_trip
    assert "Unwritable directory" not in release.stderr
    pages = list((home / LESSON / "feedback").rglob("micrograd.html"))
    assert [p.read_text() for p in pages] == ["<p>feedback for you</p>"]


def test_grading_an_unreleased_lesson_names_the_command(tmp_path):
    course = copy_course(tmp_path)
    folder = course / "submitted" / "ada" / LESSON
    folder.mkdir(parents=True)
    (folder / "micrograd.ipynb").write_text("{}")
    result = subprocess.run([sys.executable, "-m", "grader", "--course", str(course), "autograde", LESSON],
                            cwd=ROOT, env=tool_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert f"autograde: {LESSON} not released yet" in result.stderr and "`make release`" in result.stderr
    assert not (course / "autograded").exists()
