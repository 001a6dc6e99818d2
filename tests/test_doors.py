"""One grading pipeline behind every door: `nbgrader autograde` run from the course root and
`make autograde` (`python -m grader autograde`) grade one batch alike.

The batch is Lesson 1 as three students hand it in: a correct notebook, a blank one, and a
cheat whose `neuron_grads` calls torch's autograd (the reference its tests compare with). Each
door grades its own throwaway copy of the course; the scores per cell and the findings per
student must be the same, and no feedback page may show a hidden test's code, case names or
inputs.

The formgrader is the third door, tried in a real browser: JupyterLab started at the course root
as `make lab` starts it for an instructor, nbgrader's formgrader opened from the Nbgrader menu,
the graded lesson's submissions shown with the scores of the grades CSV, and its Autograde
button running the course's judge (the findings file it writes is the proof) with the CLI's
score. Chromium is the system's (/usr/bin/chromium), driven by Playwright; screenshots land in
each test's tmp folder.
"""
import csv
import html
import json
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import submissions
from conftest import BIN, ROOT, copy_course, release_lesson, run_tool, tool_env

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("doors"),
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="the sandbox needs bubblewrap")]

LESSON = "01-micrograd"
CHEAT = ("def neuron_grads(x1, x2, w1, w2, b):\n"
         "    t = torch.tensor(x1, requires_grad=True)\n"
         "    torch.tanh(t).backward()\n"
         "    return {}\n")
# What the hidden tests print or pass as case names, besides their source lines: a feedback
# page that shows one of these tells the student what the hidden tests try.
HIDDEN_OUTPUT = ["random inputs #", "tanh saturated", "x**1.5 * x**-0.5", "exp(exp(x)*y)"]


def place(course):
    """Release Lesson 1 in the course and hand in the batch: correct, blank and cheat."""
    release_lesson(course, LESSON)  # make release
    batch = {"correct": submissions.answered(LESSON), "blank": submissions.blank(LESSON),
             "cheat": submissions.answered(LESSON, {"ex-neuron-grads": CHEAT})}
    for student, nb in batch.items():
        submissions.write(nb, course, student, LESSON)
    return course


def findings(course):
    """student -> sorted (kind, cell) of what the judge found."""
    out = {}
    for path in (course / "grading" / "findings" / LESSON).glob("*.json"):
        record = json.loads(path.read_text())
        out[record["student"]] = sorted((f["kind"], f["cell"]) for f in record["findings"])
    return out


def hidden_cases():
    """The names and literal inputs of the hidden checks, e.g. "tanh saturated" and "[3.5]"."""
    cases = set(HIDDEN_OUTPUT)
    for line in submissions.hidden_tests(LESSON):
        for name, inputs in re.findall(r'check_against_torch\("([^"]+)".*(\[[^\]]*\])\)$', line):
            cases.add(name)
            if "rng" not in inputs:
                cases.add(inputs)
    return cases


def feedback_text(course):
    """student -> the visible text of their feedback page (tags removed, entities decoded)."""
    run_tool("nbgrader", "generate_feedback", LESSON, "--force", cwd=course)
    return {page.parent.parent.name: html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
            for page in (course / "feedback").glob(f"*/{LESSON}/*.html")}


@pytest.fixture(scope="module")
def doors(tmp_path_factory):
    """Both doors on the same batch: {"nbgrader": course, "make": course}."""
    cli = place(copy_course(tmp_path_factory.mktemp("door-nbgrader")))
    run_tool("nbgrader", "autograde", LESSON, cwd=cli)
    make = place(copy_course(tmp_path_factory.mktemp("door-make")))
    # What `make autograde LESSON=01-micrograd` runs, pointed at the copy.
    result = subprocess.run([sys.executable, "-m", "grader", "--course", str(make), "autograde", LESSON],
                            cwd=ROOT, env=tool_env(), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {"nbgrader": cli, "make": make}


def test_the_batch_is_graded_as_its_answers_deserve(doors):
    graded = submissions.scores(doors["nbgrader"], LESSON)
    points = submissions.points(LESSON)
    assert graded["correct"] == points
    assert set(graded["blank"].values()) == {0}
    assert graded["cheat"]["test-neuron-grads"] == 0
    assert ("reference used", "ex-neuron-grads") in findings(doors["nbgrader"])["cheat"]


def test_both_doors_give_the_same_scores_per_cell(doors):
    by_cli, by_make = submissions.scores(doors["nbgrader"], LESSON), submissions.scores(doors["make"], LESSON)
    assert set(by_cli) == {"correct", "blank", "cheat"}
    assert by_cli == by_make


def test_both_doors_give_the_same_findings(doors):
    by_cli, by_make = findings(doors["nbgrader"]), findings(doors["make"])
    assert set(by_cli) == {"correct", "blank", "cheat"}
    assert by_cli == by_make


def test_no_feedback_page_shows_a_hidden_test(doors):
    hidden = sorted(submissions.hidden_tests(LESSON) | hidden_cases())
    assert {"tanh saturated", "[0.2, -0.4]", "x**0"} <= set(hidden)
    for door, course in doors.items():
        pages = feedback_text(course)
        assert set(pages) == {"correct", "blank", "cheat"}, door
        # The pages do carry the visible tests' messages, so an empty page cannot pass.
        assert "NotImplementedError" in pages["blank"], door
        for student, text in pages.items():
            leaked = [s for s in hidden if s in text]
            assert not leaked, f"{door}: feedback of {student} shows hidden tests: {leaked}"


def test_the_report_gives_each_score_its_lesson_maximum(doors):
    course = doors["make"]  # `make autograde` writes the report
    with open(course / "grading" / "report.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["student_id"] for r in rows} == {"correct", "blank", "cheat"}
    maximum = sum(submissions.points(LESSON).values())
    for row in rows:
        assert float(row["max_score"]) == maximum, row
    correct = next(r for r in rows if r["student_id"] == "correct")
    assert float(correct["score"]) == float(correct["max_score"])
    page = (course / "grading" / "report.html").read_text()
    assert "<th>score</th><th>max_score</th>" in page


# ---- the formgrader, in a browser ----------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 120_000  # the machine may be busy: a slow page is not a broken one
AUTOGRADE_MS = 600_000


def _why_no_browser():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: .venv/bin/pip install -c constraints.txt playwright"
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM}: apt-get install chromium"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _why_no_browser()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(doors, tmp_path_factory):
    """JupyterLab at the root of the graded course; yields (base url, token, course)."""
    if _why_no_browser():
        pytest.skip(_why_no_browser())
    course = doors["nbgrader"]
    port, token = _free_port(), secrets.token_hex(16)
    log = open(tmp_path_factory.mktemp("lab") / "jupyter.log", "w")
    # As `make lab` runs it, plus what a test needs: no browser of its own, a fixed token, root.
    server = subprocess.Popen(
        [str(BIN / "jupyter"), "lab", "--ServerApp.default_url=/lab/tree/book", "--no-browser",
         "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}", "--allow-root"],
        cwd=course, env=tool_env(), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                log.flush()
                pytest.fail(f"JupyterLab did not start:\n{Path(log.name).read_text()[-3000:]}")
            time.sleep(1)
        yield base, token, course
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def grades_csv(course):
    """student -> row of grades.csv, as `nbgrader export` (= `make grades`) writes it."""
    run_tool("nbgrader", "export", cwd=course)
    with open(course / "grades.csv") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def shown_scores(page):
    """student -> (score, maximum) as the formgrader's submissions table shows them."""
    rows = page.locator("#main-table tr")
    shown = {}
    for i in range(rows.count()):
        student = rows.nth(i).locator("td.student-id").inner_text().strip()
        got, _, most = rows.nth(i).locator("td.score").inner_text().partition("/")
        shown[student] = (float(got), float(most))
    return shown


def open_submissions(page, base):
    page.goto(f"{base}/formgrader/manage_submissions/{LESSON}")
    page.wait_for_function("document.querySelectorAll('#main-table td.score').length >= 3 && "
                           "[...document.querySelectorAll('#main-table td.score')].every(td => td.innerText.includes('/'))",
                           timeout=WAIT_MS)


def test_formgrader_shows_the_graded_submissions_with_the_csv_scores(lab, browser, tmp_path):
    base, token, course = lab
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(WAIT_MS)
    # The instructor's way in: JupyterLab, then Nbgrader > Formgrader.
    page.goto(f"{base}/lab?token={token}")
    page.locator(".lm-MenuBar-itemLabel:text-is('Nbgrader')").click()
    page.locator(".lm-Menu-itemLabel:text-is('Formgrader')").click()
    frame = page.frame_locator("iframe[src*='formgrader']")
    frame.locator("text=Manage Assignments").first.wait_for()
    frame.locator("text=" + LESSON).first.wait_for()
    page.screenshot(path=str(shots / "lab-formgrader.png"))

    open_submissions(page, base)
    page.screenshot(path=str(shots / "submissions.png"), full_page=True)
    shown = shown_scores(page)
    grades = grades_csv(course)
    assert set(shown) == {"correct", "blank", "cheat"}
    for student, (got, most) in shown.items():
        assert got == float(grades[student][f"{LESSON}/total"]), student
        assert most == float(grades[student]["max_score"]), student
    print(f"screenshots: {shots}")


def test_formgrader_autograde_button_runs_the_judge(lab, browser, tmp_path):
    base, token, course = lab
    before = submissions.scores(course, LESSON)["cheat"]
    found = course / "grading" / "findings" / LESSON / "cheat.json"
    found.unlink()  # written again only if the button runs the judge
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{base}/lab?token={token}")  # logs the browser in
    page.wait_for_load_state()
    open_submissions(page, base)
    row = page.locator("#main-table tr", has=page.locator("td.student-id", has_text="cheat"))
    row.locator("td.autograde a").click()
    page.locator("#success-modal, #error-modal").first.wait_for(timeout=AUTOGRADE_MS)
    page.screenshot(path=str(tmp_path / "autograde.png"))
    assert page.locator("#success-modal").count() == 1, page.locator("#error-modal").inner_text()

    assert found.exists(), "the formgrader's Autograde did not run the course's judge"
    assert ("reference used", "ex-neuron-grads") in findings(course)["cheat"]
    assert submissions.scores(course, LESSON)["cheat"] == before
    open_submissions(page, base)
    assert shown_scores(page)["cheat"][0] == sum(before.values())


def test_feedback_text_wraps(doors, browser, tmp_path):
    course = doors["nbgrader"]
    run_tool("nbgrader", "generate_feedback", LESSON, "--force", "--student", "cheat", cwd=course)
    page_file = next((course / "feedback" / "cheat" / LESSON).glob("*.html"))
    # A line far wider than the window, as a long test message or a long line of code would be.
    long_line = "x" * 40 + " = " + " + ".join(f"value_{i}" for i in range(120))
    text = page_file.read_text().replace("</pre>", f"\n{long_line}</pre>", 1)
    page_file = page_file.with_name("long-line.html")
    page_file.write_text(text)
    page = browser.new_page(viewport={"width": 800, "height": 900})
    page.goto(page_file.as_uri(), wait_until="domcontentloaded")  # MathJax's CDN is unreachable
    page.screenshot(path=str(tmp_path / "feedback.png"), full_page=True)
    blocks = page.evaluate("""[...document.querySelectorAll('pre')].map(p => ({
        white: getComputedStyle(p).whiteSpace, over: p.scrollWidth - p.clientWidth,
        text: p.innerText.slice(0, 60)}))""")
    assert blocks
    overflowing = [b for b in blocks if b["over"] > 1]
    assert not overflowing, overflowing
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
