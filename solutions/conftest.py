"""The solution notebooks as tests: nbval runs each one top to bottom (`--nbval-lax`, set in
pyproject.toml), every cell an item that fails when the cell raises, exercise and test cells
included, since they hold the reference answers here.

Each notebook gets its own kernel, started in the notebook's folder in the fast profile with
one BLAS thread (a plain `pytest` would otherwise run the lessons' full training), and its
cells stay together on one xdist worker, in order, because they share that kernel. Not part
of a release: nbgrader copies only the lesson folders.
"""
import os
from pathlib import Path

import pytest

KERNEL_ENVIRONMENT = {"COURSE_PROFILE": "fast", "OMP_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
# The offline datasets beside the checkout, as tests/conftest.py finds them.
MIRROR = Path(__file__).resolve().parents[2] / "shared" / "data"
if "DATA_MIRROR" not in os.environ and MIRROR.is_dir():
    KERNEL_ENVIRONMENT["DATA_MIRROR"] = str(MIRROR)


def _is_notebook_cell(item):
    return item.path.suffix == ".ipynb"


def pytest_itemcollected(item):
    # Marked as each item is collected, before xdist reads the group marks.
    if _is_notebook_cell(item):
        item.add_marker(pytest.mark.xdist_group(f"nbval-{item.path.parent.name}"))
        item.add_marker(pytest.mark.slow)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    """The kernel starts in the setup of a notebook's first cell and copies the environment then."""
    if not _is_notebook_cell(item):
        return (yield)
    saved = {name: os.environ.get(name) for name in KERNEL_ENVIRONMENT}
    os.environ.update(KERNEL_ENVIRONMENT)
    try:
        return (yield)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
