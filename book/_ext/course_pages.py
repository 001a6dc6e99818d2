"""Appendix pages made from the build itself, so that no number on them is typed in.

A small Sphinx extension, loaded by `_config.yml` (`local_extensions`).

``{lesson-results}`` fills the reproduction page. For every lesson page in the book it copies
the table that the lesson's executed page displays, our numbers beside the lecture's, and the
run profile that executed the page. A lesson's table is the output of its cell tagged
``reproduction``; without such a tag, the last displayed table with a column whose header
names the lecture (``lecture``, ``lecture train``, ...). The profile is read from the line
``config.describe()`` prints at the end of every lesson. The copy is made while the
reproduction page is written, after every lesson page has been read (executed or taken from
the execution cache), so it matches the lessons of the same build; the page is rewritten on
every build.

``{book-build-times}`` shows what `make book` recorded about full-book builds in
``bench/results/book_build_<profile>.json`` (see ``bench/book_build.py``); the page is re-read
whenever one of those files changes.

At the end of every build, the execution record of each page (run time in seconds, whether it
ran in this build or came from the cache) is written to ``_build/exec_data.json``, for
``bench/book_build.py`` to collect.

Two fixes for errors the browser console showed on every page (tests/test_browser.py): the
theme's colour mode starts as "auto" instead of an empty, invalid value, and sphinx-thebe's
configuration script, which Sphinx 7 includes twice, is included once.
"""
import json
import os
import posixpath
import re
from datetime import datetime
from pathlib import Path

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

LESSON_DOC = re.compile(r"^book/(\d\d)-[^/]+/[^/]+$")
PROFILE_LINE = re.compile(r"Executed with the '(\w+)' profile")
RESULTS_TAG = "reproduction"
BUILD_RECORDS = "bench/results/book_build_{profile}.json"
PROFILES = ("full", "fast")


def setup(app):
    # Training loops print one summary line instead of a tqdm bar, whose redraws would stay
    # on the page as lines of stderr (lib/progress.py). Kernels inherit the build's environment.
    os.environ.setdefault("COURSE_PROGRESS", "summary")
    app.add_node(LessonResultsNode)
    app.add_directive("lesson-results", LessonResults)
    app.add_directive("book-build-times", BookBuildTimes)
    app.add_post_transform(FillLessonResults)
    app.connect("env-updated", rewrite_results_pages)
    app.connect("env-purge-doc", forget_results_page)
    app.connect("env-merge-info", merge_results_pages)
    app.connect("build-finished", write_exec_data)
    app.connect("config-inited", start_in_auto_colour_mode)
    app.connect("html-page-context", drop_repeated_scripts)
    app.connect("html-page-context", launch_lessons_only, priority=502)  # after the theme's (501)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}


def launch_lessons_only(app, pagename, templatename, context, doctree):
    """Colab opens notebooks; the theme also offers it on executed Markdown pages (the performance
    page), where it would open a .md file that Colab cannot run. Only lessons keep the button."""
    if not LESSON_DOC.match(pagename) and "header_buttons" in context:
        context["header_buttons"] = [b for b in context["header_buttons"] if b.get("label") != "launch-buttons"]


def start_in_auto_colour_mode(app, config):
    config.html_context.setdefault("default_mode", "auto")


def drop_repeated_scripts(app, pagename, templatename, context, doctree):
    """An inline script that declares a constant, included twice, is a SyntaxError the second time."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (getattr(script, "filename", str(script)) or "",  # an inline script: None or ""
               tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


# --- the reproduction page ----------------------------------------------------------------

class LessonResultsNode(nodes.General, nodes.Element):
    """Placeholder, replaced by the lessons' tables once every page has been read."""


class LessonResults(SphinxDirective):
    def run(self):
        pages = getattr(self.env, "course_results_pages", set())
        pages.add(self.env.docname)
        self.env.course_results_pages = pages
        return [LessonResultsNode()]


def forget_results_page(app, env, docname):
    getattr(env, "course_results_pages", set()).discard(docname)


def merge_results_pages(app, env, docnames, other):
    env.course_results_pages = getattr(env, "course_results_pages", set()) | getattr(other, "course_results_pages", set())


def rewrite_results_pages(app, env):
    """The reproduction page copies other pages: write it again whenever the book is built."""
    return sorted(getattr(env, "course_results_pages", set()) & set(env.found_docs))


def lesson_docs(env):
    return sorted(d for d in env.found_docs if LESSON_DOC.match(d))


def find_results_table(doctree):
    """The lesson's results table: its `reproduction` cell's, else the last with a column about the lecture."""
    tagged, with_lecture_column = [], []
    for cell in doctree.findall(nodes.container):
        if cell.get("nb_element") != "cell_code":
            continue
        tables = list(cell.findall(nodes.table))
        if RESULTS_TAG in cell.get("cell_metadata", {}).get("tags", []):
            tagged += tables
        for table in tables:
            headers = [entry.astext().strip().lower() for thead in table.findall(nodes.thead)
                       for entry in thead.findall(nodes.entry)]
            if any(re.search(r"\blecture", header) for header in headers):
                with_lecture_column.append(table)
    found = tagged or with_lecture_column
    return found[-1] if found else None


def executed_profile(doctree):
    match = PROFILE_LINE.search(doctree.astext())
    return match.group(1) if match else None


def link_to(docname, from_docname, text):
    ref = pending_xref(refdoc=from_docname, reftype="doc", refdomain="std", refexplicit=True,
                       reftarget="/" + docname, refwarn=True, classes=["xref", "doc"])
    ref += nodes.inline(text=text)
    return ref


class FillLessonResults(SphinxPostTransform):
    default_priority = 8  # before references are resolved (the lesson links are references)

    def run(self, **kwargs):
        for placeholder in list(self.document.findall(LessonResultsNode)):
            placeholder.replace_self(self.lesson_sections())

    def lesson_sections(self):
        env, here = self.env, self.env.docname
        out = []
        for docname in lesson_docs(env):
            doctree = env.get_doctree(docname)
            title = env.titles[docname].astext() if docname in env.titles else docname
            # A container with a rubric: sections made this late would miss the page's contents.
            section = nodes.container(ids=[nodes.make_id("results-" + docname)], classes=["lesson-results"])
            section += nodes.rubric(text=title)
            profile = executed_profile(doctree)
            table = find_results_table(doctree)
            para = nodes.paragraph()
            para += nodes.Text("From ")
            para += link_to(docname, here, "the lesson's page")
            if profile:
                para += nodes.Text(", executed with the ")
                para += nodes.strong(text=profile)
                para += nodes.Text(" profile" + (" (the lecture's step counts)." if profile == "full"
                                                 else " (a preview with fewer steps; run with COURSE_PROFILE=full for the real numbers)."))
            else:
                para += nodes.Text(" (the page does not say which profile executed it).")
            section += para
            if table is None:
                logger.info(f"[course_pages] {docname} displays no results table")
                section += nodes.paragraph(text="This lesson's page displays no table of results beside the lecture's yet.",
                                           classes=["no-results"])
            else:
                section += table.deepcopy()
            out.append(section)
        if not out:
            out.append(nodes.paragraph(text="The book has no lessons yet."))
        return out


# --- build times on the performance page ----------------------------------------------------

class BookBuildTimes(SphinxDirective):
    """Tables of the recorded full-book builds, one per profile that has a record."""

    def run(self):
        root = Path(self.env.app.confdir)
        # Re-read this page when a record appears (the folder changes) or changes (the file does).
        self.env.note_dependency(str(root / Path(BUILD_RECORDS).parent))
        lines = []
        for profile in PROFILES:
            path = root / BUILD_RECORDS.format(profile=profile)
            if not path.is_file():
                continue
            self.env.note_dependency(str(path))
            lines += describe_build_record(profile, json.loads(path.read_text()))
        if not lines:
            lines = ["No build has been recorded yet: `make book` records one in "
                     "`bench/results/book_build_<profile>.json`."]
        return self.parse_text_to_nodes("\n".join(lines))


def minutes(seconds):
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def at_a_time(build):
    workers = build.get("workers", 1)
    return f", executing {workers} pages at a time" if workers > 1 else ", executing one page at a time"


def describe_build_record(profile, record):
    lines = [f"**Profile `{profile}`.**", ""]
    clean, latest = record.get("clean"), record.get("latest")
    if clean:
        lines += [
            f"The last build that started from an empty execution cache (every page executed) took "
            f"**{minutes(clean['wall_s'])}** of wall time and {minutes(clean['cpu_s'])} of CPU time, on "
            f"{clean['date']} ({clean['machine']}; load average {clean['load_average_before']:.1f} before it "
            "started, so other work shared the machine when that is above zero)"
            f"{at_a_time(clean)}.", ""]
    if latest and latest != clean:
        lines += [f"The latest build, on {latest['date']}, took {minutes(latest['wall_s'])} and executed "
                  f"{len(latest['executed'])} page(s); the rest came from the execution cache.", ""]
    pages = (clean or latest or {}).get("pages", [])
    timed = [p for p in pages if p.get("seconds") is not None]
    if timed:
        lines += ["| page | execution time |", "|---|---|"]
        lines += [f"| {p['title']} | {minutes(p['seconds'])} |" for p in timed]
        lines += [f"| all pages, added up | {minutes(sum(p['seconds'] for p in timed))} |", ""]
    return lines


# --- execution records for bench/book_build.py ----------------------------------------------

def write_exec_data(app, exception):
    if exception is not None or app.builder.name != "html":
        return
    from myst_nb.sphinx_ import NbMetadataCollector

    records = {}
    for docname, data in sorted(NbMetadataCollector.get_doc_data(app.env).items()):
        exec_data = data.get("exec_data")
        if docname in app.env.found_docs and exec_data:
            records[docname] = {
                "title": app.env.titles[docname].astext() if docname in app.env.titles else docname,
                "seconds": exec_data.get("runtime"),
                "finished": datetime.fromtimestamp(exec_data["mtime"]).isoformat(timespec="seconds")
                if exec_data.get("mtime") else None,
                "succeeded": exec_data.get("succeeded"),
            }
    Path(app.doctreedir).parent.joinpath("exec_data.json").write_text(json.dumps(records, indent=1) + "\n")
