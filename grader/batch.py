"""Grade a lesson's submissions in parallel: one `nbgrader autograde` per worker, each for its share.

The grading itself happens inside nbgrader, in the course's judge (grader/judge.py), so that
`nbgrader autograde` from the course root, the formgrader's button and `make autograde` give the
same scores. The batch only does what nbgrader does not:
1. places each submission for nbgrader: a notebook submitted under another name is renamed, a
   file that is no notebook is replaced by the blank release (so nbgrader grades it as blank
   instead of stopping), and the inputs land in grading/input/<student>/<lesson>/;
2. splits the class among the workers (one per core by default) and runs one nbgrader for each
   share, side by side, with a progress bar: nbgrader starts once per worker, not once per
   student; a student it could not grade in its share is graded again alone;
3. adds to the judge's findings what only the batch sees (a renamed or unreadable file, an
   nbgrader run that failed) in grading/findings/<lesson>/<student>.json.

nbgrader's gradebook is one sqlite file. Each nbgrader process writes only its own students'
rows, sqlite serialises the writes (the course's db_url waits up to 60 s for a lock instead of
failing), and a student whose process still hits a lock is graded again. Every student is
graded from the same inputs by fresh processes, so the scores do not depend on the number of
workers or on the order.
"""
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from . import intake, sandbox
from .normalise import Finding, read_submission

GRADING = "grading"  # the grader's folder in the course: inputs, findings, report


def notebook_name(lesson):
    return lesson.split("-", 1)[1]


def grading_dir(course):
    return Path(course) / GRADING


def prepare(course, lesson, student, release):
    """Place one student's notebook for nbgrader; return what only the batch can see."""
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
    unsafe = intake.unsafe_entries(course, lesson, students=[student])
    if unsafe:  # nothing of it is read: a link may lead anywhere
        findings += [Finding("unsafe file", "", f"{where} is {why}") for _, where, why in unsafe]
        submitted, problem = None, "the submission holds files that are not the student's own"
    else:
        submitted, problem = read_submission(path) if path.exists() else (None, f"no {name}.ipynb was submitted")
    if submitted is None:
        findings.append(Finding("unreadable notebook", "", f"{problem}: it was graded as a blank notebook."))
        submitted = release
    target = grading_dir(course) / "input" / student / lesson
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    nbformat.write(submitted, target / f"{name}.ipynb")
    if (folder / "timestamp.txt").exists():
        shutil.copy(folder / "timestamp.txt", target / "timestamp.txt")
    return findings


def run_nbgrader(course, lesson, students, timeout, env, attempts=3):
    """One `nbgrader autograde` for `students` (the others in grading/input excluded): nbgrader
    starts once for all of them. (ok, log tail); the run is retried when sqlite stays locked."""
    placed = {p.parent.name for p in (grading_dir(course) / "input").glob(f"*/{lesson}")}
    args = [str(Path(sys.executable).parent / "nbgrader"), "autograde", lesson, "--force",
            f"--CourseDirectory.submitted_directory={GRADING}/input"]
    others = sorted(placed - set(students))
    if len(students) == 1:
        args += ["--student", students[0]]
    elif others:
        args.append(f"--CourseDirectory.student_id_exclude={','.join(others)}")
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


def db_url(course):
    return f"sqlite:///{Path(course).resolve() / 'gradebook.db'}?timeout=60"


def students_of(course, lesson):
    return sorted(p.parent.name for p in (Path(course) / "submitted").glob(f"*/{lesson}") if p.is_dir())


def grade(course, lesson, *, students=None, workers=None, timeout=None, use_sandbox=True, progress=True,
          scheduler=None):
    """Grade `lesson` for `students` (default: every submission); return {student: [Finding]}.

    `workers` shares of the class are graded at once: by threads of this process (default: one
    per core), or with `scheduler` (a Dask scheduler's address) by the cluster's workers
    (default: one share per worker thread; grader/cluster.py)."""
    course = Path(course).resolve()
    if use_sandbox:
        sandbox.require()
    release = nbformat.read(course / "book" / lesson / f"{notebook_name(lesson)}.ipynb", as_version=4)
    students = students if students is not None else students_of(course, lesson)
    env = dict(os.environ, GRADER_SANDBOX="on" if use_sandbox else "off", COURSE_PROFILE="fast",
               OMP_NUM_THREADS="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    placed = {s: prepare(course, lesson, s, release) for s in students}
    out_dir = grading_dir(course) / "findings" / lesson
    out_dir.mkdir(parents=True, exist_ok=True)

    def record(student, ok, log):
        record_path = out_dir / f"{student}.json"
        ok = ok and record_path.exists()  # the judge writes it as it finishes the student
        record = json.loads(record_path.read_text()) if ok else {
            "student": student, "lesson": lesson, "sandbox": use_sandbox, "graded": False, "findings": [], "log": log}
        found = [Finding(**f) for f in record["findings"]]
        if not ok:
            found.append(Finding("grading failed", "", "nbgrader could not grade this notebook: see the log in the report."))
        found = placed[student] + found
        record.update(findings=[asdict(f) for f in found], graded=ok)
        record_path.write_text(json.dumps(record, indent=1))
        return found

    for student in students:
        (out_dir / f"{student}.json").unlink(missing_ok=True)
    if scheduler:
        from . import cluster  # Dask is needed only to grade on a cluster
        pool, slots = cluster.executor(scheduler)
        workers = workers or slots
    else:
        workers = workers or os.cpu_count() or 1
        pool = ThreadPoolExecutor(max_workers=workers)
    groups = [g for g in (students[i::workers] for i in range(workers)) if g]
    results = {}
    bar = tqdm(total=len(students), desc=f"grading {lesson}", unit="student", disable=not progress)
    with pool:
        jobs = [pool.submit(grade_share, course, lesson, g, timeout, env) for g in groups]
        while any(not j.done() for j in jobs):  # the judge writes a student's findings when it is done
            bar.n = sum((out_dir / f"{s}.json").exists() for s in students)
            bar.refresh()
            time.sleep(0.5)
        for job in as_completed(jobs):
            results.update({student: record(student, ok, log) for student, (ok, log) in job.result().items()})
    bar.n = len(students)
    bar.close()
    return results


def grade_share(course, lesson, group, timeout, env):
    """A worker's share of the class in one nbgrader run; anyone it could not grade, alone.
    {student: (graded, log tail)}. Runs in a thread of the batch, or on a cluster's worker."""
    ok, log = run_nbgrader(course, lesson, group, timeout, env)
    out_dir = grading_dir(course) / "findings" / lesson
    done = {}
    for student in group:
        if (out_dir / f"{student}.json").exists():
            done[student] = (True, log)
        else:
            done[student] = run_nbgrader(course, lesson, [student], timeout, env)
    return done
