"""The studio's editor: a FastAPI app serving a canvas page and running the inpainter.

Example:
    >>> from keras_pggan.inpaint import Inpainter
    >>> from keras_pggan.studio.app import create_app
    >>> from keras_pggan.studio.web import serve
    >>> app = create_app(Inpainter.from_path("saved_models/pggan_dres.keras"))  # doctest: +SKIP
    >>> serve(app)                                    # doctest: +SKIP  (http://127.0.0.1:7860)

The page (``static/editor.html``, ``editor.js``, ``editor.css``; no CDN, no external font) opens
a photo through ``POST /api/images``: the server decodes it once with
:mod:`keras_pggan.data.imageio`
(any colour mode, EXIF orientation applied, within the byte and pixel limits) and keeps it under
a random id, so the page paints on exactly the pixels the model will see and a large photo is
uploaded once. ``POST /api/inpaint`` takes that id and the painted mask (an opaque PNG of the
photo's size, white = hole: never a transparent canvas export, which the mask convention would
read as holes), runs the model (or OpenCV Telea) and keeps the result under a new id, which the
page shows, compares, downloads (``GET /api/images/<id>.png?download=1``) or edits further.

With ``web_build`` (a folder written by ``python -m keras_pggan.export web``) the page also offers
"Run in this browser": the build's ``manifest.json``, ``runtime/`` (LiteRT.js) and ``model/`` are
served beside the page, and the model runs in the page on the photo's pixels, which are then
never uploaded. The responses carry COOP/COEP headers, so the page is cross-origin isolated and
LiteRT.js may use its threaded WebAssembly build.

Model calls run in Starlette's worker threads (the endpoints are plain functions) behind one
lock, so the page's progress indicator stays live and two requests never share the network. The
server keeps the last :data:`MAX_STORED_IMAGES` images (and at most :data:`STORE_BUDGET_PIXELS`
pixels, whichever is fewer), only in memory. Only the files of ``static/`` are served; every
refusal is a JSON ``{"error": message}`` the page shows, and no failed request stops the app.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations (``UploadFile``,
# imported inside create_app) at run time.
import collections
import dataclasses
import os
import re
import secrets
import threading
import time
from typing import Annotated

import numpy as np

from keras_pggan.data import imageio
from keras_pggan.export import web as web_build_lib
from keras_pggan.studio.web import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_UPLOAD_MB,
    UploadError,
    decode_upload_image,
    decode_upload_mask,
    install_error_handlers,
    read_limited,
)

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
MAX_STORED_IMAGES = 24
STORE_BUDGET_PIXELS = 200_000_000  # ~600 MB of uint8 RGB: a handful of large photos
METHODS = ("model", "telea")
_ID = re.compile(r"^[0-9a-f]{16}$")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
MOSTLY_HOLE = imageio.MOSTLY_HOLE_RATIO


@dataclasses.dataclass
class StoredImage:
    """One image the page works on: the opened photo or a result."""

    pixels: np.ndarray  # uint8 [H,W,3]
    name: str  # file stem for downloads
    png: bytes | None = None  # encoded on first request


class ImageStore:
    """The last few images by id, in memory, bounded by count and by pixels (thread-safe).

    Args:
        max_items: how many images to keep.
        budget_pixels: how many pixels to keep in all (the newest image is always kept).
    """

    def __init__(self, max_items: int = MAX_STORED_IMAGES, budget_pixels=STORE_BUDGET_PIXELS):
        self.max_items = int(max_items)
        self.budget_pixels = int(budget_pixels)
        self._items: collections.OrderedDict[str, StoredImage] = collections.OrderedDict()
        self._lock = threading.Lock()

    def add(self, pixels: np.ndarray, name: str) -> str:
        """Stores an image and returns its new id (evicting the oldest beyond the bounds)."""
        image_id = secrets.token_hex(8)
        with self._lock:
            self._items[image_id] = StoredImage(pixels, name)
            total = sum(
                item.pixels.shape[0] * item.pixels.shape[1] for item in self._items.values()
            )
            while len(self._items) > 1 and (
                len(self._items) > self.max_items or total > self.budget_pixels
            ):
                _, old = self._items.popitem(last=False)
                total -= old.pixels.shape[0] * old.pixels.shape[1]
        return image_id

    def get(self, image_id: str) -> StoredImage:
        """The image under ``image_id``.

        Raises:
            UploadError: 404 for an id that is malformed or no longer kept.
        """
        with self._lock:
            item = self._items.get(image_id) if _ID.match(image_id or "") else None
            if item is not None:
                self._items.move_to_end(image_id)
        if item is None:
            raise UploadError(
                "This image is no longer on the server (it keeps only the most recent ones, "
                "in memory): open the photo again.",
                404,
            )
        return item

    def png(self, image_id: str) -> tuple[bytes, str]:
        """(PNG bytes, file stem) of an image, encoded once."""
        item = self.get(image_id)
        if item.png is None:
            item.png = imageio.encode_png(item.pixels)
        return item.png, item.name


def _stem(filename: str | None) -> str:
    stem = os.path.splitext(os.path.basename(filename or ""))[0]
    return _NAME_CHARS.sub("_", stem)[:80].strip("._") or "photo"


def _telea_status(telea: bool) -> tuple[bool, str | None]:
    from keras_pggan.evaluation.classical import OPENCV_HINT, opencv_available

    if not telea:
        return False, "Telea comparison is turned off for this app."
    if not opencv_available():
        return False, f"Telea comparison needs OpenCV, which is not installed: {OPENCV_HINT}."
    return True, None


def _describe(image_id: str, pixels: np.ndarray, **extra) -> dict:
    return {
        "id": image_id,
        "width": int(pixels.shape[1]),
        "height": int(pixels.shape[0]),
        "url": f"/api/images/{image_id}.png",
        **extra,
    }


# What the page says when the studio has no on-device build (``--web-build``).
NO_WEB_BUILD = (
    "Running in this browser needs an on-device build: write one with "
    "python -m keras_pggan.export web OUT/ and start the studio with --web-build OUT/."
)


def _web_manifest(web_build: str | None) -> str | None:
    """The on-device build's ``manifest.json`` (None without a build).

    Raises:
        ValueError: ``web_build`` has no manifest.
    """
    if not web_build:
        return None
    path = os.path.join(web_build, web_build_lib.MANIFEST)
    if not os.path.isfile(path):
        raise ValueError(
            f"{web_build} has no {web_build_lib.MANIFEST}: write it with "
            "python -m keras_pggan.export web OUT/"
        )
    return path


def _telea_fill(pixels: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """OpenCV Telea's fill (imported on first use: OpenCV is an optional extra)."""
    from keras_pggan.evaluation.classical import telea

    return telea(pixels, holes)


def _keep_result(store, source_name, out, holes, method, seconds, regions) -> dict:
    """Stores a fill as a new image named after its source; the JSON the page gets for it.

    A fill of a fill keeps the first name: ``coffee-inpainted``, not ``coffee-inpainted-
    inpainted``. A mask that covers most of the photo comes with a warning.
    """
    ratio = float(holes.mean())
    warning = None
    if ratio > MOSTLY_HOLE:
        warning = f"{ratio:.0%} of the photo was painted as hole: the fill has little to go on."
    base = re.sub(r"-(inpainted|telea)(-\d+)?$", "", source_name)
    name = f"{base}-{'inpainted' if method == 'model' else 'telea'}"
    result_id = store.add(np.asarray(out, np.uint8), name)
    return _describe(
        result_id,
        out,
        method=method,
        seconds=round(seconds, 3),
        hole_ratio=round(ratio, 5),
        regions=regions,
        warning=warning,
        name=name,
    )


def create_app(
    inpainter,
    *,
    telea: bool = True,
    max_upload_bytes: int = int(DEFAULT_MAX_UPLOAD_MB * 1_000_000),
    max_pixels: int = DEFAULT_MAX_PIXELS,
    model_name: str | None = None,
    store: ImageStore | None = None,
    web_build: str | None = None,
):
    """The editor's FastAPI app around one loaded inpainter.

    Args:
        inpainter: a callable ``(uint8 [H,W,3], bool [H,W]) -> uint8 [H,W,3]``, usually
            :class:`keras_pggan.inference.inpainter.Inpainter` (it tiles large photos itself).
        telea: offer OpenCV Telea side by side (hidden, with the reason, without OpenCV).
        max_upload_bytes: the largest accepted upload (photo or mask).
        max_pixels: the largest accepted photo, width × height.
        model_name: what the page calls the model (default: the inpainter's backend name).
        store: where images are kept (default: a new :class:`ImageStore`).
        web_build: a folder from ``python -m keras_pggan.export web``: offers the on-device mode
            (its ``manifest.json``, ``runtime/`` and ``model/`` are served beside the page).

    Returns:
        A ``fastapi.FastAPI`` app.

    Raises:
        ValueError: non-positive limits, or a ``web_build`` without a manifest.
    """
    from fastapi import FastAPI, File, Form, UploadFile
    from fastapi.responses import JSONResponse, Response

    if max_upload_bytes <= 0 or max_pixels <= 0:
        raise ValueError(
            f"limits must be positive, got max_upload_bytes={max_upload_bytes}, "
            f"max_pixels={max_pixels}"
        )
    store = store or ImageStore()
    model_lock = threading.Lock()
    telea_ok, telea_reason = _telea_status(telea)
    name = model_name or getattr(inpainter, "backend_name", None) or type(inpainter).__name__
    manifest_path = _web_manifest(web_build)
    info = {
        "model": name,
        "telea": telea_ok,
        "telea_reason": telea_reason,
        "max_upload_bytes": int(max_upload_bytes),
        "max_pixels": int(max_pixels),
        "working_size": getattr(inpainter, "working_size", None),
        "on_device": bool(web_build),
        "on_device_reason": None if web_build else NO_WEB_BUILD,
    }
    # No interactive docs: their pages load scripts from a CDN, and the studio makes no request
    # outside this machine.
    app = FastAPI(title="keras_pggan studio", docs_url=None, redoc_url=None, openapi_url=None)
    install_error_handlers(app)
    _serve_page(app, web_build, manifest_path, info["on_device_reason"])

    @app.get("/api/info")
    def api_info():
        return info

    @app.post("/api/images")
    def open_image(image: Annotated[UploadFile, File()]):
        data = read_limited(image.file, max_upload_bytes, "photo")
        pixels = decode_upload_image(data, max_pixels, "photo")
        stem = _stem(image.filename)
        return _describe(store.add(pixels, stem), pixels, name=stem)

    @app.get("/api/images/{image_id}.png")
    def get_image(image_id: str, download: int = 0):
        png, stem = store.png(image_id)
        headers = {"Cache-Control": "no-store"}
        if download:
            headers["Content-Disposition"] = f'attachment; filename="{stem}.png"'
        return Response(png, media_type="image/png", headers=headers)

    @app.post("/api/inpaint")
    def inpaint(
        image_id: Annotated[str, Form()],
        mask: Annotated[UploadFile, File()],
        method: Annotated[str, Form()] = "model",
    ):
        if method not in METHODS:
            raise UploadError(f"Unknown method {method!r}: use one of {', '.join(METHODS)}.", 400)
        if method == "telea" and not telea_ok:
            raise UploadError(telea_reason, 400)
        source = store.get(image_id)
        pixels = source.pixels
        data = read_limited(mask.file, max_upload_bytes, "mask")
        holes = decode_upload_mask(data, pixels.shape[:2], max_pixels, "mask")
        start = time.perf_counter()
        if method == "telea":
            out, regions = _telea_fill(pixels, holes), 1
        else:
            with model_lock:
                regions = len(inpainter.plan(holes)) if hasattr(inpainter, "plan") else 1
                out = inpainter(pixels, holes)
        seconds = time.perf_counter() - start
        return JSONResponse(_keep_result(store, source.name, out, holes, method, seconds, regions))

    return app


def _serve_page(app, web_build: str | None, manifest_path: str | None, no_manifest: str) -> None:
    """The page and its files on ``app``: ``/``, ``/static``, the web build's ``/runtime``,
    ``/model`` and ``/manifest.json`` (404 with ``no_manifest`` without one), and the headers
    every answer carries (CSP, nosniff, cross-origin isolation)."""
    from fastapi.responses import FileResponse, Response
    from fastapi.staticfiles import StaticFiles

    policy = web_build_lib.content_security_policy(web_build_lib.editor_html())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if web_build:
        for folder in ("runtime", "model"):
            app.mount(
                f"/{folder}", StaticFiles(directory=os.path.join(web_build, folder)), name=folder
            )

    @app.middleware("http")
    async def _no_store(request, call_next):
        response = await call_next(request)
        # The page talks only to this server; a strict CSP makes the browser refuse anything else
        # (it allows the page's import map and WebAssembly compilation, for LiteRT.js).
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        for key, value in web_build_lib.ISOLATION_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(os.path.join(STATIC_DIR, "editor.html"), media_type="text/html")

    @app.get("/manifest.json", include_in_schema=False)
    def web_manifest():
        if not manifest_path:
            raise UploadError(no_manifest, 404)
        return FileResponse(manifest_path, media_type="application/json")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return Response(status_code=204)
