"""Tests marked `xdist_group(name)` run on one worker, so the fixture they share runs once.

The book build, the Colab runtime and each lesson's grading batch are module fixtures shared
by a group of tests; were the group split across workers, each worker would repeat the
fixture. The root conftest.py makes the marks work with pytest 9; this runs a small suite
under `pytest -n 2` with that conftest and looks at which worker ran what.
"""
import json
import os
import shutil
import subprocess
import sys

from conftest import ROOT

SUITE = '''
import json, os, pytest

def record(name):
    with open(os.path.join(os.environ["RECORDS"], name), "w") as f:
        json.dump(os.environ.get("PYTEST_XDIST_WORKER"), f)

@pytest.mark.xdist_group("shared")
@pytest.mark.parametrize("i", range(6))
def test_grouped(i):
    record(f"grouped-{i}")

@pytest.mark.parametrize("i", range(6))
def test_free(i):
    record(f"free-{i}")
'''


def test_a_group_runs_on_one_worker(tmp_path):
    suite, records = tmp_path / "suite", tmp_path / "records"
    suite.mkdir()
    records.mkdir()
    shutil.copy(ROOT / "conftest.py", suite / "conftest.py")
    (suite / "test_suite.py").write_text(SUITE)
    env = dict(os.environ, RECORDS=str(records))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
                             "--dist", "loadgroup", "-c", os.devnull, "--rootdir", str(suite), str(suite)],
                            cwd=suite, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    workers = {path.name: json.loads(path.read_text()) for path in records.iterdir()}
    assert len(workers) == 12
    grouped = {w for name, w in workers.items() if name.startswith("grouped")}
    assert len(grouped) == 1, f"the group was split across workers {sorted(grouped)}"
    assert set(workers.values()) == {"gw0", "gw1"}, "the other tests should use both workers"
