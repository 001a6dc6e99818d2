"""The built book as a reader sees it: every page opened in a real browser.

The book (the fast-profile build that tests/test_book.py makes, shared through the xdist group
"book") is served on localhost and opened in headless Chromium, driven by Playwright with the
system's browser (/usr/bin/chromium; no browser download). The test runs offline: requests
to other hosts (the MathJax script from its CDN) are answered with an empty script and listed.
Every page is screenshotted into _build/screenshots/.
"""
import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import nbformat
import pytest

from conftest import LESSONS, ROOT, nbgrader_meta, notebook_name, solution_path, student_path
from test_book import build_fast_book

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("book")]

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and nothing that phones home: the network here is closed, and a published book
# must not depend on what Chromium fetches for itself.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "_build" / "screenshots"
FULL_PAGE = os.environ.get("SCREENSHOTS_FULL_PAGE") == "1"  # whole pages, for a visual review
# Hosts a page may reach besides the book itself; offline they get an empty answer.
EXTERNAL_OK = {"cdn.jsdelivr.net"}  # MathJax
COLAB = "https://colab.research.google.com/github/scalars-to-gpt/course/blob/main/book/{lesson}/{name}.ipynb"


def _why_no_browser():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: .venv/bin/pip install -c constraints.txt playwright"
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM}: apt-get install chromium (.ci/run does)"
    return None


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The built book served over HTTP on localhost; yields (base url, html folder)."""
    reason = _why_no_browser()
    if reason:
        pytest.skip(reason)
    html = build_fast_book(tmp_path_factory)
    handler = functools.partial(QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", html
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(site, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM),
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
        context.external_requests = set()

        def route(route):
            host = re.match(r"https?://([^/:]+)", route.request.url).group(1)
            if host in ("127.0.0.1", "localhost"):
                return route.continue_()
            context.external_requests.add(host)
            route.fulfill(status=200, body="", content_type="application/javascript")

        context.route("**/*", route)
        yield context
        context.close()


def page_paths(html):
    """Every HTML page of the book, as paths relative to its root."""
    return sorted(str(p.relative_to(html)) for p in html.rglob("*.html")
                  if not {"_static", "_sources", "_images"} & set(p.relative_to(html).parts))


def lesson_page(lesson, visits=None):
    path = f"book/{lesson}/{notebook_name(lesson)}.html"
    if visits is not None:
        assert path in visits, f"{lesson} is not in the book: add it to _toc.yml (and run `make student`)"
    return path


class Visit:
    """One page opened in the browser, with the errors it logged."""

    def __init__(self, context, url):
        self.page = context.new_page()
        self.errors = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"{r.url}: {r.failure}"))
        self.page.on("response", lambda r: self.errors.append(f"{r.url}: HTTP {r.status}") if r.status >= 400 else None)
        self.page.goto(url, wait_until="load")
        self.page.wait_for_load_state("networkidle")

    def broken_images(self):
        return self.page.evaluate("""() => [...document.images]
            .filter(img => !(img.complete && img.naturalWidth > 0))
            .map(img => img.getAttribute('src'))""")

    def image_count(self):
        return self.page.evaluate("() => document.images.length")

    def close(self):
        self.page.close()


@pytest.fixture(scope="module")
def visits(site, browser):
    """Open every page once: errors, images, a screenshot, and the page's links and text."""
    base, html = site
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    results = {}
    for path in page_paths(html):
        visit = Visit(browser, f"{base}/{path}")
        shot = SCREENSHOTS / path.replace(".html", ".png")
        shot.parent.mkdir(parents=True, exist_ok=True)
        # The first screen of each page; a whole lesson (30,000 px tall) takes half a minute.
        visit.page.screenshot(path=str(shot), full_page=FULL_PAGE)
        results[path] = {
            "errors": list(visit.errors),
            "broken_images": visit.broken_images(),
            "images": visit.image_count(),
            "links": visit.page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)"),
            "screenshot": shot,
        }
        visit.close()
    return results


def test_every_page_opens_without_console_errors(visits, browser):
    assert len(visits) >= len(LESSONS) + 2
    for path, visit in visits.items():
        assert not visit["errors"], f"{path}: {visit['errors']}"
    assert browser.external_requests <= EXTERNAL_OK, (
        f"pages reach hosts the book does not know: {browser.external_requests - EXTERNAL_OK}")


def test_every_image_and_drawing_loads(visits):
    for path, visit in visits.items():
        assert not visit["broken_images"], f"{path}: images that did not load: {visit['broken_images']}"
    # The logo on every page, and the lessons' plots and graph drawings.
    assert all(v["images"] >= 1 for v in visits.values())
    assert visits[lesson_page(LESSONS[0], visits)]["images"] >= 10


def test_every_page_has_a_screenshot(visits):
    for path, visit in visits.items():
        shot = visit["screenshot"]
        assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: no screenshot"
        assert shot.stat().st_size > 5_000, f"{path}: the screenshot is blank"


def test_colab_link_opens_the_lessons_student_notebook(visits):
    for lesson in LESSONS:
        name = notebook_name(lesson)
        colab = [href for href in visits[lesson_page(lesson, visits)]["links"] if "colab.research.google.com" in href]
        assert colab == [COLAB.format(lesson=lesson, name=name)], f"{lesson}: Colab links {colab}"
        # ... and the notebook it opens is the student edition, in the repository at that path.
        notebook = student_path(lesson).read_text()
        assert "raise NotImplementedError(" in notebook and "BEGIN SOLUTION" not in notebook


def test_search_finds_backpropagation(site, browser):
    base, _ = site
    visit = Visit(browser, f"{base}/search.html?q=backpropagation")
    try:
        visit.page.wait_for_selector("#search-results li", timeout=30_000)
        hits = visit.page.eval_on_selector_all("#search-results li a", "els => els.map(a => a.getAttribute('href'))")
        assert any(lesson_page(LESSONS[0]) in (h or "") for h in hits), f"search results: {hits}"
        assert not visit.errors, visit.errors
    finally:
        visit.close()


def solution_lines(lesson):
    """Distinctive lines of the lesson's answers and hidden tests (only solutions/ has them)."""
    nb = nbformat.read(solution_path(lesson), as_version=4)
    regions = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.DOTALL)
    lines = set()
    for cell in nb.cells:
        if nbgrader_meta(cell).get("solution") or nbgrader_meta(cell).get("grade"):
            for _, body in regions.findall(cell.source):
                lines |= {line.strip() for line in body.splitlines() if len(line.strip()) > 24}
    return lines


def test_toggles_hide_no_answers(site, browser, visits):
    """Nothing a toggle hides is an answer, and every exercise shows its stub without a click."""
    base, _ = site
    for lesson in LESSONS:
        visit = Visit(browser, f"{base}/{lesson_page(lesson, visits)}")
        try:
            page = visit.page
            stubs = page.locator(".cell.tag_skip-execution .cell_input", has_text="raise NotImplementedError(")
            exercises = [c for c in nbformat.read(student_path(lesson), as_version=4).cells
                         if nbgrader_meta(c).get("solution")]
            assert stubs.count() == len(exercises), f"{lesson}: {stubs.count()} stubs shown for {len(exercises)} exercises"
            for i in range(stubs.count()):
                assert stubs.nth(i).is_visible(), f"{lesson}: exercise {i + 1} is hidden behind a toggle"
            # The text of everything hidden until a reader clicks: closed toggles and <details>.
            hidden = page.evaluate("""() => [...document.querySelectorAll('article *')]
                .filter(el => !el.checkVisibility() && el.parentElement.checkVisibility())
                .map(el => el.textContent).join('\\n')""")
            leaked = [line for line in solution_lines(lesson) if line in hidden]
            assert not leaked, f"{lesson}: a toggle hides answers or hidden tests: {leaked[:3]}"
            text = page.evaluate("() => document.body.textContent")
            assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
        finally:
            visit.close()
