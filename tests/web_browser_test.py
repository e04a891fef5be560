"""The in-browser build in a real headless Chromium: LiteRT.js inpaints with no Python behind it.

``python -m keras_pggan.export web`` writes the folder; a plain static server
(``python -m http.server``) serves it; the page opens a real photo, a stroke is painted with the
mouse, and the page fills it with LiteRT.js (wasm). Its output must equal Python LiteRT
(``Inpainter`` on the same ``.tflite`` at the same working size) on the same pixels and mask:
**known pixels exactly, hole pixels within 1 uint8 level** (measured: 0, i.e. identical, for the
tiny generator and for the shipped int8 model on ``wasm``). No request may leave 127.0.0.1, and
nothing is POSTed (the photo never leaves the page). A model file that fails to load gives a
clear error in the page. The studio's "Run in this browser" switch is checked the same way.
Screenshots go to ``tmp_path`` and ``$KERAS_PGGAN_TEST_ARTIFACTS``.

Without Chromium, Playwright or ``npm ci``'s runtime the tests skip with the reason, except under
CI (env ``CI``): there they fail.
"""

import base64
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from keras_pggan.data import imageio
from keras_pggan.testing import browser as browser_lib
from keras_pggan.testing import studio_flow

pytestmark = pytest.mark.browser

STROKE = [(0.30, 0.35), (0.45, 0.45), (0.62, 0.62)]
HOLE_TOLERANCE = 1  # uint8 levels, hole pixels only; known pixels must be identical
TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def chromium():
    return browser_lib.require_chromium()


@pytest.fixture(scope="module")
def node_modules():
    return browser_lib.require_litertjs()


@pytest.fixture(scope="module")
def tiny_build(node_modules, model_path, tmp_path_factory):
    """The tiny generator as a full-int8 web build at 64 px: crops are downscaled and pasted."""
    from keras_pggan.export.web import export_web

    out = str(tmp_path_factory.mktemp("web") / "tiny")
    export_web(model_path, out, mode="int8", size=64, num_calibration=8)
    return out


@pytest.fixture(scope="module")
def real_photo():
    """A real photo that scikit-image ships (the cat, 226×150 after halving)."""
    import skimage.data

    return np.ascontiguousarray(skimage.data.chelsea()[::2, ::2])


@contextlib.contextmanager
def plain_static_server(folder):
    """``python -m http.server`` on 127.0.0.1 and a free port: the documented way to serve it."""
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "-d", folder],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline()
        port = int(re.search(r"port (\d+)", line).group(1))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/manifest.json", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def screenshot(page, tmp_path, name):
    path = str(tmp_path / name)
    page.screenshot(path=path, full_page=True)
    browser_lib.save_artifact(path)
    return path


def record(page):
    """Every request the page makes, as (method, url), and every uncaught page error."""
    requests, errors = [], []
    page.on("request", lambda r: requests.append((r.method, r.url)))
    page.on("pageerror", lambda e: errors.append(str(e)))
    return requests, errors


def device_run(page):
    """The page's last on-device run: its input pixels, holes and output, as arrays."""
    run = page.evaluate("window.studio.lastDeviceRun()")
    h, w = run["height"], run["width"]

    def array(key, shape):
        return np.frombuffer(base64.b64decode(run[key]), np.uint8).reshape(shape)

    return (
        array("input", (h, w, 3)),
        array("holes", (h, w)).astype(bool),
        array("output", (h, w, 3)),
        run,
    )


def python_litert(folder, image, holes):
    """Python LiteRT on the build's own .tflite, with the page's working size."""
    from keras_pggan.inference.inpainter import Inpainter

    with open(os.path.join(folder, "manifest.json")) as f:
        model = json.load(f)["model"]
    inpainter = Inpainter.from_path(os.path.join(folder, model["file"]), working_size=model["size"])
    return inpainter(image, holes)


def assert_matches_python(folder, image, holes, output):
    reference = python_litert(folder, image, holes)
    assert np.array_equal(output[~holes], image[~holes])  # known pixels: the photo's bytes
    diff = np.abs(output.astype(int) - reference.astype(int))
    assert diff[~holes].max() == 0 and diff[holes].max() <= HOLE_TOLERANCE, diff.max()
    assert (output[holes] != image[holes]).mean() > 0.5  # the hole was filled
    return diff


def paint_and_inpaint_here(page, url, photo_path):
    studio_flow.open_page(page, url)
    studio_flow.open_photo(page, photo_path)
    studio_flow.paint(page, [STROKE])
    page.locator("#inpaint").click()
    page.wait_for_selector("#result:not([hidden]), #error:not([hidden])", timeout=TIMEOUT_MS)
    assert page.is_hidden("#error"), page.inner_text("#error-text")
    page.wait_for_function(
        "() => document.querySelector('#after-img').complete && "
        "document.querySelector('#after-img').naturalWidth > 0"
    )


@pytest.mark.large
def test_the_exported_folder_inpaints_in_the_page_as_python_litert_does(
    chromium, tiny_build, real_photo, tmp_path
):
    photo_path = str(tmp_path / "cat.png")
    imageio.save_image(real_photo, photo_path)
    with plain_static_server(tiny_build) as url, browser_lib.open_browser(chromium) as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        requests, errors = record(page)
        paint_and_inpaint_here(page, url + "/", photo_path)
        note = page.inner_text("#device-note")
        assert "never uploaded" in note and "wasm" in note and page.is_checked("#on-device")
        image, holes, output, run = device_run(page)
        assert np.array_equal(image, real_photo)  # the page decoded the photo's exact pixels
        assert holes.any() and run["regions"] >= 1 and run["runs"]
        assert any(r["scale"] < 1 for r in run["runs"])  # 226 px > 64: crops are downscaled
        diff = assert_matches_python(tiny_build, image, holes, output)
        print(f"page vs Python LiteRT, holes: max {diff[holes].max()}, mean {diff[holes].mean()}")
        download, name = studio_flow.download_result(page, str(tmp_path))
        assert name == "cat-inpainted.png" and np.array_equal(imageio.decode_rgb(download), output)
        screenshot(page, tmp_path, "web_build_result.png")
        # 100 %: the result is shown at the photo's own pixel size.
        page.keyboard.press("1")
        shown = page.evaluate("document.querySelector('#after-img').getBoundingClientRect().width")
        assert shown == real_photo.shape[1]
        page.close()
    outside = [u for _, u in requests if not browser_lib.is_local_url(u)]
    assert not outside, outside
    assert not [r for r in requests if r[0] != "GET"], requests  # nothing is sent anywhere
    fetched = {u.split("/", 3)[3] for _, u in requests if u.startswith("http")}
    assert "runtime/wasm/litert_wasm_internal.wasm" in fetched  # the single-threaded build
    assert not errors, errors


def test_a_model_file_that_fails_to_load_is_a_clear_error_in_the_page(
    chromium, tiny_build, tmp_path
):
    broken = str(tmp_path / "broken")
    shutil.copytree(tiny_build, broken)
    with open(os.path.join(broken, "manifest.json")) as f:
        model_file = json.load(f)["model"]["file"]
    with open(os.path.join(broken, model_file), "wb") as f:
        f.write(b"this is not a tflite model" * 10)
    with plain_static_server(broken) as url, browser_lib.open_browser(chromium) as browser:
        page = browser.new_page()
        record(page)
        page.goto(url + "/", wait_until="load")
        page.wait_for_selector("body[data-ready='1']", timeout=TIMEOUT_MS)
        page.wait_for_selector("#error:not([hidden])")
        message = page.inner_text("#error-text")
        assert f"The model {model_file} could not be loaded" in message, message
        assert "export the build again" in message
        screenshot(page, tmp_path, "web_build_broken_model.png")
        page.close()


def test_the_studio_switch_runs_the_model_in_the_browser_without_uploading(
    chromium, tiny_build, model_path, real_photo, tmp_path
):
    pytest.importorskip("fastapi")
    from keras_pggan.inference.inpainter import Inpainter
    from keras_pggan.studio.app import create_app
    from keras_pggan.studio.web import BackgroundServer

    photo_path = str(tmp_path / "cat.png")
    imageio.save_image(real_photo, photo_path)
    app = create_app(Inpainter.from_path(model_path), model_name="tiny.keras", web_build=tiny_build)
    with BackgroundServer(app) as server, browser_lib.open_browser(chromium) as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        requests, errors = record(page)
        studio_flow.open_page(page, server.url)
        assert not page.is_checked("#on-device") and "uploaded" in page.inner_text("#device-note")
        page.locator("#on-device").check()
        page.wait_for_function("() => window.studio.state.engine !== null", timeout=TIMEOUT_MS)
        note = page.inner_text("#device-note")
        assert "never uploaded" in note
        # The studio sends COOP/COEP: the page is isolated and LiteRT.js runs threaded.
        assert page.evaluate("crossOriginIsolated") and "threaded" in note
        assert page.is_disabled("#telea")  # Telea runs on the server: off in this mode
        # WebGPU where the browser has none (headless, --disable-gpu): a clear message, and the
        # page goes back to wasm.
        page.select_option("#accelerator", "webgpu")
        page.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT_MS)
        assert re.search(r"WebGPU .*: use wasm\.", page.inner_text("#error-text"))
        page.wait_for_function(
            "() => window.studio.state.engine && window.studio.state.engine.accelerator === 'wasm'",
            timeout=TIMEOUT_MS,
        )
        assert page.input_value("#accelerator") == "wasm"
        page.locator("#error-close").click()
        studio_flow.open_photo(page, photo_path)
        studio_flow.paint(page, [STROKE])
        studio_flow.inpaint(page)
        image, holes, output, _ = device_run(page)
        assert np.array_equal(image, real_photo)
        assert_matches_python(tiny_build, image, holes, output)
        posted = [u for m, u in requests if m != "GET"]
        assert not posted, posted  # the photo was never uploaded, nor the mask
        # Back to the server: the same photo goes up only now, and the server fills it.
        page.locator("#back-to-mask").click()
        page.locator("#on-device").uncheck()
        studio_flow.inpaint(page)
        assert [u.rsplit("/", 2)[-2:] for m, u in requests if m == "POST"] == [
            ["api", "images"],
            ["api", "inpaint"],
        ]
        assert "in this browser" not in page.inner_text("#status")
        page.close()
    assert not [u for _, u in requests if not browser_lib.is_local_url(u)]
    assert not errors, errors


@pytest.mark.large
def test_the_shipped_int8_model_in_the_page_equals_python_litert(chromium, node_modules, tmp_path):
    """The shipped generator, full int8 at 256 px, on a real 600×400 photo (crops around the
    stroke, downscaled where they are larger than 256 px)."""
    import skimage.data

    from keras_pggan.export.web import export_web

    photo = np.ascontiguousarray(skimage.data.coffee())
    photo_path = str(tmp_path / "coffee.png")
    imageio.save_image(photo, photo_path)
    build = str(tmp_path / "shipped")
    export_web("pggan_dres", build, mode="int8", size=256, num_calibration=8)
    with plain_static_server(build) as url, browser_lib.open_browser(chromium) as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        requests, errors = record(page)
        paint_and_inpaint_here(page, url + "/", photo_path)
        image, holes, output, run = device_run(page)
        assert np.array_equal(image, photo)
        diff = assert_matches_python(build, image, holes, output)
        print(
            f"shipped int8 256: hole max {diff[holes].max()}, mean {diff[holes].mean():.4f}, "
            f"{run['regions']} region(s), model {run['modelMs']:.0f} ms"
        )
        screenshot(page, tmp_path, "web_build_shipped_int8.png")
        page.close()
    assert not [u for _, u in requests if not browser_lib.is_local_url(u)]
    assert not [r for r in requests if r[0] != "GET"]
    assert not errors, errors
