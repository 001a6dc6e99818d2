"""pytest set-up for the whole repository (tests/ and the solution notebooks under solutions/).

`--dist loadgroup` keeps the tests marked `xdist_group(name)` on one worker, so that a costly
module fixture (the book build, the Colab runtime, a grading batch) runs once. pytest-xdist
3.8 asks for that by appending "@name" to each item's `_nodeid`, which pytest 9 no longer reads
(it keeps node ids in `_id`): the marks were silently ignored and every worker that drew such
a test repeated the fixture. The hook below gives the items the id xdist expects, on the
workers, only where xdist's own suffix did not take.
"""
import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers under --dist loadgroup only
        return
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # pytest 8: xdist's own suffix works
        return
    for item in items:
        names = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                        for mark in item.iter_markers("xdist_group")})
        if names and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(names)}")
