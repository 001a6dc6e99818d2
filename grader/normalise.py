"""Rebuild a submission from the release, keeping only the student's answers.

What is graded is the student edition as released (book/<lesson>/) with each exercise cell
(nbgrader `solution: true`) replaced by the student's version of that cell. Everything else a
student did to the notebook is set aside and recorded: edited, deleted or duplicated test
cells, reordered cells, changed cell types, extra cells, changed ordinary cells (such as the
import cell). nbgrader then restores the hidden tests as usual. So a student cannot change
what the tests are, in what order they run, or what the cells before an answer define; the
lessons' rule that every exercise is self-contained makes this fair: an answer needs nothing
but its own cell.

A file that is not a notebook (invalid JSON, empty) is graded as the blank release: every
exercise scores zero, and the report says why.
"""
import json
from dataclasses import dataclass

import nbformat


@dataclass(frozen=True)
class Finding:
    """One thing the grader noticed about a submission; `penalty` names the exercise it zeroes."""

    kind: str      # short category, e.g. "edited test cell", "reference used", "timeout"
    cell: str      # grade_id (or "" for the whole notebook)
    message: str   # one sentence for the student and the instructor
    penalty: str = ""  # grade_id of the exercise that scores zero because of it


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_answer(cell):
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def read_submission(path):
    """The notebook at `path`, or (None, reason) when it cannot be read as one."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return None, f"the file could not be read ({err.__class__.__name__})"
    if not text.strip():
        return None, "the submitted file is empty"
    try:
        json.loads(text)
    except ValueError as err:
        return None, f"the submitted file is not valid notebook JSON ({err.msg}, line {err.lineno})"
    try:
        nb = nbformat.reads(text, as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("no cells")
    except Exception as err:  # nbformat raises several kinds for a JSON file that is no notebook
        return None, f"the submitted file is not a Jupyter notebook ({err.__class__.__name__})"
    return nb, ""


def normalise(submitted, release, source=None):
    """(notebook to grade, answers {grade_id: source}, findings) from a submission and its release.

    With the `source` notebook, the test cells get their full text back (hidden tests included),
    as nbgrader's own autograde restores them.
    """
    findings = []
    answers, seen, student_ids = {}, set(), []
    release_ids = [grade_id(c) for c in release.cells if grade_id(c)]
    by_id = {grade_id(c): c for c in release.cells if grade_id(c)}
    for cell in submitted.cells:
        gid = grade_id(cell)
        if gid is None:
            continue
        student_ids.append(gid)
        if gid not in by_id:
            findings.append(Finding("unknown cell", gid, f"cell {gid!r} is not part of this lesson: it was ignored."))
            continue
        if gid in seen:
            findings.append(Finding("duplicated cell", gid,
                                    f"cell {gid!r} appears more than once: the first copy was graded."))
            continue
        seen.add(gid)
        original = by_id[gid]
        if cell.get("cell_type") != original.cell_type:
            findings.append(Finding("cell type changed", gid,
                                    f"cell {gid!r} was changed to a {cell.get('cell_type')} cell: it was graded as code."))
        if is_answer(original):
            answers[gid] = "".join(cell.get("source", ""))
        elif "".join(cell.get("source", "")) != original.source:
            what = "test cell" if original.metadata.nbgrader.get("grade") else "locked cell"
            findings.append(Finding(f"edited {what}", gid, f"{what} {gid!r} was edited: the original was run instead."))
    for gid in release_ids:
        if gid not in seen:
            original = by_id[gid]
            what = "exercise" if is_answer(original) else "test cell" if original.metadata.nbgrader.get("grade") else "locked cell"
            findings.append(Finding(f"deleted {what}", gid,
                                    f"{what} {gid!r} is missing from the submission: the original was used."))
    kept = [g for g in student_ids if g in by_id]
    if list(dict.fromkeys(kept)) != [g for g in release_ids if g in set(kept)]:
        findings.append(Finding("cells reordered", "", "the graded cells were moved: they were run in the lesson's order."))
    extra = sum(1 for c in submitted.cells if grade_id(c) is None) - sum(1 for c in release.cells if grade_id(c) is None)
    if extra > 0:
        findings.append(Finding("extra cells", "", f"{extra} cell(s) added outside the exercise cells were not run: "
                                                    "only the exercise cells are graded."))
    graded = nbformat.from_dict(json.loads(json.dumps(release)))  # a deep copy, plain nodes
    full_tests = {grade_id(c): c.source for c in (source.cells if source else [])
                  if c.get("metadata", {}).get("nbgrader", {}).get("grade") and not is_answer(c)}
    for cell in graded.cells:
        if is_answer(cell) and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
        elif grade_id(cell) in full_tests:
            cell.source = full_tests[grade_id(cell)]
    return graded, answers, findings
