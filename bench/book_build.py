"""Build the book and record how long it took: the wall time of the build, the CPU time of its
processes, and the execution time of every page.

`make book` runs this script; it is the one place the book is built from. The record goes to
bench/results/book_build_<profile>.json, which the book's performance page shows. It keeps
two builds: `latest`, and `clean`, the last build that started from an empty execution cache
(every page executed), which is the figure that says how long a fresh clone takes. Page times
come from the execution records the book's `course_pages` extension writes at the end of a
build; a page taken from the cache reports the time it took when it last ran.

    python bench/book_build.py --profile full --output . [--all]

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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine_description  # noqa: E402


def build(output, rebuild_all):
    """Run jupyter-book (warnings are errors); return (status, wall seconds, CPU seconds)."""
    command = ["jupyter-book", "build", str(ROOT), "--path-output", str(output), "-W", "-n", "--keep-going"]
    if rebuild_all:
        command.append("--all")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    status = subprocess.call(command, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return status, wall, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default=os.environ.get("COURSE_PROFILE", "full"))
    parser.add_argument("--output", type=Path, default=ROOT, help="jupyter-book's --path-output")
    parser.add_argument("--all", action="store_true", help="re-read every page (after lib/ changed)")
    parser.add_argument("--json", type=Path, help="default: bench/results/book_build_<profile>.json")
    args = parser.parse_args()
    os.environ["COURSE_PROFILE"] = args.profile

    build_dir = args.output / "_build"
    from_empty_cache = not (build_dir / ".jupyter_cache").exists()
    load_before = os.getloadavg()[0]
    started = time.time()
    status, wall, cpu = build(args.output, args.all)
    if status != 0:
        return status

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
        "from_empty_cache": from_empty_cache,
        "executed": [p["page"] for p in pages if p["executed_in_this_build"]],
        "pages": pages,
    }
    path = args.json or ROOT / "bench" / "results" / f"book_build_{args.profile}.json"
    previous = json.loads(path.read_text()) if path.is_file() else {}
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
