"""A student's first hour in JupyterLab, in a real browser, inside the student pack.

JupyterLab is started the way the pack's `make lab` starts it (from the pack's root, with
--allow-root only as root), on 127.0.0.1 with a token, and driven through headless Chromium
by Playwright (the system's /usr/bin/chromium; no browser download). Screenshots land in the
test's tmp folder.
"""
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time

import pytest

import submissions
from conftest import LESSONS, ROOT, notebook_name, tool_env
from test_browser import CHROMIUM, CHROMIUM_ARGS, _why_no_browser

sys.path.insert(0, str(ROOT / "tools"))
import student_pack  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("lab-browser"), pytest.mark.skipif(not LESSONS, reason="no lessons")]

LESSON = LESSONS[0] if LESSONS else None
# The lesson's first exercise, and a classic mistake in it: tanh's local derivative taken as o.
EXERCISE, CORRECT, WRONG = "ex-neuron-grads", '(1 - o**2) * grads["o"]', 'o * grads["o"]'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a fresh student pack; yields (base url with token, pack folder, shots)."""
    reason = _why_no_browser()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("lab")
    folder, _ = student_pack.build(tmp / "out")
    # Settings and open tabs of its own (JupyterLab keeps them in ~/.jupyter otherwise).
    # Every cell in the page (no windowing: the test reads prompts of cells off screen) and no
    # news popup over the notebook.
    settings = tmp / "settings"
    for plugin, values in {"notebook-extension/tracker": {"windowingMode": "none"},
                           "apputils-extension/notification": {"fetchNews": "false"}}.items():
        path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    root = ["--allow-root"] if os.geteuid() == 0 else []
    log = open(tmp / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
         f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={tmp / 'workspaces'}", *root],
        cwd=folder, env=tool_env(PYTHONPATH=str(folder)), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.time() < deadline, (tmp / "jupyterlab.log").read_text()[-3000:]
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", token, folder, tmp / "screenshots"
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright

    base, token, _, shots = lab
    shots.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/lab/tree/{LESSON}/{notebook_name(LESSON)}.ipynb?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=120_000)
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
        yield page
        browser.close()


PROMPTS = "[...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')].map(e => e.textContent)"


def shoot(page, lab, name):
    page.screenshot(path=str(lab[3] / f"{name}.png"))


def test_the_lesson_opens_unmodified(page, lab):
    """Opening a lesson and starting its kernel changes nothing in it: its tab shows no unsaved
    change (JupyterLab marks the tab dirty when it rewrites the notebook's kernel metadata)."""
    time.sleep(3)  # the kernel's info reply, which JupyterLab copies into the metadata, has come
    shoot(page, lab, "opened")
    tab = page.locator(".lm-TabBar-tab.jp-mod-current")
    assert tab.count() == 1 and notebook_name(LESSON) in tab.inner_text()
    assert "jp-mod-dirty" not in (tab.get_attribute("class") or ""), "the notebook is modified on opening"


def test_run_all_reaches_the_last_cell_of_a_blank_notebook(page, lab):
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()
    # A failing cell marks the cells queued after it idle in the page at once; the kernel runs
    # them anyway when the failure was allowed, and each gets its number when it has run. So
    # wait for the last cell's number, or for an idle kernel and no new numbers for 10 s.
    deadline, settled, last = time.time() + 300, 0, None
    try:
        while time.time() < deadline:
            prompts = page.evaluate(f"() => {PROMPTS}")
            done = sum(bool(re.search(r"\[\d+\]", p)) for p in prompts)
            if prompts and re.search(r"\[\d+\]", prompts[-1]):
                break
            idle = page.get_by_text("Python 3 (ipykernel) | Idle").count() > 0
            settled = settled + 1 if idle and done == last else 0
            if settled >= 10:
                break
            last = done
            time.sleep(1)
    finally:
        shoot(page, lab, "run-all")
    prompts = page.evaluate(f"() => {PROMPTS}")
    ran = [bool(re.search(r"\[\d+\]", p)) for p in prompts]
    assert all(ran), f"Run All stopped after {ran.index(False)} of {len(prompts)} code cells"
    blank_test = page.locator(".jp-CodeCell", has_text="answer = neuron_grads(**inputs)")
    assert "✗ Not attempted yet: `neuron_grads`" in blank_test.locator(".jp-OutputArea").inner_text()


def test_a_wrong_answer_is_diagnosed_at_the_top_of_the_test_output(page, lab):
    answer = submissions.solutions(LESSON)[EXERCISE]
    assert CORRECT in answer, "the wrong-answer fixture no longer matches the solution"
    exercise = page.locator(".jp-CodeCell", has_text="def neuron_grads(x1, x2, w1, w2, b):")
    exercise.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(answer.replace(CORRECT, WRONG))  # no auto-indent, unlike typing
    page.keyboard.press("Shift+Enter")  # runs the exercise, moves to its test
    page.keyboard.press("Shift+Enter")  # runs the test
    test = page.locator(".jp-CodeCell", has_text="answer = neuron_grads(**inputs)")
    output = test.locator(".jp-OutputArea")
    try:
        output.get_by_text("Likely mistake").first.wait_for(timeout=60_000)
    finally:
        shoot(page, lab, "wrong-answer")
    test.scroll_into_view_if_needed()
    shoot(page, lab, "wrong-answer")
    lines = [line for line in output.inner_text().splitlines() if line.strip()]
    assert any("Likely mistake: tanh's local derivative was taken as tanh(n) itself" in line for line in lines[:8]), lines[:12]
    assert "Traceback" not in output.inner_text() and "lib/grading.py" not in output.inner_text()


def exercise_cells():
    """grade_id -> a line that only its exercise cell holds in the blank notebook (to find it)."""
    blank = [c.source for c in submissions.blank(LESSON).cells if c.cell_type == "code"]
    found = {}
    for cell in submissions.blank(LESSON).cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            found[grade_id] = next(line for line in cell.source.splitlines() if line.strip()
                                   and sum(line in other for other in blank) == 1)
    return found


def fill(page, cell, source):
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(source)
    page.keyboard.press("Escape")


def validate(page, lab, name):
    """Press Validate (it saves the notebook first) and return the text of nbgrader's dialog."""
    page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=300_000)
    page.wait_for_timeout(500)
    shoot(page, lab, name)
    text = dialog.inner_text()
    dialog.get_by_role("button").last.click()
    dialog.wait_for(state="detached")
    return text


def test_validate_names_the_mistake_then_passes_the_answered_notebook(page, lab):
    answers = submissions.solutions(LESSON)
    # Still the wrong answer of the previous test (or typed again when this one runs alone).
    fill(page, page.locator(".jp-CodeCell", has_text="def neuron_grads(x1, x2, w1, w2, b):"),
         answers[EXERCISE].replace(CORRECT, WRONG))
    failed = validate(page, lab, "validate-wrong")
    assert "Likely mistake: tanh's local derivative" in failed and "Success" not in failed, failed[:2000]
    for grade_id, line in exercise_cells().items():
        fill(page, page.locator(".jp-CodeCell", has_text=line), answers[grade_id])
    passed = validate(page, lab, "validate-answered")
    assert "Success! Your notebook passes all the tests." in passed, passed[:2000]


def test_lesson_7_opens_and_its_first_cells_run(page, lab):
    base, token, _, _ = lab
    gpt = next((lesson for lesson in LESSONS if lesson.endswith("-gpt")), None)
    if gpt is None:
        pytest.skip("no GPT lesson")
    # A workspace of its own, so that only this notebook is open.
    page.goto(f"{base}/lab/workspaces/gpt/tree/{gpt}/{notebook_name(gpt)}.ipynb?reset&token={token}")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=120_000)
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
    page.locator(".jp-Notebook .jp-CodeCell").first.click()
    page.keyboard.press("Escape")
    for _ in range(20):  # Shift+Enter runs a cell and moves on, markdown cells included
        if all(re.search(r"\[[*\d]+\]", p) for p in page.evaluate(f"() => {PROMPTS}")[:3]):
            break
        page.keyboard.press("Shift+Enter")
        page.wait_for_timeout(300)
    try:
        page.wait_for_function(f"() => {{ const p = {PROMPTS}; return p.slice(0, 3).every(t => /\\[\\d+\\]/.test(t)) }}",
                               timeout=120_000)
    finally:
        shoot(page, lab, "lesson-7")
    first_three = page.locator(".jp-Notebook .jp-CodeCell")
    assert not [i for i in range(3) if first_three.nth(i).locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']").count()]
