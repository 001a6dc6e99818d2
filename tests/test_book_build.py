"""bench/book_build.py's execution step: pages run through jupyter-cache's `local-parallel`
executor into the cache that MyST-NB reads, so the build that follows executes nothing.

Two tiny notebooks stand in for the book's pages (the real ones take minutes).
"""
import sys

import nbformat
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))
from bench import book_build  # noqa: E402


def page(path, *sources):
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture
def book(tmp_path, monkeypatch):
    monkeypatch.setattr(book_build, "ROOT", tmp_path)
    return tmp_path


def cached(cache_path, path):
    """The executed notebook MyST-NB's cache mode would take for the page, or None."""
    from jupyter_cache import get_cache

    try:
        return get_cache(str(cache_path)).match_cache_notebook(nbformat.read(path, as_version=4))
    except KeyError:
        return None


def test_pages_are_executed_into_the_cache_that_myst_nb_reads(book, capsys):
    # One run of the executor for every case: starting kernels is most of the time here.
    pages = [page(book / "a" / "one.ipynb", "print(6 * 7)"), page(book / "b" / "two.ipynb", "import os\nprint(os.getcwd())")]
    broken = page(book / "bad.ipynb", "raise ValueError('the page is broken')")
    cache_path = book / "_build" / ".jupyter_cache"
    assert not book_build.execute_pages(cache_path, [*pages, broken], {"a/one": 1.0, "b/two": 2.0}, timeout=120)
    out, err = capsys.readouterr()
    assert "local-parallel" in out
    assert "bad.ipynb failed" in err and "the page is broken" in err, "a failing page must show its traceback"
    assert cached(cache_path, broken) is None

    one, two = cached(cache_path, pages[0]), cached(cache_path, pages[1])
    assert one is not None and two is not None, "an executed page is not where MyST-NB looks for it"
    assert one.data["execution_seconds"] > 0
    from jupyter_cache import get_cache

    outputs = [get_cache(str(cache_path)).get_cache_bundle(record.pk).nb.cells[0].outputs for record in (one, two)]
    assert outputs[0][0]["text"] == "42\n"
    assert outputs[1][0]["text"].strip() == str(book / "b"), "a page runs in its own folder, as in MyST-NB"

    # Nothing left to do: a second run executes nothing.
    assert book_build.execute_pages(cache_path, pages, {}, timeout=120)
    assert "Executing" not in capsys.readouterr().out


def test_pages_run_longest_first(book):
    from jupyter_cache import get_cache

    pages = [page(book / f"{name}.ipynb", f"page = {name!r}") for name in ("short", "long", "new")]
    cache_path = book / "_build" / ".jupyter_cache"
    cache = get_cache(str(cache_path))
    for path in pages:  # a project from an earlier build, in another order
        cache.add_nb_to_project(str(path))
    for path in pages:  # cached already: nothing to run, no kernel to start
        cache.cache_notebook_file(str(path), check_validity=False)
    assert book_build.execute_pages(cache_path, pages, {"short": 1.0, "long": 60.0}, timeout=120)
    order = [record.uri for record in get_cache(str(cache_path)).list_project_records()]
    # A page never timed may be the longest of all: it goes first.
    assert order == [str(book / f"{name}.ipynb") for name in ("new", "long", "short")]
