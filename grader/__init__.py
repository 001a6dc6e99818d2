"""The instructor's tooling around nbgrader: grade a class of submissions safely and fast.

nbgrader stays the engine (release, autograde, feedback, gradebook); this package is the
execute step it runs and the steps around it:

- `judge`      nbgrader's execute step: the tests run in a kernel of their own, each answer in a
               fresh sandboxed process, and nothing the student's code does decides a score;
- `testing`, `remote`, `answer_process`, `wire`
               the two sides of that split and the plain data that crosses between them;
- `tripwires`, `references`
               what each exercise is compared with, unavailable while its answer runs;
- `cells`      which lesson cells the tests and the answers need;
- `sandbox`    bubblewrap around an answer's process: no network, a read-only view of the
               course without solutions or gradebook, CPU-time, memory and process limits;
- `normalise`  rebuilds each submission from the release with only the answers substituted,
               so edited, deleted, duplicated or reordered cells cannot change the grading;
- `batch`      grades students in parallel, one `nbgrader autograde` per worker;
- `report`, `analytics`
               the per-student grading report (CSV + HTML) and what the class got wrong;
- `intake`, `extract`, `collect`, `plugins`
               an LMS zip into submitted/ through `nbgrader zip_collect`, and grades through
               `nbgrader export` (nbgrader's plugin classes, named in nbgrader_config.py).

`python -m grader --help` lists the commands the Makefile's instructor targets call.
"""
