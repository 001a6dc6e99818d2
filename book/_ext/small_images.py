"""The book's plots stored as 256-colour PNGs, so a lesson page stays light on a phone's data plan.

A small Sphinx extension, loaded by `_config.yml` (`local_extensions`). Matplotlib writes
full-colour PNGs with an alpha channel; a plot has a handful of colours plus the anti-aliased
shades between them, and a palette of 256 holds them without a visible change while the file
shrinks to about a quarter (Lesson 2's bigram table: 528 kB to 114 kB). Once the HTML is
written, every PNG in `_images/` is re-encoded with Pillow (already installed with matplotlib),
and only kept when it is smaller. A PNG already in palette mode is left alone, so a rebuild
does nothing twice.
"""
from pathlib import Path

from PIL import Image

COLOURS = 256


def setup(app):
    app.connect("build-finished", shrink_build_images)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def shrink_build_images(app, exception):
    if exception is None and app.builder.format == "html":
        shrink_images(Path(app.outdir) / "_images")


def shrink_images(folder):
    """Re-encode each full-colour PNG in `folder` with a palette; returns (bytes before, after)."""
    before = after = 0
    for path in sorted(Path(folder).glob("*.png")):
        size = path.stat().st_size
        before += size
        with Image.open(path) as image:
            image.load()
        if image.mode not in ("RGB", "RGBA"):
            after += size
            continue
        # No dithering: a plot's flat areas and thin lines stay clean instead of speckled.
        smaller = image.convert("RGBA").quantize(COLOURS, method=Image.Quantize.FASTOCTREE,
                                                 dither=Image.Dither.NONE)
        trial = path.with_suffix(".palette.png")
        smaller.save(trial, optimize=True)
        if trial.stat().st_size < size:
            trial.replace(path)
        else:
            trial.unlink()
        after += path.stat().st_size
    return before, after
