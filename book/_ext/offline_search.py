"""Search result snippets that also work in a book opened from disk (a `file://` URL).

A small Sphinx extension, loaded by `_config.yml` (`local_extensions`). Sphinx's search page
finds the hits in `searchindex.js`, which a `<script>` tag loads, so search works offline.
But the lines of text under each hit come from `fetch()` of the hit's HTML page (see
`_displayItem` and `Search.htmlToText` in Sphinx's `searchtools.js`), and Chromium refuses
`fetch` of `file://` URLs: a reader who downloaded the book sees titles without snippets.

So at the end of an HTML build this writes `_static/search-pages.js`: one global,
`window.COURSE_SEARCH_PAGES`, mapping each page's URL relative to the book's root (as
`searchtools.js` builds it: content root + docname + ".html") to a compact copy of the page's
`[role="main"]` element. The copy keeps only what `htmlToText(html, anchor)` reads: the text
(whitespace collapsed; no `.headerlink`, `script` or `style`) and every element that carries
an id, the `<section id=...>` nesting the search's anchors point into included, so
`querySelector('[role="main"] #anchor').textContent` gives the same words as the real page.

`_static/offline-search.js`, added to the search page only, wraps `fetch`: opened from
`file://`, it loads this file and answers a request for one of its pages from it. Over http
nothing changes and `search-pages.js` is never downloaded. Standard library only (html.parser).
"""
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

SCRIPT = "offline-search.js"  # in the repository's _static/
PAGES = "search-pages.js"  # written into the output's _static/
GLOBAL = "COURSE_SEARCH_PAGES"
SKIPPED_TAGS = {"script", "style"}
SKIPPED_CLASSES = {"headerlink"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
HTML_WHITESPACE = re.compile(r"[ \t\n\r\f]+")  # not \s: a no-break space stays as it is


def setup(app):
    app.connect("config-inited", keep_script_off_other_pages)
    # Before the handlers at the default priority (500): add_js_file adds to the builder's list,
    # and one that swaps context["script_files"] for a filtered copy
    # (course_pages.drop_repeated_scripts) must run after it, or the script misses the page.
    app.connect("html-page-context", add_script_to_search_page, priority=400)
    app.connect("build-finished", write_pages_after_build)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def keep_script_off_other_pages(app, config):
    # Jupyter Book adds every .js file in _static/ to every page (html_js_files); this one
    # belongs on the search page alone.
    config.html_js_files = [entry for entry in config.html_js_files
                            if (entry if isinstance(entry, str) else entry[0]) != SCRIPT]


def add_script_to_search_page(app, pagename, templatename, context, doctree):
    # add_js_file during html-page-context adds the script to this page only (Sphinx >= 3.5).
    # It lands among the page's scripts, before searchtools.js runs a query.
    if pagename == "search":
        app.add_js_file(SCRIPT)


def write_pages_after_build(app, exception):
    if exception is not None or app.builder.name != "html":
        return  # dirhtml builds other URLs; singlehtml has no search page
    outdir = Path(app.outdir)
    pages = [docname + app.builder.out_suffix for docname in sorted(app.env.found_docs)]
    path = write_search_pages(outdir, [page for page in pages if (outdir / page).is_file()])
    logger.info(f"offline_search: {path.relative_to(outdir)} ({path.stat().st_size / 1e3:.0f} kB)")


def write_search_pages(outdir, pages):
    """Write `_static/search-pages.js` into the built book `outdir` for `pages` (paths relative
    to it, such as "book/intro.html"); returns its path."""
    outdir = Path(outdir)
    texts = {page: main_text((outdir / page).read_text(encoding="utf-8")) for page in sorted(pages)}
    path = outdir / "_static" / PAGES
    path.parent.mkdir(parents=True, exist_ok=True)
    # ASCII only (\\u escapes): the file reads the same whatever encoding the browser assumes.
    path.write_text(f"window.{GLOBAL} = {json.dumps(texts, separators=(',', ':'))};\n", encoding="ascii")
    return path


def main_text(page):
    """The page's `[role="main"]` element as a compact HTML string: its text, and its elements
    that have an id (sections as `<section>`, anything else as `<div>`), nothing else."""
    parser = MainText()
    parser.feed(page)
    parser.close()
    return HTML_WHITESPACE.sub(" ", '<div role="main">' + "".join(parser.out) + "</div>")


class MainText(HTMLParser):
    """Streams through a page and copies the text and the id'd elements under [role="main"]."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.stack = None  # open elements inside main: (tag, closing tag written or "", skipped)
        self.done = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.stack is None:
            if not self.done and attrs.get("role") == "main":
                self.stack = [(tag, "", False)]
            return
        skipped = self.stack[-1][2] or tag in SKIPPED_TAGS or bool(
            SKIPPED_CLASSES & set((attrs.get("class") or "").split()))
        closing = ""
        if attrs.get("id") and not skipped:
            kept = "section" if tag == "section" else "div"
            self.out.append(f'<{kept} id="{html.escape(attrs["id"])}">')
            closing = f"</{kept}>"
        if tag in VOID_TAGS:
            self.out.append(closing)
        else:
            self.stack.append((tag, closing, skipped))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if not self.stack or tag not in [open_tag for open_tag, _, _ in self.stack]:
            return  # outside main, or a stray end tag
        while self.stack:  # closes elements left open (a <p> or <li> without its end tag)
            open_tag, closing, _ = self.stack.pop()
            self.out.append(closing)
            if open_tag == tag:
                break
        if not self.stack:
            self.stack, self.done = None, True

    def handle_data(self, data):
        if self.stack and not self.stack[-1][2]:
            self.out.append(html.escape(data, quote=False))
