"""What the studio's web apps share: starting uvicorn, and reading uploads within limits.

Example:
    >>> from keras_pggan.studio.web import BackgroundServer, serve
    >>> with BackgroundServer(app) as server:          # doctest: +SKIP
    ...     requests.get(server.url + "/")             # a free port on 127.0.0.1
    >>> serve(app, port=7860)                          # doctest: +SKIP  (blocks; prints the URL)

- :func:`serve` runs an app in the foreground (the CLIs) and prints its URL;
  :class:`BackgroundServer` runs one in a thread on a free port (tests, the screenshot script)
  and stops it cleanly.
- :func:`read_limited`, :func:`decode_upload_image` and :func:`decode_upload_mask` read an
  upload with a byte limit and decode it with a pixel limit through :mod:`keras_pggan.data.imageio`
  (the project's one image and mask convention); every refusal is an :class:`UploadError`
  carrying the HTTP status and a sentence the page can show as it is.
- :func:`install_error_handlers` turns :class:`UploadError` into ``{"error": message}`` JSON
  with its status, and any other exception in a request into a 500 with a generic message and a
  request id (``{"error", "request_id"}``): the exception and its traceback go to the server's
  log under that id, never to the page. One failed request never stops the app, nor closes the
  connection it came on (:func:`answer_internal_errors`, which the study uses with its own
  answer).

FastAPI and uvicorn (the ``[studio]`` extra) are imported when a function needs them, so this
module imports cheaply; TensorFlow is never imported here.
"""

from __future__ import annotations

import logging
import secrets
import socket
import sys
import threading
import time
from typing import BinaryIO

import numpy as np

from keras_pggan.data import imageio

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
DEFAULT_MAX_UPLOAD_MB = 25.0
# 40 MP per upload: a large phone photo. Stricter than the decoders' bomb guard
# (imageio.MAX_IMAGE_PIXELS) because the studio keeps every photo and its fills in memory
# (keras_pggan.studio.app's store budget); never above the guard, whatever the budget.
DEFAULT_MAX_PIXELS = min(40_000_000, imageio.MAX_IMAGE_PIXELS)
STUDIO_EXTRA_HINT = "pip install 'keras_pggan[studio]' (fastapi, uvicorn, python-multipart)"
_START_TIMEOUT_S = 30.0
LOG = logging.getLogger("keras_pggan.studio")


class UploadError(ValueError):
    """An upload the app refuses; ``str(error)`` is the sentence shown to the user.

    Args:
        message: what is wrong and what to do, as one or two sentences.
        status_code: the HTTP status to answer with (400 bad input, 413 too large, 422 mismatch).
    """

    def __init__(self, message: str, status_code: int = 400):
        super().__init__(message)
        self.status_code = int(status_code)


def require_web_stack() -> None:
    """Raises ``ImportError`` with the install hint when the ``[studio]`` extra is missing."""
    missing = []
    for name in ("fastapi", "uvicorn", "python_multipart"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name.replace("_", "-"))
    if missing:
        raise ImportError(f"the studio needs {', '.join(missing)}: {STUDIO_EXTRA_HINT}")


# -- uploads ---------------------------------------------------------------------------------------
def _megabytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def read_limited(fileobj: BinaryIO | bytes, max_bytes: int, name: str = "upload") -> bytes:
    """Reads an upload's bytes, refusing more than ``max_bytes``.

    Args:
        fileobj: a binary file object (e.g. FastAPI's ``UploadFile.file``) or bytes.
        max_bytes: the largest accepted size in bytes.
        name: what the upload is, for the message (``"photo"``, ``"mask"``).

    Returns:
        The bytes (at most ``max_bytes`` of them).

    Raises:
        UploadError: 400 when empty, 413 when larger than ``max_bytes``.
    """
    if isinstance(fileobj, (bytes, bytearray)):
        data = bytes(fileobj[: max_bytes + 1])
    else:
        data = fileobj.read(max_bytes + 1)
    if not data:
        raise UploadError(f"The {name} is empty (0 bytes): choose an image file.", 400)
    if len(data) > max_bytes:
        raise UploadError(
            f"The {name} is larger than the upload limit of {_megabytes(max_bytes)}: "
            f"use a smaller file (or start the app with a larger --max-upload-mb).",
            413,
        )
    return data


def _header_size(data: bytes, name: str) -> tuple[int, int]:
    """(width, height) from the file header (:func:`imageio.image_header`), pixels not decoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        _, width, height = imageio.image_header(data)
        return width, height
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise UploadError(
            f"The {name} is not an image this app can read (PNG, JPEG, WebP, BMP or GIF).", 400
        ) from None
    except Image.DecompressionBombError:
        raise UploadError(f"The {name} has too many pixels to open safely.", 413) from None


def check_pixels(width: int, height: int, max_pixels: int, name: str = "photo") -> None:
    """Raises a 413 :class:`UploadError` when ``width × height`` exceeds ``max_pixels``."""
    if width * height > max_pixels:
        raise UploadError(
            f"The {name} is {width}x{height} = {width * height / 1e6:.1f} megapixels, more than "
            f"this app's limit of {max_pixels / 1e6:.1f} megapixels: downscale it first "
            f"(or start the app with a larger --max-pixels).",
            413,
        )


def decode_upload_image(data: bytes, max_pixels: int, name: str = "photo") -> np.ndarray:
    """Decodes uploaded image bytes to uint8 RGB [H,W,3] (EXIF applied) within a pixel limit.

    Raises:
        UploadError: 400 for bytes that are no readable image, 413 above ``max_pixels``.
    """
    width, height = _header_size(data, name)
    check_pixels(width, height, max_pixels, name)
    try:
        return imageio.decode_rgb(data, name)
    except ValueError as e:
        raise UploadError(f"The {name} cannot be read: {e}.", 400) from None


def decode_upload_mask(
    data: bytes, shape: tuple[int, int], max_pixels: int, name: str = "mask"
) -> np.ndarray:
    """Decodes an uploaded mask to bool [H,W] (True = hole) with the file convention.

    Args:
        data: the mask file's bytes (the page sends an opaque PNG: white = hole).
        shape: (height, width) the mask must have (the photo's).
        max_pixels: pixel limit, as for the photo.
        name: what the upload is, for the message.

    Raises:
        UploadError: 400 for undecodable bytes or an empty mask, 413 above ``max_pixels``,
            422 for a size that differs from ``shape``.
    """
    width, height = _header_size(data, name)
    check_pixels(width, height, max_pixels, name)
    try:
        holes = imageio.decode_mask(data, name)
    except ValueError as e:
        raise UploadError(f"The {name} cannot be read: {e}.", 400) from None
    if holes.shape != tuple(shape):
        raise UploadError(
            f"The {name} is {holes.shape[1]}x{holes.shape[0]} but the photo is "
            f"{shape[1]}x{shape[0]}: the mask must have the photo's size.",
            422,
        )
    if not holes.any():
        raise UploadError(f"The {name} has no hole: paint over what should be removed first.", 400)
    return holes


class _AnswerInternalErrors:
    """ASGI middleware: any exception a request raises becomes ``respond(request, exc)``.

    Not ``app.exception_handler(Exception)``: Starlette answers through that handler and then
    re-raises, and uvicorn closes the keep-alive connection of a request that raised after its
    answer went out; a client reusing it (a browser, a ``requests.Session``) then gets
    "Connection reset by peer" on its next request. Caught here, nothing is re-raised and the
    connection stays open.
    """

    def __init__(self, app, respond):
        self.app = app
        self.respond = respond

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_and_note(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except Exception as exc:  # noqa: BLE001 - one failed request never stops the app
            if started:  # too late for an answer of our own
                raise
            from starlette.requests import Request

            request = Request(scope)
            request_id = secrets.token_hex(6)
            request.state.request_id = request_id
            # The details (exception and traceback) go to the log, never to the page.
            LOG.error(
                "request %s: error in %s %s",
                request_id,
                request.method,
                request.url.path,
                exc_info=exc,
            )
            await self.respond(request, exc)(scope, receive, send)


def answer_internal_errors(app, respond) -> None:
    """Makes any exception in a request of ``app`` the response ``respond(request, exc)``.

    The error is logged (logger ``keras_pggan.studio``, with its traceback; on stderr when logging
    is not configured, by Python's last-resort handler) with the request's method, path and a
    new id, ``request.state.request_id``, which ``respond`` may show; the connection stays open
    (see :class:`_AnswerInternalErrors`).

    Args:
        app: A FastAPI/Starlette app.
        respond: ``(request, exc) -> Response``, e.g. a 500 ``JSONResponse``.
    """
    app.add_middleware(_AnswerInternalErrors, respond=respond)


def install_error_handlers(app) -> None:
    """Answers :class:`UploadError` with its status and any other error with a 500, as
    ``{"error": message}`` JSON, so the page shows the message and the app keeps serving.

    A 500's message is generic and names the request id under which the exception is logged:
    an exception's text can carry paths or data that the page has no business seeing."""
    from fastapi.responses import JSONResponse

    @app.exception_handler(UploadError)
    async def _upload_error(request, exc: UploadError):
        return JSONResponse({"error": str(exc)}, status_code=exc.status_code)

    def _internal_error(request, exc: Exception):
        request_id = request.state.request_id
        return JSONResponse(
            {
                "error": f"Internal error (request {request_id}; the details are in the "
                "server's log). The app keeps running.",
                "request_id": request_id,
            },
            status_code=500,
        )

    answer_internal_errors(app, _internal_error)


# -- servers ---------------------------------------------------------------------------------------
def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port} ({e.strerror or e}); try --port 0") from e
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(host: str, port: int) -> str:
    """The URL a browser opens for a server bound to ``host:port``."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    if shown == "::":
        shown = "::1"
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _uvicorn_server(app, log_level: str):
    import uvicorn

    # log_config=None: uvicorn's own logging set-up would replace the handlers already installed
    # (TensorFlow's absl handler among them, whose stream may be closed under pytest's capture).
    config = uvicorn.Config(
        app, log_level=log_level, access_log=False, lifespan="on", log_config=None
    )
    return uvicorn.Server(config)


def serve(app, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, name: str = "app") -> None:
    """Serves ``app`` until Ctrl+C; prints the URL to open.

    Args:
        app: an ASGI app (FastAPI).
        host: interface to bind; 127.0.0.1 (this machine only) unless told otherwise.
        port: TCP port; 0 picks a free one.
        name: what is served, for the printed line.

    Raises:
        OSError: the port is taken (the message suggests ``--port 0``).
    """
    sock = _bind(host, port)
    server = _uvicorn_server(app, "warning")
    url = url_of(host, sock.getsockname()[1])
    print(f"{name}: open {url} in a browser (Ctrl+C stops)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"{name}: listening on {host}: reachable from other machines", file=sys.stderr)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


class BackgroundServer:
    """Runs an ASGI app with uvicorn in a daemon thread on 127.0.0.1 and a free port.

    Args:
        app: the ASGI app.
        host: interface to bind.
        port: 0 (default) for a free port.
        log_level: uvicorn's log level.

    Attributes:
        url: ``http://127.0.0.1:<port>`` once entered.
        port: the bound port.

    Example:
        >>> with BackgroundServer(create_app(inpainter)) as server:   # doctest: +SKIP
        ...     page.goto(server.url)
    """

    def __init__(self, app, host: str = DEFAULT_HOST, port: int = 0, log_level: str = "warning"):
        self.app = app
        self.host = host
        self.requested_port = port
        self.log_level = log_level
        self.url: str | None = None
        self.port: int | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as e:  # noqa: BLE001 - reported by start()
            self._error = e

    def start(self) -> BackgroundServer:
        """Binds, starts the thread and waits until uvicorn accepts connections.

        Raises:
            RuntimeError: uvicorn did not start within 30 s (with its error when it had one).
        """
        self._sock = _bind(self.host, self.requested_port)
        self.port = self._sock.getsockname()[1]
        self.url = url_of(self.host, self.port)
        self._server = _uvicorn_server(self.app, self.log_level)
        self._thread = threading.Thread(target=self._run, name=f"uvicorn:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                self.stop()
                raise RuntimeError(f"the server did not start: {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not start within {_START_TIMEOUT_S:.0f} s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Asks uvicorn to exit, waits for the thread and closes the socket (idempotent)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
