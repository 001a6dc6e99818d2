"""Pictures of computation graphs, to see what backward() walks through.

Introduced in Lesson 1 (micrograd). This module holds `trace`, which collects
the nodes and edges behind a `Value`, and `draw_dot`, which turns them into a
`graphviz.Digraph`: one box per Value (label | data | grad) and one small oval
per operation. In Jupyter the returned Digraph displays itself as SVG.

Rendering needs a Graphviz engine: the system `dot` program (preinstalled on
Colab) or, where that is missing, the self-contained `graphviz-pure` wheel,
which this module finds next to the Python executable.
"""

import shutil
import sysconfig

import graphviz
from graphviz.backend import dot_command

_INSTALL_HINT = (
    "Run `pip install graphviz-pure` (a self-contained engine that is picked up "
    "automatically) or install Graphviz so that `dot` is on your PATH."
)


def _graphviz_pure_fallback():
    """The graphviz-pure executable to render with, or None to leave graphviz's default `dot`.

    None when a real `dot` is on PATH (it wins) or when graphviz-pure is not installed.
    """
    if shutil.which("dot") is not None:
        return None
    scripts = sysconfig.get_path("scripts")  # where pip put graphviz-pure: next to python
    return (scripts and shutil.which("graphviz-pure", path=scripts)) or shutil.which("graphviz-pure")


# The graphviz package has no setting for which program to run; it reads the
# module attribute dot_command.DOT_BINARY each time it renders (graphviz.DOT_BINARY
# is only a copy), so that is the one to change.
_fallback = _graphviz_pure_fallback()
if _fallback is not None:
    dot_command.DOT_BINARY = _fallback


class _GraphvizNotFound(graphviz.ExecutableNotFound):
    _msg = "could not run {!r}: no Graphviz engine found. " + _INSTALL_HINT


class _Digraph(graphviz.Digraph):
    """A graphviz.Digraph whose 'engine not found' error says what to install."""

    def pipe(self, *args, **kwargs):
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            raise _GraphvizNotFound([dot_command.DOT_BINARY]) from error

    def render(self, *args, **kwargs):
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            raise _GraphvizNotFound([dot_command.DOT_BINARY]) from error


def trace(root):
    """Return (nodes, edges) of the graph that produced `root`.

    nodes: every Value reachable from root, each once.
    edges: (input, output) pairs, one per operand, so `a + a` gives two.
    Walks with an explicit stack, so deep graphs are fine.
    """
    nodes, edges = [], []
    seen = {root}
    stack = [root]
    while stack:
        node = stack.pop()
        nodes.append(node)
        for child in node._prev:
            edges.append((child, node))
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return nodes, edges


def _record_field(text):
    # These characters structure a record label, so they must be escaped to print literally.
    for special in "\\{}|<>":
        text = text.replace(special, "\\" + special)
    return text


def draw_dot(root, format="svg", rankdir="LR"):
    """Draw the graph behind `root` as a graphviz.Digraph (left to right by default).

    Each Value is a box showing `label | data | grad` to 4 decimals; each
    operation is a small oval feeding the box of its result.
    """
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"rankdir must be 'LR' (left to right), 'RL', 'TB' (top to bottom) or 'BT'; got {rankdir!r}")
    nodes, edges = trace(root)
    dot = _Digraph(format=format, graph_attr={"rankdir": rankdir})
    for node in nodes:
        uid = str(id(node))
        label = _record_field(node.label)
        dot.node(uid, label=f"{{ {label} | data {node.data:.4f} | grad {node.grad:.4f} }}", shape="record")
        if node._op:
            dot.node(uid + "_op", label=node._op)
            dot.edge(uid + "_op", uid)
    for child, parent in edges:
        dot.edge(str(id(child)), str(id(parent)) + "_op")
    return dot
