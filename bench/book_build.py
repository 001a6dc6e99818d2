"""Build the book and record how long it took: the wall time of the build, the CPU time of its
processes, and the execution time of every page.

`make book` runs this script; it is the one place the book is built from. The record goes to
bench/results/book_build_<profile>.json, which the book's performance page shows. It keeps
two builds: `latest`, and `clean`, the last build that started from an empty execution cache
(every page executed), which is the figure that says how long a fresh clone takes. Page times
come from the execution records the book's `course_pages` extension writes at the end of a
build; a page taken from the cache reports the time it took when it last ran.

MyST-NB executes the pages one after another. Before the build, this script has jupyter-cache
(the cache underneath MyST-NB) execute the pages its cache lacks with its `local-parallel`
executor, one page per core (the lessons compute on one thread each), longest page first; the
executor stores each notebook and its `execution_seconds` exactly as MyST-NB's cache mode
does, so the build takes every page from the cache. `--serial` leaves execution to MyST-NB.

    python bench/book_build.py --profile full --output . [--all] [--serial]

Exits with the build's status; nothing is recorded when the build fails.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine_description  # noqa: E402


def notebook_pages():
    """The book's pages that are notebooks, in the order of _toc.yml."""
    def files(entries):
        for entry in entries:
            if "file" in entry:
                yield entry["file"]
            for key in ("chapters", "sections", "parts"):
                yield from files(entry.get(key, []))
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [ROOT / f"{name}.ipynb" for name in [toc["root"], *files(toc.get("parts", []))]
            if (ROOT / f"{name}.ipynb").is_file()]


def execute_pages(cache_path, pages, previous_seconds, timeout):
    """Execute the pages missing from the execution cache, one per core; True if all ran."""
    import logging

    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    cache = get_cache(str(cache_path))
    # The executor takes the project's notebooks in the order they were added: re-add ours
    # longest first (by the last recorded times), so the pool does not end on one long page.
    pages = sorted(pages, key=lambda p: -previous_seconds.get(p.relative_to(ROOT).with_suffix("").as_posix(),
                                                                float("inf")))
    for path in pages:
        if _in_project(cache, path):
            cache.remove_nb_from_project(str(path))
        cache.add_nb_to_project(str(path))
    uris = [str(path) for path in pages]
    missing = cache.list_unexecuted(filter_uris=uris)
    if not missing:
        return True
    print(f"Executing {len(missing)} page(s), {os.cpu_count()} at a time (jupyter-cache local-parallel)", flush=True)
    logger = logging.getLogger("book_build")
    logger.setLevel(logging.WARNING)  # the executor's own progress lines say little more than ours
    result = load_executor("local-parallel", cache=cache, logger=logger).run_and_cache(
        filter_uris=uris, timeout=timeout, allow_errors=False)
    for uri in result.succeeded:
        seconds = cache.match_cache_notebook(cache.get_project_notebook(uri).nb).data.get("execution_seconds")
        print(f"Executed {Path(uri).relative_to(ROOT)} in {seconds:.0f} s", flush=True)
    for uri in result.excepted + result.errored:
        traceback = cache.get_project_record(uri).traceback or "(no traceback recorded; see the log above)"
        print(f"Executing {Path(uri).relative_to(ROOT)} failed:\n{traceback}", file=sys.stderr, flush=True)
    return not (result.excepted or result.errored)


def _in_project(cache, path):
    try:
        cache.get_project_record(str(path))
    except KeyError:
        return False
    return True


def build(output, rebuild_all):
    """Run jupyter-book (warnings are errors); return its exit status."""
    command = ["jupyter-book", "build", str(ROOT), "--path-output", str(output), "-W", "-n", "--keep-going"]
    if rebuild_all:
        command.append("--all")
    return subprocess.call(command, cwd=ROOT)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default=os.environ.get("COURSE_PROFILE", "full"))
    parser.add_argument("--output", type=Path, default=ROOT, help="jupyter-book's --path-output")
    parser.add_argument("--all", action="store_true", help="re-read every page (after lib/ changed)")
    parser.add_argument("--json", type=Path, help="default: bench/results/book_build_<profile>.json")
    parser.add_argument("--serial", action="store_true",
                        help="let MyST-NB execute the pages, one at a time (default: one per core first)")
    args = parser.parse_args()
    workers = 1 if args.serial else os.cpu_count() or 1
    os.environ["COURSE_PROFILE"] = args.profile
    # The pages executed here before the build print what they print in it (see course_pages).
    os.environ.setdefault("COURSE_PROGRESS", "summary")

    build_dir = args.output / "_build"
    path = args.json or ROOT / "bench" / "results" / f"book_build_{args.profile}.json"
    previous = json.loads(path.read_text()) if path.is_file() else {}
    from_empty_cache = not (build_dir / ".jupyter_cache").exists()
    load_before = os.getloadavg()[0]
    started = time.time()
    wall, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    if workers > 1:
        last = (previous.get("clean") or previous.get("latest") or {}).get("pages", [])
        timeout = yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["timeout"]
        if not execute_pages(build_dir / ".jupyter_cache", notebook_pages(),
                             {p["page"]: p["seconds"] or 0 for p in last}, timeout):
            return 1
    status = build(args.output, args.all)
    if status != 0:
        return status
    wall, after = time.perf_counter() - wall, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    exec_data = json.loads((build_dir / "exec_data.json").read_text())
    pages = []
    for docname, record in exec_data.items():
        finished = record.get("finished")
        ran_now = finished is not None and time.mktime(time.strptime(finished, "%Y-%m-%dT%H:%M:%S")) >= started - 1
        pages.append({"page": docname, "title": record["title"], "seconds": record["seconds"],
                      "executed_in_this_build": ran_now})
    latest = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "machine": machine_description(),
        "load_average_before": load_before,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "workers": workers,
        "from_empty_cache": from_empty_cache,
        "executed": [p["page"] for p in pages if p["executed_in_this_build"]],
        "pages": pages,
    }
    record = {
        "profile": args.profile,
        "clean": latest if from_empty_cache else previous.get("clean"),
        "latest": latest,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"Book built in {wall:.0f} s wall, {cpu:.0f} s CPU ({args.profile} profile"
          f"{', from an empty cache' if from_empty_cache else ''}); recorded in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
