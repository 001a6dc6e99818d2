"""The JupyterLab journey: `make lab` gives a student nbgrader's Validate, and it tells the truth.

Validate runs the whole notebook, exercise and test cells included, the way the grader does.
A student notebook answered with the reference solution passes; the blank one fails in its
tests. (It must run from the repository root, where nbgrader_config.py makes it run the
`skip-execution` cells; `make lab` starts JupyterLab there.)
"""
import json
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

import submissions
from conftest import LESSONS, ROOT, notebook_name, tool_env

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not LESSONS, reason="no lessons")]


def test_jupyterlab_has_nbgrader_validate():
    """The server side of the Validate button is enabled and its JupyterLab extension installed."""
    from jupyter_core.paths import jupyter_config_path, jupyter_path
    from jupyter_server.extension.config import ExtensionConfigManager

    enabled = ExtensionConfigManager(read_config_path=jupyter_config_path()).get_jpserver_extensions()
    assert enabled.get("nbgrader.server_extensions.validate_assignment"), enabled
    assert any((Path(p) / "@jupyter" / "nbgrader" / "package.json").is_file() for p in jupyter_path("labextensions"))
    disabled = [json.loads(f.read_text()).get("disabledExtensions", {})
                for p in jupyter_config_path() for f in Path(p).glob("labconfig/page_config.json")]
    off = [name for d in disabled for name, is_off in dict(d).items() if is_off]
    assert not [n for n in off if n == "@jupyter/nbgrader" or n.startswith("@jupyter/nbgrader:validate")], off


def test_make_lab_starts_jupyterlab_at_the_lessons_from_the_course_root():
    # -W: as if the environment were set up, so that -n lists only the lab recipe.
    make = subprocess.run(["make", "--no-print-directory", "-n", "lab", "-W", ".venv/.installed"], cwd=ROOT, capture_output=True, text=True)
    recipe = make.stdout
    assert "jupyter lab" in recipe and "cd " not in recipe, recipe  # Validate reads ./nbgrader_config.py
    assert "--ServerApp.root_dir=book" in recipe, recipe
    # Jupyter refuses to start as root without --allow-root; only root gets it, with a note.
    assert '[ "$(id -u)" = 0 ] && echo --allow-root' in recipe and "Note: running as root" in recipe, recipe


def test_readme_paths_exist():
    text = (ROOT / "README.md").read_text()
    paths = set(re.findall(r"`((?:book|solutions|lib|tests|bench|tools)/[^`\s]*)`", text))
    assert "book/01-micrograd/micrograd.ipynb" in paths
    missing = [p for p in paths if "<" not in p and "*" not in p and not (ROOT / p).exists()]
    assert not missing, f"the README names paths that do not exist: {missing}"
    assert "PROFILE=fast make lab" in text


def test_validate_passes_an_answered_notebook_and_fails_a_blank_one(tmp_path):
    lesson = LESSONS[0]
    runs = {}
    for state, nb in (("answered", submissions.answered(lesson)), ("blank", submissions.blank(lesson))):
        (tmp_path / state).mkdir()
        path = tmp_path / state / f"{notebook_name(lesson)}.ipynb"
        nbformat.write(nb, path)
        # Both at once: each is a whole notebook run.
        runs[state] = subprocess.Popen(["nbgrader", "validate", str(path)], cwd=ROOT, env=tool_env(),
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = {state: run.communicate(timeout=600)[0] for state, run in runs.items()}
    assert "Success! Your notebook passes all the tests." in out["answered"], out["answered"][-3000:]
    assert "VALIDATION FAILED" in out["blank"] and "NotImplementedError" in out["blank"], out["blank"][-3000:]
