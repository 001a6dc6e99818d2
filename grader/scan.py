"""Read each answer, outside the student's kernel, for tampering and for borrowed answers.

Code in a kernel can undo anything else in that kernel, so the decisive checks happen here,
in the grader, on the answer's source (its syntax tree):

- **tampering**: assigning to an attribute of a module or class it did not create
  (`torch.allclose = ...`, `lib.grading.check = ...`, `torch.Tensor.__eq__ = ...`), rebinding a
  name the tests use (`check = ...`), the escape hatches that reach around names
  (`exec`, `eval`, `setattr`, `__import__`, `importlib`, `sys.modules`, `get_ipython`, frames,
  `gc`, `ctypes`, `builtins`, `__class__`, `__dict__`, ...), defining a comparison dunder
  (`__eq__`, `__ne__`, `__bool__`, `__len__`, `__torch_function__`, ...) or subclassing
  `torch.Tensor` or a builtin type when the released cell did not;
- **borrowed answers**: using the reference the exercise's tests compare with, i.e. a course
  library function or class, or a helper cell that computes (rather than checks), that the
  tests of this exercise call (`lib.bpe.merge` in the merge exercise, `torch_neuron_grads` in
  the neuron exercise). Library functions the exercise's text allows (`merge` in the training
  exercise) are not called by its tests, so they are not flagged.

Either forfeits the exercise: its test cells score zero, and the report and the feedback say
why in one sentence. The policy is stated in the instructor guide.
"""
import ast
import builtins
import importlib

from .normalise import Finding, grade_id, is_answer

ESCAPES = {
    "_C", "library", "TorchFunctionMode", "TorchDispatchMode", "_set_torch_function_mode",
    "exec", "eval", "compile", "__import__", "setattr", "delattr", "getattr", "globals", "vars", "locals",
    "get_ipython", "breakpoint", "importlib", "ctypes", "gc", "builtins", "__builtins__", "inspect",
    "_getframe", "settrace", "setprofile", "modules", "__class__", "__dict__", "__globals__", "__code__",
    "__subclasses__", "__bases__", "__mro__", "f_back", "f_locals", "f_globals", "tb_frame", "gi_frame",
    "__closure__", "__defaults__", "__kwdefaults__", "__reduce__", "sys_modules", "reload",
}
COMPARISON_DUNDERS = {
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__", "__bool__", "__len__",
    "__float__", "__int__", "__index__", "__array__", "__torch_function__", "__torch_dispatch__",
    "__instancecheck__", "__subclasscheck__", "__getattr__", "__getattribute__", "__del__", "__iter__",
    "__contains__", "__getitem__", "__class_getitem__",
}
LYING_BASES = {"Tensor", "Parameter", "list", "dict", "tuple", "int", "float", "str", "set", "bytes", "Number"}
# Modules whose functions are the checks themselves, never a reference answer.
CHECKER_MODULES = ("lib.grading", "lib.mistakes")


def _names_bound(tree):
    """Names a piece of code binds at its top level (defs, classes, assignments, imports)."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return bound


def _top_level_stores(tree):
    """Names an answer cell binds in the notebook's namespace (not inside its functions)."""
    found = []

    def visit(statements):
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.append(node.name)
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.extend((a.asname or a.name).split(".")[0] for a in node.names)
                continue
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    found.append(child.id)
                elif isinstance(child, (ast.Tuple, ast.List, ast.Starred)):
                    found.extend(n.id for n in ast.walk(child) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
            for field in ("body", "orelse", "finalbody", "handlers"):
                visit(getattr(node, field, []) or [])

    visit(tree.body)
    return found


def _parse(source):
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def _dotted(node):
    """'lib.bpe.merge' for an attribute chain on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _heads(expr):
    """The names and attribute chains an expected value is computed *by* (not its inputs):
    the function of a call, the object of an attribute, the items of a literal."""
    if isinstance(expr, ast.Call):
        yield from _heads(expr.func)
    elif isinstance(expr, ast.Attribute):
        yield expr
        yield from _heads(expr.value)
    elif isinstance(expr, ast.Name):
        yield expr
    elif isinstance(expr, ast.Subscript):
        yield from _heads(expr.value)
    elif isinstance(expr, (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.BinOp, ast.IfExp, ast.ListComp, ast.DictComp)):
        for child in ast.iter_child_nodes(expr):
            yield from _heads(child)


def _resolve(dotted, imports):
    """The object a dotted name refers to, given {name: module path or module.attr}; or None."""
    head, *rest = dotted.split(".")
    if head not in imports:
        return None
    target = imports[head]
    try:
        module_path, _, attr = target.rpartition(".")
        try:
            obj = importlib.import_module(target)
        except ImportError:
            obj = getattr(importlib.import_module(module_path), attr)
        for part in rest:
            obj = getattr(obj, part)
        return obj
    except (ImportError, AttributeError, ValueError):
        return None


def _imports(tree):
    """{bound name: 'module' or 'module.attr'} for the imports in `tree` that reach lib."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "lib":
                    found[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else "lib"
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "lib" and not node.level:
            for alias in node.names:
                found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return found


class LessonRules:
    """What the answers of one lesson may not touch, worked out from its release and source."""

    def __init__(self, release, source):
        self.release = release
        stubs = {grade_id(c): _parse(c.source) for c in release.cells if is_answer(c)}
        self.stub_trees = stubs
        # the test cells (with hidden tests, from the source) that follow each exercise
        self.tests_of, current = {}, None
        for cell in source.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution"):
                current = meta["grade_id"]
                self.tests_of.setdefault(current, [])
            elif meta.get("grade") and current:
                self.tests_of[current].append(cell)
        setup = [c for c in release.cells if c.cell_type == "code" and not is_answer(c) and not
                 c.get("metadata", {}).get("nbgrader", {}).get("grade")]
        self.imports, self.helpers = {}, {}
        for cell in setup:
            tree = _parse(cell.source)
            if tree is None:
                continue
            self.imports.update(_imports(tree))
            for node in tree.body:
                if isinstance(node, ast.FunctionDef):
                    self.helpers[node.name] = node
        stub_bound = set().union(*(_top_level_stores(t) for t in stubs.values() if t))
        setup_bound = set(dir(builtins)).union(*(_top_level_stores(t) for c in setup if (t := _parse(c.source))))
        test_trees = [t for cells in self.tests_of.values() for c in cells if (t := _parse(c.source))]
        used_by_tests = {n.id for t in test_trees for n in ast.walk(t) if isinstance(n, ast.Name)}
        used_by_tests -= set().union(*(_names_bound(t) for t in test_trees))
        # names the tests take from the notebook: rebinding one changes what the tests do
        self.protected = (used_by_tests & setup_bound) - stub_bound

    def _is_checker(self, helper):
        """A helper that checks (raises or calls a check) rather than computes a reference."""
        for node in ast.walk(helper):
            if isinstance(node, (ast.Raise, ast.Assert)):
                return True
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"check", "check_all", "compare"}:
                return True
        return False

    def references(self, exercise):
        """{name or dotted name: object or helper} the tests of `exercise` compare answers with.

        A reference is what fills the *expected* argument (the last one) of a check call,
        directly or through a variable the test cell assigned from it.
        """
        checkers = {"check", "check_all", "compare"} | {n for n, h in self.helpers.items() if self._is_checker(h)}
        refs = {}
        for cell in self.tests_of.get(exercise, []):
            tree = _parse(cell.source)
            if tree is None:
                continue
            local = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
            for _ in local:  # a test's own wrapper around a check is a checker too
                checkers |= {f.name for f in local if any(
                    isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id in checkers for c in ast.walk(f))}
            sources = {}  # variable -> the nodes it was computed from
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        for name in ast.walk(target):
                            if isinstance(name, ast.Name):
                                sources.setdefault(name.id, []).append(node.value)
            expected = [call.args[-1] for call in ast.walk(tree) if isinstance(call, ast.Call) and call.args
                        and isinstance(call.func, ast.Name) and call.func.id in checkers]
            seen = set()
            while expected:
                for node in _heads(expected.pop()):
                    if isinstance(node, ast.Name) and node.id in sources and node.id not in seen:
                        seen.add(node.id)
                        expected.extend(sources[node.id])
                    if isinstance(node, ast.Name) and node.id in self.helpers and node.id not in checkers:
                        refs[node.id] = self.helpers[node.id]
                    dotted = _dotted(node)
                    obj = _resolve(dotted, self.imports) if dotted else None
                    if callable(obj) and getattr(obj, "__module__", "").startswith("lib") \
                            and not obj.__module__.startswith(CHECKER_MODULES):
                        refs[dotted] = obj
        return refs

    def scan(self, exercise, answer):
        """The Findings for one answer."""
        tree = _parse(answer)
        if tree is None:
            return []
        stub = self.stub_trees.get(exercise)
        stub_names = {n.name for n in ast.walk(stub) if isinstance(getattr(n, "name", None), str)} if stub else set()
        stub_names |= {n.attr for n in ast.walk(stub) if isinstance(n, ast.Attribute)} if stub else set()
        stub_bases = {_dotted(b) for n in ast.walk(stub) if isinstance(n, ast.ClassDef) for b in n.bases} if stub else set()
        imported = {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
                    if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
        created = _names_bound(tree) - imported
        findings = []

        def tamper(what):
            findings.append(Finding("tampering", exercise,
                                    f"the answer to {exercise!r} {what}: tampering with the grading scores zero for this exercise.",
                                    penalty=exercise))

        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                targets = list(node.targets) if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                while targets:
                    target = targets.pop()
                    if isinstance(target, (ast.Tuple, ast.List)):
                        targets.extend(target.elts)
                        continue
                    while isinstance(target, (ast.Subscript, ast.Starred)):
                        target = target.value
                    if isinstance(target, ast.Attribute):
                        owner = _dotted(target.value)
                        root = owner.split(".")[0] if owner else None
                        if root and root not in created and root not in {"self", "cls"} | stub_names:
                            tamper(f"changes {owner}.{target.attr}")
            if isinstance(node, (ast.Name, ast.Attribute)):
                name = node.id if isinstance(node, ast.Name) else node.attr
                if name in ESCAPES and name not in stub_names:
                    tamper(f"uses {name}")
            if isinstance(node, ast.Global):
                tamper("declares global names")
            if isinstance(node, ast.FunctionDef) and node.name in COMPARISON_DUNDERS and node.name not in stub_names:
                tamper(f"defines {node.name}, so its results could claim to match anything")
            if isinstance(node, ast.ClassDef):
                for base in node.bases:
                    dotted = _dotted(base) or ""
                    if dotted.split(".")[-1] in LYING_BASES and dotted not in stub_bases:
                        tamper(f"subclasses {dotted}, so its results could pretend to be the expected type")
        for name in _top_level_stores(tree):
            if name in self.protected:
                tamper(f"rebinds {name}, which the tests use")
        findings += self._borrowed(exercise, tree)
        unique = {}
        for f in findings:
            unique.setdefault(f.message, f)
        return list(unique.values())

    def _borrowed(self, exercise, tree):
        refs = self.references(exercise)
        if not refs:
            return []
        ref_objects = [o for o in refs.values() if not isinstance(o, ast.AST)]
        imports = {**self.imports, **_imports(tree)}
        used = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in self.helpers and node.id in refs:
                used.append(node.id)
            dotted = _dotted(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
            if dotted and isinstance(getattr(node, "ctx", None), ast.Load):
                obj = _resolve(dotted, imports)
                if obj is not None and any(obj is r for r in ref_objects):
                    full = f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', dotted)}"
                    used.append(dotted if full.endswith(f".{dotted}") or dotted.startswith("lib.") else f"{dotted} ({full})")
        return [Finding("lib answer", exercise,
                        f"the answer to {exercise!r} calls {name}, the reference its tests compare with: it scores zero.",
                        penalty=exercise) for name in dict.fromkeys(used)]
