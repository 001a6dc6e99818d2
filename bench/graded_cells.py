"""Time of the graded cells of each lesson: the exercise cells (with the reference answers)
and the test cells (hidden tests included), executed in the grading profile (fast, one
thread), as the autograder runs them. The rule of the lessons: at most 15 s per lesson.

Each solution notebook runs top to bottom in a fresh kernel (nbclient records each cell's
start and end); the record holds the graded cells' sum, the slowest graded cell and the
whole notebook's time.

    python bench/graded_cells.py --json bench/results/graded_cells.json [--lesson 01-micrograd]
"""
import argparse
import datetime
import json
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_description, today  # noqa: E402

LIMIT_S = 15.0


def seconds(cell):
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = datetime.datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def time_lesson(lesson):
    path = ROOT / "solutions" / lesson / f"{lesson.split('-', 1)[1]}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:  # nbclient skips these as the book does; grading runs them
        tags = cell.metadata.get("tags", [])
        if "skip-execution" in tags:
            tags.remove("skip-execution")
    NotebookClient(notebook, timeout=1800, kernel_name="python3", record_timing=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    graded = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or meta.get("grade")):
            graded[meta["grade_id"]] = round(seconds(cell), 3)
    total = sum(graded.values())
    return {"graded_s": round(total, 2), "within_limit": total <= LIMIT_S,
            "slowest": max(graded.items(), key=lambda kv: kv[1]) if graded else None,
            "notebook_s": round(sum(seconds(c) for c in notebook.cells if c.cell_type == "code"), 2),
            "cells": graded}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True)
    parser.add_argument("--lesson", action="append", help="one lesson (repeatable); default: all")
    args = parser.parse_args()
    os.environ.update(COURSE_PROFILE="fast", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    lessons = args.lesson or sorted(p.name for p in (ROOT / "solutions").glob("[0-9][0-9]-*"))
    record = {"machine": machine_description(), "date": today(), "profile": "fast", "threads": 1,
              "limit_s": LIMIT_S, "load_average_before": os.getloadavg()[0], "lessons": {}}
    for lesson in lessons:
        record["lessons"][lesson] = result = time_lesson(lesson)
        print(f"{lesson}: graded cells {result['graded_s']:.1f} s (limit {LIMIT_S:.0f} s), "
              f"slowest {result['slowest']}, whole notebook {result['notebook_s']:.1f} s", flush=True)
    record["load_average_after"] = os.getloadavg()[0]
    Path(args.json).write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
