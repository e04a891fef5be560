"""Takes the README's screenshots of the studio: the spoon removed from the coffee photo.

Example:
    python scripts/studio_screenshot.py               # into a fresh temporary folder (printed)
    python scripts/studio_screenshot.py --write-docs  # refresh docs/images/studio.png (tracked)

Drives the studio in headless Chromium exactly like ``tests/studio_browser_test.py`` does
(:mod:`keras_pggan.testing.studio_flow`: open the photo, paint with mouse events, press Inpaint
with Telea side by side, download the PNG), on the coffee photo that scikit-image ships and the
shipped model unless ``--model`` says otherwise. Needs Debian's ``chromium`` and the
``[studio]`` / ``[test]`` extras; downloads nothing. Writes ``studio_paint.png`` (the spoon painted
over), ``studio.png`` (the result, Telea beside it) and ``studio_download.png`` (the downloaded
PNG) into ``--out DIR`` (existing files only with ``--overwrite``), by default a fresh temporary
folder; only ``--write-docs`` (= ``--out docs/images --overwrite``, the two screenshots) replaces
the images the README shows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "docs", "images")  # the tracked images the README shows
SCREENSHOT = "studio.png"  # the result: before/after slider and Telea side by side
PAINTING = "studio_paint.png"  # the spoon painted over (translucent mask, brush cursor)
DOWNLOAD = "studio_download.png"
VIEWPORT = {"width": 1280, "height": 760}
# The spoon of skimage's coffee.png (600×400), as (brush px, stroke in fractions of the photo).
SPOON = (
    (30, [(0.688, 0.17), (0.683, 0.30), (0.665, 0.42), (0.640, 0.55)]),
    (70, [(0.600, 0.63), (0.640, 0.66), (0.625, 0.74), (0.580, 0.76), (0.575, 0.68)]),
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="any Inpainter path (default: the shipped model)")
    p.add_argument(
        "--out", metavar="DIR", help="output folder (default: a fresh temporary folder, printed)"
    )
    p.add_argument(
        "--write-docs",
        action="store_true",
        help=f"write the screenshots into the tracked docs/images/ ({PAINTING}, {SCREENSHOT}), "
        "replacing them",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing files in --out")
    return p


def _outputs(out: str, write_docs: bool) -> list[str]:
    names = [PAINTING, SCREENSHOT] + ([] if write_docs else [DOWNLOAD])
    return [os.path.join(out, name) for name in names]


def take(model: str, out: str, write_docs: bool = False) -> list[str]:
    """Runs the studio flow on the coffee photo and writes the screenshots (and download)."""
    from keras_pggan.data.pipeline import default_photo_paths
    from keras_pggan.inference.inpainter import Inpainter
    from keras_pggan.studio.app import create_app
    from keras_pggan.studio.web import BackgroundServer
    from keras_pggan.testing import browser as browser_lib
    from keras_pggan.testing import studio_flow

    photo = {os.path.basename(p): p for p in default_photo_paths()}["coffee.png"]
    app = create_app(
        Inpainter.from_path(model), model_name=os.path.basename(os.path.normpath(model))
    )
    written = _outputs(out, write_docs)
    with (
        tempfile.TemporaryDirectory(prefix="studio_screenshot_") as scratch,
        BackgroundServer(app) as server,
        browser_lib.open_browser() as browser,
    ):
        page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
        requests = studio_flow.open_page(page, server.url)
        studio_flow.open_photo(page, photo)
        for size, stroke in SPOON:
            page.evaluate(f"window.studio.setSize({size})")
            studio_flow.paint(page, [stroke])
        page.screenshot(path=written[0])  # the brush cursor rests where the stroke ended
        studio_flow.inpaint(page, telea=True)
        data, _ = studio_flow.download_result(page, scratch)
        page.mouse.move(0, 0)
        page.screenshot(path=written[1])
        if not write_docs:
            with open(written[2], "wb") as f:
                f.write(data)
        outside = [u for u in requests if not browser_lib.is_local_url(u)]
        if outside:
            raise RuntimeError(f"the page requested URLs outside 127.0.0.1: {outside}")
    return written


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from keras_pggan.errors import UserError
    from keras_pggan.io_utils import check_writable, docs_or_scratch_folder

    try:
        out, overwrite = docs_or_scratch_folder(
            args.out, args.write_docs, OUT, "studio_screenshot_", args.overwrite
        )
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        for path in _outputs(out, args.write_docs):
            check_writable(path, overwrite, "--out")
        if shutil.which("chromium") is None and not os.environ.get("KERAS_PGGAN_CHROMIUM"):
            raise UserError("no Chromium found: apt-get install chromium (Debian)")
        from keras_pggan.inference.inpainter import default_model_path

        model = args.model or default_model_path()
    except (UserError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    os.makedirs(out, exist_ok=True)
    for path in take(model, out, args.write_docs):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
