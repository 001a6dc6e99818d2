"""Getting submissions into submitted/ safely, and the checks before grading them.

A zip downloaded from an LMS goes through nbgrader's own `zip_collect` with the course's
plugins (grader/extract.py: the safe extractor; grader/collect.py: one collector per LMS layout), so
`nbgrader zip_collect <lesson>`, `make intake` and `python -m grader intake` place files alike.

`unsafe_entries` lists what must not reach a grading kernel: anything in a student's folder
that is not a regular file of its own (links, hard links shared with another path, devices,
pipes). `unreleased` lists lessons nbgrader cannot grade yet.
"""
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

PATTERN = None  # the LMS layouts live in grader/collect.py; kept for the command line's option


class IntakeError(ValueError):
    """zip_collect placed nothing, or failed; the message says why."""


def intake(course, zip_path, lesson, pattern=None, skip=False):
    """Copy the zip into downloaded/<lesson>/archive/ and run `nbgrader zip_collect --force`.

    Returns (students with a submission of the lesson, [(report line's subject, its reason)]). `pattern` and `skip` are ignored: the layouts and
    the refusals are the plugins' (the report lists every file left out).
    """
    course = Path(course)
    archive = course / "downloaded" / lesson / "archive"
    archive.mkdir(parents=True, exist_ok=True)
    shutil.copy2(zip_path, archive / Path(zip_path).name)
    result = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "zip_collect", lesson, "--force"],
                            cwd=course, capture_output=True, text=True)
    report_path = course / "downloaded" / lesson / "report.txt"
    lines = report_path.read_text().splitlines() if report_path.exists() else []
    lines = [tuple(line.split(": ", 1)) if ": " in line else (line, "") for line in lines]
    if result.returncode != 0:
        raise IntakeError(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "zip_collect failed")
    students = sorted(p.parent.name for p in (course / "submitted").glob(f"*/{lesson}") if p.is_dir())
    return students, lines


def _reason(mode, nlink):
    if stat.S_ISLNK(mode):
        return "a symbolic link: only the student's own files are graded"
    if stat.S_ISREG(mode):
        if nlink > 1:
            return f"a hard link ({nlink} names for one file): it may be a file outside submitted/"
        return None
    if stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def unsafe_entries(course, lesson, students=None):
    """[(student, path relative to submitted/, reason)] for entries that must not be graded
    (of every student, or of `students`).

    Nothing is followed: a student folder or lesson folder that is itself a link is reported,
    and nothing below it is read.
    """
    submitted = Path(course) / "submitted"
    found = []
    if not submitted.is_dir():
        return found
    for student_dir in sorted(submitted.iterdir()):
        student = student_dir.name
        if students is not None and student not in students:
            continue
        for top in (student_dir, student_dir / lesson):
            try:
                info = os.lstat(top)
            except FileNotFoundError:
                break
            reason = _reason(info.st_mode, info.st_nlink)
            if reason or not stat.S_ISDIR(info.st_mode):
                found.append((student, top.relative_to(submitted).as_posix(), reason or "not a folder"))
                break
        else:
            for root, dirs, files in os.walk(student_dir / lesson):
                for name in sorted(dirs + files):
                    path = Path(root) / name
                    info = os.lstat(path)
                    reason = _reason(info.st_mode, info.st_nlink)
                    if reason:
                        found.append((student, path.relative_to(submitted).as_posix(), reason))
                # os.walk does not descend into linked folders; they were reported above
    return found


def unreleased(course, lessons):
    """The lessons of `lessons` that gradebook.db does not know (nbgrader cannot grade them)."""
    from nbgrader.api import Gradebook

    db = Path(course) / "gradebook.db"
    if not db.exists():
        return list(lessons)
    with Gradebook(f"sqlite:///{db}") as gb:
        known = {a.name for a in gb.assignments}
    return [lesson for lesson in lessons if lesson not in known]
