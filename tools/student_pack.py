"""Build the student pack: what a student downloads instead of cloning the course.

    python tools/student_pack.py [--out _build]   ->  _build/scalars-to-gpt-student/ and .zip

The pack holds the student notebooks (book/NN-*/), the course library `lib` as source (its
data fetcher included), a nbgrader_config.py of its own at the root and in every lesson folder
(nbgrader reads the one in the folder it runs from: Validate and `nbgrader validate` then run
the exercise and test cells wherever they start), a Makefile, a validate script that exits
non-zero on failure, and a README. Never solutions/, hidden tests or the grader.
"""
import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "scalars-to-gpt-student"

# The pack's nbgrader settings. Exercise and test cells carry `skip-execution` (for the book);
# nbclient skips such cells unless told otherwise, and then a blank notebook "passes".
NBGRADER_CONFIG = '''\
"""nbgrader settings for the student pack: Validate runs every cell, as the grader does."""
c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

# Exercise and test cells are tagged `skip-execution` so that the course's book does not run
# them; validation must run them: skip only a tag that no notebook uses.
c.Execute.skip_cells_with_tag = "never-skip-when-grading"
c.Execute.timeout = 600
# Library warnings on stderr are not failures.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"Warning"
'''

VALIDATE = '''\
"""Validate lesson notebooks as the grader will; exit 1 when one fails (nbgrader validate exits 0).

    .venv/bin/python validate.py 01-micrograd/micrograd.ipynb [...]
"""
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
failed = False
for path in sys.argv[1:] or sys.exit(__doc__):
    path = os.path.abspath(path)
    # nbgrader reads nbgrader_config.py from the folder it runs in: the pack's root.
    run = subprocess.run([sys.executable, "-m", "nbgrader", "validate", path], cwd=here,
                         capture_output=True, text=True)
    print(run.stdout + run.stderr, end="")
    if run.returncode != 0 or "Success!" not in run.stdout:
        failed = True
sys.exit(1 if failed else 0)
'''

MAKEFILE = '''\
# make setup: a virtual environment in .venv with the course library and JupyterLab.
# make lab:   JupyterLab on the lessons.   PROFILE=fast make lab: short training runs.
# make validate NB=01-micrograd/micrograd.ipynb: the checks the grader runs (exit 1 on failure).
PYTHON  ?= python3
PROFILE ?= full
export COURSE_PROFILE := $(PROFILE)

.PHONY: setup lab validate

setup:
\\ttest -x .venv/bin/python || $(PYTHON) -m venv .venv
\\t.venv/bin/python -m pip install -q --upgrade pip
\\t.venv/bin/python -m pip install -q -c constraints.txt -e '.[lab]'

lab:
\\t@if [ "$$(id -u)" = 0 ]; then echo "Note: running as root (a container?), so JupyterLab starts with --allow-root."; fi
\\t.venv/bin/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root)

validate:
\\t.venv/bin/python validate.py $(NB)
'''


def readme(lessons):
    first = lessons[0]
    return f'''\
# From Scalars to GPT: student pack

Neural networks from scratch, from a scalar autograd engine to a GPT and its tokenizer, in
{len(lessons)} lessons. You need Python 3.10 or newer and `make`.

```bash
make setup   # once: a virtual environment in .venv with the course library and JupyterLab
make lab     # JupyterLab on the lessons (PROFILE=fast make lab: short training runs)
```

Each lesson is one notebook: `{first}/{first.split("-", 1)[1]}.ipynb`, and so on up to
`{lessons[-1]}/`. Fill in the cells that say `# YOUR CODE HERE`, then run the test cell below
each. *Run All* reaches the end of a notebook even with exercises blank: their tests fail,
and the cells after them use the course library, not your answer.

The default profile (`full`) reproduces the lectures' numbers: some training cells run for
minutes on a laptop. `PROFILE=fast make lab` runs the same code with fewer steps; the
exercises and their tests are the same in both.

**Before you hand in**, press *Validate* in the notebook's toolbar, or run
`make validate NB={first}/{first.split("-", 1)[1]}.ipynb` (it exits 1 when a test fails).

Without internet, put the datasets (`names.txt`, `tinyshakespeare.txt`, `taylorswift.txt`)
in `data/` or point the `DATA_MIRROR` environment variable at a folder that holds them.
'''


def build(out):
    lessons = sorted(p.name for p in (ROOT / "book").glob("[0-9][0-9]-*") if p.is_dir())
    dest = out / NAME
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info")
    for lesson in lessons:
        shutil.copytree(ROOT / "book" / lesson, dest / lesson, ignore=skip, copy_function=shutil.copy)
        (dest / lesson / "nbgrader_config.py").write_text(NBGRADER_CONFIG)
    shutil.copytree(ROOT / "lib", dest / "lib", ignore=skip)
    (dest / "data").mkdir()
    shutil.copy(ROOT / "data" / "README.md", dest / "data" / "README.md")
    for name in ("pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, dest / name)
    (dest / "nbgrader_config.py").write_text(NBGRADER_CONFIG)
    (dest / "validate.py").write_text(VALIDATE)
    (dest / "Makefile").write_text(MAKEFILE.replace("\\t", "\t"))
    (dest / "README.md").write_text(readme(lessons))
    archive = shutil.make_archive(str(out / NAME), "zip", root_dir=out, base_dir=NAME)
    return dest, Path(archive)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build")
    args = parser.parse_args(argv)
    folder, archive = build(args.out.resolve())
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"Student pack: {folder} ({size / 1e6:.1f} MB), {archive} ({archive.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    sys.exit(main())
