"""An exercise's answer running in a process of its own, and the stand-ins the tests use for it.

`AnswerProcess` starts `python -m grader.answer_process` (inside the sandbox unless it is off)
and sends it requests; `Remote` stands in the test kernel for an object that lives in that
process. Calls carry the tests' inputs one way (pickled: the answer's process may trust them)
and plain data the other (grader/wire.py: the test kernel trusts nothing it receives). A
function of the tests passed as an argument stays in the test kernel and is called back.
"""
import io
import os
import pickle
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

from . import sandbox, wire

settings = {"course": None, "sandbox": True, "budget": 50.0, "hidden_feedback": "diagnosis"}
_OUTPUT_LIMIT = 20_000
STARTUP = 120  # seconds for an answer's process to start and run the lesson cells it needs


class AnswerError(Exception):
    """Something about the student's answer, said in a few lines instead of a traceback."""

    def _render_traceback_(self):
        return str(self).splitlines()


class StudentCodeError(AnswerError):
    pass


class AnswerStopped(AnswerError):
    pass


class ReferenceUsed(AnswerError):
    pass


class HiddenTestFailed(AnswerError):
    pass


class NotAttempted(AnswerError):
    pass


def _describe(error):
    """The answer's error in a few lines; every part is cut short (the answer's process wrote it)."""
    error = error if isinstance(error, dict) else {}
    part = lambda key, default="", size=300: str(error.get(key, default))[:size]  # noqa: E731
    where = f"\n  at line {part('line', size=10)} of your answer: {part('code')}" if error.get("line") else ""
    return f"Your code raised {part('type', 'an error', 80)}: {part('message', size=2000)}{where}"


class Remote:
    """Stands for an object that lives in the answer's process; using it asks that process."""

    __slots__ = ("_process", "_id", "_type", "_callable")

    def __init__(self, process, ident, kind, is_callable):
        for slot, value in zip(self.__slots__, (process, ident, kind, is_callable)):
            object.__setattr__(self, slot, value)

    def _ask(self, op, **fields):
        return object.__getattribute__(self, "_process").request(op, target=object.__getattribute__(self, "_id"),
                                                                  **fields)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._ask("getattr", name=name)

    def __setattr__(self, name, value):
        self._ask("setattr", name=name, args=(value,))

    def __call__(self, *args, **kwargs):
        return self._ask("call", args=args, kwargs=kwargs)

    def __getitem__(self, key):
        return self._ask("getitem", args=(key,))

    def __setitem__(self, key, value):
        self._ask("setitem", args=(key, value))

    def __len__(self):
        return self._ask("len")

    def __iter__(self):
        return iter(self._ask("iter"))

    def __bool__(self):  # truth is not the student's to decide in a test
        return True

    def __repr__(self):
        return f"<your {object.__getattribute__(self, '_type')} object>"


def _binary(name, reflected=False):
    def method(self, other):
        args = (other, self) if reflected else (self, other)
        return self._ask("binop", name=name, args=args)
    return method


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "lt", "le", "gt", "ge"):
    setattr(Remote, f"__{_name}__", _binary(_name))
    if _name not in ("lt", "le", "gt", "ge"):
        setattr(Remote, f"__r{_name}__", _binary(_name, reflected=True))
for _name in ("neg", "pos", "abs"):
    setattr(Remote, f"__{_name}__", lambda self, _op=_name: self._ask("unop", name=_op))


class AnswerProcess:
    """One exercise's answer, running in its own (sandboxed) process."""

    def __init__(self, exercise):
        self.exercise = exercise
        # A folder of its own, bound read-write into the sandbox: nothing the answer writes can
        # reach the test kernel's folder (and its imports) or another exercise's process.
        self.rundir = Path(tempfile.mkdtemp(prefix="grader-answer-"))
        workdir = self.rundir / "work"
        workdir.mkdir()
        repository = str(Path(__file__).resolve().parent.parent)
        command = [sys.executable, "-m", "grader.answer_process"]
        env = dict(os.environ, PYTHONPATH=repository, MPLBACKEND="Agg")
        self.cgroup = None
        if settings["sandbox"]:
            courses = [sandbox.COURSE] + ([Path(settings["course"])] if settings["course"] else [])
            command = sandbox.bwrap_command(command, workdir=workdir, rundir=self.rundir, courses=courses)
            self.cgroup = sandbox.make_pids_cgroup(self.rundir.name)
            if self.cgroup is not None:
                command = sandbox.in_cgroup(self.cgroup, command)
        self.log = open(self.rundir / "stderr.txt", "wb")
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     env=env, cwd=workdir, start_new_session=True)
        self.stopped = ""         # why the process is gone, once it is
        self.reference = ""       # the reference the answer called, if it did
        self.refused = []
        self.deadline = time.monotonic() + settings["budget"]
        self.printed = 0
        self.callbacks = {}

    # -- requests ------------------------------------------------------------------------------
    def request(self, op, quiet=False, **fields):
        if self.reference:
            raise ReferenceUsed(self._reference_message())
        if self.stopped:
            raise AnswerStopped(self.stopped)
        args = fields.get("args")
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer)
        pickler.persistent_id = self._persistent_id
        try:
            pickler.dump({"op": op, **fields})
        except (pickle.PicklingError, TypeError, AttributeError) as err:
            raise AnswerError(f"the tests could not send this input to your code ({err})") from None
        try:
            wire.send(self.proc.stdin.fileno(), buffer.getvalue())
            reply = wire.loads(wire.receive(self.proc.stdout.fileno(), self._wait))
            while isinstance(reply, dict) and "callback" in reply:
                self._callback(reply)
                reply = wire.loads(wire.receive(self.proc.stdout.fileno(), self._wait))
        except (wire.WireError, OSError, TimeoutError) as err:
            self._stop(err)
            raise AnswerStopped(self.stopped) from None
        if not isinstance(reply, dict):
            self._stop(wire.WireError("a reply is not a message"))
            raise AnswerStopped(self.stopped)
        self._notes(reply.get("notes", []))
        if not quiet:
            self._print(reply.get("stdout", ""))
        if self.reference:
            raise ReferenceUsed(self._reference_message())
        if reply.get("error"):
            raise StudentCodeError(_describe(reply["error"]))
        value = self._decode(reply.get("value"))
        if args is not None and isinstance(reply.get("args"), list):
            for sent, after in zip(args, reply["args"]):
                if after is not None:
                    _update_in_place(sent, self._decode(after))
        return value

    def _persistent_id(self, obj):
        if isinstance(obj, Remote):
            if object.__getattribute__(obj, "_process") is not self:
                raise AnswerError("an object of another exercise's answer was passed to this one")
            return ("remote", object.__getattribute__(obj, "_id"))
        if isinstance(obj, types.FunctionType) and (obj.__module__ == "__main__" or "<" in obj.__qualname__):
            # a function of the tests (a schedule, a loss): it stays here and the answer calls back
            self.callbacks[id(obj)] = obj
            return ("callback", id(obj))
        return None

    def _callback(self, message):
        """Run a function of the tests that the answer called, on plain data; send its result."""
        function = self.callbacks.get(message.get("callback"))
        try:
            args = self._decode(message.get("args"))
            value, error = function(*args), None
        except Exception as err:  # the answer gave the function arguments it cannot take
            value, error = None, f"{type(err).__name__}: {err}"
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer)
        pickler.persistent_id = self._persistent_id
        pickler.dump({"value": value, "error": error})
        wire.send(self.proc.stdin.fileno(), buffer.getvalue())

    def _decode(self, data):
        try:
            return wire.decode(data, lambda ident, kind, is_callable: Remote(self, ident, kind, is_callable))
        except wire.WireError as err:
            raise AnswerError(f"your code returned something the grader cannot read: {err}") from None

    def _wait(self):
        left = self.deadline - time.monotonic()
        if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
            raise TimeoutError("time limit")

    def _stop(self, why):
        if isinstance(why, TimeoutError):
            self.stopped = (f"Your code ran past the time limit ({settings['budget']:.0f} s for one test cell) "
                            "and was stopped: look for a loop that never ends.")
        else:
            code = self.proc.poll()
            self.stopped = ("Your code's process ended" + (f" (exit status {code})" if code is not None else "") +
                            ": an exit() or os._exit() in the answer, or it used more memory or CPU time "
                            "than the grader allows.")
        self.close()

    def _notes(self, notes):
        for kind, text in notes if isinstance(notes, list) else []:
            if kind == "reference" and not self.reference:
                self.reference = str(text)
            elif kind == "refused" and text not in self.refused:
                self.refused.append(str(text))

    def _reference_message(self):
        return (f"Your answer called {self.reference}, the reference this exercise is compared with: "
                "the exercise scores zero. Compute the result with your own code.")

    def _print(self, text):
        if isinstance(text, str) and text and self.printed < _OUTPUT_LIMIT:
            room = _OUTPUT_LIMIT + 200 - self.printed  # the answer's own cut note fits
            if len(text) > room:
                text = text[:room] + "\n... output cut by the grader ...\n"
            self.printed += len(text)
            print(text, end="" if text.endswith("\n") else "\n")

    def close(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        if self.cgroup is not None:
            sandbox.remove_pids_cgroup(self.cgroup)
            self.cgroup = None
        self.log.close()
        shutil.rmtree(self.rundir, ignore_errors=True)


def _update_in_place(sent, after):
    """Make the test's input show what the answer did to it in place (as if it ran here)."""
    try:
        import torch
        if isinstance(sent, list) and isinstance(after, list):
            sent[:] = after
        elif isinstance(sent, dict) and isinstance(after, dict):
            sent.clear()
            sent.update(after)
        elif isinstance(sent, bytearray) and isinstance(after, bytearray):
            sent[:] = after
        elif isinstance(sent, torch.Tensor) and isinstance(after, torch.Tensor):
            with torch.no_grad():
                if sent.shape == after.shape:
                    sent.copy_(after)
                else:
                    sent.data = after.to(sent.dtype)
    except (TypeError, ValueError, RuntimeError):
        pass


# -- what the judge's cells call -------------------------------------------------------------------
