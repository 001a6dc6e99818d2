"""What an answer's process may do: a bubblewrap sandbox with resource limits.

`bwrap_command` wraps any command (the process that runs a student's answer, see
grader/testing.py) as

    prlimit --as=MEM --cpu=SECONDS -- bwrap [isolation] -- command

and the process sees

- the whole system read-only, with a private /tmp and /dev/shm (its own temporary folders);
- of the course, only `lib/`, `grader/`, `book/` (the student edition), `data/` and the
  virtualenv, read-only: not `solutions/`, `gradebook.db`, `.git`, `submitted/`, other students'
  folders or the grading report;
- read-write, only the folder it runs in (autograded/<student>/<lesson>/);
- no network at all (its own network namespace), no capabilities, its own user (nobody), PID,
  IPC and UTS namespaces, and rlimits on memory (address space) and CPU time;
- a cap on its processes and threads (a fork bomb stops there), from a pids cgroup of its own
  where the machine lets the grader make one (cgroup v1's pids hierarchy, or v2 with the pids
  controller delegated); elsewhere there is no such cap, which `require` says. An rlimit cannot
  do this when the grader runs as root: outside its user namespace the process is still root's,
  and root is exempt from the process limit.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COURSE = Path(__file__).resolve().parent.parent
# What an answer's process may see of the course, read-only. Everything else in the course folder
# (solutions/, gradebook.db, .git, submitted/, autograded/ of others, grading/) is absent.
VISIBLE = ["lib", "grader", "book", "data", ".venv", "pyproject.toml"]



class SandboxUnavailable(RuntimeError):
    """The sandbox was asked for but cannot run here."""


def enabled():
    """Is the sandbox on? Only an explicit GRADER_SANDBOX=off turns it off."""
    return os.environ.get("GRADER_SANDBOX", "on").lower() not in {"off", "0", "no", "false"}


def require():
    """Raise SandboxUnavailable, saying what to install, unless bwrap and prlimit work here."""
    missing = [tool for tool, package in [("bwrap", "bubblewrap"), ("prlimit", "util-linux")]
               if shutil.which(tool) is None]
    if missing:
        raise SandboxUnavailable(
            f"the grading sandbox needs {' and '.join(missing)} (Debian packages: bubblewrap, util-linux): "
            "install them (`apt-get install bubblewrap`), or grade without isolation with "
            "`make autograde SANDBOX=off` (the report then says so)")
    probe = subprocess.run(bwrap_command(["true"], workdir=tempfile.gettempdir(), rundir=tempfile.gettempdir()),
                           capture_output=True, text=True)
    if probe.returncode != 0:
        raise SandboxUnavailable(f"bwrap is installed but cannot create the sandbox here: {probe.stderr.strip()} "
                                 "(it needs root or unprivileged user namespaces); or use SANDBOX=off")
    if pids_root() is None:
        print("grader: no writable pids cgroup here, so kernels have no process limit (a fork bomb "
              "runs until the cell's time limit); run the grader as root on a machine with cgroups "
              "to get one", file=sys.stderr)


def pids_root():
    """The cgroup folder under which a kernel's own pids cgroup can be made, or None."""
    v1 = Path("/sys/fs/cgroup/pids")
    if (v1 / "cgroup.procs").exists():
        return v1 if os.access(v1, os.W_OK) else None
    v2 = Path("/sys/fs/cgroup")
    try:
        delegated = "pids" in (v2 / "cgroup.subtree_control").read_text().split()
    except OSError:
        return None
    return v2 if delegated and os.access(v2, os.W_OK) else None


def make_pids_cgroup(name):
    """A new pids cgroup capped at max_processes(), or None where none can be made."""
    root = pids_root()
    if root is None:
        return None
    try:
        cgroup = root / name
        cgroup.mkdir()
        (cgroup / "pids.max").write_text(str(max_processes()))
        return cgroup
    except OSError:
        return None


def in_cgroup(cgroup, command):
    """`command` started inside `cgroup`: it joins before it runs, so all it starts is counted."""
    return ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(Path(cgroup) / "cgroup.procs"), *command]


def remove_pids_cgroup(cgroup):
    """Kill what is left in the cgroup (a fork bomb's children), then remove it."""
    for _ in range(50):
        try:
            pids = [int(p) for p in (cgroup / "cgroup.procs").read_text().split()]
        except OSError:
            return
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    try:
        cgroup.rmdir()
    except OSError:
        pass


def max_processes():
    """Processes and threads one kernel may have; GRADER_MAX_PROCESSES overrides."""
    return int(os.environ.get("GRADER_MAX_PROCESSES", "512"))


def limits():
    """(memory bytes, CPU seconds) for one kernel; GRADER_MEMORY_MB / GRADER_CPU_SECONDS override."""
    return (int(os.environ.get("GRADER_MEMORY_MB", "4096")) * 2**20,
            int(os.environ.get("GRADER_CPU_SECONDS", "900")))


def _hidden_courses():
    """Course folders to hide: this repository, and the course nbgrader runs in (its cwd)."""
    courses = [COURSE]
    here = Path.cwd()
    if (here / "nbgrader_config.py").exists() and here != COURSE:
        courses.append(here)
    return courses


def bwrap_command(command, *, workdir, rundir, courses=None):
    """`command` wrapped in prlimit + bwrap: see the module docstring for what it isolates."""
    memory, cpu = limits()
    courses = [Path(c) for c in (courses or _hidden_courses())]
    args = ["prlimit", f"--as={memory}", f"--cpu={cpu}", "--core=0", "--",
            "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--tmpfs", "/tmp", "--tmpfs", "/dev/shm"]
    # Each course folder is replaced by a read-only skeleton (empty folders named like the
    # visible ones), and only the visible folders are bound into it. (A tmpfs remounted
    # read-only fails when the course lies under the sandbox's own /tmp.)
    skeleton = Path(rundir) / "course-skeleton"
    skeleton.mkdir(exist_ok=True)
    for name in VISIBLE:
        if name.endswith(".toml"):
            (skeleton / name).touch()
        else:
            (skeleton / name).mkdir(exist_ok=True)
    for course in courses:
        if Path(workdir).is_relative_to(course):  # the kernel's own folder needs its mount point
            (skeleton / Path(workdir).relative_to(course)).mkdir(parents=True, exist_ok=True)
        args += ["--ro-bind", str(skeleton), str(course)]
        for name in VISIBLE:
            if (course / name).exists():
                args += ["--ro-bind", str(course / name), str(course / name)]
    args += ["--bind", str(workdir), str(workdir), "--bind", str(rundir), str(rundir), "--dir", "/tmp/.matplotlib"]
    # matplotlib rebuilds its font list (seconds of CPU) in an empty config folder: lend it
    # the grader's, read-only, inside the kernel's own writable one.
    host_cache = Path(os.environ.get("MPLCONFIGDIR") or Path.home() / ".cache" / "matplotlib")
    for fontlist in sorted(host_cache.glob("fontlist-*.json")):
        args += ["--ro-bind", str(fontlist), f"/tmp/.matplotlib/{fontlist.name}"]
    args += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
             "--unshare-user", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL",
             "--die-with-parent", "--chdir", str(workdir),
             "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp",
             "--setenv", "IPYTHONDIR", "/tmp/.ipython", "--setenv", "MPLCONFIGDIR", "/tmp/.matplotlib",
             "--setenv", "JUPYTER_RUNTIME_DIR", str(rundir), "--setenv", "GRADER_SANDBOXED", "1",
             # ipykernel exits when its parent looks gone (ppid 1), as it is in a PID namespace
             "--unsetenv", "JPY_PARENT_PID",
             "--"]
    return args + list(command)
