"""The grading report (CSV + HTML) and the grades CSV, from the gradebook and the findings.

grading/report.csv and grading/report.html list, per student and lesson, the score beside the
lesson's maximum and every finding of the batch (a called reference, refused operations,
edited or deleted cells, timeouts, dead processes, unreadable files) in one sentence each, and
whether the answers ran in the sandbox; report.html links to grading/analytics.html, the
class-wide view of the same run (grader/analytics.py). grades.csv is written by `nbgrader
export` with the course's exporter (grader/plugins.py).
"""
import csv
import html
import json
import subprocess
import sys
from pathlib import Path

from . import analytics
from .batch import GRADING, db_url


def _findings(course):
    records = {}
    for path in sorted((Path(course) / GRADING / "findings").glob("*/*.json")):
        record = json.loads(path.read_text())
        records[(record["student"], record["lesson"])] = record
    return records


def _scores(course):
    """{(student, lesson): {cell: score}}, {lesson: [cells]} and {lesson: maximum score} from the
    gradebook; a lesson's maximum is the points of its released test cells."""
    from nbgrader.api import Gradebook

    scores, cells, maxima = {}, {}, {}
    with Gradebook(db_url(course)) as gb:
        for assignment in gb.assignments:
            maxima[assignment.name] = assignment.max_score
            for notebook in assignment.notebooks:
                cells.setdefault(assignment.name, []).extend(c.name for c in notebook.grade_cells)
            for submission in gb.assignment_submissions(assignment.name):
                scores[(submission.student.id, assignment.name)] = {
                    g.cell.name: g.score for nb in submission.notebooks for g in nb.grades}
    return scores, cells, maxima


def write_grades(course, path="grades.csv"):
    """grades.csv through `nbgrader export`, so both commands write one layout (the course's
    exporter in grader/plugins.py: a row per student, a column per graded cell, late penalty and
    total per lesson, the overall total and the released lessons' maximum)."""
    target = Path(course) / path
    subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "export", "--to", str(target)],
                   cwd=course, check=True, capture_output=True)
    return target


def write_report(course):
    """grading/report.csv and grading/report.html, and the analytics page it links to
    (grading/analytics.html and .csv); returns the report's two paths."""
    scores, _, maxima = _scores(course)
    records = _findings(course)
    out = Path(course) / GRADING
    out.mkdir(exist_ok=True)
    rows = []
    for (student, lesson), record in sorted(records.items()):
        got = scores.get((student, lesson), {})
        for finding in record["findings"] or [{"kind": "", "cell": "", "message": "", "penalty": ""}]:
            rows.append({"student_id": student, "lesson": lesson, "score": sum(got.values()),
                         "max_score": maxima.get(lesson, ""),
                         "sandbox": "on" if record["sandbox"] else "OFF", "kind": finding["kind"],
                         "cell": finding["cell"], "penalty": finding["penalty"], "message": finding["message"]})
    fields = ["student_id", "lesson", "score", "max_score", "sandbox", "kind", "cell", "penalty", "message"]
    with open(out / "report.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fields)
        writer.writeheader()
        writer.writerows(rows)
    unsandboxed = any(not r["sandbox"] for r in records.values())
    banner = ("<p class='warn'><b>Graded WITHOUT the sandbox</b> (SANDBOX=off) for the rows marked OFF: "
              "student code ran with the grader's access.</p>") if unsandboxed else ""
    table = "".join("<tr>" + "".join(f"<td>{html.escape(str(r[k]))}</td>" for k in fields) + "</tr>" for r in rows)
    page = ("<!doctype html><meta charset='utf-8'><title>Grading report</title>"
            "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:2px 6px}"
            ".warn{color:#a00}</style><h1>Grading report</h1>" + banner +
            "<p><a href='analytics.html'>What the class got wrong</a>: diagnosed mistakes, score "
            "distributions, hidden tests failed most and limits hit, per lesson and exercise.</p>" +
            "<table><tr>" + "".join(f"<th>{k}</th>" for k in fields) + "</tr>" + table + "</table>")
    (out / "report.html").write_text(page)
    analytics.write_analytics(course)
    return out / "report.csv", out / "report.html"
