"""Which of a lesson's cells a piece of code needs: names bound and names used, cell by cell.

The judge runs only what the tests and the answers need, not the whole lesson: the tests of an
exercise need the helper cells and lesson cells that bind the names they use, and those cells
need the cells that bind *their* names, and so on back to the imports. Cells are read as
Python after IPython's own transformations (magics, `!` commands), so any lesson cell parses.
A name used but bound nowhere (a builtin, or an answer's name that the judge binds) needs
nothing.
"""
import ast
import functools


@functools.lru_cache(maxsize=4096)
def _tree(source):
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return None


def bound(source):
    """Names a cell binds in the notebook's namespace (not inside its functions or classes)."""
    tree = _tree(source)
    names = set()
    if tree is None:
        return names

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            return
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def used(source):
    """Names a cell reads from the notebook's namespace, its functions' free names included
    (they run later, with these globals); a function's own arguments and locals are not."""
    tree = _tree(source)
    return _free(tree.body) if tree is not None else set()


def _free(statements):
    names = set()
    functions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
    stack = list(statements)
    while stack:
        node = stack.pop()
        if isinstance(node, functions):
            args = node.args
            params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
            params |= {a.arg for a in (args.vararg, args.kwarg) if a}
            body = node.body if isinstance(node.body, list) else [ast.Expr(node.body)]
            assigned = {n.id for b in body for n in ast.walk(b) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
            names |= _free(body) - params - assigned
            # decorators and defaults are evaluated where the function is defined
            stack.extend(args.defaults + [d for d in args.kw_defaults if d is not None])
            stack.extend(getattr(node, "decorator_list", []))
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
        stack.extend(ast.iter_child_nodes(node))
    return names


def needed(cells, before, names, eligible):
    """Indices (ascending) of the cells before index `before` that bind `names`, transitively.

    `cells` are sources; `eligible(i)` says whether cell i may be run for this purpose.
    """
    wanted, chosen = set(names), []
    for i in range(before - 1, -1, -1):
        binds = bound(cells[i])
        if eligible(i) and binds & wanted:
            chosen.append(i)
            wanted = (wanted - binds) | used(cells[i])
    return sorted(chosen)
