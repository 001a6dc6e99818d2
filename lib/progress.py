"""Progress bars for the training loops: a live tqdm bar, or one line at the end.

A live bar redraws itself on stderr many times; in a saved notebook or the HTML book each
redraw stays behind as a line of red text. So when COURSE_PROGRESS=summary (the book build
sets it) a loop prints a single summary line on stdout when it ends, e.g.
`training: 2,000/2,000 steps in 3.1 s (loss=2.3412)`. Unset, a reader running the notebook
gets the usual bar (a widget in JupyterLab and Colab), and a long loop says, a couple of
seconds in, how long it will take in all on the reader's machine.
"""
import os
import sys
import time

from tqdm import tqdm
from tqdm.auto import tqdm as tqdm_auto

from lib import config

ENV_VAR = "COURSE_PROGRESS"
STYLES = ("bar", "summary")
TIME_THE_PACE_S = 2.0  # how long a loop runs before its pace is trusted for an estimate
LONG_S = 10.0  # a loop expected to take less than this needs no estimate


def style():
    """'bar' (the default) or 'summary', from COURSE_PROGRESS."""
    name = os.environ.get(ENV_VAR, "bar").strip().lower() or "bar"
    if name not in STYLES:
        raise ValueError(f"{ENV_VAR}={os.environ[ENV_VAR]!r} is not a progress style; "
                         f"set it to one of {', '.join(STYLES)} (or unset it for 'bar').")
    return name


def progress_bar(total, *, disable=False, auto=False, **kwargs):
    """A tqdm bar (tqdm.auto's when `auto`), or a SummaryLine under COURSE_PROGRESS=summary.

    Takes tqdm's keyword arguments; a disabled bar prints nothing in either style. A live bar
    of known length is an EstimatingBar.
    """
    if not disable and style() == "summary":
        return SummaryLine(total=total, **kwargs)
    bar = (tqdm_auto if auto else tqdm)(total=total, disable=disable, **kwargs)
    return bar if disable or total is None else EstimatingBar(bar)


def duration(seconds):
    """'45 s', '3 min 10 s', '1 h 05 min': a time as a reader says it."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class EstimatingBar:
    """A tqdm bar that, once it has timed its first couple of seconds, says in one line how long
    the whole loop will take on this machine in the current profile (only when that is long).

    A pace measured on the reader's own machine, rather than a time typed into the lesson, holds
    on a laptop, on Colab and on a GPU alike.
    """

    def __init__(self, bar, clock=time.perf_counter):
        self.bar, self._clock = bar, clock
        self._start, self._start_n, self.estimate = clock(), bar.n, None

    def update(self, n=1):
        self.bar.update(n)
        if self.estimate is None:
            self._maybe_estimate()

    def _maybe_estimate(self):
        elapsed, done = self._clock() - self._start, self.bar.n - self._start_n
        if elapsed < TIME_THE_PACE_S or done <= 0:
            return
        self.estimate = elapsed + elapsed / done * (self.bar.total - self.bar.n)
        if self.estimate >= LONG_S:
            line = (f"{self.bar.desc or 'training'}: about {duration(self.estimate)} for "
                    f"{self.bar.total:,} {self.bar.unit}s on this machine (profile '{config.profile()}')")
            if config.profile() == "full":
                line += f"; with {config.ENV_VAR}=fast it runs a short preview instead"
            self.bar.write(line + ".")

    def __getattr__(self, name):  # the rest of tqdm's interface: n, set_postfix, write, close...
        return getattr(self.bar, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()


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
