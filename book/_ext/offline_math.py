"""MathJax served by the book itself, so formulas render offline and no page reaches a CDN.

A small Sphinx extension, loaded by `_config.yml` (`local_extensions`). MathJax comes from the
npm package pinned in `package.json` / `package-lock.json` at the repository root. When
`node_modules/mathjax` is missing (a fresh clone, CI), the build runs `npm ci` once; npm checks
the package against the lock file's sha512. At the end of an HTML build the parts of MathJax a
page can load are copied to `_static/mathjax/`, where `mathjax_path` in `_config.yml` points.

The parts: the `tex-chtml.js` bundle (TeX in, HTML out), the TeX extensions it autoloads, the
CommonHTML fonts, and the accessibility and menu components that its context menu loads on
demand. The other ready-made bundles in the package (24 MB in all) are not copied.
"""
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

PACKAGE = "mathjax"
PARTS = ["tex-chtml.js", "input", "output", "a11y", "ui", "sre"]
TARGET = "mathjax"  # under _static/


def setup(app):
    app.connect("builder-inited", ensure_mathjax)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def _root(app):
    return Path(app.srcdir)


def _installed(root):
    """The installed package's es5 folder, if it is the version package-lock.json pins."""
    lock = json.loads((root / "package-lock.json").read_text())
    pinned = lock["packages"][f"node_modules/{PACKAGE}"]["version"]
    installed = root / "node_modules" / PACKAGE
    try:
        version = json.loads((installed / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None, pinned
    return (installed / "es5" if version == pinned else None), pinned


def ensure_mathjax(app):
    if app.builder.format != "html":
        return
    root = _root(app)
    es5, pinned = _installed(root)
    if es5 is not None:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise ExtensionError(f"The book serves MathJax {pinned} itself and needs npm to fetch it once: install "
                             "Node.js (with npm), or run `npm ci` in the repository root on a machine that has it.")
    logger.info(f"offline_math: fetching MathJax {pinned} with npm ci")
    # Installed beside the repository and moved into place in one step, so that two builds
    # starting at once (parallel test workers) never see a half-written node_modules.
    with tempfile.TemporaryDirectory(prefix=".npm-", dir=root) as scratch:
        for name in ("package.json", "package-lock.json"):
            shutil.copy(root / name, scratch)
        result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=scratch,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise ExtensionError(f"npm ci could not fetch MathJax {pinned} (is the npm registry reachable?):\n"
                                 f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        shutil.rmtree(root / "node_modules", ignore_errors=True)
        try:
            (Path(scratch) / "node_modules").rename(root / "node_modules")
        except OSError:
            pass  # another build moved its copy in first
    if _installed(root)[0] is None:
        raise ExtensionError(f"npm ci ran, but node_modules/{PACKAGE} is not version {pinned}")


def copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    es5, pinned = _installed(_root(app))
    if es5 is None:
        raise ExtensionError(f"node_modules/{PACKAGE} {pinned} disappeared during the build")
    target = Path(app.outdir) / "_static" / TARGET
    for part in PARTS:
        source = es5 / part
        if source.is_dir():
            shutil.copytree(source, target / part, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / part)
    shutil.copy2(es5.parent / "LICENSE", target / "LICENSE")
