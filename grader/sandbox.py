"""Run each student's kernel inside a bubblewrap sandbox, and keep a batch alive when it dies.

nbgrader executes a submission through nbclient, which starts a Jupyter kernel and talks to it
over ZeroMQ. `SandboxKernelManager` starts that kernel as

    prlimit --as=MEM --cpu=SECONDS -- bwrap [isolation] -- python -m ipykernel_launcher -f kernel.json

Inside the sandbox the kernel has its own network namespace (no network at all: not even the
grader's 127.0.0.1), so the kernel and nbclient cannot use TCP. They use ZeroMQ's `ipc`
transport instead: Unix sockets in a private run folder that is bound into the sandbox, and a
Unix socket on disk works across network namespaces. The kernel sees

- the whole system read-only, with a private /tmp and /dev/shm (its own temporary folders);
- of the course, only `lib/`, `book/` (the student edition), `data/` and the virtualenv,
  read-only: not `solutions/`, `gradebook.db`, `.git`, `submitted/`, other students'
  folders or the grading report;
- read-write, only the folder it runs in (autograded/<student>/<lesson>/);
- no capabilities, its own user (nobody), PID, IPC and UTS namespaces, and rlimits on memory
  (address space) and CPU time;
- a cap on its processes and threads (a fork bomb stops there), from a pids cgroup of its own
  where the machine lets the grader make one (cgroup v1's pids hierarchy, or v2 with the pids
  controller delegated); elsewhere there is no such cap, which `require` says. An rlimit cannot
  do this when the grader runs as root: outside its user namespace the kernel is still root's
  process, and root is exempt from the process limit.

`SandboxedExecute` is nbgrader's `Execute` with that kernel manager and two more duties:
- output is capped per cell (a student printing megabytes fills neither memory nor feedback);
- a cell that kills the kernel (os._exit, memory, CPU limit) or runs past the timeout is
  marked with one error, the kernel is restarted, the cells before it are re-run silently to
  rebuild the state, and the notebook goes on: the other exercises are still graded.

GRADER_SANDBOX=off (the flag `make autograde SANDBOX=off` sets) runs plain kernels; the batch
records that in its report.
"""
import copy
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer, List, Unicode

COURSE = Path(__file__).resolve().parent.parent
# What a kernel may see of the course, read-only. Everything else in the course folder
# (solutions/, gradebook.db, .git, submitted/, autograded/ of others, grading/) is absent.
VISIBLE = ["lib", "book", "data", ".venv", "pyproject.toml"]

KERNEL_DIED = "KernelDied"
TIMEOUT_ENAME = "CellTimeoutError"


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
    import subprocess
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


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run in the sandbox and talk over ipc sockets."""

    _rundir = None
    _cgroup = None

    async def _async_pre_start_kernel(self, **kw):
        if self._rundir is None:  # a restart keeps the same sockets
            self._rundir = Path(tempfile.mkdtemp(prefix="grader-kernel-"))
            self.transport = "ipc"
            self.connection_file = str(self._rundir / "kernel.json")
            self.ip = str(self._rundir / "kernel-ipc")
        # The default interrupt signals the process group, which would reach bwrap first;
        # an interrupt request over the control channel reaches the kernel itself.
        self.kernel_spec.interrupt_mode = "message"
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        workdir = kw.get("cwd") or os.getcwd()
        command = bwrap_command(kernel_cmd, workdir=workdir, rundir=self._rundir)
        if self._cgroup is None:
            self._cgroup = make_pids_cgroup(self._rundir.name)
        if self._cgroup is not None:
            command = in_cgroup(self._cgroup, command)
        await super()._async_launch_kernel(command, **kw)

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._cgroup is not None:
            remove_pids_cgroup(self._cgroup)
            self._cgroup = None
        if not restart and self._rundir is not None:
            shutil.rmtree(self._rundir, ignore_errors=True)


class SandboxedExecute(Execute):
    """nbgrader's Execute: sandboxed kernels, capped output, recovery from dead or stuck kernels."""

    max_output_chars = Integer(20_000, help="characters of output kept per cell").tag(config=True)
    max_recoveries = Integer(3, help="kernel restarts per notebook before the rest is skipped").tag(config=True)
    trusted_factor = Integer(4, help="time limit multiplier for release cells that call no answer").tag(config=True)
    extra_arguments = List(["--HistoryManager.enabled=False"]).tag(config=True)
    kernel_name = Unicode("python3").tag(config=True)
    iopub_timeout = Integer(30).tag(config=True)  # a busy shared machine delivers output late

    def __init__(self, *args, **kwargs):
        if enabled():
            kwargs["kernel_manager_class"] = SandboxKernelManager
        super().__init__(*args, **kwargs)
        self._output_chars = {}
        self._fatal = set()     # student cells that died or hung: never run again
        self._trusted = set()   # release cells: re-run after a restart even if they were slow
        self._recoveries = 0

    # -- output cap -------------------------------------------------------------------
    def output(self, outs, msg, display_id, cell_index):
        """Keep the first `max_output_chars` of a cell's printed text (figures are not counted)."""
        if msg["msg_type"] != "stream":
            return super().output(outs, msg, display_id, cell_index)
        content = msg["content"]
        used = self._output_chars.get(cell_index, 0)
        budget = self.max_output_chars - used
        if budget <= 0:
            return None
        text = content.get("text", "")
        self._output_chars[cell_index] = used + len(text)
        if len(text) > budget:
            content["text"] = (text[:budget] + f"\n... output truncated by the grader after "
                               f"{self.max_output_chars:,} characters ...\n")
        return super().output(outs, msg, display_id, cell_index)

    # -- dead or stuck kernels --------------------------------------------------------
    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "code" or cell_index in self._fatal:
            return cell
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("solution") and not meta.get("grade"):
            self._trusted.add(cell_index)  # release code that calls no answer: safe to run again
        try:
            cell = await self._run(cell, cell_index, execution_count, store_history)
        except DeadKernelError:
            cell.outputs.append(new_output("error", ename=KERNEL_DIED, evalue="", traceback=[
                f"{KERNEL_DIED}: the kernel died while running this cell (an exit, or the memory or CPU-time limit)"]))
            await self._recover(cell_index)
            return cell
        except CellTimeoutError:  # the reply came, its output did not: a flooded or stuck kernel
            cell.outputs.append(new_output("error", ename=TIMEOUT_ENAME, evalue="", traceback=[
                f"{TIMEOUT_ENAME}: the cell's output did not arrive in time"]))
            await self._recover(cell_index)
            return cell
        if any(o.get("output_type") == "error" and o.get("ename") == TIMEOUT_ENAME for o in cell.outputs):
            await self._recover(cell_index)
        return cell

    execute_cell = run_sync(async_execute_cell)  # nbconvert calls the sync name

    async def _run(self, cell, cell_index, execution_count=None, store_history=True):
        """Run one cell. The time limit is there to stop student code: release cells that call
        no answer (imports, the lesson's own demonstrations) get `trusted_factor` times more,
        so a busy machine does not fail a whole notebook at its import cell."""
        limit = self.timeout
        if cell_index in self._trusted and limit:
            self.timeout = limit * self.trusted_factor
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            self.timeout = limit

    async def _recover(self, cell_index):
        """Restart the kernel and re-run, silently, every cell before `cell_index`."""
        if cell_index not in self._trusted:
            self._fatal.add(cell_index)
        self._recoveries += 1
        if self._recoveries > self.max_recoveries:
            self._fatal.update(range(cell_index, len(self.nb.cells)))
            return
        await self.km.restart_kernel(now=True)
        await self.kc.wait_for_ready(timeout=self.startup_timeout)
        for index, earlier in enumerate(self.nb.cells[:cell_index + (cell_index in self._trusted)]):
            if earlier.cell_type == "code" and index not in self._fatal:
                scratch = copy.deepcopy(earlier)
                scratch.outputs = []
                try:
                    await self._run(scratch, index, store_history=False)
                except DeadKernelError:
                    self._fatal.add(index)
                    await self.km.restart_kernel(now=True)
                    await self.kc.wait_for_ready(timeout=self.startup_timeout)


