"""The Colab journey: a student notebook in a bare Python, set up only by its own first cell.

Every lesson's first code cell installs the course library when it runs in Google Colab
(`"google.colab" in sys.modules`) and does nothing anywhere else. To try that for real, each
student notebook (book/NN-slug/slug.ipynb) runs top to bottom in a brand-new virtualenv (no
system or user site-packages) that holds only what a Colab runtime brings: a Jupyter kernel
with `google.colab` imported at start, and Colab's stock packages that the course uses (torch,
numpy, matplotlib, tqdm, regex, sentencepiece, graphviz). Nothing of the course, and none of
its tools (nbformat, nbgrader, jupytext, pytest), is there. The first cell then runs its own pip
command unchanged. Offline, its `git+https://github.com/scalars-to-gpt/course` address is
redirected by git's `url.<base>.insteadOf` to a git snapshot of this checkout (pyproject.toml,
README.md and lib/ as they are on disk), and pip takes versions from constraints.txt, so torch is
the pinned CPU wheel. The notebook runs in an empty folder (like Colab's /content) in the fast
profile, with the datasets from DATA_MIRROR (Colab downloads them; both ways check their
SHA-256). Only exercise and test cells may fail, and with the answers blank every test that
grades them must fail. This is the test suite's run of the student editions
(tests/test_notebooks.py runs the solutions).

The bare runtime is made once and kept in the temp folder, keyed by the Python version,
pyproject.toml and constraints.txt (the torch wheel makes it slow to build: minutes). Each test
session first strips it back to that state, then the first notebook's set-up cell installs the
course into it and the later notebooks' set-up cells run against that install, as reopening a
notebook in the same Colab runtime would. All these tests share one xdist worker.
"""
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from conftest import LESSONS, MIRROR, ROOT, errored, nbgrader_meta, student_path

# The first test also builds the bare runtime (torch from the index: minutes on a cold machine).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("colab"), pytest.mark.timeout(1800),
              pytest.mark.skipif(not LESSONS, reason="no lessons")]

REPOSITORY = "https://github.com/scalars-to-gpt/course"
# What a Colab runtime has before the first cell runs, as far as the course is concerned.
COLAB_RUNTIME = ["ipykernel", "torch", "numpy", "matplotlib", "tqdm", "regex", "sentencepiece", "graphviz"]
FAKE_COLAB = '"""Stands in for Colab\'s own module: the notebooks only ask whether it is loaded."""\n'
PROBE = "# colab-journey probe\nimport importlib.util\nprint('lib at', getattr(importlib.util.find_spec('lib'), 'origin', None))"


def _key():
    digest = hashlib.sha256(sys.version.encode())
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()[:12]


def _run(*args, **kwargs):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    if result.returncode:
        pytest.fail(f"{' '.join(map(str, args))} exited {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def _make_runtime(venv):
    """A fresh virtualenv (no system or user site-packages) with a kernel and a `google.colab`."""
    base_python = getattr(sys, "_base_executable", sys.executable)
    _run(base_python, "-m", "venv", "--clear", venv)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "-q", "-c", ROOT / "constraints.txt", *COLAB_RUNTIME)
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (site / "google" / "colab").mkdir(parents=True)
    (site / "google" / "colab" / "__init__.py").write_text(FAKE_COLAB)
    startup = venv / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text("import google.colab  # a Colab kernel has it loaded\n")
    kernel = venv / "kernels" / "colab"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(
        '{"argv": ["%s", "-m", "ipykernel_launcher", "-f", "{connection_file}"], '
        '"display_name": "Colab (simulated)", "language": "python"}' % python)


def _installed(python):
    return set(_run(python, "-m", "pip", "freeze", "--exclude-editable").stdout.splitlines())


@pytest.fixture(scope="session")
def colab_runtime():
    """The cached bare runtime, stripped back to what it held when it was made."""
    venv = Path(tempfile.gettempdir()) / f"scalars-to-gpt-colab-{_key()}"
    python = venv / "bin" / "python"
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".ready").exists():
            _make_runtime(venv)
            (venv / ".ready").write_text("\n".join(sorted(_installed(python))))
        pristine = set((venv / ".ready").read_text().splitlines())
        extra = sorted(req.split("==")[0].split(" @ ")[0] for req in _installed(python) - pristine)
        if extra:
            _run(python, "-m", "pip", "uninstall", "-q", "-y", *extra)
    return venv


@pytest.fixture(scope="session")
def installs():
    """Which notebooks of this session found lib missing and installed it with their first cell."""
    return []


@pytest.fixture(scope="session")
def repository_snapshot(tmp_path_factory):
    """A git repository holding the package as it is on disk: what `git+https://...` would clone."""
    repo = tmp_path_factory.mktemp("course-repository")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, repo)
    shutil.copytree(ROOT / "lib", repo / "lib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t", GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    _run("git", "init", "-q", "-b", "main", repo, env=git)
    _run("git", "add", "-A", cwd=repo, env=git)
    _run("git", "commit", "-q", "-m", "snapshot", cwd=repo, env=git)
    return repo


def kernel_environment(venv, repo):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER", "IPYTHON", "PIP_CONSTRAINT"))}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        IPYTHONDIR=str(venv / "ipython"),
        COURSE_PROFILE="fast", OMP_NUM_THREADS="1", PYDEVD_DISABLE_FILE_VALIDATION="1",
        # The first cell's `pip install ... @ git+https://github.com/...`, served from the snapshot
        # (git reads these variables as extra configuration) with the CI versions pinned.
        GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0=f"url.{repo.as_uri()}.insteadOf", GIT_CONFIG_VALUE_0=REPOSITORY,
        PIP_CONSTRAINT=str(ROOT / "constraints.txt"),
    )
    if MIRROR.is_dir():
        env["DATA_MIRROR"] = str(MIRROR)
    return env


def run_in_colab(nb, venv, repo, workdir):
    """Execute the notebook as Colab would, every cell in order; return the executed notebook."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    # Probes, before the set-up cell and at the end: where `lib` comes from.
    nb.cells.insert(0, nbformat.v4.new_code_cell(PROBE))
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    km = KernelManager(kernel_name="colab", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(venv / "kernels")]))
    # nbclient starts the kernel with its own environment: give it the simulated one.
    saved, simulated = dict(os.environ), kernel_environment(venv, repo)
    os.environ.clear()
    os.environ.update(simulated)
    try:
        # Every cell, exercise and test cells included, as Run All does: an error stops the run
        # unless its cell is tagged `raises-exception` (the test cells), in Colab as in JupyterLab.
        NotebookClient(nb, km=km, timeout=900, allow_errors=False,
                       skip_cells_with_tag="never-skip-when-grading",
                       resources={"metadata": {"path": str(workdir)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        if km.has_kernel:  # nbclient leaves a kernel manager it was given running
            km.shutdown_kernel(now=True)
    return nb


def text_of(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


@pytest.mark.parametrize("lesson", LESSONS)
def test_student_notebook_runs_in_a_bare_colab_runtime(lesson, colab_runtime, repository_snapshot, installs, tmp_path):
    nb = run_in_colab(nbformat.read(student_path(lesson), as_version=4), colab_runtime, repository_snapshot, tmp_path)
    before, after = nb.cells[0], nb.cells[-1]
    setup = next(c for c in nb.cells[1:] if c.cell_type == "code")
    assert "google.colab" in setup.source and not errored(setup), f"the set-up cell failed: {setup.outputs}"
    if "lib at None" in text_of(before):
        installs.append(lesson)
    assert installs, f"lib was in the runtime before any set-up cell ran: {text_of(before)}"
    assert str(colab_runtime) in text_of(after), f"lib was not installed into the runtime: {text_of(after)}"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), f"{lesson}: Run All stopped early"
    failed = [c for c in nb.cells if errored(c)]
    outside = [c.source[:80] for c in failed if not nbgrader_meta(c).get("grade")]
    assert not outside, f"{lesson}: cells other than tests failed (they must use lib, not the answers): {outside}"
    for cell in nb.cells:  # a blank answer fails every test that grades it, in one line
        if nbgrader_meta(cell).get("grade"):
            (error,) = [o for o in cell.outputs if o.output_type == "error"]
            assert error.ename == "NotImplementedError" and len(error.traceback) == 1, error.traceback
            assert error.traceback[0].startswith("✗ Not attempted yet: `"), error.traceback


def test_set_up_cell_does_nothing_outside_colab():
    """Outside Colab (JupyterLab, the book, the grader) the first cell must not install anything."""
    cell = next(c for c in nbformat.read(student_path(LESSONS[0]), as_version=4).cells if c.cell_type == "code")
    code = f"import sys, subprocess\nsubprocess.run = None\n{cell.source}\nprint('untouched')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "untouched", result.stderr
