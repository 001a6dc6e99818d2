"""Answer checks for exercise test cells, in the style of a gradient check. Used by every lesson.

Each comparison reports three things about one quantity: is it bit-for-bit equal to the
reference (exact), is it within tolerance (close), and the largest absolute difference.
Everything is compared in float64, so a float32 answer is judged by its real error rather
than by a tolerance loosened to hide rounding. The tolerances are stated once, here.

A wrong answer can also be *diagnosed*: a test passes `mistakes`, a list of `Mistake`s that
each pair a classic error, described in the student's terms, with the value that error
produces on the same inputs. When the answer matches one of them, the failure message names
the mistake. A diagnosis never changes whether a check passes. The tables of mistakes live in
`lib.mistakes`, one module per lesson.
"""
import math
import numbers
import sys
import types
from dataclasses import dataclass

import torch

# float64 comparison: |got - expected| <= ATOL + RTOL * |expected|, elementwise.
RTOL = 1e-6
ATOL = 1e-8

# Captured at import, before any student code runs, so that replacing these functions or
# the Tensor methods in a notebook (torch.equal = ..., torch.Tensor.__sub__ = ...) cannot
# change what the checks compute. Every comparison below calls only these.
_as_tensor = torch.as_tensor
_equal = torch.equal
_isfinite = torch.isfinite
_sub, _abs, _mul, _add, _le = torch.sub, torch.abs, torch.mul, torch.add, torch.le
_all, _amax = torch.all, torch.amax
_item = torch.Tensor.item
_detach, _to, _numel = torch.Tensor.detach, torch.Tensor.to, torch.Tensor.numel
_shape = torch.Tensor.shape.__get__
_no_torch_function = torch._C.DisableTorchFunction
_PLAIN_TENSORS = (torch.Tensor, torch.nn.Parameter)


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing one named quantity with its reference."""

    name: str
    exact: bool
    close: bool
    max_diff: float
    problem: str = ""  # why the values could not be compared at all

    def __str__(self):
        # Read at a glance: a mark first, then the quantity and what it means.
        if self.problem:
            return f"✗ {self.name}: {self.problem}"
        if self.exact:
            return f"✓ {self.name}: matches exactly"
        if self.close:
            return f"✓ {self.name}: matches (max diff {self.max_diff:.1e})"
        return f"✗ {self.name}: max difference {self.max_diff:.3g} from the reference"


class CheckFailed(AssertionError):
    """A failed check. IPython shows `_render_traceback_` instead of a traceback, so the
    student sees the message (quantity, difference, likely mistake) and no frames of lib."""

    def _render_traceback_(self):
        return str(self).splitlines()


def _to_float64(value, role):
    """A float64 tensor from a number, list, array or tensor; a readable error otherwise."""
    if value is None:
        raise TypeError(f"the {role} is None: does your code `return` its result?")
    if isinstance(value, torch.Tensor):
        if type(value) not in _PLAIN_TENSORS:
            raise TypeError(f"the {role} is a {type(value).__name__}, a subclass of torch.Tensor; return a plain tensor")
        return _to(_detach(value), "cpu", torch.float64)
    if isinstance(value, (numbers.Real, list, tuple)) and not isinstance(value, bool) or hasattr(value, "__array__"):
        return _as_tensor(value, dtype=torch.float64)
    hint = " (a Value? compare its .data)" if hasattr(value, "grad") else ""
    raise TypeError(f"the {role} is a {type(value).__name__}; expected a number or a tensor{hint}")


def _close(got, expected, rtol, atol):
    """(max |got - expected|, all within atol + rtol*|expected|, all finite), with captured ops."""
    diff = _abs(_sub(got, expected))
    max_diff = _item(_amax(diff)) if _numel(diff) else 0.0
    within = _le(diff, _add(_mul(_abs(expected), rtol), atol))
    finite = bool(_item(_all(_isfinite(got)))) if _numel(got) else True
    return max_diff, bool(_item(_all(within))) if _numel(within) else True, finite


def compare(name, got, expected, *, rtol=RTOL, atol=ATOL, show=True):
    """Compare `got` with the reference `expected`; print and return a Comparison."""
    with _no_torch_function():  # a torch-function mode pushed by student code sees nothing
        return _compare(name, got, expected, rtol, atol, show)


def _compare(name, got, expected, rtol, atol, show):
    expected = _to_float64(expected, "reference")
    try:
        got = _to_float64(got, "answer")
    except TypeError as err:
        result = Comparison(name, False, False, math.inf, str(err))
    else:
        if tuple(_shape(got)) != tuple(_shape(expected)):
            problem = (f"shape {tuple(_shape(got))} where {tuple(_shape(expected))} was expected"
                       " (a broadcast that should be summed back, or a transpose?)")
            result = Comparison(name, False, False, math.inf, problem)
        else:
            max_diff, within, finite = _close(got, expected, rtol, atol)
            result = Comparison(name, bool(_equal(got, expected)), finite and within, max_diff,
                                "" if finite else "the answer contains nan or inf")
    if show:
        print(result)
    return result


@dataclass(frozen=True)
class Mistake:
    """A classic error and the answer it produces on the inputs of one test.

    `value` is what `check` would receive from a student who made this mistake; for
    `check_all` it is a dict holding the wrong value of each key the mistake affects.
    """

    description: str
    value: object


def _matches(got, wrong, expected, rtol, atol):
    """Does the answer equal the wrong variant, and does that variant differ from the reference?"""
    try:
        wrong = _to_float64(wrong, "mistake")
        got = _to_float64(got, "answer")
    except TypeError:
        return False
    if tuple(_shape(got)) != tuple(_shape(wrong)):
        return False
    if tuple(_shape(wrong)) == tuple(_shape(expected)) and _close(wrong, expected, rtol, atol)[1]:
        return False  # on these inputs the mistake is harmless: it cannot explain a failure
    return _close(got, wrong, rtol, atol)[1]


def diagnose(got, expected, mistakes, *, rtol=RTOL, atol=ATOL):
    """The description of the first mistake that reproduces `got`, or None."""
    expected = _to_float64(expected, "reference")
    for mistake in mistakes:
        if _matches(got, mistake.value, expected, rtol, atol):
            return mistake.description
    return None


def _failure_message(result, rtol, atol, diagnosis=None):
    if result.problem:
        message = f"{result.name}: {result.problem}."
    else:
        message = (f"{result.name}: max difference {result.max_diff:.3g} from the reference "
                   f"(allowed: {atol:g} + {rtol:g} x |reference|).")
    if diagnosis:
        message += f"\n  Likely mistake: {diagnosis}"
    return message


def check(name, got, expected, *, mistakes=(), rtol=RTOL, atol=ATOL):
    """Like `compare`, but raise CheckFailed (an AssertionError) with an actionable message
    when not close. When the answer reproduces one of `mistakes`, the message names it.

    A pass prints one line; a failure prints nothing and its message is all the student sees.
    """
    result = compare(name, got, expected, rtol=rtol, atol=atol, show=False)
    if not result.close:
        diagnosis = diagnose(got, expected, mistakes, rtol=rtol, atol=atol)
        raise CheckFailed("✗ " + _failure_message(result, rtol, atol, diagnosis))
    print(result)
    return result


# A failing check_all lists at most this many quantities, so that it fits on a screen.
_MAX_LISTED = 5


def check_all(got, expected, *, mistakes=(), rtol=RTOL, atol=ATOL):
    """Check every key of the reference dict `expected` against the answer dict `got`.

    When all match, prints one line per quantity. Otherwise raises one CheckFailed that
    counts the keys that are missing, unexpected or not close, names the likely mistake
    first (each `Mistake.value` is a dict holding the wrong value of the keys it affects),
    then lists the failing keys.
    """
    if not isinstance(got, dict):
        raise CheckFailed(f"✗ expected a dict with keys {sorted(expected)}, got a {type(got).__name__}")
    missing = [k for k in expected if k not in got]
    extra = [k for k in got if k not in expected]
    failures = [f"missing key {k!r}: add it to the dict you return" for k in missing]
    failures += [f"unexpected key {k!r}: the expected keys are {sorted(expected)}" for k in extra]
    results, failed, passed, diagnoses = [], [], [], {}
    for key in expected:
        if key in got:
            result = compare(key, got[key], expected[key], rtol=rtol, atol=atol, show=False)
            results.append(result)
            if result.close:
                passed.append(key)
                continue
            failed.append(key)
            relevant = [Mistake(m.description, m.value[key]) for m in mistakes if key in m.value]
            diagnosis = diagnose(got[key], expected[key], relevant, rtol=rtol, atol=atol)
            if diagnosis:
                diagnoses.setdefault(diagnosis, []).append(key)
            # One short line per key: the allowance is the same for all, stated by `check`.
            failures.append(f"{result.name}: {result.problem}" if result.problem
                            else f"{result.name}: max difference {result.max_diff:.3g}")
    if failures:
        summary = [f"{len(failed)} of {len(expected)} do not match the reference ({', '.join(map(str, failed))})"
                   if failed else "",
                   f"missing {', '.join(map(repr, missing))}" if missing else "",
                   f"unexpected {', '.join(map(repr, extra))}" if extra else ""]
        lines = ["✗ " + "; ".join(s for s in summary if s)]
        for diagnosis, keys in diagnoses.items():
            where = "" if len(diagnoses) == 1 else f"{', '.join(map(str, keys))}: "
            lines.append(f"  {where}Likely mistake: {diagnosis}")
        lines += [f"  {f}" for f in failures[:_MAX_LISTED]]
        if len(failures) > _MAX_LISTED:
            lines.append(f"  ... and {len(failures) - _MAX_LISTED} more")
        if passed:
            lines.append(f"  ✓ {', '.join(map(str, passed))} match")
        raise CheckFailed("\n".join(lines))
    for result in results:
        print(result)
    return results


# The stub nbgrader leaves in a blank exercise (nbgrader_config.py) raises NotImplementedError
# with this message. Its test then fails with one line that says so, not a traceback.
BLANK_STUB = "not attempted yet"


def _blank_exercise(shell, etype, value, tb, tb_offset=None):
    """IPython's handler for NotImplementedError: one line for a blank exercise's stub, the
    usual traceback for any other."""
    if not str(value).startswith(BLANK_STUB):
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    name = getattr(code, "co_qualname", code.co_name).replace("<locals>.", "")
    what = "the exercise cell" if name == "<module>" else f"`{name}`"
    stb = [f"✗ Not attempted yet: {what} still raises NotImplementedError. Write your code in the "
           "exercise cell above in place of that `raise` line, run it, then run this test again."]
    shell._showtraceback(etype, value, stb)
    return stb


def _install_blank_exercise_handler():
    ipython = sys.modules.get("IPython")  # loaded only inside IPython or Jupyter
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and hasattr(shell, "set_custom_exc"):
        shell.set_custom_exc((NotImplementedError,), _blank_exercise)


_install_blank_exercise_handler()


class _Sealed(types.ModuleType):
    """This module, made read-only: a notebook cannot replace `check` & co. for the tests."""

    def __setattr__(self, name, value):
        if name.startswith("__"):  # the import system's own bookkeeping (reload)
            return super().__setattr__(name, value)
        raise AttributeError(f"lib.grading.{name} cannot be changed: the tests depend on it")

    def __delattr__(self, name):
        raise AttributeError(f"lib.grading.{name} cannot be deleted: the tests depend on it")


sys.modules[__name__].__class__ = _Sealed
