"""The test kernel's side of grading: the answer runs elsewhere, the tests run here.

The judge (grader/judge.py) runs a lesson's test cells in a kernel that never executes student
code. For each exercise, `answer()` starts a fresh sandboxed process (grader/answer_process.py),
runs there the lesson cells the answer needs, makes the exercise's references unavailable,
runs the student's answer cell, and binds here, under the names the exercise asks for,
stand-ins (`Remote`, grader/remote.py) for what the answer defined. The test cells then run unchanged: calling
`neuron_grads(**inputs)` sends the inputs to the answer's process and brings back plain data
(grader/wire.py); `MyValue(2.0) * y` builds the student's objects over there. The expected
values, the hidden inputs before they are used and the checks themselves stay here, out of the
student's reach, and whatever the student's code does to its own interpreter changes nothing
here.

A call that runs past the cell's time, a process that dies, or an answer that called its
exercise's reference makes that exercise's remaining tests fail with one line that says so;
the other exercises are graded as usual.
"""
import contextlib
import io
import json
import time

from IPython import get_ipython

from .remote import (STARTUP, AnswerError, AnswerProcess, AnswerStopped, HiddenTestFailed,  # noqa: F401
                     NotAttempted, ReferenceUsed, StudentCodeError, settings)

_exercises = {}     # grade_id -> AnswerProcess
_spare = {}         # grade_id -> AnswerProcess started ahead of its answer


def start(course=None, sandboxed=True, budget=50.0, exercises=(), hidden_feedback="diagnosis"):
    """Settings for this notebook; the answers' processes start now, while the lesson runs."""
    settings.update(course=course, sandbox=sandboxed, budget=float(budget), order=list(exercises),
                    hidden_feedback=hidden_feedback)
    if exercises:
        _spare[exercises[0]] = AnswerProcess(exercises[0])


def answer(exercise, source, context, references):
    """Run one exercise's answer in a fresh process, after the lesson cells it needs."""
    old = _exercises.pop(exercise, None)
    if old is not None:
        old.close()
    process = _exercises[exercise] = _spare.pop(exercise, None) or AnswerProcess(exercise)
    process.deadline = time.monotonic() + STARTUP  # starting up and the lesson's cells: not the student's time
    order = settings.get("order", [])
    if exercise in order and order.index(exercise) + 1 < len(order):  # the next one starts meanwhile
        following = order[order.index(exercise) + 1]
        _spare.setdefault(following, AnswerProcess(following))
    for cell in context:  # the lesson's own cells: no student code has run yet
        try:
            process.request("run", quiet=True, source=cell)
        except StudentCodeError as err:
            raise AnswerError(f"The grader could not prepare this exercise (a lesson cell failed): {err}") from None
    missing = process.request("arm", references=references)
    if missing:
        raise AnswerError(f"The grader's list of references for {exercise} names {', '.join(missing)}, "
                          "which does not exist: tell your instructor.")
    process.printed = 0
    process.deadline = time.monotonic() + settings["budget"]
    process.request("run", source=source, answer=True)


def not_attempted(exercise):
    """A test cell of an exercise whose answer cell is still the release's stub."""
    raise NotAttempted(f"Not attempted yet: the answer cell of {exercise!r} is still the blank stub (it raises "
                       "NotImplementedError), so its tests score zero.")


def enter(exercise, names):
    """Start a test cell of `exercise`: a fresh time budget, and the answer's names bound here."""
    process = _exercises.get(exercise)
    if process is None:
        raise AnswerStopped("The answer to this exercise could not be run.")
    if process.reference:
        raise ReferenceUsed(process._reference_message())
    if process.stopped:
        raise AnswerStopped(process.stopped)
    process.deadline = time.monotonic() + settings["budget"]
    process.printed = 0
    namespace = get_ipython().user_ns
    for name in names:
        namespace.pop(name, None)
    values = process.request("names", names=list(names))
    namespace.update(values if isinstance(values, dict) else {})


def hidden(source):
    """Run a test cell's hidden tests: nothing they print is shown, and a failure says what went
    wrong (the likely mistake) without the case's name or inputs."""
    namespace = get_ipython().user_ns
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, "<hidden tests>", "exec"), namespace)
    except AnswerError as err:  # about the student's code, not the test's inputs
        raise type(err)(str(err)) from None
    except BaseException as err:
        message = "A hidden test failed: your answer passes the visible tests but not every other input."
        diagnosis = str(err).split("Likely mistake:", 1)
        if settings.get("hidden_feedback") == "diagnosis" and len(diagnosis) == 2:
            message += " Likely mistake:" + diagnosis[1].split("\n")[0]
        else:
            message += " Check it against what the exercise asks for any input (other sizes, values, edge cases)."
        raise HiddenTestFailed(message) from None


def report():
    """What happened to each exercise, for the judge: shown as one JSON output, then closed."""
    summary = {ex: {"reference": p.reference, "refused": p.refused, "stopped": p.stopped}
               for ex, p in _exercises.items()}
    for process in [*_exercises.values(), *_spare.values()]:
        if not process.stopped:
            process.stopped = "closed"
            process.close()
    from IPython.display import display
    display({"application/vnd.scalars-to-gpt.grading+json": json.dumps(summary)}, raw=True)
