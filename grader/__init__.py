"""The instructor's tooling around nbgrader: grade a class of submissions safely and fast.

nbgrader stays the engine (release, autograde, feedback, gradebook); this package hardens the
steps around it:

- `sandbox`    runs each student's kernel inside bubblewrap: no network, a read-only view of
               the course without solutions or gradebook, CPU-time and memory limits;
- `normalise`  rebuilds each submission from the release with only the answers substituted,
               so edited, deleted, duplicated or reordered cells cannot change the grading;
- `scan`       reads the answers (outside the student's kernel) for tampering and for answers
               that call the reference the tests compare with;
- `batch`      grades students in parallel, one nbgrader process per student;
- `report`     the per-student grading report (CSV + HTML) and the grades CSV;
- `intake`     places the files of a zip downloaded from an LMS into submitted/.

`python -m grader --help` lists the commands the Makefile's instructor targets call.
"""
