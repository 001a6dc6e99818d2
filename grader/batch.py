"""Grade a lesson's submissions in parallel: one nbgrader process per student.

For each student the batch
1. reads submitted/<student>/<lesson>/ and rebuilds the notebook from the release (`normalise`),
   writing it to grading/input/<student>/<lesson>/, which nbgrader then grades;
2. scans the answers (`scan`) outside any kernel;
3. runs `nbgrader autograde <lesson> --student <student>` (sandboxed kernels, see `sandbox`);
   workers run side by side, one per core by default;
4. reads the executed notebook for timeouts, dead kernels and truncated output, applies the
   penalties the scan found (the exercise's test cells score zero, the answer cell gets a
   one-sentence comment that the feedback shows), and stores the findings for the report.

nbgrader's gradebook is one sqlite file. Each nbgrader process writes only its own student's
rows, sqlite serialises the writes (the course's db_url waits up to 60 s for a lock instead of
failing), and a student whose process still hits a lock is graded again. Every student is
graded from the same inputs by a fresh kernel, so the scores do not depend on the number of
workers or on the order.
"""
import json
import os
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from . import sandbox
from .normalise import Finding, grade_id, normalise, read_submission
from .scan import LessonRules

GRADING = "grading"  # the grader's folder in the course: inputs, findings, report


def notebook_name(lesson):
    return lesson.split("-", 1)[1]


def grading_dir(course):
    return Path(course) / GRADING


def prepare(course, lesson, student, rules, release):
    """Write the normalised notebook for one student; return its findings."""
    course = Path(course)
    folder = course / "submitted" / student / lesson
    name = notebook_name(lesson)
    path = folder / f"{name}.ipynb"
    findings = []
    if not path.exists():
        others = sorted(folder.glob("*.ipynb"))
        if len(others) == 1:
            path = others[0]
            findings.append(Finding("renamed notebook", "", f"the notebook was submitted as {path.name}: it was graded."))
    if path.exists():
        submitted, problem = read_submission(path)
    else:
        submitted, problem = None, f"no {name}.ipynb was submitted"
    if submitted is None:
        findings.append(Finding("unreadable notebook", "", f"{problem}: it was graded as a blank notebook."))
        submitted = release
    graded, answers, structural = normalise(submitted, release)
    findings += structural
    for exercise, answer in answers.items():
        findings += rules.scan(exercise, answer)
    target = grading_dir(course) / "input" / student / lesson
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    nbformat.write(graded, target / f"{name}.ipynb")
    if (folder / "timestamp.txt").exists():
        shutil.copy(folder / "timestamp.txt", target / "timestamp.txt")
    return findings


def run_nbgrader(course, lesson, student, timeout, env, attempts=3):
    """nbgrader autograde for one student; (ok, log tail). Retries when sqlite stays locked."""
    args = [str(Path(sys.executable).parent / "nbgrader"), "autograde", lesson, "--student", student, "--force",
            f"--CourseDirectory.submitted_directory={GRADING}/input"]
    if timeout:
        args.append(f"--Execute.timeout={timeout}")
    log = ""
    for _ in range(attempts):
        result = subprocess.run(args, cwd=course, env=env, capture_output=True, text=True)
        log = (result.stdout + result.stderr)[-4000:]
        if result.returncode == 0 and "database is locked" not in log:
            return True, log
        if "database is locked" not in log:
            break
    return False, log


def executed_findings(notebook, tests_of):
    """Timeouts, dead kernels and truncated output, read from the executed notebook."""
    exercise_of = {t["metadata"]["nbgrader"]["grade_id"]: ex for ex, cells in tests_of.items() for t in cells}
    findings, current = [], ""
    for cell in notebook.cells:
        gid = grade_id(cell) or ""
        where = f"cell {gid!r}" if gid else f"a cell after {current!r}" if current else "a cell"
        current = gid or current
        for out in cell.get("outputs", []):
            if out.get("ename") == sandbox.TIMEOUT_ENAME:
                findings.append(Finding("timeout", gid, f"{where} ran past the time limit and was stopped."))
            elif out.get("ename") == sandbox.KERNEL_DIED:
                findings.append(Finding("kernel died", gid, f"the kernel died in {where} (an exit, or the memory or "
                                                            "CPU-time limit): the notebook went on without it."))
            elif out.get("output_type") == "stream" and "output truncated by the grader" in out.get("text", ""):
                findings.append(Finding("output truncated", gid, f"{where} printed too much: its output was cut."))
    return findings


def apply_penalties(course, lesson, student, findings, tests_of):
    """Zero the test cells of every exercise a finding forfeits; comment on its answer cell."""
    from nbgrader.api import Gradebook, MissingEntry

    penalised = {}
    for f in findings:
        if f.penalty:
            penalised.setdefault(f.penalty, f.message)
    if not penalised:
        return
    with Gradebook(db_url(course)) as gb:
        notebook = gb.find_submission_notebook(notebook_name(lesson), lesson, student)
        for grade in notebook.grades:
            if any(grade.cell.name == t["metadata"]["nbgrader"]["grade_id"]
                   for ex in penalised for t in tests_of.get(ex, [])):
                grade.auto_score = 0
        for exercise, message in penalised.items():
            try:
                comment = gb.find_comment(exercise, notebook_name(lesson), lesson, student)
                comment.auto_comment = message[0].upper() + message[1:]
            except MissingEntry:
                pass
        gb.db.commit()


def db_url(course):
    return f"sqlite:///{Path(course).resolve() / 'gradebook.db'}?timeout=60"


def students_of(course, lesson):
    return sorted(p.parent.name for p in (Path(course) / "submitted").glob(f"*/{lesson}") if p.is_dir())


def grade(course, lesson, *, students=None, workers=None, timeout=None, use_sandbox=True, progress=True):
    """Grade `lesson` for `students` (default: every submission); return {student: [Finding]}."""
    course = Path(course).resolve()
    if use_sandbox:
        sandbox.require()
    name = notebook_name(lesson)
    release = nbformat.read(course / "book" / lesson / f"{name}.ipynb", as_version=4)
    source = nbformat.read(course / "solutions" / lesson / f"{name}.ipynb", as_version=4)
    rules = LessonRules(release, source)
    students = students if students is not None else students_of(course, lesson)
    workers = workers or os.cpu_count() or 1
    env = dict(os.environ, GRADER_SANDBOX="on" if use_sandbox else "off", COURSE_PROFILE="fast",
               OMP_NUM_THREADS="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    findings = {s: prepare(course, lesson, s, rules, release) for s in students}
    lock = threading.Lock()
    out_dir = grading_dir(course) / "findings" / lesson
    out_dir.mkdir(parents=True, exist_ok=True)

    def one(student):
        ok, log = run_nbgrader(course, lesson, student, timeout, env)
        executed = course / "autograded" / student / lesson / f"{name}.ipynb"
        found = list(findings[student])
        if not ok or not executed.exists():
            found.append(Finding("grading failed", "", "nbgrader could not grade this notebook: see the log in the report."))
        else:
            found += executed_findings(nbformat.read(executed, as_version=4), rules.tests_of)
        with lock:  # one writer at a time from this process
            if ok:
                apply_penalties(course, lesson, student, found, rules.tests_of)
            record = {"student": student, "lesson": lesson, "sandbox": use_sandbox, "graded": ok,
                      "findings": [asdict(f) for f in found], "log": "" if ok else log}
            (out_dir / f"{student}.json").write_text(json.dumps(record, indent=1))
        return student, found

    results = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        jobs = [pool.submit(one, s) for s in students]
        bar = tqdm(as_completed(jobs), total=len(jobs), desc=f"grading {lesson}", unit="student", disable=not progress)
        for job in bar:
            student, found = job.result()
            results[student] = found
    return results
