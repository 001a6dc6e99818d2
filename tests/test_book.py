"""The HTML book: built from the student edition, offline, with warnings as errors."""
import re

import pytest

from conftest import LESSONS, ROOT, notebook_name, run_tool

# One build serves every test here: keep them on one xdist worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    run_tool("jupyter-book", "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going",
             cwd=ROOT, timeout=1800)
    return out / "_build" / "html"


def test_book_has_an_index_and_every_lesson(html):
    assert (html / "index.html").is_file()
    for lesson in LESSONS:
        assert (html / "book" / lesson / f"{notebook_name(lesson)}.html").is_file()


def test_lesson_one_shows_graph_drawings_and_plots(html):
    page_dir = html / "book" / "01-micrograd"
    page = (page_dir / "micrograd.html").read_text()
    images = [page_dir / src for src in re.findall(r'<img[^>]+src="([^"]*_images/[^"]+)"', page)]
    drawings = [p for p in images if p.suffix == ".svg"]
    assert len(drawings) >= 5, "draw_dot's graph drawings are missing"
    for drawing in drawings:
        svg = drawing.read_text()
        assert "<svg" in svg and "grad" in svg, f"{drawing.name} is not a rendered graph"
    assert sum(p.suffix == ".png" and p.is_file() for p in images) >= 4, "matplotlib figures are missing"


def test_exercises_show_the_stub_and_never_the_solution(html):
    for lesson in LESSONS:
        page = (html / "book" / lesson / f"{notebook_name(lesson)}.html").read_text()
        assert "NotImplementedError" in page
        assert "BEGIN SOLUTION" not in page and "HIDDEN TESTS" not in page


def test_no_notebook_source_is_published(html):
    assert not list(html.rglob("_sources/**/*.ipynb"))
    assert not list(html.rglob("*.md.txt"))


def test_pages_state_their_profile(html):
    for lesson in LESSONS:
        page = (html / "book" / lesson / f"{notebook_name(lesson)}.html").read_text()
        assert "Executed with the &#39;fast&#39; profile" in page or "Executed with the 'fast' profile" in page


def test_colab_button_opens_the_student_notebook(html):
    for lesson in LESSONS:
        page = (html / "book" / lesson / f"{notebook_name(lesson)}.html").read_text()
        assert f"colab.research.google.com/github/scalars-to-gpt/course/blob/main/book/{lesson}/{notebook_name(lesson)}.ipynb" in page


def test_tables_printed_by_cells_render_as_tables(html):
    # The performance page and the lessons' closing summaries are Markdown tables made by cells.
    assert "<table" in (html / "book" / "performance.html").read_text()
    for lesson in ("02-bigram", "03-mlp"):
        page = (html / "book" / lesson / f"{notebook_name(lesson)}.html").read_text()
        assert "<table" in page, f"{lesson}: its summary table is not rendered"
