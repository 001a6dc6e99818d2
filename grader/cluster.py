"""Grading past one machine: the batch's shares of a class run on a Dask cluster.

`make autograde SCHEDULER=tcp://host:8786` (or `python -m grader autograde --scheduler ...`)
grades exactly as `make autograde` does, except that each share of the class (one
`nbgrader autograde` for a group of students, grader.batch.grade_share) runs on a worker of the
cluster instead of a thread of this machine. Every worker grades inside its own sandbox, as a
local batch does; this process places the submissions, shows the progress and writes the
findings and the report, and nbgrader's gradebook stays the one database of the course.

Why Dask (`distributed`): it is a pip package in pure Python, and the same code drives a
LocalCluster (the tests), a lab's machines (`dask scheduler` on one, `dask worker ADDRESS
--nthreads 1` on each) and a university cluster (dask-jobqueue's SLURMCluster submits the
workers as Slurm jobs). Ray brings a large compiled runtime for the same fan-out, and Slurm job
arrays alone return nothing to a coordinator.

What a real cluster needs: the course directory at the same path on every worker (a shared
file system), the course's virtualenv there too, bubblewrap on every worker, and a gradebook
every worker can write: sqlite is fine on one machine; across machines set
`c.CourseDirectory.db_url` in nbgrader_config.py to a PostgreSQL database, since sqlite's
locks are not reliable over NFS.
"""
from distributed import Client


def executor(address):
    """(a concurrent.futures executor whose tasks run on the cluster at `address`, the number of
    worker threads there). Leaving the executor's `with` block closes the connection."""
    client = Client(address, timeout="30s")
    slots = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
    if not slots:
        client.close()
        raise RuntimeError(f"the Dask scheduler at {address} has no workers: start some with "
                           f"`dask worker {address} --nthreads 1` on the grading machines")
    return _ClosingExecutor(client), slots


class _ClosingExecutor:
    """The client's executor; closing it (the end of a `with`) also closes the client. Each share
    is submitted as impure, so that two runs of one share are never merged into one."""

    def __init__(self, client):
        self.client = client
        self.pool = client.get_executor(pure=False)

    def submit(self, fn, *args):
        return self.pool.submit(fn, *args)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.pool.shutdown(wait=True)
        self.client.close()
