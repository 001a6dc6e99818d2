"""The run profile: one knob for how much work a lesson does. Used by every lesson.

`full` reproduces the lectures' numbers; `fast` (tests, previews) runs the same code with a
fraction of the steps. The environment variable COURSE_PROFILE chooses; unset means `full`,
so a reader running a notebook gets the lecture's results.
"""
import os

ENV_VAR = "COURSE_PROFILE"
PROFILES = ("full", "fast")


def profile():
    """The current profile name, read from COURSE_PROFILE each call (default 'full')."""
    name = os.environ.get(ENV_VAR, "full").strip().lower() or "full"
    if name not in PROFILES:
        raise ValueError(
            f"{ENV_VAR}={os.environ[ENV_VAR]!r} is not a profile; "
            f"set it to one of {', '.join(PROFILES)} (or unset it for 'full')."
        )
    return name


def pick(full, fast):
    """The value for the current profile, e.g. `steps = pick(full=200_000, fast=2_000)`."""
    return full if profile() == "full" else fast


def describe():
    """One line for the end of a page: which profile produced its numbers."""
    if profile() == "full":
        return "Executed with the 'full' profile: the numbers on this page are the lesson's real run."
    return (
        "Executed with the 'fast' profile (a preview with fewer steps): run with "
        f"{ENV_VAR}=full for the lesson's real numbers."
    )
