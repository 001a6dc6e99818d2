"""Inside the answer's process: make the exercise's references unavailable, and keep them so.

An exercise is compared with a reference: lib's function or class, or the torch routine that
*is* the answer (autograd for a hand-written backward pass, `scaled_dot_product_attention`
for an attention head). While the answer is graded, every way to that reference that Python
offers leads to a stub that raises `ReferenceUnavailable` and records the attempt:

- the object is replaced under every name that any loaded module binds it to (`lib.bpe.merge`
  and `lib.bpe.base.merge` alike, `torch.nn.functional.scaled_dot_product_attention` and
  `torch._C._nn.scaled_dot_product_attention`), so string-built attribute access, `getattr`,
  `operator.attrgetter` and `importlib.import_module` all find the stub;
- a class is disabled in place (its methods raise), so instances made earlier, `type(obj)`
  and subclasses lead nowhere either;
- no original is kept anywhere: a stub has nothing to give back, so unwrapping one gains
  nothing.

`arm` also installs a PEP 578 audit hook (which Python cannot remove) that refuses what would
bring a fresh copy of a reference or reach around the stubs: reading the source or bytecode of
lib or of an already loaded torch module (`importlib.reload`, `inspect.getsource`, `exec` of the
file), starting processes (a new interpreter would import the real thing), ctypes, /proc/*/mem
and the garbage collector's object lists. Honest answers do none of these.

What the hook refused and which references were called are notes the answer process sends
with every reply; a called reference scores the exercise zero. The notes are best effort (code
in this process could hide a note), the unavailability is not: a reference that raises cannot
be the reason an answer is right.
"""
import importlib
import linecache
import os
import sys

# Groups of references, by the name an exercise uses for them.
GROUPS = {
    "torch.autograd": [
        "torch.autograd.backward", "torch.autograd.grad", "torch.Tensor.backward",
        "torch.autograd.graph._engine_run_backward", "torch.autograd.variable.Variable._execution_engine",
        "torch._C._ImperativeEngine", "torch.autograd.functional.jacobian", "torch.autograd.functional.vjp",
        "torch.func.grad", "torch.func.vjp", "torch.func.jacrev",
    ],
}
REFUSED_EVENTS = {
    "subprocess.Popen": "starting a process", "os.system": "starting a process", "os.exec": "starting a process",
    "os.posix_spawn": "starting a process", "os.spawn": "starting a process", "os.fork": "starting a process",
    "os.forkpty": "starting a process", "gc.get_objects": "searching the garbage collector",
    "gc.get_referrers": "searching the garbage collector", "gc.get_referents": "searching the garbage collector",
}


class ReferenceUnavailable(RuntimeError):
    """Raised by a reference while the answer that is compared with it is graded."""


def expand(references):
    return [name for ref in references for name in GROUPS.get(ref, [ref])]


def _resolve(dotted):
    """(owner, attribute, object) for a dotted name, importing the longest module prefix."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:-1]:
            owner = getattr(owner, part)
        return owner, parts[-1], getattr(owner, parts[-1])
    raise LookupError(f"no reference named {dotted}")


def _stub(name, audit=sys.audit):
    def unavailable(*args, **kwargs):
        audit("grader.reference", name)
        raise ReferenceUnavailable(
            f"{name} is what this exercise is compared with, so it is unavailable while your answer "
            "is graded: compute the result with your own code")
    unavailable.__name__ = name.rsplit(".", 1)[-1]
    unavailable.__qualname__ = name
    return unavailable


class _Unavailable:
    """Stands for a reference object (an engine, a namespace): every use of it raises."""

    __slots__ = ("_name",)

    def __init__(self, name):
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attr):
        return _stub(f"{object.__getattribute__(self, '_name')}.{attr}")

    def __call__(self, *args, **kwargs):
        return _stub(object.__getattribute__(self, "_name"))(*args, **kwargs)


def _replace_everywhere(original, replacement):
    """Rebind every module-level name that refers to `original`."""
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for key, value in list(namespace.items()):
            if value is original:
                namespace[key] = replacement


def _disable_class(cls, name):
    for key, value in list(vars(cls).items()):
        if key in ("__repr__", "__str__", "__doc__", "__module__", "__dict__", "__weakref__", "__qualname__"):
            continue
        if callable(value) or isinstance(value, (staticmethod, classmethod, property)):
            try:
                setattr(cls, key, _stub(f"{name}.{key}"))
            except (AttributeError, TypeError):  # a slot or a C type's attribute
                pass


def disable(dotted):
    owner, attr, original = _resolve(dotted)
    if isinstance(original, type) and original.__flags__ & (1 << 9):  # a class written in Python
        _disable_class(original, dotted)
        return
    if callable(original) and not isinstance(original, type):
        replacement = _stub(dotted)
    else:  # an object or a C type: anything done with it raises
        replacement = _Unavailable(dotted)
    try:
        setattr(owner, attr, replacement)
    except (AttributeError, TypeError):
        pass
    _replace_everywhere(original, replacement)


def _aten_ops(names):
    """torch.ops.aten packets of the references that are torch functions: the dispatcher's door."""
    ops = set()
    for dotted in names:
        if dotted.startswith("torch."):
            ops.add(dotted.rsplit(".", 1)[-1])
    return ops


def _guard_dispatcher(forbidden_ops):
    import torch

    for op in forbidden_ops:
        try:
            setattr(torch.ops.aten, op, _Unavailable(f"torch.ops.aten.{op}"))
        except (AttributeError, TypeError):
            pass
    for getter in ("_jit_get_operation", "_get_operation_overload"):
        original = getattr(torch._C, getter, None)
        if original is None:
            continue

        def guarded(name, *args, _original=original, **kwargs):
            if any(op in str(name) for op in forbidden_ops):
                return _stub(f"torch._C.{getter}({name!r})")()
            return _original(name, *args, **kwargs)
        _replace_everywhere(original, guarded)
    for compiler in ("torch.jit.script", "torch.jit.trace", "torch.compile"):
        try:
            owner, attr, original = _resolve(compiler)
        except (LookupError, AttributeError):
            continue
        _replace_everywhere(original, _stub(compiler))


def _protected_files():
    """Source and bytecode files that must not be read again: lib's, and loaded torch modules'."""
    files, folders = set(), set()
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] not in ("lib", "torch"):
            continue
        for attr in ("__file__", "__cached__"):
            path = getattr(module, attr, None)
            if isinstance(path, str):
                files.add(os.path.realpath(path))
        if name == "lib":
            folders.update(os.path.realpath(p) + os.sep for p in getattr(module, "__path__", []))
    return frozenset(files), tuple(folders)


def arm(references):
    """Disable `references` (dotted names or GROUPS keys), install the audit hook; return the
    names that do not exist here (a mistake in the course's list, which the tests catch)."""
    import lib  # noqa: F401  (its folder is what the hook protects)
    import torch  # noqa: F401  (loaded now: importing it loads shared libraries through ctypes)

    names, missing = expand(references), []
    for dotted in names:
        try:
            disable(dotted)
        except (LookupError, AttributeError, ImportError):
            missing.append(dotted)
    if any(n.startswith("torch.") for n in names):
        _guard_dispatcher(_aten_ops(names))
    files, folders = _protected_files()
    for path in list(linecache.cache):
        if os.path.realpath(path) in files or os.path.realpath(path).startswith(folders):
            del linecache.cache[path]
    notes = []

    def hook(event, args):
        if event == "grader.reference":
            notes.append(("reference", str(args[0])))
        elif event == "grader.notes":
            args[0].extend(notes)
        elif event == "open" and isinstance(args[0], (str, bytes)):
            path = os.path.realpath(os.fsdecode(args[0]))
            if path in files or path.startswith(folders) or (path.startswith("/proc/") and path.endswith("/mem")):
                notes.append(("refused", f"reading {path}"))
                raise PermissionError(f"the grader does not let an answer read {path}")
        elif event in REFUSED_EVENTS or event.startswith("ctypes.") and event not in ("ctypes.dlopen", "ctypes.dlsym"):
            what = REFUSED_EVENTS.get(event, "ctypes")
            notes.append(("refused", what))
            raise PermissionError(f"the grader does not let an answer use {what} ({event})")

    sys.addaudithook(hook)
    return missing


def notes():
    """[(kind, text)] recorded since `arm`: called references and refused operations."""
    box = []
    sys.audit("grader.notes", box)
    return box
