"""Publishing: the GitHub Actions workflow that builds the book and puts it on GitHub Pages.

It cannot run here, so it is read: the full profile through `make book` (the command a person
runs), the execution cache kept between runs together with the lib/ hash that decides when to
drop it, the HTML uploaded for Pages with the student notebooks beside it, and a deploy job.
The step that places the notebooks is run for real on a copy of book/.
"""
import re
import shutil
import subprocess

import pytest
import yaml

from conftest import LESSONS, ROOT, notebook_name, student_path

WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


@pytest.fixture(scope="module")
def workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def steps(workflow, job="build"):
    return workflow["jobs"][job]["steps"]


def step_using(workflow, action, job="build"):
    found = [s for s in steps(workflow, job) if s.get("uses", "").split("@")[0] == action]
    assert found, f"no step uses {action}"
    return found[0]


def step_running(workflow, text):
    found = [s for s in steps(workflow) if text in s.get("run", "")]
    assert found, f"no step runs {text!r}"
    return found[0]


def test_runs_on_every_push_to_main_and_by_hand(workflow):
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as True
    assert triggers["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in triggers


def test_may_publish_to_pages(workflow):
    assert workflow["permissions"]["pages"] == "write"
    assert workflow["permissions"]["id-token"] == "write"


def test_builds_the_full_profile_with_make_book(workflow):
    build = step_running(workflow, "make book")
    env = {**workflow["jobs"]["build"].get("env", {}), **build.get("env", {})}
    command = build["run"]
    profile = command.split("PROFILE=", 1)[1].split()[0] if "PROFILE=" in command else env.get("PROFILE", "full")
    assert profile == "full"
    assert "DATA_MIRROR" not in env, "CI has no mirror: the datasets download, checked against their hashes"
    assert step_using(workflow, "actions/setup-python")["with"]["python-version"] == "3.11"


def test_keeps_the_execution_cache_between_runs(workflow):
    cache = step_using(workflow, "actions/cache")
    paths = cache["with"]["path"].split()
    # make book drops the cache when lib/ changed: it needs the hash it compares with, too.
    assert "_build/.jupyter_cache" in paths and "_build/.lib-hash" in paths
    assert cache["with"]["restore-keys"] and cache["with"]["key"].startswith(cache["with"]["restore-keys"])
    names = [s.get("uses", s.get("run", "")) for s in steps(workflow)]
    assert names.index(cache["uses"]) < names.index(step_running(workflow, "make book")["run"]), \
        "the cache must be restored before the build"


def test_make_book_builds_where_the_cache_is_kept():
    # The full profile builds into the repository root: _build/.jupyter_cache, _build/html.
    make = subprocess.run(["make", "--no-print-directory", "-n", "book", "PROFILE=full"], cwd=ROOT, capture_output=True, text=True)
    assert "--output ." in make.stdout and "_build/.lib-hash" in make.stdout, make.stdout + make.stderr


@pytest.mark.parametrize("changed, re_executes", [
    ("lib/config.py", True), ("constraints.txt", True), ("requirements.lock", True), ("pyproject.toml", True),
    ("README.md", False)])
def test_make_book_re_executes_every_page_when_lib_or_the_dependencies_change(tmp_path, changed, re_executes):
    # The key `make book` keeps in _build/.lib-hash, computed on a copy of what it reads.
    for name in ("Makefile", "pyproject.toml", "constraints.txt", "requirements.lock", "README.md"):
        shutil.copy(ROOT / name, tmp_path)
    shutil.copytree(ROOT / "lib", tmp_path / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "bench" / "results", tmp_path / "bench" / "results")

    def key():
        result = subprocess.run(["make", "--no-print-directory", "-s", "book-key"], cwd=tmp_path, capture_output=True, text=True, check=True)
        assert re.fullmatch(r"[0-9a-f]{16}\n", result.stdout), result.stdout + result.stderr
        return result.stdout

    before = key()
    with open(tmp_path / changed, "a") as f:
        f.write("\n# a change\n")
    assert (key() != before) == re_executes
    # ... and `make book` compares the same key.
    dry_runs = [subprocess.run(["make", "--no-print-directory", "-n", target], cwd=tmp_path, capture_output=True, text=True).stdout
                for target in ("book-key", "book")]
    assert f"h=$({dry_runs[0].strip()})" in dry_runs[1], dry_runs


def test_uploads_the_html_with_the_student_notebooks(workflow, tmp_path):
    upload = step_using(workflow, "actions/upload-pages-artifact")
    assert upload["with"]["path"] == "_build/html"
    place = step_running(workflow, "notebooks")
    names = [s.get("uses", s.get("run", "")) for s in steps(workflow)]
    assert names.index(place["run"]) < names.index(upload["uses"])
    # Run that step on a copy of book/ and see where the notebooks land.
    shutil.copytree(ROOT / "book", tmp_path / "book", ignore=shutil.ignore_patterns("_ext", "__pycache__"))
    (tmp_path / "_build" / "html").mkdir(parents=True)
    subprocess.run(["bash", "-euo", "pipefail", "-c", place["run"]], cwd=tmp_path, check=True)
    html = tmp_path / "_build" / "html"
    published = sorted(str(p.relative_to(html)) for p in html.rglob("*") if p.is_file())
    expected = sorted(f"notebooks/{lesson}/{notebook_name(lesson)}.ipynb" for lesson in LESSONS)
    assert published == expected
    for lesson in LESSONS:
        copy = html / "notebooks" / lesson / f"{notebook_name(lesson)}.ipynb"
        assert copy.read_bytes() == student_path(lesson).read_bytes()


def test_publishes_the_student_pack_beside_the_book(workflow):
    place = step_running(workflow, "tools/student_pack.py")
    names = [s.get("uses", s.get("run", "")) for s in steps(workflow)]
    assert names.index(place["run"]) < names.index(step_using(workflow, "actions/upload-pages-artifact")["uses"])
    assert "cp _build/scalars-to-gpt-student.zip _build/html/" in place["run"]


def test_deploys_the_uploaded_book(workflow):
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    step_using(workflow, "actions/deploy-pages", job="deploy")
