"""The course's reference implementation: one module per idea, in lesson order.

Lesson 1 introduces `lib.micrograd` (a scalar autograd engine); `lib.config` (the run
profile), `lib.data` (the datasets) and `lib.grading` (the answer checks that exercise
test cells call) serve every lesson.
"""
