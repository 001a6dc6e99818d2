"""The built book as a reader sees it: every page opened in a real browser.

The book (the fast-profile build that tests/test_book.py makes, shared through the xdist group
"book") is served on localhost and opened in headless Chromium, driven by Playwright with the
system's browser (/usr/bin/chromium; no browser download). The network is cut as on a train:
every request to another host is blocked, and a page that makes one fails the test, because
offline it would lose whatever it asked for. The book serves its own MathJax, so every
formula must render: no raw TeX in a page's visible text and no MathJax error. Every page is
screenshotted into _build/screenshots/; _build/browser-report.json records each page's
formulas (rendered / total), weight and blocked requests.
"""
import functools
import gzip
import http.server
import json
import os
import re
import shutil
import threading
import urllib.parse
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
REPORT = ROOT / "_build" / "browser-report.json"
LOCAL_HOSTS = ("127.0.0.1", "localhost")
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
        context.blocked_requests = []

        def route(route):
            match = re.match(r"[a-z-]+://([^/:]+)", route.request.url)
            if match and match.group(1) in LOCAL_HOSTS:
                return route.continue_()
            context.blocked_requests.append(route.request.url)
            route.abort("blockedbyclient")

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


# Waits for MathJax to finish typesetting (if it loaded at all), then counts the page's formulas
# (Sphinx writes each as an element of class "math"), the ones MathJax rendered without an
# error, the error nodes, and any TeX left in the visible text outside code.
MATH_REPORT = r"""async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        await MathJax.startup.promise;
    }
    const formulas = [...document.querySelectorAll('.math')];
    const rendered = formulas.filter(el => el.querySelector('mjx-container') && !el.querySelector('mjx-merror'));
    const errors = [...document.querySelectorAll('mjx-merror, [data-mjx-error]')]
        .map(el => el.getAttribute('data-mjx-error') || el.textContent);
    const skip = 'pre, code, script, style, textarea, mjx-container, .highlight';
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const texts = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const el = node.parentElement;
        if (el && !el.closest(skip) && el.checkVisibility()) texts.push(node.textContent);
    }
    const text = texts.join(' ');
    const tex = /\\\(|\\\[|\\begin\{|\$\$|\$[^$\s](?:[^$]{0,200}?[^$\s])?\$/g;
    const raw = [...new Set([...text.matchAll(tex)].map(m => text.slice(Math.max(0, m.index - 30), m.index + 50)))];
    // Bytes the page loaded. Playwright turns the HTTP cache off while it routes requests, so
    // this is a page's whole weight, as a reader's first visit would fetch it.
    const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
    const transferred = entries.reduce((sum, e) => sum + (e.transferSize || 0), 0);
    const resources = entries.map(e => [e.name.split('#')[0], e.transferSize || 0]);
    return {total: formulas.length, rendered: rendered.length, errors: errors, raw_tex: raw, transferred: transferred,
            resources: resources};
}"""

# At the desktop width: the code blocks (cell inputs and code listings, not outputs) that scroll
# sideways, each by its longest line; and for every graph drawing (an SVG image in a cell's
# output), the height in CSS pixels of its smallest label as drawn: graphviz writes each label's
# font-size in the units of the SVG's viewBox, which the image scales to its width on the page.
LAYOUT = r"""async () => {
    const blocks = [...document.querySelectorAll('div.highlight pre')]
        .filter(pre => !pre.closest('.cell_output') && pre.checkVisibility());
    const overflowing = blocks.filter(pre => pre.scrollWidth > pre.clientWidth + 1).map(pre =>
        pre.textContent.split('\n').reduce((a, b) => a.length >= b.length ? a : b, '').slice(0, 120));
    const drawings = [];
    for (const img of document.querySelectorAll('.cell_output img')) {
        const src = img.currentSrc || img.src;
        if (!src.endsWith('.svg') || !img.checkVisibility()) continue;
        const svg = new DOMParser().parseFromString(await (await fetch(src)).text(), 'image/svg+xml').documentElement;
        const box = (svg.getAttribute('viewBox') || '').trim().split(/[\s,]+/).map(Number);
        const sizes = [...svg.querySelectorAll('text')].map(t => parseFloat(t.getAttribute('font-size')))
            .filter(size => size > 0);
        if (box.length !== 4 || !sizes.length) continue;
        const scale = img.getBoundingClientRect().width / box[2];
        drawings.push({src: src.split('/').pop(), smallest_label_px: Math.min(...sizes) * scale});
    }
    return {code_blocks: blocks.length, overflowing_code: overflowing, drawings: drawings};
}"""
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


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
        self.math = self.page.evaluate(MATH_REPORT)
        self.layout = self.page.evaluate(LAYOUT)
        # The same page on a phone: the page itself must not scroll sideways (a wide block may).
        self.page.set_viewport_size(PHONE)
        self.layout["phone_overflow_px"] = self.page.evaluate(
            "() => document.documentElement.scrollWidth - window.innerWidth")
        self.page.set_viewport_size(DESKTOP)

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
        blocked_before = len(browser.blocked_requests)
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
            "math": visit.math,
            "layout": visit.layout,
            "blocked": browser.blocked_requests[blocked_before:],
        }
        visit.close()
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    new_bytes, new_sent = new_bytes_per_page(results), new_bytes_sent(html, results)
    REPORT.write_text(json.dumps({path: {"formulas_total": v["math"]["total"], "formulas_rendered": v["math"]["rendered"],
                                         "bytes": v["math"]["transferred"], "new_bytes": new_bytes[path],
                                         "new_bytes_sent": new_sent.get(path),
                                         "blocked_requests": v["blocked"], "layout": v["layout"],
                                         "largest": sorted(v["math"]["resources"], key=lambda r: -r[1])[:8]}
                                  for path, v in results.items()}, indent=1))
    return results


def test_every_page_opens_without_console_errors(visits):
    assert len(visits) >= len(LESSONS) + 2
    for path, visit in visits.items():
        assert not visit["errors"], f"{path}: {visit['errors']}"


def test_no_page_requests_anything_from_another_site(visits, browser):
    blocked = {path: visit["blocked"] for path, visit in visits.items() if visit["blocked"]}
    assert not blocked, f"pages that need the network (blocked here, lost offline): {blocked}"
    assert not browser.blocked_requests, browser.blocked_requests


def test_every_formula_renders_offline(visits):
    total = sum(v["math"]["total"] for v in visits.values())
    rendered = sum(v["math"]["rendered"] for v in visits.values())
    print(f"formulas rendered: {rendered} / {total} on {sum(bool(v['math']['total']) for v in visits.values())} pages")
    for path, visit in visits.items():
        math = visit["math"]
        assert not math["errors"], f"{path}: MathJax could not typeset: {math['errors'][:3]}"
        assert not math["raw_tex"], f"{path}: TeX shown as text: {math['raw_tex'][:3]}"
        assert math["rendered"] == math["total"], f"{path}: {math['rendered']} of {math['total']} formulas rendered"
    # The lessons are full of formulas; none found means the check is looking in the wrong place.
    assert total >= 100, f"only {total} formulas in the whole book"


def added_files(results):
    """{page: [(url, bytes loaded)] of the files it loads that the front page had not (a
    browser's cache keeps those)}."""
    front = {url for url, _ in results["index.html"]["math"]["resources"]} if "index.html" in results else set()
    return {path: [(url, size) for url, size in v["math"]["resources"] if url not in front]
            for path, v in results.items()}


def new_bytes_per_page(results):
    """What each page adds to what the front page loaded."""
    added = added_files(results)
    return {path: (v["math"]["transferred"] if path == "index.html" else sum(dict(added[path]).values()))
            for path, v in results.items()}


def new_bytes_sent(html, results):
    """new_bytes_per_page as a host that compresses text sends them, for every page but the front."""
    return {path: sum(served_size(html, url) for url, _ in files)
            for path, files in added_files(results).items() if path != "index.html"}


FIRST_PAGE_MAX = 1_500_000  # bytes a reader's first page may transfer, compressed as a web host does
NEXT_PAGE_MAX = 500_000  # bytes any other page may add to what the first page loaded, compressed alike
COMPRESSED = {".html", ".js", ".css", ".json", ".svg", ".txt", ".map", ".ipynb"}


def served_size(html, url, cache={}):
    """Bytes a web host that gzips text (GitHub Pages does) sends for one of the book's files."""
    path = html / urllib.parse.urlparse(url).path.lstrip("/")
    if path not in cache:
        data = path.read_bytes() if path.is_file() else b""
        cache[path] = len(gzip.compress(data, 6)) if path.suffix in COMPRESSED else len(data)
    return cache[path]


def test_page_weights_are_measured(site, visits):
    """Each page's weight: everything it loads (theme, scripts, fonts, images), cache off, as
    served here and as a host that compresses text sends it, and what it adds to the front
    page's; the report keeps the front page's largest files. The front page stays under 1.5 MB
    as sent, and every other page adds at most 500 kB to it (a reader's cache keeps the theme,
    the fonts and MathJax: what a page adds is its HTML and its images)."""
    _, html = site
    new_bytes = new_bytes_per_page(visits)
    sent = {path: sum(served_size(html, url) for url, _ in v["math"]["resources"]) for path, v in visits.items()}
    new_sent = new_bytes_sent(html, visits)
    for path, visit in visits.items():
        print(f"{visit['math']['transferred'] / 1e3:8.0f} kB  {sent[path] / 1e3:8.0f} kB compressed  "
              f"{new_bytes[path] / 1e3:8.0f} kB new  {new_sent.get(path, sent[path]) / 1e3:8.0f} kB new compressed  "
              f"{path}")
        assert visit["math"]["transferred"] > 0, f"{path}: no transfer measured"
        assert 0 <= new_bytes[path] <= visit["math"]["transferred"]
    assert sent["index.html"] <= FIRST_PAGE_MAX, f"the front page sends {sent['index.html'] / 1e6:.2f} MB"
    heavy = {path: f"{size / 1e3:.0f} kB" for path, size in new_sent.items() if size > NEXT_PAGE_MAX}
    assert not heavy, f"pages that add more than {NEXT_PAGE_MAX / 1e3:.0f} kB to the front page's load: {heavy}"
    assert any(path.startswith("book/02-bigram") for path in new_sent), "Lesson 2, the heaviest page, was not weighed"


def test_code_fits_the_column_and_the_phone(visits):
    """At 1280 px no code block scrolls sideways; at 390 px the page itself does not."""
    counted = sum(v["layout"]["code_blocks"] for v in visits.values())
    assert counted >= 100, f"only {counted} code blocks found: the check is looking in the wrong place"
    wide = {p: v["layout"]["overflowing_code"] for p, v in visits.items() if v["layout"]["overflowing_code"]}
    assert not wide, f"code blocks wider than the column: {wide}"
    phone = {p: v["layout"]["phone_overflow_px"] for p, v in visits.items() if v["layout"]["phone_overflow_px"] > 0}
    assert not phone, f"pages wider than a phone's screen (px too wide): {phone}"


def test_graph_labels_are_readable(visits):
    """Every graph drawing's smallest label is at least 10 px high as drawn at 1280 px."""
    drawings = [(p, d) for p, v in visits.items() for d in v["layout"]["drawings"]]
    assert len(drawings) >= 3, f"only {len(drawings)} graph drawings found in the book"
    small = [(p, d["src"], round(d["smallest_label_px"], 1)) for p, d in drawings if d["smallest_label_px"] < 10]
    assert not small, f"graph drawings with labels under 10 px: {small}"


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
        # Colab opens the file at that path of the repository: it is the lesson's student notebook.
        path = ROOT / colab[0].split("/blob/main/", 1)[1]
        assert path == student_path(lesson) and path.is_file(), f"{lesson}: Colab opens {path}"
        assert_student_notebook(lesson, path.read_text())


def test_every_colab_link_opens_a_notebook(visits):
    """Colab opens only notebooks: no page links it to a Markdown page or a missing file."""
    for path, visit in visits.items():
        for href in visit["links"]:
            if "colab.research.google.com" in href:
                target = ROOT / href.split("/blob/main/", 1)[1]
                assert target.suffix == ".ipynb" and target.is_file(), f"{path}: Colab opens {target}"
                nbformat.validate(nbformat.read(target, as_version=4))


def assert_student_notebook(lesson, text):
    """`text` is a valid notebook, the lesson's student edition: stubs, no answers."""
    notebook = nbformat.reads(text, as_version=4)
    nbformat.validate(notebook)
    student = nbformat.read(student_path(lesson), as_version=4)
    assert [c.source for c in notebook.cells] == [c.source for c in student.cells], f"{lesson}: not the student edition"
    assert "raise NotImplementedError(" in text and "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text


def test_every_lesson_page_offers_its_student_notebook(site, browser, visits):
    base, _ = site
    for lesson in LESSONS:
        visit = Visit(browser, f"{base}/{lesson_page(lesson, visits)}")
        try:
            links = visit.page.locator(".dropdown-download-buttons a[href$='.ipynb']")
            assert links.count() == 1, f"{lesson}: {links.count()} notebook downloads in the download menu"
            href = links.first.evaluate("a => a.href")
            assert links.first.get_attribute("download") is not None, f"{lesson}: the link opens the notebook, not saves it"
            assert href.endswith(f"/{lesson}/{notebook_name(lesson)}.ipynb"), f"{lesson}: the download is {href}"
            response = visit.page.request.get(href)
            assert response.ok, f"{lesson}: {href}: HTTP {response.status}"
            assert_student_notebook(lesson, response.text())
        finally:
            visit.close()


LABELS = {"tag_exercise": "Exercise", "tag_test": "Test", "tag_predict": "Predict"}


def expected_labels(lesson):
    """The number of cells of each label in the lesson's student notebook."""
    counts = dict.fromkeys(LABELS, 0)
    for cell in nbformat.read(student_path(lesson), as_version=4).cells:
        meta, tags = nbgrader_meta(cell), cell.get("metadata", {}).get("tags", [])
        if meta.get("solution") or "exercise" in tags:
            counts["tag_exercise"] += 1
        elif meta.get("grade") or "test" in tags:
            counts["tag_test"] += 1
        elif "predict" in tags:
            counts["tag_predict"] += 1
    return counts


def test_exercise_test_and_predict_cells_carry_a_visible_label(site, browser, visits):
    base, _ = site
    for lesson in LESSONS:
        visit = Visit(browser, f"{base}/{lesson_page(lesson, visits)}")
        try:
            for css_class, count in expected_labels(lesson).items():
                labels = visit.page.eval_on_selector_all(f".cell.{css_class}", """els => els.map(el => {
                    const before = getComputedStyle(el, '::before');
                    return {label: before.content, shown: before.display !== 'none' && el.checkVisibility(),
                            rule: getComputedStyle(el).borderLeftWidth};
                })""")
                assert len(labels) == count, f"{lesson}: {len(labels)} cells of class {css_class}, {count} in the notebook"
                for i, label in enumerate(labels):
                    assert label["label"] == f'"{LABELS[css_class]}"' and label["shown"], (
                        f"{lesson}: {css_class} cell {i + 1} shows the label {label['label']}")
                    assert label["rule"] != "0px", f"{lesson}: {css_class} cell {i + 1} is not set apart"
            assert expected_labels(lesson)["tag_exercise"] >= 1, f"{lesson} has no exercise"
        finally:
            visit.close()


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


def test_search_shows_snippets_offline_from_a_file(site, browser):
    """A reader who downloaded the book opens its search page from disk (a file:// URL): the
    hits come with their snippets, the lines under each hit. Sphinx's searchtools.js cuts them
    from fetch() of the hit's page, which Chromium refuses for file://; the book's
    _static/offline-search.js answers those fetches from _static/search-pages.js
    (book/_ext/offline_search.py)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    _, html = site
    word, lesson = "backpropagation", lesson_page(LESSONS[0])
    # A page of its own: the module's browser blocks file:// with everything not on localhost.
    # Its routes come before the context's; here only files and localhost pass.
    page = browser.new_page()
    errors, blocked = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"{r.url}: {r.failure}"))

    def route(route):
        match = re.match(r"[a-z-]+://([^/:]*)", route.request.url)
        if route.request.url.startswith("file://") or (match and match.group(1) in LOCAL_HOSTS):
            return route.continue_()
        blocked.append(route.request.url)
        route.abort("blockedbyclient")

    page.route("**/*", route)
    try:
        page.goto(f"{(html / 'search.html').as_uri()}?q={word}", wait_until="load")
        page.wait_for_selector("#search-results li", timeout=30_000)
        hits = f"[...document.querySelectorAll('#search-results li')].filter(li => (li.querySelector('a')" \
               f".getAttribute('href') || '').split('#')[0] === {json.dumps(lesson)})"
        try:  # the snippets arrive one by one after the hits; without them, fail below with the errors
            page.wait_for_function(f"() => {hits}.length > 0 && {hits}.every(li => li.querySelector('p.context'))",
                                   timeout=15_000)
        except PlaywrightTimeout:
            pass
        snippets = page.evaluate(f"() => {hits}.map(li => (li.querySelector('p.context') || {{}}).textContent || '')")
        assert snippets, f"no hit for {lesson} when searching for {word!r}"
        for snippet in snippets:
            assert snippet.strip(), f"a hit for {lesson} has no snippet offline; browser errors: {errors[:4]}"
            assert word in snippet.lower(), f"the snippet for {lesson} lacks {word!r}: {snippet!r}"
        assert not errors, errors
        assert not blocked, f"the search page asked another site for: {blocked}"
    finally:
        page.close()
