"""Place the files of a zip of submissions, as downloaded from an LMS, into submitted/.

LMSs name each file after the student, e.g. Canvas `ada_12345_67890_micrograd.ipynb` or a
folder per student (`ada/micrograd.ipynb`, Moodle's `Ada Lovelace_123_assignsubmission_file_/
micrograd.ipynb`). `PATTERN` (a regular expression with the groups `student` and `file`)
says how; a file it cannot place (no match, not a notebook of this lesson, two files for one
student) is named in the error with the reason, and nothing is placed unless `skip` is set.
Each placed notebook gets a timestamp.txt from the zip entry's date, as nbgrader expects.
"""
import re
import zipfile
from datetime import datetime
from pathlib import Path

# "<student>/<file>" (a folder per student) or "<student>_<anything>_<file>" (one flat folder).
PATTERN = r"^(?:.*/)?(?:(?P<student>[^/_]+)[^/]*/(?P<file>[^/]+)|(?P<student2>[^/_]+)_(?:[^/]*_)?(?P<file2>[^/_]+\.ipynb))$"


class IntakeError(ValueError):
    """Some files of the zip could not be placed; the message lists each one and why."""


def _student_id(raw):
    return re.sub(r"[^A-Za-z0-9.-]+", "-", raw.strip()).strip("-").lower()


def plan(zip_path, lesson, pattern=PATTERN):
    """([(zip member, student, notebook file, date)], [(zip member, reason)])."""
    notebook = lesson.split("-", 1)[1] + ".ipynb"
    regex = re.compile(pattern)
    placed, problems, owner = [], [], {}
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            name = info.filename
            if info.is_dir() or "__MACOSX" in name or Path(name).name.startswith("."):
                continue
            match = regex.match(name)
            groups = match.groupdict() if match else {}
            student = groups.get("student") or groups.get("student2")
            filename = groups.get("file") or groups.get("file2")
            if not student or not filename:
                problems.append((name, "the name does not say which student it belongs to (see --pattern)"))
                continue
            if not filename.endswith(".ipynb"):
                problems.append((name, f"not a notebook: the lesson expects {notebook}"))
                continue
            if re.sub(r"(-\d+|\s*\(\d+\))(?=\.ipynb$)", "", filename) != notebook:
                problems.append((name, f"a notebook named {filename}: the lesson expects {notebook}"))
                continue
            student = _student_id(student)
            if student in owner:
                problems.append((name, f"a second notebook for student {student!r} (the first: {owner[student]})"))
                continue
            owner[student] = name
            placed.append((name, student, notebook, datetime(*info.date_time)))
    return placed, problems


def intake(course, zip_path, lesson, pattern=PATTERN, skip=False):
    """Place every notebook of the zip into submitted/<student>/<lesson>/; return the students."""
    placed, problems = plan(zip_path, lesson, pattern)
    if problems and not skip:
        listing = "\n".join(f"  {name}: {reason}" for name, reason in problems)
        raise IntakeError(f"{len(problems)} file(s) in {Path(zip_path).name} could not be placed:\n{listing}\n"
                          "Rename them, pass a --pattern that matches, or --skip-unplaced to take the rest.")
    with zipfile.ZipFile(zip_path) as archive:
        for member, student, notebook, date in placed:
            folder = Path(course) / "submitted" / student / lesson
            folder.mkdir(parents=True, exist_ok=True)
            (folder / notebook).write_bytes(archive.read(member))
            (folder / "timestamp.txt").write_text(date.strftime("%Y-%m-%d %H:%M:%S"))
    return [student for _, student, _, _ in placed], problems
