"""The student pack (`make student-pack`): what a student downloads instead of the course.

It holds the student notebooks, lib (with its data fetcher), its own nbgrader settings and a
README with two commands, and nothing of the instructor's: no solutions, hidden tests or
grader. Validation inside it runs the exercise and test cells from any of its folders, so a
blank notebook never passes.
"""
import subprocess
import sys
import zipfile

import nbformat
import pytest

import submissions
from conftest import LESSONS, ROOT, notebook_name, tool_env

pytestmark = pytest.mark.skipif(not LESSONS, reason="no lessons")

sys.path.insert(0, str(ROOT / "tools"))
import student_pack  # noqa: E402


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    out = tmp_path_factory.mktemp("pack")
    folder, archive = student_pack.build(out)
    return folder, archive


def files_of(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_make_student_pack_builds_it():
    make = subprocess.run(["make", "--no-print-directory", "-n", "student-pack", "-W", ".venv/.installed"], cwd=ROOT, capture_output=True, text=True)
    assert "tools/student_pack.py" in make.stdout, make.stdout


def test_pack_holds_the_notebooks_lib_and_settings(pack):
    folder, archive = pack
    files = files_of(folder)
    for lesson in LESSONS:
        assert f"{lesson}/{notebook_name(lesson)}.ipynb" in files
        # nbgrader reads nbgrader_config.py in the folder it runs from: one in every lesson folder.
        assert f"{lesson}/nbgrader_config.py" in files
    for name in ("README.md", "Makefile", "nbgrader_config.py", "validate.py", "pyproject.toml",
                 "constraints.txt", "lib/__init__.py", "lib/grading.py", "lib/data.py", "data/README.md"):
        assert name in files, name
    with zipfile.ZipFile(archive) as z:
        assert sorted(n.split("/", 1)[1] for n in z.namelist() if not n.endswith("/")) == files


def test_pack_holds_nothing_of_the_instructors(pack):
    folder, _ = pack
    files = files_of(folder)
    assert not [f for f in files if f.split("/")[0] in ("solutions", "grader", "tests", "submitted", "autograded")]
    assert not [f for f in files if f.startswith(tuple(LESSONS)) and f.endswith(".md")], "an authored lesson (answers) is in the pack"
    text = "\n".join((folder / f).read_text(errors="replace") for f in files)
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS"):
        assert marker not in text
    for lesson in LESSONS:
        leaked = [line for line in submissions.hidden_tests(lesson) if line in text]
        assert not leaked, f"{lesson}: hidden test lines in the pack: {leaked[:3]}"


def test_readme_gives_two_commands(pack):
    folder, _ = pack
    readme = (folder / "README.md").read_text()
    block = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["make setup", "make lab"]
    make = subprocess.run(["make", "--no-print-directory", "-n", "setup", "lab"], cwd=folder, capture_output=True, text=True)
    assert make.returncode == 0 and "pip install" in make.stdout and "jupyter lab" in make.stdout, make.stdout + make.stderr
    # `make lab` starts in the pack's root, where the lessons and nbgrader_config.py are.
    assert "cd " not in make.stdout and "root_dir" not in make.stdout


def pack_env(folder):
    """The kernel imports the pack's lib, not the course's."""
    return tool_env(PYTHONPATH=str(folder))


@pytest.mark.slow
def test_validate_in_the_pack_fails_blank_and_passes_answered(pack):
    folder, _ = pack
    lesson = LESSONS[0]
    name = notebook_name(lesson)
    nbformat.write(submissions.answered(lesson), folder / lesson / f"{name}-answered.ipynb")
    runs = {
        # nbgrader run from inside the lesson folder, as a student in a terminal would
        "blank": (["nbgrader", "validate", f"{name}.ipynb"], folder / lesson),
        "answered": (["nbgrader", "validate", f"{name}-answered.ipynb"], folder / lesson),
        # the pack's own command, which exits non-zero on failure
        "script-blank": ([sys.executable, "validate.py", f"{lesson}/{name}.ipynb"], folder),
        "script-answered": ([sys.executable, "validate.py", f"{lesson}/{name}-answered.ipynb"], folder),
    }
    procs = {k: subprocess.Popen(cmd, cwd=cwd, env=pack_env(folder), stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True) for k, (cmd, cwd) in runs.items()}
    out = {k: p.communicate(timeout=900)[0] for k, p in procs.items()}
    codes = {k: p.returncode for k, p in procs.items()}
    assert "VALIDATION FAILED" in out["blank"] and "Success!" not in out["blank"], out["blank"][-3000:]
    assert "Not attempted yet" in out["blank"], out["blank"][-3000:]
    assert "Success! Your notebook passes all the tests." in out["answered"], out["answered"][-3000:]
    assert codes["script-blank"] == 1 and "VALIDATION FAILED" in out["script-blank"], out["script-blank"][-3000:]
    assert codes["script-answered"] == 0, out["script-answered"][-3000:]
