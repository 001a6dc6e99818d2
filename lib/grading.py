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
from dataclasses import dataclass

import torch

# float64 comparison: |got - expected| <= ATOL + RTOL * |expected|, elementwise.
RTOL = 1e-6
ATOL = 1e-8

# Captured at import, before any student code runs, so that replacing these functions
# in a notebook cannot change what the checks compute.
_as_tensor = torch.as_tensor
_equal = torch.equal
_isfinite = torch.isfinite


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing one named quantity with its reference."""

    name: str
    exact: bool
    close: bool
    max_diff: float
    problem: str = ""  # why the values could not be compared at all

    def __str__(self):
        if self.problem:
            return f"{self.name:<14} | not comparable: {self.problem}"
        return (
            f"{self.name:<14} | exact: {str(self.exact):<5} | close: {str(self.close):<5}"
            f" | max diff: {self.max_diff:.2e}"
        )


def _to_float64(value, role):
    """A float64 tensor from a number, list, array or tensor; a readable error otherwise."""
    if value is None:
        raise TypeError(f"the {role} is None: does your code `return` its result?")
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float64)
    if isinstance(value, (numbers.Real, list, tuple)) and not isinstance(value, bool) or hasattr(value, "__array__"):
        return _as_tensor(value, dtype=torch.float64)
    hint = " (a Value? compare its .data)" if hasattr(value, "grad") else ""
    raise TypeError(f"the {role} is a {type(value).__name__}; expected a number or a tensor{hint}")


def compare(name, got, expected, *, rtol=RTOL, atol=ATOL, show=True):
    """Compare `got` with the reference `expected`; print and return a Comparison."""
    expected = _to_float64(expected, "reference")
    try:
        got = _to_float64(got, "answer")
    except TypeError as err:
        result = Comparison(name, False, False, math.inf, str(err))
    else:
        if got.shape != expected.shape:
            problem = (f"shape {tuple(got.shape)} where {tuple(expected.shape)} was expected"
                       " (a broadcast that should be summed back, or a transpose?)")
            result = Comparison(name, False, False, math.inf, problem)
        else:
            diff = (got - expected).abs()
            finite = bool(_isfinite(got).all())
            max_diff = diff.max().item() if diff.numel() else 0.0
            close = finite and bool((diff <= atol + rtol * expected.abs()).all())
            result = Comparison(name, _equal(got, expected), close, max_diff,
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
    if got.shape != wrong.shape:
        return False
    if wrong.shape == expected.shape and bool((wrong - expected).abs().le(atol + rtol * expected.abs()).all()):
        return False  # on these inputs the mistake is harmless: it cannot explain a failure
    return bool((got - wrong).abs().le(atol + rtol * wrong.abs()).all())


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
        message += f" Likely mistake: {diagnosis}"
    return message


def check(name, got, expected, *, mistakes=(), rtol=RTOL, atol=ATOL):
    """Like `compare`, but raise AssertionError with an actionable message when not close.

    When the answer reproduces one of `mistakes`, the message names it.
    """
    result = compare(name, got, expected, rtol=rtol, atol=atol)
    if not result.close:
        diagnosis = diagnose(got, expected, mistakes, rtol=rtol, atol=atol)
        raise AssertionError(_failure_message(result, rtol, atol, diagnosis))
    return result


def check_all(got, expected, *, mistakes=(), rtol=RTOL, atol=ATOL):
    """Check every key of the reference dict `expected` against the answer dict `got`.

    Prints one line per quantity, then raises one AssertionError that names every key
    that is missing, unexpected or not close. A key that reproduces the value a mistake
    gives it (each `Mistake.value` is a dict) is diagnosed.
    """
    if not isinstance(got, dict):
        raise AssertionError(f"expected a dict with keys {sorted(expected)}, got a {type(got).__name__}")
    missing = [k for k in expected if k not in got]
    extra = [k for k in got if k not in expected]
    failures = [f"missing key {k!r}: add it to the dict you return" for k in missing]
    failures += [f"unexpected key {k!r}: the expected keys are {sorted(expected)}" for k in extra]
    results = []
    for key in expected:
        if key in got:
            result = compare(key, got[key], expected[key], rtol=rtol, atol=atol)
            results.append(result)
            if not result.close:
                relevant = [Mistake(m.description, m.value[key]) for m in mistakes if key in m.value]
                diagnosis = diagnose(got[key], expected[key], relevant, rtol=rtol, atol=atol)
                failures.append(_failure_message(result, rtol, atol, diagnosis))
    if failures:
        raise AssertionError("\n".join(failures))
    return results
