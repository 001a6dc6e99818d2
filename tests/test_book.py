"""The HTML book: built from the student edition, offline, with warnings as errors."""
import os
import re
from pathlib import Path

import pytest

from conftest import LESSONS, ROOT, notebook_name, run_tool

# One build serves every test here: keep them on one xdist worker. The first test carries the
# build (minutes on a loaded machine): the same limit as the build command's own.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book"), pytest.mark.timeout(1800)]


_built = {}


def build_fast_book(tmp_path_factory):
    """The book built once per test process in the fast profile; its html folder.

    tests/test_browser.py reads the same build: both files are in the xdist group "book".
    BOOK_HTML=<folder> tests a book built beforehand instead (e.g. `make book`'s _build/html).
    """
    if "html" not in _built and os.environ.get("BOOK_HTML"):
        _built["html"] = Path(os.environ["BOOK_HTML"]).resolve()
    if "html" not in _built:
        out = tmp_path_factory.mktemp("book")
        run_tool("jupyter-book", "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going",
                 cwd=ROOT, timeout=1800)
        _built["html"] = out / "_build" / "html"
    return _built["html"]


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    return build_fast_book(tmp_path_factory)


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


def test_published_sources_are_the_student_edition(html):
    """The download button serves _sources/: each lesson's student notebook, byte for byte."""
    lessons = [Path("book") / lesson / f"{notebook_name(lesson)}.ipynb" for lesson in LESSONS]
    for path in lessons:
        published = html / "_sources" / path
        assert published.is_file(), f"{path} is not offered for download"
        assert published.read_text() == (ROOT / path).read_text(), f"{path}: the published copy differs"
    # Besides the lessons, only notebooks MyST-NB makes from Markdown pages (the performance page).
    for published in html.rglob("_sources/**/*"):
        if published.is_file():
            text = published.read_text()
            assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, f"{published} holds answers"
    assert not list(html.rglob("_sources/solutions"))


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


def _text(html_page):
    """A page's readable text: tags dropped, entities decoded, whitespace collapsed."""
    import html as entities

    return re.sub(r"\s+", " ", entities.unescape(re.sub(r"<[^>]+>", " ", html_page)))


def _tables(html_page):
    return [_text(t) for t in re.findall(r"<table.*?</table>", html_page, re.DOTALL)]


def test_reproduction_page_copies_each_lessons_results_and_profile(html):
    """Per lesson: the profile that executed it, and its results table exactly as its page shows it."""
    page = (html / "book" / "reproduction.html").read_text()
    for lesson in LESSONS:
        lesson_page = (html / "book" / lesson / f"{notebook_name(lesson)}.html").read_text()
        anchor = f'id="results-book-{lesson}-{notebook_name(lesson)}"'
        assert anchor in page, f"{lesson} has no section on the reproduction page"
        section = page.split(anchor, 1)[1].split('id="results-', 1)[0]
        assert "executed with the fast profile" in _text(section), f"{lesson}: the profile is not stated"
        copied = _tables(section)
        assert all(table in _tables(lesson_page) for table in copied), f"{lesson}: a table that its page does not show"
        headers = [_text(h).lower() for h in re.findall(r"<thead>.*?</thead>", lesson_page, re.DOTALL)]
        if any(re.search(r"\blecture", h) for h in headers):
            assert copied, f"{lesson}: its results table is not on the reproduction page"
        else:
            assert "displays no table of results" in _text(section)


def test_progress_bars_print_one_line_and_no_stderr(html):
    """tqdm's redraws would stay on the page as lines of stderr; the build prints one summary line."""
    for lesson in LESSONS:
        page = (html / "book" / lesson / f"{notebook_name(lesson)}.html").read_text()
        assert "output stderr" not in page, f"{lesson}: a cell wrote to stderr"
        assert not re.search(r"\d+%\|", page), f"{lesson}: a progress bar is drawn on the page"
    mlp = (html / "book" / "03-mlp" / "mlp.html").read_text()
    assert re.search(r"training: [\d,]+/[\d,]+ steps in [\d.]+ s", mlp), "the training loop printed no summary line"


def test_mathjax_is_served_by_the_book(html):
    page = (html / "book" / "01-micrograd" / "micrograd.html").read_text()
    scripts = re.findall(r'<script[^>]+src="([^"]*mathjax[^"]*)"', page, re.IGNORECASE)
    assert scripts and all("://" not in src for src in scripts), f"MathJax is loaded from {scripts}"
    assert (html / "book" / "01-micrograd" / scripts[0].split("?")[0]).resolve().is_file()
    assert (html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()


def test_bibliography_lists_every_work_and_the_pages_cite_them(html):
    entries = re.findall(r"^@\w+\{([^,]+),", (ROOT / "book" / "references.bib").read_text(), re.MULTILINE)
    bibliography = (html / "book" / "bibliography.html").read_text()
    listed = re.findall(r'<div class="citation" id="([^"]+)"', bibliography)
    assert len(listed) == len(entries) >= 9, f"{len(listed)} works listed, {len(entries)} in references.bib"
    for words in ("Neural Networks: Zero to Hero", "A neural probabilistic language model", "Batch normalization",
                  "Delving deep into rectifiers", "WaveNet", "Attention is all you need", "rare words with subword units",
                  "unsupervised multitask learners", "SentencePiece"):
        assert words.lower() in _text(bibliography).lower(), f"the bibliography lacks {words!r}"
    cited = set()
    for page in (html / "book").glob("*.html"):
        cited |= set(re.findall(r'href="bibliography\.html#([^"]+)"', page.read_text()))
    assert cited == set(listed), f"works that no page cites: {set(listed) - cited}"


def test_introduction_names_the_lecture_series_and_links_each_lecture(html):
    intro = (html / "book" / "intro.html").read_text()
    assert "Neural Networks: Zero to Hero" in intro and "Andrej Karpathy" in intro
    lectures = re.findall(r'href="https://www\.youtube\.com/watch\?v=([\w-]{11})"', intro)
    assert len(set(lectures)) == len(LESSONS) == 8, f"the introduction links {len(set(lectures))} lectures"


def test_performance_page_shows_build_times(html):
    page = _text((html / "book" / "performance.html").read_text())
    assert "Building the book" in page
    assert "No build has been recorded yet" in page or "of wall time" in page or "took" in page
    # The execution table of this very build: one row per executed page.
    for lesson in LESSONS:
        assert f"book/{lesson}/{notebook_name(lesson)}" in page
