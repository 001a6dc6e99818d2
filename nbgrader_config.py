"""nbgrader settings: the whole repository is the course directory.

solutions/<lesson>/ holds the source notebooks (full solutions, hidden tests); the student
edition is released into book/<lesson>/, which the HTML book and Colab use. submitted/,
autograded/, feedback/ and gradebook.db are generated and git-ignored.
"""
import os
import sys

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor, Preprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, GetGrades,
                                    IgnorePattern, LimitOutput, SaveAutoGrades)
from traitlets import Bool

# The grader's kernel sandbox lives in grader/ beside this file; a throwaway copy of the
# course (tests, benchmarks) finds it in the repository that holds the installed `lib`.
_here = os.path.dirname(os.path.abspath(__file__))
if not os.path.isdir(os.path.join(_here, "grader")):
    import lib
    _here_repo = os.path.dirname(os.path.dirname(os.path.abspath(lib.__file__)))
    sys.path.insert(0, _here_repo)
sys.path.insert(0, _here)
from grader.sandbox import SandboxedExecute  # noqa: E402

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

# Per-cell limit while autograding. A cell that runs past it is stopped, the kernel is
# restarted and the notebook goes on (grader/sandbox.py).
c.Execute.timeout = 60

# Kernels run in the bubblewrap sandbox (grader/sandbox.py) unless GRADER_SANDBOX=off, which
# only `make autograde SANDBOX=off` sets and the grading report then prints.
c.Autograde.autograde_preprocessors = [
    SandboxedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
    AssignLatePenalties, CheckCellMetadata,
]

# Parallel graders share the sqlite gradebook: wait for a lock rather than fail.
c.CourseDirectory.db_url = f"sqlite:///{os.path.join(_here, 'gradebook.db')}?timeout=60"

# The message starts with lib.grading.BLANK_STUB: the test of a blank exercise then says in
# one line that it is not attempted yet, instead of showing a traceback.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError(\"not attempted yet: replace this line with your code\")",
}

# Feedback goes to students: it must not carry the hidden tests.
c.GenerateFeedback.preprocessors = [
    GetGrades, ClearHiddenTests, ShortenTestTracebacks, CSSHTMLHeaderPreprocessor,
]

# A grade cell scores 0 when anything reaches stderr. Library warnings printed there by a
# correct answer must not cost points.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"Warning"
