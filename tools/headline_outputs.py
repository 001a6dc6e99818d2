"""Store the reference outputs of each lesson's headline cells in its solution notebook.

Why: `make test` runs every solutions/NN-slug/slug.ipynb through nbval with `--nbval-lax`, so
a cell fails only when it raises, except the cells tagged `nbval-check-output`: the few whose
printed numbers are the lesson's point (a split size, a parameter count, a loss before any
training). nbval compares what those cells print with the output stored in the .ipynb, after
the sanitisers of tests/nbval-sanitize.cfg, and a change that moves a headline number fails with
a diff. nbval checks a cell only if it stored an execution count. This tool writes those outputs:
it runs the lesson top to bottom as conftest.py's kernel does (nbclient, a kernel started in the
lesson's folder, conftest.py's KERNEL_ENVIRONMENT: the fast profile, one BLAS thread; the cells
tagged skip-execution run too, as under nbval) and keeps the outputs and execution counts of the
tagged cells only. Every other cell keeps no output and no execution count.

    .venv/bin/python tools/headline_outputs.py [LESSON ...]          # e.g. 03-mlp; none: all
    .venv/bin/python tools/headline_outputs.py --check [LESSON ...]  # exit 1 if a stored output differs

Run it after tagging a cell, or after a change that moves a headline number on purpose, with the
.md and the .ipynb in sync (`make sync` first; it refuses otherwise: writing the .ipynb makes it
the newer file, and a later sync would drop the .md's edits). Editing the .md afterwards is safe:
`jupytext --sync` (`make sync`) rewrites the .ipynb's inputs and keeps the outputs of the cells it
matches (checked: with a paragraph edited, a cell added and a tagged cell's code edited, every
stored output stayed), so nbval compares the edited code's output with the stored one. Should a
tagged cell lose its output, tests/test_notebooks.py says so.
"""
import argparse
import os
import runpy
import sys
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
TAG = "nbval-check-output"


def notebook(lesson):
    return ROOT / "solutions" / lesson / f"{lesson.split('-', 1)[1]}.ipynb"


def tagged(cell):
    return cell.cell_type == "code" and TAG in cell.metadata.get("tags", [])


def cells_of(nb):
    """What a pair must agree on: each cell's type, source and metadata (tests/test_notebooks.py
    holds every lesson's pair to it)."""
    return [(c.cell_type, c.source.strip(), {k: v for k, v in c.metadata.items() if k != "execution"})
            for c in nb.cells]


def in_sync(lesson):
    """Do the .md and the .ipynb hold the same cells? Writing the .ipynb makes it the newer file,
    and `jupytext --sync` would then drop edits of the .md that the .ipynb lacks."""
    return cells_of(jupytext.read(notebook(lesson).with_suffix(".md"))) == cells_of(jupytext.read(notebook(lesson)))


def run(lesson):
    """The lesson's notebook, executed top to bottom in the test suite's kernel environment."""
    path = notebook(lesson)
    nb = nbformat.read(path, as_version=4)
    os.environ.update(runpy.run_path(str(ROOT / "conftest.py"))["KERNEL_ENVIRONMENT"])
    # one stream output per stream, as nbval compares them: the stored text does not depend on
    # when the kernel flushed
    client = NotebookClient(nb, kernel_name="python3", timeout=1800, skip_cells_with_tag="never-skip",
                            coalesce_streams=True, resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb


def store(lesson, check=False):
    """Write (or, with check, compare) the tagged cells' outputs; True if the stored ones were current."""
    if not in_sync(lesson):
        sys.exit(f"{lesson}: the .md and the .ipynb differ: run `make sync` first")
    executed = run(lesson)
    path = notebook(lesson)
    stored = nbformat.read(path, as_version=4)  # read after the run: the .md may have been synced meanwhile
    if [c.source for c in stored.cells] != [c.source for c in executed.cells] or not in_sync(lesson):
        sys.exit(f"{lesson} was edited while it ran: run `make sync`, then this again")
    current = True
    for cell, ran in zip(stored.cells, executed.cells):
        if cell.cell_type != "code":
            continue
        outputs, count = (ran.outputs, ran.execution_count) if tagged(cell) else ([], None)
        # --check compares what nbval compares (unsanitised: stricter); a write also renumbers
        if cell.outputs != outputs or (not check and cell.execution_count != count):
            current = False
            print(f"{lesson}: {'differs' if check else 'stored'}: {(cell.source.splitlines() or [''])[0]!r}")
        cell.outputs, cell.execution_count = outputs, count
    if not check and not current:
        nbformat.write(stored, path)
    return current


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="e.g. 03-mlp (default: every lesson)")
    parser.add_argument("--check", action="store_true", help="compare only, write nothing")
    args = parser.parse_args()
    lessons = args.lessons or sorted(p.name for p in (ROOT / "solutions").glob("[0-9][0-9]-*") if p.is_dir())
    current = [store(lesson, args.check) for lesson in lessons]
    sys.exit(0 if all(current) or not args.check else 1)


if __name__ == "__main__":
    main()
