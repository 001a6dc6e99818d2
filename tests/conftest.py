"""Shared paths and notebook helpers for the test suite."""
import fcntl
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
BOOK = ROOT / "book"
LESSONS = sorted(p.name for p in SOLUTIONS.glob("[0-9][0-9]-*") if p.is_dir())
BIN = Path(sys.executable).parent  # the venv's scripts: nbgrader, jupyter-book, jupytext

# The offline copies of the datasets. CI passes DATA_MIRROR; a checkout with shared/data
# beside it (as CI has) uses that without being told, in tests and the notebooks they run.
MIRROR = Path(os.environ.get("DATA_MIRROR") or ROOT.parent / "shared" / "data")
if "DATA_MIRROR" not in os.environ and MIRROR.is_dir():
    os.environ["DATA_MIRROR"] = str(MIRROR)


def dataset_text(name):
    """A dataset's text through lib.data, or a skip that says why it is not available."""
    from lib import data

    try:
        return data.read_text(name)
    except data.DatasetError as err:
        pytest.skip(f"dataset {name} is not available offline: {err}")


def notebook_name(lesson):
    """'01-micrograd' -> 'micrograd'."""
    return lesson.split("-", 1)[1]


def solution_path(lesson, ext="ipynb"):
    return SOLUTIONS / lesson / f"{notebook_name(lesson)}.{ext}"


def student_path(lesson):
    return BOOK / lesson / f"{notebook_name(lesson)}.ipynb"


def tool_env(**extra):
    """The environment for the course's command-line tools: venv first on PATH, fast profile."""
    env = dict(os.environ, COURSE_PROFILE="fast", OMP_NUM_THREADS="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def run_tool(*args, cwd, timeout=900, **env):
    """Run a course tool (nbgrader, jupyter-book, ...) and fail with its output if it fails."""
    result = subprocess.run(args, cwd=cwd, env=tool_env(**env), capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} exited {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def copy_course(dest):
    """A throwaway course directory with the files nbgrader needs (solutions, student edition)."""
    shutil.copy(ROOT / "nbgrader_config.py", dest)
    shutil.copytree(SOLUTIONS, dest / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return dest


RELEASES = Path(tempfile.gettempdir()) / f"scalars-to-gpt-test-releases-{os.getuid()}"


def release_lesson(course, lesson):
    """`nbgrader generate_assignment LESSON --force` in a course from copy_course: the student
    edition in book/LESSON and the lesson in gradebook.db, as `make release` leaves them.

    Many fixtures release the same lesson, and nbgrader takes seconds each time, so a release is
    made once for each content of the lesson's sources and the course's nbgrader settings (the
    key), shared by the test workers under a lock, and copied."""
    if (course / "gradebook.db").exists():  # a second lesson in the same gradebook: nbgrader itself
        return run_tool("nbgrader", "generate_assignment", lesson, "--force", cwd=course)
    digest = hashlib.sha256(importlib.metadata.version("nbgrader").encode())
    for path in [ROOT / "nbgrader_config.py", *sorted((ROOT / "grader").glob("*.py")),
                 *sorted(p for p in (SOLUTIONS / lesson).rglob("*") if p.is_file())]:
        digest.update(path.name.encode() + path.read_bytes())
    made = RELEASES / f"{lesson}-{digest.hexdigest()[:16]}"
    RELEASES.mkdir(exist_ok=True)
    with open(RELEASES / f"{lesson}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not made.exists():
            work = Path(tempfile.mkdtemp(prefix=f"{lesson}-", dir=RELEASES))
            copy_course(work)
            run_tool("nbgrader", "generate_assignment", lesson, "--force", cwd=work)
            work.rename(made)
    shutil.copytree(made / "book" / lesson, course / "book" / lesson)
    shutil.copy(made / "gradebook.db", course / "gradebook.db")


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def errored(cell):
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))


@pytest.fixture(params=LESSONS)
def lesson(request):
    return request.param
