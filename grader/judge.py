"""The judge: nbgrader's execute step, rebuilt so that no score depends on the student's interpreter.

`Judge` takes the place of nbgrader's `Execute` in `c.Autograde.autograde_preprocessors`, so
`nbgrader autograde` (the command line, the formgrader's button) and `make autograde` grade
alike. For one submission it

1. rebuilds the notebook from the release with only the student's answer cells substituted,
   and the hidden tests restored from the source (grader/normalise.py): edited, deleted,
   duplicated or reordered test cells change nothing, and are recorded;
2. runs the test cells in a *test kernel* that never executes student code, with the lesson
   cells they need (grader/cells.py). Each exercise's answer runs in a fresh, sandboxed
   process of its own (grader/testing.py, grader/answer_process.py) with the exercise's
   references unavailable (grader/references.py, grader/tripwires.py); the tests reach the
   answer's functions and objects through stand-ins that carry plain data only. An answer cell
   still holding the release's stub starts no process: its tests say it is not attempted;
3. writes what the test kernel printed into each test cell and what the answer printed into
   its answer cell. nbgrader's SaveAutoGrades then scores as usual: a test cell with an error
   scores zero. The kernel the student's code ran in never decides a score;
4. records its findings (changed cells, a called reference, refused operations, time limits,
   dead processes, cut output) in grading/findings/<lesson>/<student>.json for the report.
"""
import json
import os
import re
import time
from dataclasses import asdict
from pathlib import Path

import nbformat
from jupyter_core.utils import run_sync
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Enum, Integer, List

from . import cells, intake, references, sandbox, testing
from .normalise import Finding, grade_id, is_answer, normalise, read_submission

SUMMARY = "application/vnd.scalars-to-gpt.grading+json"
REPOSITORY = Path(__file__).resolve().parent.parent
CUT = "output cut by the grader"
REPORT = "__judge__.report()"
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n(.*?)^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.M | re.S)


def is_test(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def is_lesson_cell(cell):
    """An ordinary cell of the lesson: code, and no nbgrader role (not a test helper either)."""
    return cell.cell_type == "code" and not cell.get("metadata", {}).get("nbgrader")


def with_hidden_tests_quiet(source):
    """A test cell whose hidden part runs through `hidden()`: silent, and failing without names."""
    match = HIDDEN.search(source)
    if not match:
        return source
    before, rest = source[:match.start()], source[match.end():]
    return f"{before}\n__judge__.hidden({(match.group(1) + rest)!r})\n"


def rebuild(config, resources):
    """The submission rebuilt from the release with the student's answers and the hidden tests,
    and what was found on the way: (course, lesson, student, notebook, release, source, findings)."""
    info = resources["nbgrader"]
    lesson, name, student = info["assignment"], info["notebook"], info["student"]
    coursedir = CourseDirectory(config=config)
    course = Path(coursedir.root).resolve()
    release = nbformat.read(course / coursedir.release_directory / lesson / f"{name}.ipynb", as_version=4)
    source = nbformat.read(course / coursedir.source_directory / lesson / f"{name}.ipynb", as_version=4)
    path = Path(os.path.abspath(coursedir.format_path(coursedir.submitted_directory, student, lesson))) / f"{name}.ipynb"
    findings = []
    unsafe = intake.unsafe_entries(course, lesson, students=[student]) if path.is_relative_to(course / "submitted") else []
    if unsafe:  # nothing of it is read: a link may lead anywhere
        submitted, problem = None, "; ".join(f"{where} is {why}" for _, where, why in unsafe)
    else:
        submitted, problem = read_submission(path) if path.exists() else (None, f"no {name}.ipynb was submitted")
    if submitted is None:
        findings.append(Finding("unreadable notebook", "", f"{problem}: it was graded as a blank notebook."))
        submitted = release
    graded, _, structural = normalise(submitted, release, source)
    return course, lesson, student, graded, release, source, findings + structural


class Rebuild(NbGraderPreprocessor):
    """nbgrader's first sanitizing step: the notebook nbgrader reads is the rebuilt one, so a
    submission with duplicated, deleted or retyped cells cannot stop nbgrader (the judge
    reports what was changed)."""

    def preprocess(self, nb, resources):
        return rebuild(self.config, resources)[3], resources


class Judge(Execute):
    """nbgrader's Execute, judging each exercise by behaviour (see the module docstring)."""

    margin = Integer(10, help="seconds by which an answer's calls in one test cell stay under the "
                              "cell's timeout, so the judge stops them and says why").tag(config=True)
    trusted_factor = Integer(4, help="time limit multiplier for the lesson's own cells").tag(config=True)
    notebook_budget = Integer(300, help=(
        "seconds one submission may take in all: the cells still to run when it is spent are not "
        "run, and their tests score zero")).tag(config=True)
    hidden_feedback = Enum(["diagnosis", "none"], "diagnosis", help=(
        "what a failing hidden test tells the student: the likely mistake (never the case's name or "
        "inputs), or only that a hidden test failed")).tag(config=True)
    extra_arguments = List(["--HistoryManager.enabled=False"]).tag(config=True)

    def preprocess(self, nb, resources):
        course, lesson, student, graded, release, source, findings = rebuild(self.config, resources)
        plan, placement = self.plan(graded, release, source, lesson, course)
        self.timeout_func = self.cell_timeout
        self._deadline, self._out_of_time = time.monotonic() + self.notebook_budget, 0
        super().preprocess(plan, resources)
        for step, index in placement:
            graded.cells[index].outputs = plan.cells[step].outputs
            graded.cells[index].execution_count = plan.cells[step].get("execution_count")
        findings += self.read_summary(plan.cells[-1], graded)
        if self._out_of_time:
            findings.append(Finding("time budget", "", f"grading stopped after the notebook's {self.notebook_budget} s: "
                                                       f"{self._out_of_time} test cell(s) were not run and score zero."))
        self.forfeit(graded, findings)
        self.save_findings(course, lesson, student, findings)
        return graded, resources

    def cell_timeout(self, cell):
        """The cell timeout limits the student's code: an answer's cell also starts its process
        and runs the lesson cells it needs, and the lesson's own cells get `trusted_factor` times
        more, so a busy machine does not fail a notebook at its import cell. No cell outlasts
        the notebook's budget."""
        limit = self.timeout or 60
        if cell.source == REPORT:  # closes the answers' processes: never cut short
            return limit
        if cell.source.startswith("__judge__.answer("):
            limit += testing.STARTUP
        elif not cell.source.startswith("__judge__.enter("):
            limit *= self.trusted_factor
        return max(1, min(limit, int(self._deadline - time.monotonic()) + 1))

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        """Cells after the notebook's budget is spent are not run (a test among them gets an
        error that says so); the last cell, which closes the answers' processes, always runs."""
        if time.monotonic() > self._deadline and cell_index < len(self.nb.cells) - 1:
            if cell.source.startswith("__judge__.enter("):
                self._out_of_time += 1
                cell.outputs = [new_output("error", ename="TimeBudget", evalue="", traceback=[
                    f"Not run: grading this notebook took its whole budget ({self.notebook_budget} s) before "
                    "this test; it scores zero. Look for slow code in the answers above."])]
            return cell
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

    execute_cell = run_sync(async_execute_cell)  # nbconvert calls the synchronous name

    # -- what the test kernel runs -----------------------------------------------------------------
    def plan(self, graded, release, source, lesson, course):
        """(the test kernel's notebook, [(its cell, the graded cell that gets its outputs)])."""
        sources = [c.source if c.cell_type == "code" else "" for c in graded.cells]
        trusted = {grade_id(c): c.source for nb in (release, source) for c in nb.cells if is_answer(c)}
        # An answer cell still holding the release's stub is not attempted: its tests score zero
        # and say so, and no process starts for it (a class hands in many half-done notebooks).
        stubs = {grade_id(c): c.source.strip() for c in release.cells if is_answer(c)}
        blank = {grade_id(c) for c in graded.cells if is_answer(c) and c.source.strip() == stubs.get(grade_id(c))}
        solutions = {grade_id(c): c.source for c in source.cells if is_answer(c)}
        exercise_of, current = {}, None
        for i, cell in enumerate(graded.cells):
            if is_answer(cell):
                current = grade_id(cell)
            elif is_test(cell) and current:
                exercise_of[i] = current
        names = {ex: sorted(cells.bound(trusted.get(ex, "")) | cells.bound(solutions.get(ex, "")))
                 for ex in set(exercise_of.values())}
        provided = set().union(*names.values()) if names else set()
        helper = lambda i: graded.cells[i].cell_type == "code" and not is_answer(graded.cells[i]) \
            and not is_test(graded.cells[i])  # noqa: E731
        for_tests = set()
        for i, exercise in exercise_of.items():
            for_tests.update(cells.needed(sources, i, cells.used(sources[i]) - provided, helper))
        exercises = [grade_id(c) for c in graded.cells if is_answer(c) and grade_id(c) not in blank]
        limit = self.timeout or 60
        budget = max(1, limit - min(self.margin, limit // 4))
        steps = [new_code_cell(
            f"import sys\nsys.path.insert(0, {str(REPOSITORY)!r})\nfrom grader import testing as __judge__\n"
            f"__judge__.start(course={str(course)!r}, sandboxed={sandbox.enabled()!r}, budget={budget!r}, "
            f"exercises={exercises!r}, hidden_feedback={self.hidden_feedback!r})")]
        placement = []
        for i, cell in enumerate(graded.cells):
            if i in for_tests:
                steps.append(new_code_cell(sources[i]))
            elif is_answer(cell) and grade_id(cell) in blank:
                continue
            elif i in exercise_of and exercise_of[i] in blank:
                steps.append(new_code_cell(f"__judge__.not_attempted({exercise_of[i]!r})"))
                placement.append((len(steps) - 1, i))
            elif is_answer(cell):
                exercise = grade_id(cell)
                wanted = cells.used(sources[i]) | cells.used(trusted.get(exercise, "")) | \
                    cells.used(solutions.get(exercise, ""))
                context = [sources[j] for j in cells.needed(sources, i, wanted, lambda j: is_lesson_cell(graded.cells[j]))]
                steps.append(new_code_cell(
                    f"__judge__.answer({exercise!r}, {sources[i]!r}, context={context!r}, "
                    f"references={references.of(lesson, exercise)!r})"))
                placement.append((len(steps) - 1, i))
            elif i in exercise_of:
                steps.append(new_code_cell(f"__judge__.enter({exercise_of[i]!r}, {names[exercise_of[i]]!r})\n"
                                           + with_hidden_tests_quiet(sources[i])))
                placement.append((len(steps) - 1, i))
        steps.append(new_code_cell(REPORT))
        return new_notebook(cells=steps, metadata=graded.metadata), placement

    # -- what happened ---------------------------------------------------------------------------------
    def read_summary(self, last, graded):
        summary = None  # {} when no exercise was attempted
        for output in last.get("outputs", []):
            if SUMMARY in output.get("data", {}):
                summary = json.loads(output["data"][SUMMARY])
        findings = []
        for exercise, what in (summary or {}).items():
            if what.get("reference"):
                findings.append(Finding("reference used", exercise,
                                        f"the answer to {exercise!r} called {what['reference']}, the reference its "
                                        "tests compare with: the exercise scores zero.", penalty=exercise))
            for refused in what.get("refused", []):
                findings.append(Finding("refused", exercise, f"the answer to {exercise!r} tried {refused}: "
                                                             "the grader refused it."))
            stopped = what.get("stopped", "")
            if "time limit" in stopped:
                findings.append(Finding("timeout", exercise, f"the answer to {exercise!r} ran past the time "
                                                             "limit and was stopped."))
            elif stopped and stopped != "closed":
                findings.append(Finding("process died", exercise, f"the answer to {exercise!r} ended its "
                                                                  "process (an exit, or the memory or CPU limit)."))
        for cell in graded.cells:
            if any(CUT in o.get("text", "") for o in cell.get("outputs", [])):
                findings.append(Finding("output truncated", grade_id(cell) or "",
                                        f"cell {grade_id(cell)!r} printed too much: its output was cut."))
        if summary is None:
            findings.append(Finding("grading failed", "", "the test kernel stopped before the end of the "
                                                          "notebook: the remaining tests score zero."))
        return findings

    def forfeit(self, graded, findings):
        """Every test of an exercise whose answer called its reference scores zero, the tests
        that ran before the call included: the error says why."""
        why = {f.penalty: f.message for f in findings if f.penalty}
        current = None
        for cell in graded.cells:
            if is_answer(cell):
                current = grade_id(cell)
            elif is_test(cell) and current in why and not any(o.output_type == "error" for o in cell.outputs):
                cell.outputs.append(new_output("error", ename="ReferenceUsed", evalue=why[current],
                                               traceback=[why[current][0].upper() + why[current][1:]]))

    def save_findings(self, course, lesson, student, findings):
        folder = course / "grading" / "findings" / lesson
        folder.mkdir(parents=True, exist_ok=True)
        record = {"student": student, "lesson": lesson, "sandbox": sandbox.enabled(), "graded": True,
                  "findings": [asdict(f) for f in findings], "log": ""}
        tmp = folder / f".{student}.json.tmp"
        tmp.write_text(json.dumps(record, indent=1))
        os.replace(tmp, folder / f"{student}.json")
