"""Predict cells and the exercise set that closes each lesson (used by every lesson).

A `predict` cell asks the student to guess an outcome before the cell that computes it runs;
`reveal` then shows the guess beside the truth and says why. The end-of-lesson exercises are
ungraded: `attempt` runs one's checker and prints its verdict. Neither ever raises, so a
notebook with every prediction and exercise left blank still runs to the end.
"""


def reveal(guess, truth, why):
    """Print the student's guess (None or ... when they made none), the executed truth, and why."""
    said = "You made no prediction" if guess is None or guess is ... else f"You predicted {guess!r}"
    print(f"{said}; the answer is {truth!r}.\n{why}")


def attempt(name, checker):
    """Run `checker()` for the exercise `name`: print ✓, the message of the check that failed,
    or "not attempted yet" when the student's code still raises NotImplementedError.

    Returns True, False, or None (not attempted)."""
    try:
        checker()
    except NotImplementedError:
        print(f"· {name}: not attempted yet")
        return None
    except AssertionError as err:  # lib.grading's CheckFailed, or a checker's own assert
        print(f"✗ {name}: {str(err).removeprefix('✗ ')}")
        return False
    except Exception as err:  # the student's code broke: say where, keep going
        print(f"✗ {name}: your code raised {type(err).__name__}: {err}")
        return False
    print(f"✓ {name}")
    return True
