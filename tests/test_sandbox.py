"""The grading sandbox: what the process that runs a student's answer can and cannot do (grader/sandbox.py)."""
import os
import shutil
import socket
import sys
import time

import subprocess

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))  # the grader package lives at the repository's root
from grader import sandbox  # noqa: E402

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="the sandbox needs bubblewrap")


def run(sources, workdir, timeout=60):
    """Run each piece of code in its own sandboxed Python, as the grader runs an answer's process;
    return what each printed (stdout and stderr)."""
    import tempfile
    out = []
    for source in sources:
        rundir = tempfile.mkdtemp(prefix="sandbox-test-")
        command = sandbox.bwrap_command([sys.executable, "-c", source], workdir=workdir, rundir=rundir)
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=workdir,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
        out.append(done.stdout + done.stderr)
        shutil.rmtree(rundir, ignore_errors=True)
    return out


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("student")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        out = run([
            "import os\nprint(sorted(os.listdir(%r)))" % str(ROOT),
            "import os\nfor p in [%r, %r]:\n    print(os.path.exists(p))" % (str(ROOT / "solutions"), str(ROOT / "gradebook.db")),
            "try:\n    open(%r, 'w')\nexcept OSError as e:\n    print(type(e).__name__, e.errno)" % str(ROOT / "lib" / "x.py"),
            "import socket\ntry:\n    socket.create_connection(('127.0.0.1', %d), timeout=2); print('connected')\n"
            "except OSError as e:\n    print('no network', e.errno)" % port,
            "open('answer.txt', 'w').write('ok'); open('/tmp/scratch', 'w').write('ok'); print('writable')",
            "try:\n    hog = bytearray(16 * 2**30)\nexcept MemoryError:\n    print('MemoryError')",
            "import lib.grading, grader.answer_process; print('lib importable')",
        ], workdir)
    finally:
        listener.close()
    return workdir, out


@needs_bwrap
def test_the_course_shows_only_the_library_and_the_student_edition(probe):
    _, out = probe
    assert "solutions" not in out[0] and "gradebook.db" not in out[0] and ".git" not in out[0]
    assert "lib" in out[0] and "book" in out[0]
    assert out[1].split() == ["False", "False"]
    assert out[6].strip() == "lib importable"


@needs_bwrap
def test_the_course_is_read_only_and_the_network_is_gone(probe):
    workdir, out = probe
    assert out[2].startswith("OSError 30")  # EROFS
    assert out[3].startswith("no network") and "connected" not in out[3]
    assert out[4].strip() == "writable" and (workdir / "answer.txt").read_text() == "ok"


@needs_bwrap
def test_memory_is_limited(probe):
    assert probe[1][5].strip() == "MemoryError"


@needs_bwrap
@pytest.mark.skipif(sandbox.pids_root() is None, reason="no writable pids cgroup on this machine")
def test_processes_are_capped_so_a_fork_bomb_stops(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_MAX_PROCESSES", "64")
    spawn = ("import subprocess\nchildren = []\ntry:\n    for _ in range(200):\n"
             "        children.append(subprocess.Popen(['sleep', '30']))\n"
             "except OSError as e:\n    print('refused', e.errno)\nprint(len(children))")
    cgroup = sandbox.make_pids_cgroup(f"grader-bomb-{os.getpid()}")
    try:
        command = sandbox.in_cgroup(cgroup, sandbox.bwrap_command([sys.executable, "-c", spawn], workdir=tmp_path,
                                                                  rundir=tmp_path))
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        sandbox.remove_pids_cgroup(cgroup)
    refused, count = done.stdout.split("\n")[:2]
    assert refused == "refused 11" and 0 < int(count) < 64  # EAGAIN: the cgroup is full


@pytest.mark.skipif(sandbox.pids_root() is None, reason="no writable pids cgroup on this machine")
def test_a_cgroup_goes_with_everything_left_in_it():
    cgroup = sandbox.make_pids_cgroup(f"grader-test-{os.getpid()}")
    left = subprocess.Popen(sandbox.in_cgroup(cgroup, ["sleep", "60"]))
    for _ in range(100):  # until the child has joined
        if str(left.pid) in (cgroup / "cgroup.procs").read_text().split():
            break
        time.sleep(0.05)
    assert (cgroup / "pids.max").read_text().strip() == str(sandbox.max_processes())
    sandbox.remove_pids_cgroup(cgroup)
    assert left.wait(timeout=10) == -9 and not cgroup.exists()


def test_a_missing_sandbox_is_named_with_the_way_out(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    with pytest.raises(sandbox.SandboxUnavailable, match=r"bubblewrap.*SANDBOX=off"):
        sandbox.require()


def test_only_an_explicit_flag_turns_the_sandbox_off(monkeypatch):
    monkeypatch.delenv("GRADER_SANDBOX", raising=False)
    assert sandbox.enabled()
    monkeypatch.setenv("GRADER_SANDBOX", "off")
    assert not sandbox.enabled()
