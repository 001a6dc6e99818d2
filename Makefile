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

.PHONY: setup book test lab student sync autograde feedback grades bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

# The main job: execute every page and build the HTML book (warnings are errors). Execution
# is cached; when lib/ changes, the cache is dropped so every page re-runs against it.
book: $(STAMP)
	@mkdir -p $(BOOK_OUT)/_build
	@h=$$(cat lib/*.py lib/*/*.py bench/results/*.json 2>/dev/null | sha256sum | cut -c1-16); \
	 if [ "$$(cat $(BOOK_OUT)/_build/.lib-hash 2>/dev/null)" != "$$h" ]; then \
	   echo "lib/ changed: re-executing every page"; rm -rf $(BOOK_OUT)/_build/.jupyter_cache; all=--all; fi; \
	 jupyter-book build . --path-output $(BOOK_OUT) -W -n --keep-going $$all && echo $$h > $(BOOK_OUT)/_build/.lib-hash
	@echo "Book: $(BOOK_OUT)/_build/html/index.html (profile $(PROFILE))"

test: $(STAMP)
	COURSE_PROFILE=fast pytest -n auto --dist loadgroup

lab: $(STAMP)
	jupyter lab

sync: $(STAMP)
	jupytext --sync solutions/*/*.md

# Regenerate the student edition book/<lesson>/ from solutions/<lesson>/.
student: sync
	for l in $(LESSONS); do nbgrader generate_assignment $$l --force || exit 1; done

# Grading needs only the exercise cells: the fast profile skips the lessons' long runs.
autograde feedback: COURSE_PROFILE := fast
autograde: $(STAMP)
	@test -n "$(LESSON)" || { echo "Nothing to grade: put submissions in submitted/<student>/<lesson>/ (or nbgrader zip_collect)."; exit 1; }
	for l in $(LESSON); do nbgrader autograde $$l || exit 1; done

feedback: $(STAMP)
	for l in $(LESSON); do nbgrader generate_feedback $$l || exit 1; done

grades: $(STAMP)
	nbgrader export --to grades.csv
	@echo "Grades: grades.csv"

bench: $(STAMP)
	python bench/micrograd_bench.py --steps 20 --json bench/results/micrograd.json
	python bench/makemore_bench.py --steps 200000 --json bench/results/makemore.json
	python bench/bpe_bench.py --json bench/results/bpe.json
	@echo "Results in bench/results/; the book's performance page shows them."

clean:
	rm -rf _build
