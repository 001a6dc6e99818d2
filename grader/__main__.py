"""Command line for the Makefile's instructor targets: `python -m grader <command> --help`."""
import argparse
import os
import subprocess
import sys
from pathlib import Path

from . import batch, intake, report, sandbox

COURSE = Path(__file__).resolve().parent.parent


def _lessons(course, given):
    return given or sorted({p.name for p in (course / "submitted").glob("*/[0-9][0-9]-*") if p.is_dir()})


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__)
    parser.add_argument("--course", type=Path, default=COURSE)
    commands = parser.add_subparsers(dest="command", required=True)
    take = commands.add_parser("intake", help="place a zip of submissions from an LMS into submitted/")
    take.add_argument("zip", type=Path)
    take.add_argument("lesson")
    take.add_argument("--pattern", default=intake.PATTERN)
    take.add_argument("--skip-unplaced", action="store_true")
    grade = commands.add_parser("autograde", help="grade every submission of the lessons, in parallel")
    grade.add_argument("lessons", nargs="*")
    grade.add_argument("--workers", type=int, default=0, help="parallel students (default: one per core)")
    grade.add_argument("--sandbox", choices=["on", "off"], default="on")
    grade.add_argument("--timeout", type=int, default=0, help="seconds per cell (default: nbgrader_config.py)")
    grade.add_argument("--scheduler", metavar="ADDRESS", default="",
                       help="grade on the Dask cluster whose scheduler is at ADDRESS, e.g. tcp://host:8786 "
                            "(grader/cluster.py); default: on this machine")
    feedback = commands.add_parser("feedback", help="feedback HTML per student, without hidden tests")
    feedback.add_argument("lessons", nargs="*")
    commands.add_parser("grades", help="grades.csv: a column per graded cell and the total")
    commands.add_parser("report", help="grading/report.csv and report.html, with analytics.html and analytics.csv")
    args = parser.parse_args(argv)
    course = args.course.resolve()

    if args.command == "intake":
        try:
            students, skipped = intake.intake(course, args.zip, args.lesson, args.pattern, args.skip_unplaced)
        except intake.IntakeError as err:
            sys.exit(f"intake: {err}")
        print(f"Placed {len(students)} submission(s) of {args.lesson} in submitted/; skipped {len(skipped)}.")
        for name, reason in skipped:
            print(f"  skipped {name}: {reason}")
    elif args.command == "autograde":
        lessons = _lessons(course, args.lessons)
        if not lessons:
            sys.exit("Nothing to grade: put submissions in submitted/<student>/<lesson>/ (or `make intake`).")
        # nbgrader's own message for this ("No assignment ... in database") does not say what to do.
        missing = intake.unreleased(course, lessons)
        if missing:
            sys.exit(f"autograde: {', '.join(missing)} not released yet, so nbgrader cannot grade it. Run "
                     "`make release` (it generates the student edition and registers the lessons in "
                     "gradebook.db), then `make autograde` again.")
        use_sandbox = args.sandbox == "on"
        if use_sandbox:
            try:
                sandbox.require()
            except sandbox.SandboxUnavailable as err:
                sys.exit(f"autograde: {err}")
        else:
            print("WARNING: grading WITHOUT the sandbox (SANDBOX=off): student code runs with your access. "
                  "The report says so.")
        for lesson in lessons:
            results = batch.grade(course, lesson, workers=args.workers or None, timeout=args.timeout or None,
                                  use_sandbox=use_sandbox, scheduler=args.scheduler or None)
            flagged = {s: f for s, f in results.items() if f}
            print(f"{lesson}: {len(results)} graded, {len(flagged)} with findings")
        csv_path, html_path = report.write_report(course)
        print(f"Report: {html_path} and {csv_path}")
        print(f"What the class got wrong: {html_path.parent / 'analytics.html'}")
    elif args.command == "feedback":
        for lesson in _lessons(course, args.lessons):
            subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "generate_feedback", lesson, "--force"],
                           cwd=course, check=True, env=dict(os.environ, GRADER_SANDBOX="off"))
        print("Feedback: feedback/<student>/<lesson>/*.html")
    elif args.command == "grades":
        print(f"Grades: {report.write_grades(course)}")
    elif args.command == "report":
        csv_path, html_path = report.write_report(course)
        print(f"Report: {html_path} and {csv_path}")
        print(f"What the class got wrong: {html_path.parent / 'analytics.html'}")


if __name__ == "__main__":
    main()
