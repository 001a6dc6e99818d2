"""Tables of classic mistakes, one module per lesson, that exercise tests use to diagnose answers.

Each table is a function of an exercise's inputs that returns `lib.grading.Mistake`s: a short
description in the student's terms and the wrong answer that mistake produces on those inputs.
`lib.grading.check(..., mistakes=...)` names the mistake when a failing answer matches it. A
new mistake is one more entry in its exercise's table.
"""
