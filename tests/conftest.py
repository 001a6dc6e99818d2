"""Shared paths and notebook helpers for the test suite."""
import os
import shutil
import subprocess
import sys
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


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def errored(cell):
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))


@pytest.fixture(params=LESSONS)
def lesson(request):
    return request.param
