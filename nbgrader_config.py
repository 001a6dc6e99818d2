"""nbgrader settings: the whole repository is the course directory.

solutions/<lesson>/ holds the source notebooks (full solutions, hidden tests); the student
edition is released into book/<lesson>/, which the HTML book and Colab use. submitted/,
autograded/, feedback/ and gradebook.db are generated and git-ignored.
"""
import os
import sys

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor, Preprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, ClearOutput,
                                    DeduplicateIds, GetGrades, IgnorePattern, LimitOutput, OverwriteCells,
                                    OverwriteKernelspec, SaveAutoGrades)
from traitlets import Bool

# The grader's kernel sandbox lives in grader/ beside this file; a throwaway copy of the
# course (tests, benchmarks) finds it in the repository that holds the installed `lib`.
_here = os.path.dirname(os.path.abspath(__file__))
if not os.path.isdir(os.path.join(_here, "grader")):
    import lib
    _here_repo = os.path.dirname(os.path.dirname(os.path.abspath(lib.__file__)))
    sys.path.insert(0, _here_repo)
sys.path.insert(0, _here)
from grader.judge import Judge, Rebuild  # noqa: E402

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)


class ShortenTestTracebacks(Preprocessor):
    """Keep only the error line of a failed test cell in feedback.

    A traceback quotes the source lines around the failure, and in a test cell those can
    be hidden tests. The error message itself (what lib.grading reports) is what a student
    needs.
    """

    enabled = Bool(True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            for output in cell.get("outputs", []):
                # lib.grading's failures render as their message alone (first line "✗ ..."):
                # keep it, so feedback shows what the notebook showed.
                first = output.get("traceback", [""])[:1] or [""]
                if output.output_type == "error" and not first[0].startswith("✗"):
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


class WrapFeedbackText(Preprocessor):
    """Make the feedback page's code and messages wrap at the page's width.

    nbgrader's feedback template keeps `pre` blocks on one line each, so a long test message
    or a long line of a student's code runs off the page (and off a printout). The CSS goes
    into the page's inlined styles, after the ones CSSHTMLHeaderPreprocessor puts there.
    """

    enabled = Bool(True)
    css = ("pre, div.output_area pre, div.input_area pre, .highlight pre {\n"
           "  white-space: pre-wrap !important;\n  overflow-wrap: anywhere;\n  word-break: break-word;\n}\n")

    def preprocess(self, nb, resources):
        resources.setdefault("inlining", {}).setdefault("css", []).append(self.css)
        return nb, resources


class StudentNotebookMetadata(Preprocessor):
    """Give the student edition the notebook metadata JupyterLab itself writes for the course's
    kernel, so that a lesson opens unmodified instead of dirty (JupyterLab rewrites a kernelspec
    or language_info that differs from its kernel's). The version is the course's Python
    (README: Python 3.11, the version CI runs)."""

    enabled = Bool(True)
    kernelspec = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    language_info = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                     "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                     "pygments_lexer": "ipython3", "version": "3.11.7"}

    def preprocess(self, nb, resources):
        nb.metadata["kernelspec"] = dict(self.kernelspec)
        nb.metadata["language_info"] = dict(self.language_info)
        return nb, resources


class DropTestOnlyTags(Preprocessor):
    """Remove the tags that only the course's tests read from the student edition's cells.

    `nbval-check-output` marks the solution cells whose stored output nbval compares (the
    lessons' headline numbers, tools/headline_outputs.py); the student edition stores no
    outputs (ClearOutput), so there the tag would mean nothing."""

    enabled = Bool(True)
    test_only = ("nbval-check-output",)

    def preprocess_cell(self, cell, resources, index):
        tags = cell.metadata.get("tags", [])
        if any(tag in self.test_only for tag in tags):
            kept = [tag for tag in tags if tag not in self.test_only]
            if kept:
                cell.metadata["tags"] = kept
            else:
                del cell.metadata["tags"]
        return cell, resources


c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "scalars-to-gpt"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "book"
# nbgrader copies every file of a source folder into the release: the authored MyST twin
# holds the answers, so it must stay behind.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.md", "jupytext.toml",
]

# Exercise and test cells carry the `skip-execution` tag so that the book (built from the
# student edition) does not run them, and nbclient honours that tag by default. The grader
# must run them: it skips only cells with a tag that no notebook uses.
c.Execute.skip_cells_with_tag = "never-skip-when-grading"

# Per-cell limit while autograding: the test kernel's cells. The answer's calls in one test
# cell stop `Judge.margin` seconds before it, and the cell says why (grader/testing.py).
c.Execute.timeout = 60
# ... and for a whole submission: what is left to run when it is spent scores zero, and the
# feedback and the report say so; the batch goes on.
c.Judge.notebook_budget = 300

# The judge (grader/judge.py) runs the tests in a kernel of their own and each exercise's
# answer in a fresh bubblewrap sandbox (grader/sandbox.py), unless GRADER_SANDBOX=off, which
# only `make autograde SANDBOX=off` sets and the grading report then prints.
# nbgrader stops on some malformed submissions (duplicated graded cells) before any grading:
# the first sanitizing step hands it the rebuilt notebook instead (grader/judge.py).
c.Autograde.sanitize_preprocessors = [
    Rebuild, ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    Judge, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
    AssignLatePenalties, CheckCellMetadata,
]

# Parallel graders share the sqlite gradebook: wait for a lock rather than fail.
c.CourseDirectory.db_url = f"sqlite:///{os.path.join(_here, 'gradebook.db')}?timeout=60"

# The message starts with lib.grading.BLANK_STUB: the test of a blank exercise then says in
# one line that it is not attempted yet, instead of showing a traceback.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError(\"not attempted yet: replace this line with your code\")",
}

# The student edition opens clean in JupyterLab (metadata as JupyterLab writes it), without the
# tags only the tests read.
from nbgrader.apps.generateassignmentapp import GenerateAssignment  # noqa: E402

c.GenerateAssignment.preprocessors = [*GenerateAssignment.class_traits()["preprocessors"].default(),
                                     StudentNotebookMetadata, DropTestOnlyTags]

# Feedback goes to students: it must not carry the hidden tests.
c.GenerateFeedback.preprocessors = [
    GetGrades, ClearHiddenTests, ShortenTestTracebacks, CSSHTMLHeaderPreprocessor, WrapFeedbackText,
]

# A grade cell scores 0 when anything reaches stderr. Library warnings printed there by a
# correct answer must not cost points.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"Warning"


# ---------------------------------------------------------------------------------------------
# Operations around grading: LMS intake, the exchange, grades export, late penalties.
# The plugin classes are in grader/plugins.py; book/instructor-guide.md explains each command.
# ---------------------------------------------------------------------------------------------
from grader.collect import LmsCollector  # noqa: E402
from grader.extract import SafeExtractor  # noqa: E402
from grader.plugins import CourseGradesExport, CourseLatePenalty  # noqa: E402

# `nbgrader zip_collect <lesson>` reads downloaded/<lesson>/archive/*.zip as Moodle or Canvas
# name them; pin one LMS with --collector=grader.collect.MoodleCollector (or CanvasCollector).
c.ZipCollectApp.extractor_plugin = SafeExtractor
c.ZipCollectApp.collector_plugin = LmsCollector
# Ids from the LMS's names ("Ada Lovelace" -> ada-lovelace); "number" uses its account numbers.
c.LmsCollector.student_id_from = "name"
# Moodle and Canvas write zip dates in the server's local time.
c.SafeExtractor.zip_timezone = "UTC"

# A course-local exchange, so release, collect and Release Feedback work for a class on one
# machine. On a JupyterHub, point every user's config at one shared folder instead, e.g.
# c.Exchange.root = "/srv/nbgrader/exchange" (world-writable, sticky bit), in
# /etc/jupyter/nbgrader_config.py.
c.Exchange.root = os.path.join(c.CourseDirectory.root, "exchange")
try:
    os.makedirs(c.Exchange.root, exist_ok=True)
except OSError:  # a read-only view of the course (as a sandbox mounts it) never uses the exchange
    pass

# grades.csv, the same file from `nbgrader export` and `make grades`.
c.ExportApp.plugin_class = CourseGradesExport

# Late submissions (timestamp after the lesson's due date, set with
# `nbgrader db assignment add <lesson> --duedate=...` or in the formgrader): 10% of the
# notebook's score per started day after 15 minutes' grace, zero after a week. nbgrader's
# AssignLatePenalties (in the autograde preprocessors) asks this plugin during autograde.
c.AssignLatePenalties.plugin_class = CourseLatePenalty
c.CourseLatePenalty.grace_minutes = 15
c.CourseLatePenalty.per_day = 0.10
c.CourseLatePenalty.zero_after_days = 7
