"""nbgrader plugin classes for this course, named in nbgrader_config.py.

- `SafeExtractor`    unpacks the LMS download for `nbgrader zip_collect`, refusing members that
                     could write outside the extraction folder or exhaust the disk;
- `MoodleCollector`, `CanvasCollector`, `LmsCollector`
                     tell `zip_collect` whose notebook each extracted file is, from the LMS's
                     own naming only, and keep one upload per student (the latest);
- `CourseGradesExport`  the course's grades.csv for `nbgrader export` (and `make grades`);
- `CourseLatePenalty`   the late-submission policy `nbgrader autograde` applies.

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
import csv
import os
import re
import shutil
import stat
import unicodedata
import zipfile
import zlib
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from dateutil.tz import gettz
from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin, ExtractorPlugin, FileNameCollectorPlugin, LateSubmissionPlugin
from nbgrader.utils import find_all_notebooks
from traitlets import Enum, Float, Int, List, Unicode

REPORT_NAME = "report.txt"


def _collect_root(app, step):
    """The folder of one zip_collect step (`archive` or `extracted`) of the app's lesson."""
    return Path(app._format_collect_path(step))


class _Report:
    """Lines an instructor must read after an intake: logged, and kept beside the download."""

    def __init__(self, plugin):
        self.plugin = plugin
        app = plugin.parent
        self.path = Path(app._format_collect_path("")) / REPORT_NAME if app else None

    def __call__(self, line):
        self.plugin.log.warning(line)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as f:
                f.write(line + "\n")


def zip_member_problem(info, seen):
    """Why a zip member must not be extracted, or None."""
    name = info.filename
    if "\x00" in name:
        return "its name contains a NUL byte"
    unix = name.replace("\\", "/")
    if unix.startswith("/") or re.match(r"^[A-Za-z]:", unix):
        return "an absolute path"
    if ".." in PurePosixPath(unix).parts:
        return "a path with '..' (it would land outside the extraction folder)"
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        return "a symbolic link"
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        return "not a regular file (device, pipe or socket)"
    if info.flag_bits & 0x1:
        return "encrypted"
    if unix.rstrip("/") in seen:
        return "a second member with the same name"
    return None


class SafeExtractor(ExtractorPlugin):
    """Unpack every zip in downloaded/<lesson>/archive/ into extracted/<zip name>/.

    nbgrader's own extractor unpacks whatever the archive says, nested archives included. Here
    a member is refused, and named in the report, when its path is absolute or climbs out with
    '..', when it is a link or a special file, when it is encrypted, or when it would unpack
    beyond the size limits (a zip bomb). Archives inside a student's upload are not opened. Each
    file keeps its member's date as its modification time: that is the upload time the
    collector compares.
    """

    max_file_bytes = Int(200 * 2**20, help="Largest file a member may unpack to.").tag(config=True)
    max_total_bytes = Int(4 * 2**30, help="Most bytes one archive may unpack to.").tag(config=True)
    max_members = Int(20000, help="Most members one archive may have.").tag(config=True)
    max_ratio = Float(200.0, help="Largest unpacked/packed size ratio of a member above ratio_floor_bytes.").tag(config=True)
    ratio_floor_bytes = Int(2**20, help="Members smaller than this are not held to max_ratio.").tag(config=True)
    zip_timezone = Unicode("UTC", help="Time zone of the dates the LMS writes into its zip.").tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        app = self.parent
        if app is not None and hasattr(app, "_format_collect_path"):
            archive = _collect_root(app, app.archive_directory)
            (archive.parent / REPORT_NAME).unlink(missing_ok=True)
            if not archive.is_dir() or not any(archive.iterdir()):
                app.fail(f"Nothing to collect: put the zip downloaded from the LMS in {archive}/ "
                         f"(`make intake ZIP=<file> LESSON={app.coursedir.assignment_id}` does it).")

    def extract(self, archive_path, extracted_path):
        report = _Report(self)
        archive_path, extracted_path = Path(archive_path), Path(extracted_path)
        for item in sorted(archive_path.iterdir()):
            if item.is_symlink() or not item.is_file():
                report(f"refused {item.name}: not a regular file")
            elif zipfile.is_zipfile(item):
                self._extract_zip(item, extracted_path / item.stem, report)
            elif item.suffix == ".ipynb":
                shutil.copy2(item, extracted_path / item.name)
            else:
                report(f"refused {item.name}: not a zip archive (download the LMS's zip and put it here)")
        collector = getattr(self.parent, "collector_plugin_inst", None)
        if isinstance(collector, LmsCollector) and not collector.plan():
            self.parent.fail(f"Nothing collected from {archive_path}: no file is named the way "
                             f"{collector.layout_names()} name submissions of {self.parent.coursedir.assignment_id} "
                             f"(see {report.path}, and book/instructor-guide.md for the layouts).")

    def _extract_zip(self, archive, dest, report):
        zone = gettz(self.zip_timezone)
        total = 0
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > self.max_members:
                report(f"refused {archive.name}: {len(members)} members (limit {self.max_members})")
                return
            seen = set()
            for info in members:
                where = f"{archive.name}:{info.filename}"
                problem = zip_member_problem(info, seen)
                if problem is None and not info.is_dir():
                    if info.file_size > self.max_file_bytes:
                        problem = f"unpacks to {info.file_size} bytes (limit {self.max_file_bytes})"
                    elif (info.file_size > self.ratio_floor_bytes
                          and info.file_size > self.max_ratio * max(info.compress_size, 1)):
                        problem = (f"compressed {info.file_size / max(info.compress_size, 1):.0f} to 1 "
                                   f"(limit {self.max_ratio:.0f}): a zip bomb")
                    elif total + info.file_size > self.max_total_bytes:
                        report(f"refused the rest of {archive.name} from {info.filename}: the archive unpacks "
                               f"to more than {self.max_total_bytes} bytes")
                        return
                if problem:
                    report(f"refused {where}: {problem}")
                    continue
                name = info.filename.replace("\\", "/").rstrip("/")
                seen.add(name)
                if info.is_dir() or not name:
                    continue
                target = dest.joinpath(*PurePosixPath(name).parts)
                # The checks above already keep the path inside; resolving it guards against a
                # folder of an earlier member that turned out to be something else.
                if not str(target.resolve()).startswith(str(dest.resolve()) + os.sep):
                    report(f"refused {where}: it resolves outside the extraction folder")
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    written = self._copy_limited(zf, info, target)
                except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as err:
                    # zipfile stops at the declared size and checks the CRC, so a member whose
                    # header lies about its size ends here too
                    report(f"refused {where}: damaged or unreadable ({err})")
                    target.unlink(missing_ok=True)
                    continue
                if written is None:
                    report(f"refused {where}: unpacks to more than it declares")
                    target.unlink(missing_ok=True)
                    continue
                total += written
                when = datetime(*info.date_time, tzinfo=zone).timestamp()
                os.utime(target, (when, when))

    def _copy_limited(self, zf, info, target):
        """Unpack one member; None if it yields more bytes than the header declares."""
        written = 0
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(2**20):
                written += len(chunk)
                if written > info.file_size or written > self.max_file_bytes:
                    return None
                out.write(chunk)
        return written


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
    named_regexp = Unicode("(layouts: see grader/plugins.py)")

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


class CourseLatePenalty(LateSubmissionPlugin):
    """A share of the notebook's score per started day late, after a grace period.

    nbgrader's AssignLatePenalties calls this during autograde with the seconds between the
    lesson's due date and the submission's timestamp; the penalty is stored in the gradebook and
    subtracted in every export.
    """

    grace_minutes = Float(15.0, help="Minutes after the due date that cost nothing.").tag(config=True)
    per_day = Float(0.1, help="Share of the score lost per started day late.").tag(config=True)
    zero_after_days = Float(7.0, help="Days late after which the notebook scores zero.").tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        late = total_seconds_late - 60 * self.grace_minutes
        if late <= 0:
            return 0.0
        days = -(-late // 86400)  # a started day counts
        if days > self.zero_after_days:
            return score
        return round(min(score, score * self.per_day * days), 6)


def released_lessons(gradebook, exchange_outbound=None):
    """Lessons that count towards the maximum: released to the exchange, or with a submission.

    Every lesson is in the gradebook once its student edition is generated, so the gradebook
    alone would put the whole course's maximum on a student halfway through it.
    """
    released = set()
    for assignment in gradebook.assignments:
        if assignment.submissions or (exchange_outbound and (Path(exchange_outbound) / assignment.name).is_dir()):
            released.add(assignment.name)
    return sorted(released)


def grades_rows(gradebook, lessons, students=None):
    """(columns, rows) of the course's grades table."""
    cells = {}
    for lesson in lessons:
        assignment = gradebook.find_assignment(lesson)
        cells[lesson] = [(nb.name, c.name) for nb in assignment.notebooks for c in nb.grade_cells]
    columns = ["student_id", "last_name", "first_name", "email"]
    for lesson in lessons:
        columns += [f"{lesson}/{cell}" for _, cell in cells[lesson]] + [f"{lesson}/late_penalty", f"{lesson}/total"]
    columns += ["total", "max_score"]
    maximum = sum(gradebook.find_assignment(lesson).max_score for lesson in lessons)
    rows = []
    for student in sorted(gradebook.students, key=lambda s: s.id):
        if students and student.id not in students:
            continue
        row = {"student_id": student.id, "last_name": student.last_name or "",
               "first_name": student.first_name or "", "email": student.email or ""}
        total = 0.0
        for lesson in lessons:
            try:
                submission = gradebook.find_submission(lesson, student.id)
            except MissingEntry:
                row[f"{lesson}/total"] = 0
                continue
            scores = {(nb.name, g.cell.name): g.score for nb in submission.notebooks for g in nb.grades}
            for notebook, cell in cells[lesson]:
                row[f"{lesson}/{cell}"] = _number(scores.get((notebook, cell), 0))
            penalty = submission.late_submission_penalty or 0
            row[f"{lesson}/late_penalty"] = _number(penalty)
            lesson_total = max(0.0, submission.score - penalty)
            row[f"{lesson}/total"] = _number(lesson_total)
            total += lesson_total
        row["total"] = _number(total)
        row["max_score"] = _number(maximum)
        rows.append(row)
    return columns, rows


def _number(x):
    x = float(x or 0)
    return int(x) if x == int(x) else round(x, 6)


def write_grades_csv(gradebook, target, lessons=None, students=None, exchange_outbound=None):
    """Write grades.csv; the one writer behind `nbgrader export` and `make grades`."""
    if not lessons:
        lessons = released_lessons(gradebook, exchange_outbound)
    columns, rows = grades_rows(gradebook, lessons, students)
    target = Path(target)
    with open(target, "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)
    return target


def exchange_outbound(config, course_id):
    """The exchange's outbound folder for the course, from a loaded nbgrader config."""
    root = config.Exchange.get("root") if "Exchange" in config else None
    return Path(root) / course_id / "outbound" if root else None


class CourseGradesExport(ExportPlugin):
    """grades.csv as the course lays it out: one row per student in the gradebook (the roster
    and everyone who submitted), a column per graded cell `<lesson>/<cell>`, the late penalty
    and total per lesson, the overall total and the maximum of the lessons released so far.

    `--assignment` picks the lessons (default: released ones), `--student` the rows, `--to` the
    file (default: grades.csv in the course directory).
    """

    def export(self, gradebook):
        coursedir = self.parent.coursedir
        target = Path(self.to) if self.to else Path(coursedir.root) / "grades.csv"
        lessons = [str(a) for a in self.assignment]
        students = [str(s) for s in self.student]
        written = write_grades_csv(gradebook, target, lessons, students,
                                   exchange_outbound(self.parent.config, coursedir.course_id))
        self.log.info("Grades written to %s", written)
