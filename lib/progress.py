"""Progress bars for the training loops: a live tqdm bar, or one line at the end.

A live bar redraws itself on stderr many times; in a saved notebook or the HTML book each
redraw stays behind as a line of red text. So when COURSE_PROGRESS=summary (the book build
sets it) a loop prints a single summary line on stdout when it ends, e.g.
`training: 2,000/2,000 steps in 3.1 s (loss=2.3412)`. Unset, a reader running the notebook
gets the usual bar.
"""
import os
import sys
import time

from tqdm import tqdm
from tqdm.auto import tqdm as tqdm_auto

ENV_VAR = "COURSE_PROGRESS"
STYLES = ("bar", "summary")


def style():
    """'bar' (the default) or 'summary', from COURSE_PROGRESS."""
    name = os.environ.get(ENV_VAR, "bar").strip().lower() or "bar"
    if name not in STYLES:
        raise ValueError(f"{ENV_VAR}={os.environ[ENV_VAR]!r} is not a progress style; "
                         f"set it to one of {', '.join(STYLES)} (or unset it for 'bar').")
    return name


def progress_bar(total, *, disable=False, auto=False, **kwargs):
    """A tqdm bar (tqdm.auto's when `auto`), or a SummaryLine under COURSE_PROGRESS=summary.

    Takes tqdm's keyword arguments; a disabled bar prints nothing in either style.
    """
    if not disable and style() == "summary":
        return SummaryLine(total=total, **kwargs)
    return (tqdm_auto if auto else tqdm)(total=total, disable=disable, **kwargs)


class SummaryLine:
    """The part of tqdm's interface the loops use; prints one line on close."""

    def __init__(self, total=None, initial=0, desc=None, unit="it", **_ignored):
        self.total, self.n, self.desc, self.unit = total, initial, desc or "training", unit
        self.postfix = {}
        self._start_n, self._started, self._closed = initial, time.perf_counter(), False

    def update(self, n=1):
        self.n += n

    def set_postfix(self, ordered_dict=None, refresh=True, **kwargs):
        self.postfix = {**(ordered_dict or {}), **kwargs}

    @staticmethod
    def write(s, file=None, end="\n", nolock=False):
        print(s, file=file or sys.stdout, end=end, flush=True)

    def close(self):
        if self._closed:
            return
        self._closed = True
        seconds = time.perf_counter() - self._started
        done = f"{self.n:,}/{self.total:,}" if self.total is not None else f"{self.n:,}"
        line = f"{self.desc}: {done} {self.unit}s in {seconds:.1f} s"
        if self.postfix:
            line += " (" + ", ".join(f"{k}={v}" for k, v in self.postfix.items()) + ")"
        print(line, flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
