"""Build the book and record how long it took: the wall time of the build, the CPU time of its
processes, and the execution time of every page.

`make book` runs this script; it is the one place the book is built from. The record goes to
bench/results/book_build_<profile>.json, which the book's performance page shows. It keeps
two builds: `latest`, and `clean`, the last build that started from an empty execution cache
(every page executed), which is the figure that says how long a fresh clone takes. Page times
come from the execution records the book's `course_pages` extension writes at the end of a
build; a page taken from the cache reports the time it took when it last ran.

MyST-NB executes the pages one after another. Before the build, this script executes the pages
the execution cache lacks `--workers` at a time (default: one per core; the lessons compute on
one thread each) and stores them in that cache exactly as MyST-NB would, longest page first;
the build then takes every page from the cache. With one worker it leaves execution to MyST-NB.

    python bench/book_build.py --profile full --output . [--all] [--workers N]

Exits with the build's status; nothing is recorded when the build fails.
"""
import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
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


def execute_one(path, timeout):
    """Execute one page in its own folder, as MyST-NB does; (path, executed notebook, seconds, error)."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    notebook = nbformat.read(path, as_version=4)
    result = single_nb_execution(notebook, cwd=str(path.parent), timeout=timeout, allow_errors=False)
    return path, nbformat.writes(notebook), result.time, result.exc_string if result.err else None


def execute_pages(cache_path, workers, previous_seconds):
    """Execute the pages missing from the execution cache, `workers` at a time; True if all ran."""
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(cache_path))
    missing = []
    for path in notebook_pages():
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            missing.append(path)
    if not missing:
        return True
    # Longest first (by the last recorded times), so the pool does not end on one long page.
    missing.sort(key=lambda p: -previous_seconds.get(p.relative_to(ROOT).with_suffix("").as_posix(), float("inf")))
    timeout = yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["timeout"]
    print(f"Executing {len(missing)} page(s), {workers} at a time", flush=True)
    # Pages run in fresh processes (spawned, not forked from this one) that start their kernels.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        jobs = [pool.submit(execute_one, path, timeout) for path in missing]
        for job in as_completed(jobs):
            path, executed, seconds, error = job.result()
            name = path.relative_to(ROOT)
            if error:
                print(f"Executing {name} failed:\n{error}", file=sys.stderr, flush=True)
                pool.shutdown(cancel_futures=True)  # pages already running still finish
                return False
            # What MyST-NB's cache mode stores after it executes a page itself.
            record = cache.add_nb_to_project(str(path))
            cache.cache_notebook_bundle(CacheBundleIn(nbformat.reads(executed, as_version=4), record.uri,
                                                      data={"execution_seconds": seconds}),
                                        check_validity=False, overwrite=True)
            print(f"Executed {name} in {seconds:.0f} s", flush=True)
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
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="pages executed at once (default: one per core)")
    args = parser.parse_args()
    if args.workers < 1:
        parser.error("--workers must be at least 1")
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
    if args.workers > 1:
        last = (previous.get("clean") or previous.get("latest") or {}).get("pages", [])
        if not execute_pages(build_dir / ".jupyter_cache", args.workers,
                             {p["page"]: p["seconds"] or 0 for p in last}):
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
        "workers": args.workers,
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
