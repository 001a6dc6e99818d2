"""nbgrader plugin classes for grades, named in nbgrader_config.py (zip_collect's are in collect.py).

- `CourseGradesExport`  the course's grades.csv for `nbgrader export` (and `make grades`);
- `CourseLatePenalty`   the late-submission policy `nbgrader autograde` applies.
"""
import csv
from pathlib import Path

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin, LateSubmissionPlugin
from traitlets import Float

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
