"""pytest set-up for the whole repository: the tests (tests/) and the solution notebooks.

Only this file and tests/conftest.py may be named conftest.py: the tests import helpers with
`from conftest import ...`, and that name means the conftest module pytest imported last.

Groups of tests on one worker. `--dist loadgroup` keeps the tests marked `xdist_group(name)`
together, so that a costly module fixture (the book build, the Colab runtime, a grading batch)
runs once (pytest stays below 9 for that: see pyproject.toml).

The solution notebooks as tests. nbval runs each solutions/NN-slug/slug.ipynb top to bottom
(`--nbval-lax`, set in pyproject.toml): every cell is an item that fails when the cell raises,
exercise and test cells included, since they hold the reference answers there. Each notebook
gets its own kernel, started in the notebook's folder in the fast profile with one BLAS thread
(a plain `pytest` would otherwise run the lessons' full training), and its cells stay together
on one worker, in order, because they share that kernel.
"""
import os
from pathlib import Path

import pytest

KERNEL_ENVIRONMENT = {"COURSE_PROFILE": "fast", "OMP_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
# The offline datasets beside the checkout, where tests/conftest.py finds them too.
MIRROR = Path(__file__).resolve().parent.parent / "shared" / "data"
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
    """A notebook's kernel starts in the setup of its first cell and copies the environment then."""
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
