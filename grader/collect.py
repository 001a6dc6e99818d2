"""zip_collect for the course: unpack an LMS download safely and tell whose notebook each file is.

Named in nbgrader_config.py:
- `SafeExtractor`    (grader/extract.py) unpacks the LMS download for `nbgrader zip_collect`;
- `MoodleCollector`, `CanvasCollector`, `LmsCollector`
                     tell `zip_collect` whose notebook each extracted file is, from the LMS's
                     own naming only, and keep one upload per student (the latest).

LMS download layouts read here (one archive per download, as the LMS makes it):

Moodle, "Download all submissions" (with or without "download submissions in folders"):
    <Full Name>_<participant id>_assignsubmission_file_/<the student's files, any folders>
    <Full Name>_<participant id>_assignsubmission_file_<the student's file>
Canvas, "Download Submissions":
    <lastnamefirstname>_<user id>_<attachment id>_<the student's file name>
    <lastnamefirstname>_LATE_<user id>_<attachment id>_<the student's file name>
    (Canvas appends -1, -2, ... to a file name the student uploaded again.)

The part before the student's own files is written by the LMS; everything after it is chosen by
the student. So the identity is read from the outermost path component that has an LMS's
shape, and nothing inside it is ever read for identity: a folder named like another student
inside a student's upload stays that student's file. The upload time is the zip member's date,
which both LMSs set when they build the download.
"""
import os
import re
import unicodedata
from datetime import datetime, timezone

from dateutil.tz import gettz
from nbgrader.plugins import FileNameCollectorPlugin
from nbgrader.utils import find_all_notebooks
from traitlets import Enum, Unicode

from .extract import _collect_root, _Report


def _slug(raw):
    """'Ada Lovelace' -> 'ada-lovelace'. Letters and digits only: the id becomes a folder name,
    and some LMSs let students choose their own display names ('..' must not be one)."""
    plain = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()  # José -> Jose
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


class _Layout:
    """One LMS's naming: which path component names the student, and what follows it."""

    def __init__(self, name, folder=None, file=None):
        self.name, self.folder, self.file = name, folder, file

    def match(self, parts, i):
        """(identity groups, the student's path) when parts[i] is this LMS's own component."""
        last = i == len(parts) - 1
        if not last and self.folder:
            m = self.folder.match(parts[i])
            if m:
                return m.groupdict(), "/".join(parts[i + 1:])
        if last and self.file:
            m = self.file.match(parts[i])
            if m:
                groups = m.groupdict()
                return groups, groups.pop("file")
        return None


MOODLE = _Layout(
    "Moodle",
    folder=re.compile(r"^(?P<name>.+?)_(?P<number>\d+)_assignsubmission_file_$"),
    file=re.compile(r"^(?P<name>.+?)_(?P<number>\d+)_assignsubmission_file_(?P<file>.+)$"),
)
CANVAS = _Layout(
    "Canvas",
    file=re.compile(r"^(?P<name>[A-Za-z0-9]+?)(?:_(?P<late>late))?_(?P<number>\d+)_(?P<seq>\d+)_(?P<file>.+)$",
                    re.IGNORECASE),
)


class LmsCollector(FileNameCollectorPlugin):
    """Whose notebook each extracted file is, for every layout in `layouts`.

    The whole extraction is read once (the first time nbgrader asks): each file gets its
    student from the outermost LMS-named path component; a student with several uploads of the
    lesson's notebook keeps the latest (zip date, then the LMS's upload number) and the report
    names the others; two different LMS accounts that would get one student id are both held
    back and reported. Files that are not the lesson's notebook are reported and left out.
    """

    layouts = [MOODLE, CANVAS]
    student_id_from = Enum(["name", "number"], default_value="name", help=(
        "Student id from the LMS's name ('Ada Lovelace' -> ada-lovelace) or its number (Moodle's "
        "participant id, Canvas's user id). Roster ids (make roster) must use the same.")).tag(config=True)
    named_regexp = Unicode("(layouts: see grader/collect.py)")

    _plan = None

    @classmethod
    def layout_names(cls):
        return " or ".join(layout.name for layout in cls.layouts)

    def identify(self, relpath):
        """(layout, groups, the student's own path) of a path inside the download, or None."""
        parts = [p for p in relpath.replace("\\", "/").split("/") if p]
        for i in range(len(parts)):
            for layout in self.layouts:
                found = layout.match(parts, i)
                if found:
                    return (layout,) + found
        return None

    def plan(self):
        """{extracted file: nbgrader's collect record} for the files to place."""
        if self._plan is not None:
            return self._plan
        app = self.parent
        report = _Report(self)
        extracted = _collect_root(app, app.extracted_directory)
        lesson = app.coursedir.assignment_id
        released = set(find_all_notebooks(app.coursedir.format_path(app.coursedir.release_directory, ".", lesson)))
        zone = gettz(getattr(app.extractor_plugin_inst, "zip_timezone", "UTC"))
        candidates = {}
        for path in sorted(p for p in extracted.rglob("*") if p.is_file() and not p.is_symlink()):
            rel = path.relative_to(extracted).as_posix()
            inner = rel.split("/", 1)[1] if "/" in rel else rel  # the first folder is the archive's name
            found = self.identify(inner)
            if found is None:
                report(f"not placed {rel}: not named the way {self.layout_names()} names a submission")
                continue
            layout, groups, own = found
            notebook = re.sub(r"(-\d+| ?\(\d+\))(?=\.ipynb$)", "", own)
            if notebook not in released:
                report(f"not placed {rel}: {own!r} is not a notebook of {lesson} ({', '.join(sorted(released))})")
                continue
            key = (layout.name, groups["number"])
            name = (self.student_id_from == "name" and _slug(groups["name"])) or groups["number"]
            when = datetime.fromtimestamp(path.stat().st_mtime, zone)
            candidates.setdefault(key, []).append(dict(
                path=str(path), rel=rel, notebook=notebook, student=name, when=when,
                seq=int(groups.get("seq") or 0), late=bool(groups.get("late"))))
        by_student = {}
        for key, uploads in candidates.items():
            by_student.setdefault(uploads[0]["student"], []).append(key)
        plan = {}
        for student, keys in sorted(by_student.items()):
            if len(keys) > 1:
                accounts = ", ".join(f"{layout} #{number}" for layout, number in sorted(keys))
                report(f"not placed {student}: {len(keys)} LMS accounts ({accounts}) share this student id; "
                       "set LmsCollector.student_id_from = 'number' or rename in the LMS")
                continue
            uploads = candidates[keys[0]]
            for notebook in sorted({u["notebook"] for u in uploads}):
                same = sorted((u for u in uploads if u["notebook"] == notebook), key=lambda u: (u["when"], u["seq"]))
                chosen = same[-1]
                if len(same) > 1:
                    older = "; ".join(f"{u['rel']} ({u['when']:%Y-%m-%d %H:%M:%S %Z})" for u in same[:-1])
                    report(f"{student}: {len(same)} uploads of {notebook}; kept the latest, {chosen['rel']} "
                           f"({chosen['when']:%Y-%m-%d %H:%M:%S %Z}); left out {older}")
                plan[os.path.normpath(chosen["path"])] = {
                    "student_id": student, "file_id": notebook,
                    "timestamp": chosen["when"].astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
                }
        self._plan = plan
        return plan

    def collect(self, submitted_file):
        # nbgrader joins the paths it walks as strings: compare them normalised
        return self.plan().get(os.path.normpath(submitted_file))


class MoodleCollector(LmsCollector):
    """Moodle's "Download all submissions" layout only."""

    layouts = [MOODLE]


class CanvasCollector(LmsCollector):
    """Canvas's "Download Submissions" layout only."""

    layouts = [CANVAS]
