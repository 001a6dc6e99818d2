"""grades.csv through nbgrader's own `export` with the course's exporter, the roster import and
the late policy of nbgrader_config.py, on a gradebook that nbgrader built for the real Lesson 1.

Scores are written straight into the gradebook (no autograde run): what is checked here is
everything after grading. The late penalty is assigned by nbgrader's AssignLatePenalties
preprocessor, configured from the course's nbgrader_config.py, as autograde runs it.
"""
import csv
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT, copy_course, release_lesson, run_tool

LESSON = "01-micrograd"
PY = sys.executable

# Runs in the course directory: fills the gradebook as autograde would, then lets nbgrader's
# late-penalty preprocessor, loaded with the course's config, assess the late student.
GRADE = textwrap.dedent('''
    import datetime, nbformat
    from traitlets.config.loader import PyFileConfigLoader
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import AssignLatePenalties

    config = PyFileConfigLoader("nbgrader_config.py", path=".").load_config()
    due = datetime.datetime(2026, 3, 1, 23, 59)
    with Gradebook(config.CourseDirectory.db_url) as gb:
        gb.update_or_create_assignment("{lesson}", duedate=due)
        gb.update_or_create_assignment("02-bigram")
        gb.update_or_create_notebook("bigram", "02-bigram")
        gb.update_or_create_grade_cell("counts", "bigram", "02-bigram", max_score=5, cell_type="code")
        when = {{"ada": due, "bob": due + datetime.timedelta(days=1, hours=12)}}
        for student, timestamp in when.items():
            gb.update_or_create_student(student)
            submission = gb.add_submission("{lesson}", student, timestamp=timestamp)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    grade.auto_score = grade.max_score
        gb.db.commit()
    nb = nbformat.read("book/{lesson}/micrograd.ipynb", as_version=4)
    for student in ("ada", "bob"):
        AssignLatePenalties(config=config).preprocess(nb, {{"nbgrader": {{
            "notebook": "micrograd", "assignment": "{lesson}", "student": student,
            "db_url": config.CourseDirectory.db_url}}}})
''').format(lesson=LESSON)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("grades"))
    release_lesson(course, LESSON)  # make release
    roster = course / "roster.csv"
    roster.write_text("id,first_name,last_name,email\nada,Ada,Lovelace,ada@example.org\n"
                      "grace,Grace,Hopper,grace@example.org\n")
    run_tool("nbgrader", "db", "student", "import", str(roster), cwd=course)  # make roster CSV=roster.csv
    run_tool(PY, "-c", GRADE, cwd=course)
    run_tool("nbgrader", "export", cwd=course)
    exported = (course / "grades.csv").read_text()
    (course / "grades.csv").unlink()
    run_tool(PY, "-m", "grader", "--course", str(course), "grades", cwd=ROOT)  # what make grades ran before
    return course, exported, (course / "grades.csv").read_text()


def rows(text):
    return {r["student_id"]: r for r in csv.DictReader(text.splitlines())}


def test_export_and_the_grader_command_write_the_same_file(graded):
    _, exported, from_grader = graded
    assert exported == from_grader


def test_make_grades_is_nbgrader_export():
    make = subprocess.run(["make", "--no-print-directory", "-n", "grades"], cwd=ROOT, capture_output=True, text=True)
    assert make.stdout.strip().splitlines()[-1] == "nbgrader export", make.stdout


def test_every_roster_student_has_a_row_with_names(graded):
    _, exported, _ = graded
    got = rows(exported)
    assert set(got) == {"ada", "bob", "grace"}  # bob submitted without being in the roster
    assert (got["ada"]["first_name"], got["ada"]["last_name"]) == ("Ada", "Lovelace")
    assert got["grace"][f"{LESSON}/total"] == "0" and got["grace"]["total"] == "0"


def test_a_column_per_graded_cell_and_the_lesson_total(graded):
    course, exported, _ = graded
    header = exported.splitlines()[0].split(",")
    cells = [c for c in header if c.startswith(f"{LESSON}/") and c.rsplit("/", 1)[1] not in ("total", "late_penalty")]
    assert len(cells) >= 2
    ada = rows(exported)["ada"]
    assert float(ada[f"{LESSON}/total"]) == sum(float(ada[c]) for c in cells) == float(ada["max_score"])
    assert rows(exported)["grace"][cells[0]] == ""  # nothing submitted is not a zero score


def test_the_late_penalty_follows_the_course_policy(graded):
    _, exported, _ = graded
    bob, maximum = rows(exported)["bob"], float(rows(exported)["ada"]["max_score"])
    # a day and a half late, two started days at 10% each (nbgrader_config.py)
    assert float(bob[f"{LESSON}/late_penalty"]) == pytest.approx(0.2 * maximum)
    assert float(bob["total"]) == pytest.approx(0.8 * maximum)
    assert float(rows(exported)["ada"][f"{LESSON}/late_penalty"]) == 0  # on the due minute


def test_the_maximum_counts_released_lessons_only(graded):
    course, exported, _ = graded
    assert "02-bigram/total" not in exported.splitlines()[0]
    before = float(rows(exported)["ada"]["max_score"])
    (course / "exchange" / "scalars-to-gpt" / "outbound" / "02-bigram").mkdir(parents=True)
    run_tool("nbgrader", "export", "--to", "after-release.csv", cwd=course)
    after = rows((course / "after-release.csv").read_text())
    assert float(after["ada"]["max_score"]) == before + 5
    assert after["ada"]["02-bigram/total"] == "0"


def test_a_lesson_picked_by_name_is_exported_alone(graded):
    course, _, _ = graded
    run_tool("nbgrader", "export", "--assignment", "['02-bigram']", "--to", "bigram.csv", cwd=course)
    header = (course / "bigram.csv").read_text().splitlines()[0]
    assert header == "student_id,last_name,first_name,email,02-bigram/counts,02-bigram/late_penalty,02-bigram/total,total,max_score"


def test_make_roster_imports_with_nbgrader():
    make = subprocess.run(["make", "--no-print-directory", "-n", "roster", "CSV=class.csv"], cwd=ROOT, capture_output=True, text=True)
    assert make.stdout.strip().splitlines()[-1] == 'nbgrader db student import "class.csv"', make.stdout


def test_only_a_released_lesson_enters_the_gradebook():
    """`make student` regenerates every student edition without recording any lesson in
    gradebook.db; `make release LESSON=...` records that lesson only (the formgrader's maximum
    is the sum over the lessons there)."""
    student = subprocess.run(["make", "--no-print-directory", "-n", "student", "-W", ".venv/.installed"], cwd=ROOT,
                             capture_output=True, text=True).stdout
    assert "generate_assignment $l --force --no-db" in student
    release = subprocess.run(["make", "--no-print-directory", "-n", "release", "LESSON=01-micrograd",
                              "-W", ".venv/.installed"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "for l in 01-micrograd; do" in release and "--no-db" not in release
