"""nbgrader settings: the whole repository is the course directory.

solutions/<lesson>/ holds the source notebooks (full solutions, hidden tests); the student
edition is released into book/<lesson>/, which the HTML book and Colab use. submitted/,
autograded/, feedback/ and gradebook.db are generated and git-ignored.
"""
import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor, Preprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from traitlets import Bool

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
                if output.output_type == "error":
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

# Per-cell limit while autograding. A runaway cell costs this once per cell that calls it.
c.Execute.timeout = 60

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Feedback goes to students: it must not carry the hidden tests.
c.GenerateFeedback.preprocessors = [
    GetGrades, ClearHiddenTests, ShortenTestTracebacks, CSSHTMLHeaderPreprocessor,
]

# A grade cell scores 0 when anything reaches stderr. Library warnings printed there by a
# correct answer must not cost points.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"Warning"
