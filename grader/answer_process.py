"""The process that runs one exercise's answer, inside the grading sandbox.

`python -m grader.answer_process` is started by the test kernel (grader/testing.py) for each
exercise of a submission, so a trick in one answer cannot reach another exercise or the tests.
It holds an IPython shell (so `get_ipython()`, magics and `display` work as in the notebook)
and obeys requests that arrive on its standard input:

    run   a cell's source: first the lesson cells the answer needs, then the answer itself
    arm   make the exercise's references unavailable (grader/tripwires.py)
    names / call / getattr / setattr / getitem / setitem / len / iter / binop / unop
          what the tests do with the answer: call a function, build an object, read a result

Each reply is plain data (grader/wire.py) with the student's printed output and an error, if
the student's code raised one, described by its type, message and the line of the answer it
came from. The process never sees a test's expected values: the tests run in the test
kernel, and send only the inputs of each call.
"""
import io
import linecache
import operator
import os
import pickle
import sys

from . import tripwires, wire

MAX_OUTPUT = 20_000  # characters of a student's printed output kept per request


class _Unpickler(pickle.Unpickler):
    def __init__(self, data, handles, channel):
        super().__init__(io.BytesIO(data))
        self.handles, self.channel = handles, channel

    def persistent_load(self, pid):
        kind, ident = pid
        if kind == "remote":
            return self.handles[ident]
        return Callback(ident, self.channel)


class Callback:
    """A function of the tests: calling it asks the test kernel to run it on plain data."""

    def __init__(self, ident, channel):
        self.ident, self.channel = ident, channel

    def __call__(self, *args):
        requests, replies, handles = self.channel
        wire.send(replies, wire.dumps({"callback": self.ident, "args": wire.encode(list(args), handles)}))
        answer = _Unpickler(wire.receive(requests), handles, self.channel).load()
        if answer["error"]:
            raise TypeError(f"the tests' function could not take these arguments: {answer['error']}")
        return answer["value"]


class Answer:
    def __init__(self):
        from IPython.core.interactiveshell import InteractiveShell

        self.shell = InteractiveShell.instance()
        self.shell.showtraceback = lambda *args, **kwargs: None   # errors are described, not printed
        self.shell.showsyntaxerror = lambda *args, **kwargs: None
        self.handles = {}
        self.cell_files = set()

    # -- output and errors ------------------------------------------------------------------
    def _capture(self, action):
        out = io.StringIO()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = out
        try:
            value, error = action(), None
        except BaseException as err:  # SystemExit and KeyboardInterrupt included: they are the student's
            value, error = None, err
        finally:
            sys.stdout, sys.stderr = saved
        text = out.getvalue()
        if len(text) > MAX_OUTPUT:
            text = text[:MAX_OUTPUT] + f"\n... output cut by the grader after {MAX_OUTPUT:,} characters ...\n"
        return value, error, text

    def describe(self, err):
        """Type, message and the deepest line of the answer the error passed through."""
        line, code = None, ""
        tb = err.__traceback__
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if filename in self.cell_files:
                line, code = tb.tb_lineno, linecache.getline(filename, tb.tb_lineno).strip()
            tb = tb.tb_next
        try:
            message = str(err)
        except Exception:
            message = "(the error's message could not be shown)"
        return {"type": type(err).__name__, "message": message[:2000], "line": line, "code": code[:300]}

    # -- requests ----------------------------------------------------------------------------
    def run(self, source, answer=False):
        def execute():
            result = self.shell.run_cell(source, store_history=False, silent=not answer)
            for name, entry in list(linecache.cache.items()):
                if name.startswith("<ipython-input") or "ipykernel" in name:
                    self.cell_files.add(name)
            problem = result.error_before_exec or result.error_in_exec
            if problem is not None:
                raise problem
        _, error, text = self._capture(execute)
        return {"stdout": text, "error": self.describe(error) if error else None}

    def names(self, names):
        ns = self.shell.user_ns
        return {"value": wire.encode({n: ns[n] for n in names if n in ns}, self.handles)}

    def apply(self, op, target, args=(), kwargs=None, name=None):
        obj = self.handles.get(target)
        kwargs = kwargs or {}
        actions = {
            "call": lambda: obj(*args, **kwargs),
            "getattr": lambda: getattr(obj, name),
            "setattr": lambda: setattr(obj, name, args[0]),
            "getitem": lambda: obj[args[0]],
            "setitem": lambda: obj.__setitem__(args[0], args[1]),
            "len": lambda: len(obj),
            "iter": lambda: list(obj),
            "binop": lambda: getattr(operator, name)(*args),
            "unop": lambda: getattr(operator, name)(obj),
        }
        value, error, text = self._capture(actions[op])
        reply = {"stdout": text, "error": self.describe(error) if error else None}
        if error is None:
            reply["value"] = wire.encode(value, self.handles)
            # the inputs after the call, so the tests can see what the answer changed in place
            reply["args"] = [wire.encode(a, {}) if isinstance(a, (list, dict, bytearray)) or _is_tensor(a) else None
                             for a in args]
        return reply


def _is_tensor(value):
    import torch
    return isinstance(value, torch.Tensor)


def main():
    # The protocol keeps its own copies of stdin/stdout; the answer's prints and any write to
    # file descriptors 0-2 go elsewhere and cannot break a message.
    requests, replies = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    os.environ.setdefault("MPLBACKEND", "Agg")
    import torch  # noqa: F401  (before the first request: the process is started ahead of its use)
    answer = Answer()
    while True:
        try:
            request = _Unpickler(wire.receive(requests), answer.handles, (requests, replies, answer.handles)).load()
        except wire.WireError:
            return
        op = request.pop("op")
        if op == "exit":
            return
        try:
            if op == "run":
                reply = answer.run(request["source"], request.get("answer", False))
            elif op == "arm":
                reply = {"value": wire.encode(tripwires.arm(request["references"]), {})}
            elif op == "names":
                reply = answer.names(request["names"])
            else:
                reply = answer.apply(op, **request)
            reply["notes"] = tripwires.notes()
            body = wire.dumps(reply)
        except Exception as err:  # a value that cannot be sent back, e.g.: the reply says so
            body = wire.dumps({"stdout": "", "notes": tripwires.notes(), "error": {
                "type": type(err).__name__, "message": f"the grader could not read your result: {err}"[:2000],
                "line": None, "code": ""}})
        wire.send(replies, body)


if __name__ == "__main__":
    main()
