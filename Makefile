# Every target creates .venv on first use. PROFILE=fast|full picks the run profile (lib.config).
PYTHON  ?= python3.11
VENV    := .venv
BIN     := $(CURDIR)/$(VENV)/bin
STAMP   := $(VENV)/.installed
PROFILE ?= full
LESSONS := $(notdir $(wildcard solutions/[0-9][0-9]-*))
# Lessons to grade: those with submissions (override: make autograde LESSON=01-micrograd).
LESSON  ?= $(sort $(notdir $(wildcard submitted/*/[0-9][0-9]-*)))

export PATH := $(BIN):$(PATH)
# Notebooks run in their own folders: a relative mirror path must become absolute.
ifdef DATA_MIRROR
export DATA_MIRROR := $(abspath $(DATA_MIRROR))
endif
export COURSE_PROFILE := $(PROFILE)
# One BLAS thread per process: the lessons' small matrices run faster that way on 2 cores,
# and parallel test workers do not fight over cores.
export OMP_NUM_THREADS ?= 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

# The book lands in $(BOOK_OUT)/_build/html. The fast profile builds into its own folder,
# so the two execution caches never mix.
ifeq ($(PROFILE),full)
BOOK_OUT := .
else
BOOK_OUT := _build/$(PROFILE)
endif

.PHONY: setup book book-key test lab student student-pack sync autograde feedback grades bench clean release intake report roster

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

# The main job: execute every page and build the HTML book (warnings are errors). Execution
# is cached, and the cache cannot see what a page imports: when lib/, the benchmark results
# or the dependencies (pyproject.toml, constraints.txt) change, the cache is dropped so every
# page re-runs against them. `make book-key` prints the key, kept in _build/.lib-hash.
# bench/book_build.py times the build and each page into bench/results/book_build_$(PROFILE).json
# (shown on the performance page, which re-reads it without dropping the cache).
BOOK_KEY = cat lib/*.py lib/*/*.py pyproject.toml constraints.txt $$(ls bench/results/*.json | grep -v /book_build_) 2>/dev/null | sha256sum | cut -c1-16

book-key:
	@$(BOOK_KEY)

book: $(STAMP)
	@mkdir -p $(BOOK_OUT)/_build
	@h=$$($(BOOK_KEY)); \
	 if [ "$$(cat $(BOOK_OUT)/_build/.lib-hash 2>/dev/null)" != "$$h" ]; then \
	   echo "lib/ or the dependencies changed: re-executing every page"; rm -rf $(BOOK_OUT)/_build/.jupyter_cache; all=--all; fi; \
	 python bench/book_build.py --profile $(PROFILE) --output $(BOOK_OUT) $$all && echo $$h > $(BOOK_OUT)/_build/.lib-hash
	@echo "Book: $(BOOK_OUT)/_build/html/index.html (profile $(PROFILE))"

test: $(STAMP)
	COURSE_PROFILE=fast pytest -n auto --dist loadgroup

# JupyterLab on the lessons (book/), started from the repository root: nbgrader's Validate
# button reads nbgrader_config.py from the server's working folder (elsewhere it would skip the
# tagged exercise and test cells). Jupyter refuses to run as root without --allow-root.
lab: $(STAMP)
	@if [ "$$(id -u)" = 0 ]; then echo "Note: running as root (a container?), so JupyterLab starts with --allow-root."; fi
	jupyter lab --ServerApp.root_dir=book $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# The student pack: _build/scalars-to-gpt-student/ and its .zip (tools/student_pack.py).
student-pack: $(STAMP)
	python tools/student_pack.py --out _build

sync: $(STAMP)
	jupytext --sync solutions/*/*.md

# Regenerate the student edition book/<lesson>/ from solutions/<lesson>/. The gradebook is not
# touched: a lesson counts towards the class's maximum once it is released (make release).
student: sync
	for l in $(LESSONS); do nbgrader generate_assignment $$l --force --no-db || exit 1; done

# Grading needs only the exercise cells: the fast profile skips the lessons' long runs.
# The instructor's round trip, one target per step (book/instructor-guide.md):
#   release -> intake (ZIP=... LESSON=...) -> autograde -> feedback -> grades (+ report)
# Kernels run in a bubblewrap sandbox; SANDBOX=off grades without it (the report says so).
# WORKERS students are graded at once (default: one per core).
SANDBOX ?= on
WORKERS ?= 0
autograde feedback: COURSE_PROFILE := fast
# Release lessons to the class (LESSON=01-micrograd, or every lesson without it): the student
# edition, and the lesson's tests in gradebook.db, which grading and the formgrader's maximum read.
release: sync
	for l in $(if $(filter command line,$(origin LESSON)),$(LESSON),$(LESSONS)); do \
	  nbgrader generate_assignment $$l --force || exit 1; done

# nbgrader's zip_collect with the course's plugins (grader/plugins.py): the zip joins
# downloaded/<lesson>/archive/, and every file it leaves out is listed in
# downloaded/<lesson>/report.txt.
intake: $(STAMP)
	@test -n "$(ZIP)" -a "$(origin LESSON)" != file -a "$(words $(LESSON))" = 1 || { echo "Usage: make intake ZIP=submissions.zip LESSON=01-micrograd"; exit 1; }
	mkdir -p downloaded/$(LESSON)/archive && cp "$(ZIP)" downloaded/$(LESSON)/archive/
	nbgrader zip_collect $(LESSON) --force

# Students from a CSV with the columns id,first_name,last_name,email (ids as intake makes them).
roster: $(STAMP)
	@test -n "$(CSV)" || { echo "Usage: make roster CSV=students.csv (columns: id,first_name,last_name,email)"; exit 1; }
	nbgrader db student import "$(CSV)"

autograde: $(STAMP)
	@test -n "$(LESSON)" || { echo "Nothing to grade: put submissions in submitted/<student>/<lesson>/ (or make intake)."; exit 1; }
	python -m grader autograde $(LESSON) --workers $(WORKERS) --sandbox $(SANDBOX)

feedback: $(STAMP)
	python -m grader feedback $(LESSON)

# nbgrader's export with the course's exporter (grader/plugins.py): grades.csv.
grades: $(STAMP)
	nbgrader export

report: $(STAMP)
	python -m grader report

bench: $(STAMP)
	python bench/micrograd_bench.py --steps 20 --json bench/results/micrograd.json
	python bench/makemore_bench.py --steps 200000 --json bench/results/makemore.json
	python bench/bpe_bench.py --json bench/results/bpe.json
	python bench/grading_bench.py --json bench/results/grading.json
	python bench/gpt_bench.py --json bench/results/gpt.json
	python bench/graded_cells.py --json bench/results/graded_cells.json
	@echo "Results in bench/results/; the book's performance page shows them."

clean:
	rm -rf _build
