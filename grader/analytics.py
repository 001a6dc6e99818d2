"""What the class got wrong: grading/analytics.html (matplotlib charts) and grading/analytics.csv.

From what a grading run leaves behind, per lesson and exercise:

1. how many students made each diagnosed mistake: the "Likely mistake: ..." that lib.grading
   (visible tests) and the judge (hidden tests) write into a failing test cell's error output
   in autograded/<student>/<lesson>/*.ipynb, counted once per student and exercise;
2. the score distribution of each exercise and of the lesson, from the gradebook;
3. the hidden tests failed most: test cells whose visible part passed and hidden part failed;
4. the submissions that hit a limit (LIMIT_KINDS), from grading/findings/<lesson>/*.json.

The CSV has one row per lesson, exercise and mistake; students who failed an exercise without
any named mistake (a blank answer, an error, a mistake not in lib.mistakes) get a row of their own.
"""
import base64
import csv
import html
import io
import json
import re
import statistics
import textwrap
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from .batch import GRADING, db_url

LIMIT_KINDS = ("timeout", "process died", "output truncated", "time budget")
NO_DIAGNOSIS = "(failed, no mistake named)"
HIDDEN_FAILURE = "A hidden test failed"
DIAGNOSIS = re.compile(r"Likely mistake:\s*(.+)")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CSV_FIELDS = ["lesson", "exercise", "mistake", "students", "in_visible_tests", "in_hidden_tests",
              "students_failing_exercise", "students_graded"]


@dataclass(frozen=True)
class CellOutcome:
    """One graded test cell of one student's notebook."""

    lesson: str
    student: str
    exercise: str
    test: str
    failed: bool
    hidden_only: bool
    mistakes: frozenset


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def exercise_of_each_test(cells):
    """{test cell id: id of the answer cell above it}: a test checks the exercise it follows."""
    exercise, owners = None, {}
    for cell in cells:
        meta = _nbgrader(cell)
        if meta.get("solution"):
            exercise = meta.get("grade_id")
        elif meta.get("grade"):
            owners[meta["grade_id"]] = exercise or meta["grade_id"]
    return owners


def failure_text(output):
    """The message of an error output: its value, or its traceback when the value is empty."""
    text = output.get("evalue") or "\n".join(output.get("traceback", []))
    return ANSI_ESCAPE.sub("", text)


def outcome_of(cell, lesson, student, exercise):
    errors = [failure_text(o) for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    mistakes = frozenset(m.strip() for text in errors for m in DIAGNOSIS.findall(text))
    hidden_only = any(HIDDEN_FAILURE in text for text in errors)
    return CellOutcome(lesson, student, exercise, _nbgrader(cell)["grade_id"], bool(errors), hidden_only, mistakes)


def read_outcomes(course):
    """Every graded test cell of every autograded notebook, and {lesson: {test: exercise}}."""
    outcomes, exercises = [], defaultdict(dict)
    for path in sorted((Path(course) / "autograded").glob("*/*/*.ipynb")):
        student, lesson = path.parent.parent.name, path.parent.name
        try:
            cells = json.loads(path.read_text()).get("cells", [])
        except (OSError, ValueError):
            continue  # nbgrader wrote it; a damaged one is the report's business, not this page's
        owners = exercise_of_each_test(cells)
        exercises[lesson].update(owners)
        for cell in cells:
            meta = _nbgrader(cell)
            if meta.get("grade") and not meta.get("solution"):
                outcomes.append(outcome_of(cell, lesson, student, owners[meta["grade_id"]]))
    return outcomes, exercises


def mistake_rows(outcomes, submitted=None):
    """One CSV row per lesson, exercise and mistake (the most frequent first). `submitted`:
    {lesson: students} of the gradebook, who count as graded even without a graded notebook."""
    graded = defaultdict(set, {lesson: set(students) for lesson, students in (submitted or {}).items()})
    failing, named, visible, hidden = defaultdict(set), defaultdict(set), defaultdict(set), defaultdict(set)
    for o in outcomes:
        graded[o.lesson].add(o.student)
        if o.failed:
            failing[o.lesson, o.exercise].add(o.student)
        for mistake in o.mistakes:
            key = (o.lesson, o.exercise, mistake)
            named[key].add(o.student)
            (hidden if o.hidden_only else visible)[key].add(o.student)
    diagnosed = defaultdict(set)
    for (lesson, exercise, _), students in named.items():
        diagnosed[lesson, exercise] |= students
    for (lesson, exercise), students in failing.items():
        if students - diagnosed[lesson, exercise]:
            named[lesson, exercise, NO_DIAGNOSIS] = students - diagnosed[lesson, exercise]
    rows = [{"lesson": lesson, "exercise": exercise, "mistake": mistake, "students": len(students),
             "in_visible_tests": len(visible[lesson, exercise, mistake]),
             "in_hidden_tests": len(hidden[lesson, exercise, mistake]),
             "students_failing_exercise": len(failing[lesson, exercise]),
             "students_graded": len(graded[lesson])}
            for (lesson, exercise, mistake), students in named.items()]
    # most frequent first within an exercise; the undiagnosed row last
    return sorted(rows, key=lambda r: (r["lesson"], r["exercise"], r["mistake"] == NO_DIAGNOSIS,
                                       -r["students"], r["mistake"]))


def hidden_failures(outcomes):
    """{lesson: Counter(test cell id -> students whose only failure in it was hidden)}."""
    counts = defaultdict(Counter)
    for o in outcomes:
        if o.hidden_only:
            counts[o.lesson][o.test] += 1
    return counts


def read_scores(course, exercises):
    """{lesson: {part: ([score per student], maximum)}}, parts being the exercises and "lesson total",
    and {lesson: the students with a submission}."""
    from nbgrader.api import Gradebook

    if not (Path(course) / "gradebook.db").exists():
        return {}, {}
    scores, submitted = {}, defaultdict(set)
    with Gradebook(db_url(course)) as gb:
        for assignment in gb.assignments:
            owner = exercises.get(assignment.name, {})
            maximum, per_student = Counter(), []
            for notebook in assignment.notebooks:
                for cell in notebook.grade_cells:
                    maximum[owner.get(cell.name, cell.name)] += cell.max_score
            for submission in gb.assignment_submissions(assignment.name):
                got = Counter()
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        got[owner.get(grade.cell.name, grade.cell.name)] += grade.score or 0
                per_student.append(got)
                submitted[assignment.name].add(submission.student.id)
            if per_student:
                parts = {part: ([s[part] for s in per_student], top) for part, top in maximum.items()}
                parts["lesson total"] = ([sum(s.values()) for s in per_student], sum(maximum.values()))
                scores[assignment.name] = parts
    return scores, submitted


def limit_hits(course):
    """[(lesson, student, kind, cell)] for every finding of a kind in LIMIT_KINDS."""
    hits = []
    for path in sorted((Path(course) / GRADING / "findings").glob("*/*.json")):
        record = json.loads(path.read_text())
        hits += [(record["lesson"], record["student"], f["kind"], f["cell"])
                 for f in record["findings"] if f["kind"] in LIMIT_KINDS]
    return hits


# -- charts -------------------------------------------------------------------------------------
def _figure(width, height):
    from matplotlib.figure import Figure  # no pyplot: no global state, no display needed

    return Figure(figsize=(width, height), layout="constrained")


def embedded(figure, caption):
    """The figure as an inline PNG with its caption (the page is one self-contained file)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96)
    data = base64.b64encode(buffer.getvalue()).decode()
    return (f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def bar_chart(labels, counts, title, xlabel, caption):
    figure = _figure(10, 1.2 + 0.45 * len(labels))
    axes = figure.subplots()
    wrapped = [textwrap.fill(label, 70) for label in labels]
    axes.barh(range(len(labels)), counts, color="#4c72b0")
    axes.set_yticks(range(len(labels)), wrapped, fontsize=8)
    axes.invert_yaxis()  # the largest count on top
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set(title=title, xlabel=xlabel)
    return embedded(figure, caption)


def score_histograms(lesson, parts):
    columns, rows = min(len(parts), 3), -(-len(parts) // 3)
    figure = _figure(4 * columns, 3 * rows)
    grid = figure.subplots(rows, columns, squeeze=False).flat
    for axes, (part, (values, maximum)) in zip(grid, parts.items()):
        step = max(1.0, maximum / 20)  # a bar per point, or 20 bars when the maximum is larger
        edges = [step * (i - 0.5) for i in range(int(maximum / step) + 2)]
        axes.hist(values, bins=edges, color="#55a868", edgecolor="white")
        axes.set_xlim(edges[0], edges[-1])
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.set(title=part, xlabel=f"score (out of {maximum:g})", ylabel="students")
    for axes in figure.axes[len(parts):]:
        axes.set_visible(False)
    return embedded(figure, f"{lesson}: how many students got each score, per exercise and for the whole lesson.")


def table(header, rows):
    def cells(row, tag):
        return "".join(f"<{tag}>{html.escape(str(value))}</{tag}>" for value in row)
    return f"<table><tr>{cells(header, 'th')}</tr>" + "".join(f"<tr>{cells(r, 'td')}</tr>" for r in rows) + "</table>"


def mistakes_section(lesson, rows):
    named = [r for r in rows if r["mistake"] != NO_DIAGNOSIS]
    chart = bar_chart([f"{r['exercise']}: {r['mistake']}" for r in named], [r["students"] for r in named],
                      f"{lesson}: diagnosed mistakes", "students who made it",
                      "Each bar counts the students whose failing tests (visible or hidden) named this mistake."
                      ) if named else "<p>No failing test named a mistake.</p>"
    columns = ["exercise", "mistake", "students", "in_visible_tests", "in_hidden_tests", "students_failing_exercise"]
    return ("<h3>Diagnosed mistakes</h3>" + chart +
            table([c.replace("_", " ") for c in columns], [[r[c] for c in columns] for r in rows]))


def scores_section(lesson, parts):
    if not parts:
        return "<h3>Scores</h3><p>No scores in the gradebook.</p>"
    summary = [[part, f"{top:g}", len(values), f"{statistics.median(values):g}",
                sum(v == 0 for v in values), sum(v >= top for v in values)] for part, (values, top) in parts.items()]
    return ("<h3>Scores</h3>" + score_histograms(lesson, parts) +
            table(["part", "out of", "students", "median", "zero", "full marks"], summary))


def hidden_section(lesson, hidden):
    if not hidden:
        return "<h3>Hidden tests failed most</h3><p>No test cell failed only in its hidden part.</p>"
    tests, counts = zip(*hidden.most_common())
    chart = bar_chart(list(tests), list(counts), f"{lesson}: test cells failed only in their hidden part", "students",
                      "Students who passed a test cell's visible tests but failed its hidden ones.")
    return "<h3>Hidden tests failed most</h3>" + chart + table(["test cell", "students"], hidden.most_common())


def limits_section(hits):
    if not hits:
        return "<h2>Submissions that hit a limit</h2><p>None.</p>"
    per_kind = Counter((lesson, kind) for lesson, _, kind in {hit[:3] for hit in hits})  # a submission once per kind
    bars = sorted(per_kind)
    chart = bar_chart([f"{lesson}: {kind}" for lesson, kind in bars], [per_kind[b] for b in bars],
                      "Submissions that hit a limit, per lesson and kind", "submissions",
                      "Each bar counts the submissions with at least one answer stopped at the time limit, "
                      "a process that died, or output cut.")
    return "<h2>Submissions that hit a limit</h2>" + chart + table(["lesson", "student", "limit", "cell"], hits)


def write_analytics(course):
    """grading/analytics.csv and grading/analytics.html; returns their paths."""
    outcomes, exercises = read_outcomes(course)
    scores, submitted = read_scores(course, exercises)
    rows = mistake_rows(outcomes, submitted)
    hidden = hidden_failures(outcomes)
    out = Path(course) / GRADING
    out.mkdir(exist_ok=True)
    with open(out / "analytics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    lessons = sorted({o.lesson for o in outcomes} | set(scores))
    sections = [f"<h2>{html.escape(lesson)}</h2>" + mistakes_section(lesson, [r for r in rows if r["lesson"] == lesson])
                + scores_section(lesson, scores.get(lesson)) + hidden_section(lesson, hidden.get(lesson))
                for lesson in lessons]
    page = ("<!doctype html><meta charset='utf-8'><title>What the class got wrong</title>"
            "<style>body{font-family:sans-serif;max-width:70em}td,th{border:1px solid #ccc;padding:2px 6px}"
            "table{border-collapse:collapse}figcaption{font-style:italic}img{max-width:100%}</style>"
            "<h1>What the class got wrong</h1><p><a href='report.html'>Grading report</a> · "
            "<a href='analytics.csv'>analytics.csv</a></p>"
            + ("".join(sections) or "<p>Nothing graded yet.</p>") + limits_section(limit_hits(course)))
    (out / "analytics.html").write_text(page)
    return out / "analytics.csv", out / "analytics.html"
