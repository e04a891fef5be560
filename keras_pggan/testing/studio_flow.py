"""The studio editor driven like a person would: open a photo, paint with the mouse, inpaint.

Shared by ``tests/studio_browser_test.py`` and ``scripts/studio_screenshot.py``, so the README's
screenshot comes from the flow the test checks.

Example:
    >>> with BackgroundServer(create_app(inpainter)) as server, open_browser() as browser:
    ...     page = browser.new_page(viewport={"width": 1280, "height": 800})  # doctest: +SKIP
    ...     run = paint_and_inpaint(page, server.url, "photo.png", [STROKE])
    ...     run.result_png, run.mask_png, run.requests
"""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Sequence

# A stroke: points as fractions (x, y) of the photo's width and height.
Stroke = Sequence[tuple[float, float]]
TIMEOUT_MS = 120_000


@dataclasses.dataclass
class StudioRun:
    """What one pass through the editor produced.

    Attributes:
        mask_png: the mask the page sent (``window.studio.lastMaskPNG()``), PNG bytes.
        result_png: the downloaded result, PNG bytes.
        download_name: the file name the page suggested.
        requests: every URL the page requested, in order.
        canvas_size: (width, height) of the mask canvas (the photo's natural size).
        display_size: (width, height) the canvas is shown at, CSS pixels.
    """

    mask_png: bytes
    result_png: bytes
    download_name: str
    requests: list[str]
    canvas_size: tuple[int, int]
    display_size: tuple[float, float]


def _data_url_bytes(url: str) -> bytes:
    header, _, payload = url.partition(",")
    if not header.endswith(";base64"):
        raise ValueError(f"not a base64 data URL: {header[:40]}")
    return base64.b64decode(payload)


def open_page(page, url: str) -> list[str]:
    """Opens the editor and waits until it is ready; returns the live list of requested URLs."""
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
    page.wait_for_selector("body[data-ready='1']", timeout=TIMEOUT_MS)
    return requests


def open_photo(page, photo_path: str) -> None:
    """Chooses ``photo_path`` in the page's file input and waits for the editor to show it."""
    page.set_input_files("#file-input", photo_path)
    page.wait_for_selector("#editor:not([hidden])", timeout=TIMEOUT_MS)
    # Functions, not expression strings: the page's CSP forbids eval, which Playwright's polling
    # would use for a string.
    page.wait_for_function("() => document.querySelector('#mask-canvas').width > 0")


def paint(page, strokes: Sequence[Stroke], steps: int = 6) -> None:
    """Paints each stroke with real mouse events (move, down, moves, up) over the mask canvas."""
    box = page.locator("#mask-canvas").bounding_box()
    for stroke in strokes:
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(x, y, steps=steps)
        page.mouse.up()


def inpaint(page, telea: bool = False) -> None:
    """Presses Inpaint (with the Telea comparison when asked) and waits for the result view."""
    if telea and page.locator("#telea").is_enabled():
        page.locator("#telea").check()
    page.locator("#inpaint").click()
    page.wait_for_selector("#result:not([hidden])", timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => document.querySelector('#after-img').complete && "
        "document.querySelector('#after-img').naturalWidth > 0"
    )


def download_result(page, folder: str) -> tuple[bytes, str]:
    """Clicks "Download PNG"; returns the file's bytes and its suggested name."""
    with page.expect_download(timeout=TIMEOUT_MS) as info:
        page.locator("#download").click()
    download = info.value
    path = os.path.join(folder, download.suggested_filename)
    download.save_as(path)
    with open(path, "rb") as f:
        return f.read(), download.suggested_filename


def paint_and_inpaint(
    page, url: str, photo_path: str, strokes: Sequence[Stroke], folder: str, telea: bool = False
) -> StudioRun:
    """The whole flow: open the page, open the photo, paint, inpaint, download.

    Args:
        page: a Playwright page.
        url: the studio's URL.
        photo_path: the photo to open.
        strokes: the strokes to paint, in fractions of the photo's size.
        folder: where the download is saved.
        telea: also run the Telea comparison.

    Returns:
        A :class:`StudioRun`.
    """
    requests = open_page(page, url)
    open_photo(page, photo_path)
    paint(page, strokes)
    canvas = page.evaluate(
        "(() => { const c = document.querySelector('#mask-canvas');"
        " const r = c.getBoundingClientRect(); return [c.width, c.height, r.width, r.height]; })()"
    )
    inpaint(page, telea=telea)
    mask_png = _data_url_bytes(page.evaluate("window.studio.lastMaskPNG()"))
    result_png, name = download_result(page, folder)
    return StudioRun(
        mask_png=mask_png,
        result_png=result_png,
        download_name=name,
        requests=requests,
        canvas_size=(int(canvas[0]), int(canvas[1])),
        display_size=(float(canvas[2]), float(canvas[3])),
    )
