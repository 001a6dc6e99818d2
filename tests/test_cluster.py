"""Grading on a Dask cluster (grader/cluster.py) gives the scores grading on one machine gives.

One class of Lesson 1 (a correct notebook, a blank one, one with a wrong exercise) is graded
twice, in two copies of the course: by the local batch with one worker, and through a local
two-worker Dask cluster, each worker a separate process. The scores are equal, every student is
graded, and the scheduler saw the shares run on both workers.
"""
import shutil
import sys

import pytest

import submissions
from conftest import ROOT, copy_course, release_lesson

sys.path.insert(0, str(ROOT))

distributed = pytest.importorskip("distributed")
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cluster"),
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="the sandbox needs bubblewrap")]

LESSON = "01-micrograd"
POW = "k * self.data ** (k - 1)"


def a_class(folder):
    folder.mkdir()
    course = copy_course(folder)
    release_lesson(course, LESSON)
    answers = submissions.solutions(LESSON)
    wrong = next(grade_id for grade_id, text in answers.items() if POW in text)
    for student, nb in {"ada": submissions.answered(LESSON), "cyd": submissions.blank(LESSON),
                        "dee": submissions.answered(LESSON, {wrong: answers[wrong].replace(POW, "self.data ** (k - 1)")}),
                        }.items():
        submissions.write(nb, course, student, LESSON)
    return course


def test_a_two_worker_cluster_grades_as_one_machine_does(tmp_path):
    from grader import batch

    local = a_class(tmp_path / "local")
    batch.grade(local, LESSON, workers=1, progress=False)
    on_cluster = a_class(tmp_path / "cluster")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client, distributed.get_task_stream(client) as tasks:
            batch.grade(on_cluster, LESSON, scheduler=cluster.scheduler_address, progress=False)
        workers_used = {task["worker"] for task in tasks.data}
    expected = submissions.scores(local, LESSON)
    assert sorted(expected) == ["ada", "cyd", "dee"]
    assert submissions.scores(on_cluster, LESSON) == expected
    full = sum(expected["ada"].values())
    assert full > 0 and sum(expected["cyd"].values()) == 0 and 0 < sum(expected["dee"].values()) < full
    assert len(workers_used) == 2, f"the shares ran on {workers_used}, not on both workers"


def test_a_cluster_without_workers_is_refused_with_what_to_do():
    from grader import cluster

    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as empty:
        with pytest.raises(RuntimeError, match="dask worker"):
            cluster.executor(empty.scheduler_address)
