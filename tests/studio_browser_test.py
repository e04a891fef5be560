"""The studio editor in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

A person's session: open the page, try a file that is no image (the error shows in the page),
open a real photo, change the brush with ``]``, paint a stroke with mouse events, undo and redo
it with the keyboard, inpaint with Telea side by side, download the PNG; then keep editing the
result for a second pass, looking at it at 100 % and 200 %; clear and undo the clear. The
downloads must equal ``Inpainter(...)`` on the same image and the painted mask, and the page
must request nothing outside 127.0.0.1. Screenshots are test
artefacts (``tmp_path``, and ``$KERAS_PGGAN_TEST_ARTIFACTS`` when set).

Without Chromium or Playwright the tests skip with the reason, except under CI (env ``CI``):
there they fail (keras_pggan.testing.browser.require_chromium).
"""

import os

import numpy as np
import pytest

from keras_pggan.data import imageio
from keras_pggan.testing import browser as browser_lib
from keras_pggan.testing import studio_flow

pytestmark = pytest.mark.browser

STROKE = [(0.30, 0.35), (0.45, 0.45), (0.62, 0.62)]
SECOND_STROKE = [(0.75, 0.20), (0.85, 0.30)]


@pytest.fixture(scope="module")
def chromium():
    return browser_lib.require_chromium()


@pytest.fixture(scope="module")
def real_photo():
    """A real photo that scikit-image ships (the cat, 226×150 after halving)."""
    import skimage.data

    return np.ascontiguousarray(skimage.data.chelsea()[::2, ::2])


@pytest.fixture(scope="module")
def studio(chromium, model_path):
    pytest.importorskip("fastapi")
    from keras_pggan.inference.inpainter import Inpainter
    from keras_pggan.studio.app import create_app
    from keras_pggan.studio.web import BackgroundServer

    app = create_app(Inpainter.from_path(model_path), model_name="tiny.keras")
    with BackgroundServer(app) as server, browser_lib.open_browser(chromium) as browser:
        yield server, browser


def screenshot(page, tmp_path, name):
    path = str(tmp_path / name)
    page.screenshot(path=path)
    browser_lib.save_artifact(path)
    return path


def _stroke_box(stroke, width, height, radius):
    xs = [x * width for x, _ in stroke]
    ys = [y * height for _, y in stroke]
    return min(xs) - radius, max(xs) + radius, min(ys) - radius, max(ys) + radius


def assert_mask_follows(holes, stroke, radius):
    h, w = holes.shape
    assert holes.any(), "the painted mask is empty"
    x0, x1, y0, y1 = _stroke_box(stroke, w, h, radius + 2)
    ys, xs = np.nonzero(holes)
    assert xs.min() >= x0 and xs.max() <= x1 and ys.min() >= y0 and ys.max() <= y1
    for fx, fy in stroke:  # every point the mouse passed is painted
        assert holes[int(round(fy * h)), int(round(fx * w))], (fx, fy)


def test_paint_inpaint_download_and_a_second_pass(studio, real_photo, model_path, tmp_path):
    from keras_pggan.inference.inpainter import Inpainter

    server, browser = studio
    photo_path = str(tmp_path / "cat.png")
    imageio.save_image(real_photo, photo_path)
    not_image = tmp_path / "notes.png"
    not_image.write_bytes(b"this is text, not a picture")
    page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        requests = studio_flow.open_page(page, server.url)

        # A file that is no image: the message shows in the page, the page keeps working.
        page.set_input_files("#file-input", str(not_image))
        page.wait_for_selector("#error:not([hidden])")
        assert "not an image" in page.inner_text("#error-text")

        studio_flow.open_photo(page, photo_path)
        assert page.is_hidden("#error")
        start = page.evaluate("window.studio.state.size")  # about 30 px on screen
        for _ in range(3):
            page.keyboard.press("]")
        size = page.evaluate("window.studio.state.size")
        expected = start
        for _ in range(3):  # the page's rule: +1 px below 10 px, else ×1.2
            expected = expected + 1 if expected < 10 else round(expected * 1.2)
        assert size == expected > start

        studio_flow.paint(page, [STROKE])
        assert page.evaluate("window.studio.state.strokes.length") == 1
        page.keyboard.press("Control+z")
        assert page.evaluate("window.studio.state.strokes.length") == 0
        page.keyboard.press("Control+Shift+z")
        assert page.evaluate("window.studio.state.strokes.length") == 1
        canvas = page.evaluate(
            "(() => { const c = document.querySelector('#mask-canvas');"
            " const r = c.getBoundingClientRect(); return [c.width, c.height, r.width]; })()"
        )
        h, w = real_photo.shape[:2]
        assert canvas[:2] == [w, h] and canvas[2] > 1.5 * w  # natural size, shown enlarged
        screenshot(page, tmp_path, "studio_painted.png")

        studio_flow.inpaint(page, telea=True)
        assert page.is_visible("#telea-panel")
        mask_png = studio_flow._data_url_bytes(page.evaluate("window.studio.lastMaskPNG()"))
        result_png, name = studio_flow.download_result(page, str(tmp_path))
        screenshot(page, tmp_path, "studio_result.png")
        assert name == "cat-inpainted.png"

        # The mask is what was painted, where it was painted, and opaque black/white.
        mask_channels = imageio.decode_mask_image(mask_png)
        assert mask_channels.shape[:2] == (h, w) and set(np.unique(mask_channels)) <= {0, 255}
        holes = imageio.hole_from_array(mask_channels)
        assert_mask_follows(holes, STROKE, size / 2)

        # The download is the library's answer on the same image and mask.
        reference = Inpainter.from_path(model_path)
        result = imageio.decode_rgb(result_png)
        assert np.array_equal(result, reference(real_photo, holes))
        assert np.array_equal(result[~holes], real_photo[~holes])
        assert (result[holes] != real_photo[holes]).any()

        # Keep editing the result: another stroke, another pass.
        page.locator("#use-result").click()
        page.wait_for_selector("#editor:not([hidden])")
        assert page.evaluate("window.studio.state.strokes.length") == 0
        studio_flow.paint(page, [SECOND_STROKE])
        studio_flow.inpaint(page)
        second_holes = imageio.decode_mask(
            studio_flow._data_url_bytes(page.evaluate("window.studio.lastMaskPNG()"))
        )
        assert_mask_follows(second_holes, SECOND_STROKE, size / 2)

        # The result at the editor's size, then at the photo's own pixels (1) and twice (2).
        def shown_width():
            return page.evaluate(
                "document.querySelector('#after-img').getBoundingClientRect().width"
            )

        assert shown_width() == pytest.approx(canvas[2], abs=2)  # "fit": as the editor shows it
        page.keyboard.press("1")
        assert shown_width() == w
        page.keyboard.press("2")
        assert shown_width() == 2 * w
        screenshot(page, tmp_path, "studio_result_200.png")
        page.keyboard.press("0")
        second_png, second_name = studio_flow.download_result(page, str(tmp_path))
        assert second_name == "cat-inpainted.png"
        second = imageio.decode_rgb(second_png)
        assert np.array_equal(second, reference(result, second_holes))
        assert np.array_equal(second[~second_holes], result[~second_holes])

        outside = [url for url in requests if not browser_lib.is_local_url(url)]
        assert not outside, outside
        assert any(url.endswith("/api/inpaint") for url in requests)
        assert not errors, errors
    finally:
        page.close()


def test_eraser_and_clear(studio, real_photo, tmp_path):
    server, browser = studio
    photo_path = str(tmp_path / "cat.png")
    imageio.save_image(real_photo, photo_path)
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    try:
        studio_flow.open_page(page, server.url)
        studio_flow.open_photo(page, photo_path)
        studio_flow.paint(page, [STROKE])
        before = imageio.decode_mask(
            studio_flow._data_url_bytes(page.evaluate("window.studio.maskPNG()"))
        )
        page.keyboard.press("e")
        studio_flow.paint(page, [STROKE[:2]])
        after = imageio.decode_mask(
            studio_flow._data_url_bytes(page.evaluate("window.studio.maskPNG()"))
        )
        assert after.sum() < before.sum() and not (after & ~before).any()
        page.keyboard.press("c")
        assert page.evaluate("window.studio.state.strokes.length") == 0
        assert page.locator("#inpaint").is_disabled()
        assert os.path.basename(screenshot(page, tmp_path, "studio_cleared.png"))
        # Clear is one step: Ctrl+Z brings the whole mask back, Ctrl+Y clears it again.
        page.keyboard.press("Control+z")
        restored = imageio.decode_mask(
            studio_flow._data_url_bytes(page.evaluate("window.studio.maskPNG()"))
        )
        assert np.array_equal(restored, after)
        assert page.evaluate("window.studio.state.strokes.length") == 2
        page.keyboard.press("Control+y")
        assert page.evaluate("window.studio.state.strokes.length") == 0
        page.keyboard.press("Control+z")
        page.keyboard.press("Control+z")  # then the eraser stroke is undone
        undone = imageio.decode_mask(
            studio_flow._data_url_bytes(page.evaluate("window.studio.maskPNG()"))
        )
        assert np.array_equal(undone, before)
    finally:
        page.close()


class SlowInpainter:
    """Fills holes with grey after a pause, so the page's progress can be watched."""

    backend_name = "slow"

    def __init__(self, seconds):
        self.seconds = seconds

    def __call__(self, image, mask):
        import time

        time.sleep(self.seconds)
        out = image.copy()
        out[mask] = 128
        return out


def test_progress_shows_while_the_model_runs_and_the_server_stays_live(
    studio, real_photo, tmp_path
):
    import urllib.request

    from keras_pggan.studio.app import create_app
    from keras_pggan.studio.web import BackgroundServer

    _, browser = studio
    photo_path = str(tmp_path / "cat.png")
    imageio.save_image(real_photo, photo_path)
    with BackgroundServer(create_app(SlowInpainter(2.5), telea=False)) as server:
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        try:
            studio_flow.open_page(page, server.url)
            assert page.is_disabled("#telea")  # telea=False: the option is off, with the reason
            assert "turned off" in page.inner_text("#telea-reason")
            studio_flow.open_photo(page, photo_path)
            studio_flow.paint(page, [STROKE])
            page.locator("#inpaint").click()
            page.wait_for_selector("#busy:not([hidden])")
            page.wait_for_function(
                "() => parseFloat(document.querySelector('#busy-text').textContent.split('…')[1])"
                " >= 0.5"
            )
            text = page.inner_text("#busy-text")
            assert text.startswith("Inpainting with slow…") and text.endswith(" s"), text
            # The model runs in a worker thread: the server answers meanwhile.
            with urllib.request.urlopen(server.url + "/api/info", timeout=5) as answer:
                assert answer.status == 200
            assert page.is_visible("#busy") and page.is_disabled("#inpaint")
            screenshot(page, tmp_path, "studio_busy.png")
            page.wait_for_selector("#result:not([hidden])", timeout=60_000)
            assert page.is_hidden("#busy")
        finally:
            page.close()
