"""Everything the code imports is declared in pyproject.toml and pinned in constraints.txt.

A package that is only installed because something else pulls it in (PyYAML under
jupyter-book, nbformat under nbgrader) disappears the day that other package stops needing it.
So every import of a third-party module is read from the source (the syntax tree, imports
inside functions included) and traced to the distribution that installs it, through the
installed packages' own metadata (`yaml` -> PyYAML, `jupyter_cache` -> jupyter-cache). The
rules:

- `lib/` is what Colab installs: its imports must be in `[project] dependencies`;
- the course's tools (`grader/`, `bench/`, `book/_ext/`) and the tests may use the `dev`
  extra as well;
- every declared distribution has an exact pin in constraints.txt, and the pin is what this
  virtualenv holds (`make setup` installs with `-c constraints.txt`).
"""
import ast
import importlib.metadata
import re
import sys
import tomllib

import pytest

from conftest import ROOT

RUNTIME_SOURCES = ["lib"]
TOOL_SOURCES = ["grader", "bench", "book/_ext", "tests"]
# Folders whose modules and packages (namespace ones too, such as bench) import one another by
# plain name: scripts and tests put these folders on sys.path.
LOCAL_MODULE_FOLDERS = [ROOT, ROOT / "tests", ROOT / "bench", ROOT / "book" / "_ext", ROOT / "tools"]


def normalise(name):
    """A distribution's name as package indexes compare them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement):
    return normalise(re.match(r"\s*([A-Za-z0-9._-]+)", requirement).group(1))


def local_modules():
    names = set()
    for folder in LOCAL_MODULE_FOLDERS:
        for path in folder.iterdir():
            if path.suffix == ".py" or (path.is_dir() and not path.name.startswith(".")):
                names.add(path.stem)
    return names


def imported_modules(folders):
    """{top-level module: [files that import it]} for absolute imports outside the standard library."""
    local = local_modules()
    found = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in local:
                        found.setdefault(top, []).append(str(path.relative_to(ROOT)))
    return found


def project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def runtime_declared():
    return {requirement_name(r) for r in project()["dependencies"]}


def dev_declared():
    return {requirement_name(r) for r in project()["optional-dependencies"]["dev"]}


def pins():
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin (name==version)"
            pinned[normalise(name)] = version.strip()
    return pinned


def undeclared(folders, declared):
    """'module (file, ...): what is missing' for each import no declared distribution installs."""
    installs = importlib.metadata.packages_distributions()
    problems = []
    for module, files in sorted(imported_modules(folders).items()):
        where = f"{module} (imported in {', '.join(sorted(set(files))[:3])})"
        distributions = {normalise(d) for d in installs.get(module, [])}
        if not distributions:
            problems.append(f"{where}: no installed distribution provides it")
        elif not distributions & declared:
            problems.append(f"{where}: declare {' or '.join(sorted(distributions))}")
    return problems


def test_the_scan_finds_the_imports_it_must_judge():
    # Guards the scan itself: an AST walk that found nothing would pass every check below.
    runtime, tools = imported_modules(RUNTIME_SOURCES), imported_modules(TOOL_SOURCES)
    assert {"torch", "tiktoken", "regex"} <= set(runtime)
    assert {"yaml", "jupyter_cache", "nbgrader", "pytest"} <= set(tools)
    assert not {"lib", "grader", "conftest", "os"} & (set(runtime) | set(tools))


def test_lib_imports_only_its_runtime_dependencies():
    problems = undeclared(RUNTIME_SOURCES, runtime_declared())
    assert not problems, ("lib/ is what Colab installs: add these to [project] dependencies in "
                          "pyproject.toml (and pin them in constraints.txt):\n" + "\n".join(problems))


def test_the_course_tools_and_tests_import_only_declared_packages():
    problems = undeclared(TOOL_SOURCES, runtime_declared() | dev_declared())
    assert not problems, ("add these to the dev extra in pyproject.toml (and pin them in "
                          "constraints.txt):\n" + "\n".join(problems))


def test_every_declared_distribution_is_pinned_at_the_installed_version():
    pinned = pins()
    missing = sorted((runtime_declared() | dev_declared()) - set(pinned))
    assert not missing, f"declared in pyproject.toml but not pinned in constraints.txt: {missing}"
    drift = []
    for name in sorted(runtime_declared() | dev_declared()):
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            drift.append(f"{name}: pinned {pinned[name]}, not installed")
            continue
        if installed.split("+")[0] != pinned[name]:  # torch's "+cpu" is the build, not the version
            drift.append(f"{name}: pinned {pinned[name]}, installed {installed}")
    assert not drift, "the virtualenv differs from constraints.txt (run `make setup`):\n" + "\n".join(drift)


@pytest.mark.parametrize("requirement", ["PyYAML>=6", "jupyter_cache >=1.0", "Sphinx"])
def test_names_are_compared_as_package_indexes_compare_them(requirement):
    assert requirement_name(requirement) in {"pyyaml", "jupyter-cache", "sphinx"}
