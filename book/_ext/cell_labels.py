"""Exercise, test and predict cells marked in the HTML, so a reader scanning a page sees what is asked.

A small Sphinx extension, loaded by `_config.yml` (`local_extensions`). MyST-NB gives every
code cell a CSS class `tag_<tag>` per cell tag; `_static/course.css` labels and styles the
classes `tag_exercise`, `tag_test` and `tag_predict`. The student notebooks mark exercises and
tests with nbgrader metadata rather than tags (nbgrader's own format, and the tags they carry,
`skip-execution`, say how to build, not what a cell is for), so this extension adds the same
classes from that metadata: `solution: true` is an exercise, `grade: true` a test.
"""
from docutils import nodes

LABELS = {"solution": "tag_exercise", "grade": "tag_test"}


def setup(app):
    app.connect("doctree-read", label_cells)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def label_cells(app, doctree):
    for cell in doctree.findall(nodes.container):
        if cell.get("nb_element") != "cell_code":
            continue
        nbgrader = (cell.get("cell_metadata") or {}).get("nbgrader") or {}
        for key, css_class in LABELS.items():
            if nbgrader.get(key) and css_class not in cell["classes"]:
                cell["classes"].append(css_class)
                break  # a graded exercise cell (solution and grade) is an exercise
