"""The in-browser build: a static folder that inpaints with LiteRT.js, no server behind it.

Example:
    >>> manifest = export_web("pggan_dres", "web_build", mode="int8", size=512)  # doctest: +SKIP
    >>> manifest["downloads"]["single_thread"]  # bytes a browser fetches     # doctest: +SKIP

:func:`export_web` writes::

    OUT/index.html            the studio's editor page, in its on-device mode (no server)
    OUT/static/               the editor's script and style, regions.js, ondevice.js
    OUT/runtime/core/         @litertjs/core's ES module (from node_modules, never committed)
    OUT/runtime/wasm-utils/   its dependency, mapped by the page's import map
    OUT/runtime/wasm/         the WebAssembly builds the page picks from (WASM_BUILDS)
    OUT/model/<name>-<mode>-<size>.tflite
    OUT/manifest.json         model, size, mode, runtime version, sha256 and bytes of each file

The model is :func:`keras_pggan.export.tflite.export_tflite` at a fixed square ``size`` with float
inputs and outputs (LiteRT.js 2.5.3 refuses int8 input tensors); the page crops around the holes
with the same rule as :mod:`keras_pggan.inference.regions` (``static/regions.js``, tested against
it), pads to the model size, runs it and pastes the fill back at full resolution.

The runtime comes from the npm registry at set-up time only: ``npm ci`` in the repository root
installs the versions pinned by ``package.json`` / ``package-lock.json`` into ``node_modules/``,
and the build copies the files it needs from there (:func:`find_runtime` says which command to
run when they are missing). Nothing is fetched when the page runs: every URL is relative to the
folder, and the page's Content-Security-Policy allows only its own origin.

Which WebAssembly build runs: the single-threaded ``litert_wasm_internal`` by default, because
it works from any static server (``python -m http.server``); the threaded build needs
``SharedArrayBuffer``, which browsers allow only on cross-origin isolated pages (served with
``Cross-Origin-Opener-Policy: same-origin`` and ``Cross-Origin-Embedder-Policy: require-corp``,
as :class:`StaticServer` with ``isolated=True`` and the studio do), and the page uses it then.
Browsers without relaxed SIMD get ``litert_wasm_compat_internal`` (LiteRT.js picks it).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import tempfile
import threading
from typing import Any

from keras_pggan.errors import UserError

RUNTIME_PACKAGE = "@litertjs/core"
RUNTIME_VERSION = "2.5.3"
WASM_UTILS_PACKAGE = "@litertjs/wasm-utils"
SETUP_COMMAND = "npm ci"
MODES = ("fp32", "fp16", "dynamic", "int8")
DEFAULT_MODE = "int8"
DEFAULT_SIZE = 512
MANIFEST = "manifest.json"
FORMAT_VERSION = 1
# The page's WebAssembly builds (each a .js loader and a .wasm): the default single-threaded one,
# the compat one for browsers without relaxed SIMD, and the threaded one for isolated pages.
# The jspi build (WebNN, WebGPU/wasm partitioning) is left out: the page does not use it.
WASM_BUILDS = (
    "litert_wasm_internal",
    "litert_wasm_compat_internal",
    "litert_wasm_threaded_internal",
)
DEFAULT_WASM_BUILD = "litert_wasm_internal"
THREADED_WASM_BUILD = "litert_wasm_threaded_internal"
# The page is the studio's editor (one copy of it): its files are data read from the studio's
# folder, not imports (the studio is a later stage, which imports this module).
STATIC_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "studio", "static"
)
PAGE_FILES = ("editor.js", "editor.css", "regions.js", "ondevice.js")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}
_IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.S)


@dataclasses.dataclass(frozen=True)
class Runtime:
    """The LiteRT.js files a build copies, found in a ``node_modules`` folder.

    Attributes:
        core: ``@litertjs/core``'s package folder.
        wasm_utils: ``@litertjs/wasm-utils``' package folder.
        version: the installed ``@litertjs/core`` version.
    """

    core: str
    wasm_utils: str
    version: str


def _missing_runtime(detail: str) -> UserError:
    return UserError(
        f"the LiteRT.js runtime is not set up ({detail}): run `{SETUP_COMMAND}` in {REPO_ROOT} "
        f"(it installs {RUNTIME_PACKAGE}@{RUNTIME_VERSION} from package-lock.json into "
        "node_modules/; Node.js and npm are needed), or pass --node-modules DIR"
    )


def find_runtime(node_modules: str | None = None) -> Runtime:
    """Finds the pinned LiteRT.js in ``node_modules`` (default: the repository's).

    Raises:
        UserError: the packages or one of their files are missing, or another version is
            installed; the message says which command sets them up.
    """
    folder = node_modules or os.path.join(REPO_ROOT, "node_modules")
    core = os.path.join(folder, *RUNTIME_PACKAGE.split("/"))
    utils = os.path.join(folder, *WASM_UTILS_PACKAGE.split("/"))
    try:
        with open(os.path.join(core, "package.json")) as f:
            version = json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        raise _missing_runtime(f"no {RUNTIME_PACKAGE} in {folder}") from None
    if version != RUNTIME_VERSION:
        raise _missing_runtime(f"{folder} has {RUNTIME_PACKAGE} {version}, not {RUNTIME_VERSION}")
    runtime = Runtime(core, utils, version)
    missing = [path for path, _ in runtime_files(runtime) if not os.path.isfile(path)]
    if missing:
        raise _missing_runtime(f"missing {missing[0]}")
    return runtime


def runtime_files(runtime: Runtime) -> list[tuple[str, str]]:
    """(source path, path inside the build) of every runtime file the page needs."""
    files = [
        (os.path.join(runtime.core, "dist", "index.js"), "runtime/core/index.js"),
        (os.path.join(runtime.wasm_utils, "dist", "index.js"), "runtime/wasm-utils/index.js"),
    ]
    for build in WASM_BUILDS:
        for ext in (".js", ".wasm"):
            files.append(
                (os.path.join(runtime.core, "wasm", build + ext), f"runtime/wasm/{build}{ext}")
            )
    return files


# -- the page ------------------------------------------------------------------------------------
def import_map_hash(html: str) -> str | None:
    """The CSP source (``'sha256-…'``) that allows the page's inline import map, or None."""
    found = _IMPORT_MAP.search(html)
    if not found:
        return None
    digest = hashlib.sha256(found.group(1).encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def content_security_policy(html: str, *, frame_ancestors: bool = True) -> str:
    """The editor's policy: only its own origin, its import map, and WebAssembly compilation.

    ``'wasm-unsafe-eval'`` lets LiteRT.js compile its WebAssembly (no JavaScript ``eval``);
    ``worker-src 'self' blob:`` lets the threaded build start its workers.
    """
    script = "'self' 'wasm-unsafe-eval'"
    allowed = import_map_hash(html)
    if allowed:
        script += " " + allowed
    policy = (
        f"default-src 'self'; script-src {script}; img-src 'self' blob: data:; "
        "connect-src 'self' blob: data:; style-src 'self'; worker-src 'self' blob:; "
        "object-src 'none'; base-uri 'none'"
    )
    return policy + ("; frame-ancestors 'none'" if frame_ancestors else "")


@functools.cache
def editor_html() -> str:
    """The studio's editor page (``static/editor.html``)."""
    with open(os.path.join(STATIC_DIR, "editor.html"), encoding="utf-8") as f:
        return f.read()


def standalone_html() -> str:
    """The editor page as the build's ``index.html``: on-device only, its policy in a meta tag.

    Raises:
        RuntimeError: the editor page lost the markers this relies on (a packaging bug).
    """
    html = editor_html()
    if 'data-app="studio"' not in html or "<head>" not in html:
        raise RuntimeError('static/editor.html lacks <head> or data-app="studio"')
    # frame-ancestors is ignored in a meta policy (browsers warn), so it is left out here.
    meta = (
        '<meta http-equiv="Content-Security-Policy" content="'
        + content_security_policy(html, frame_ancestors=False)
        + '">'
    )
    html = html.replace("<head>", "<head>\n" + meta, 1)
    return html.replace('data-app="studio"', 'data-app="web"', 1)


# -- the build -----------------------------------------------------------------------------------
def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _copy(source: str, folder: str, relative: str) -> None:
    target = os.path.join(folder, *relative.split("/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copyfile(source, target)


def _model_name(model: str, path: str) -> str:
    """A file-name-safe name: a shipped model's name, a run directory's or the file's stem."""
    from keras_pggan.models import shipped

    if not os.path.exists(model) and shipped.is_preset_name(model):
        base = model
    elif os.path.basename(path) == "generator.keras":
        base = os.path.basename(os.path.dirname(os.path.abspath(path)))
    else:
        base = os.path.splitext(os.path.basename(path))[0]
    return re.sub(r"[^A-Za-z0-9_-]+", "_", base).strip("_") or "generator"


def download_bytes(files: dict[str, dict]) -> dict[str, int]:
    """Bytes a browser fetches to start the page: everything but the unused WebAssembly builds.

    Returns:
        ``{"single_thread": …, "threaded": …}`` (the threaded page fetches the threaded build).
    """

    def total(build: str) -> int:
        return sum(
            entry["bytes"]
            for name, entry in files.items()
            if name != MANIFEST
            and (
                not name.startswith("runtime/wasm/") or name.split("/")[-1].startswith(build + ".")
            )
        )

    return {"single_thread": total(DEFAULT_WASM_BUILD), "threaded": total(THREADED_WASM_BUILD)}


def export_web(
    model: str,
    out_dir: str,
    *,
    mode: str = DEFAULT_MODE,
    size: int = DEFAULT_SIZE,
    node_modules: str | None = None,
    overwrite: bool = False,
    calibration_data: str | None = None,
    num_calibration: int = 32,
    on_model: Any = None,
) -> dict[str, Any]:
    """Writes the in-browser build of ``model`` into ``out_dir`` (see the module docstring).

    Args:
        model: a ``.keras`` generator, a run directory holding one, or a shipped model's name
            (``pggan_dres``).
        out_dir: the folder to write; must be new or empty unless ``overwrite``.
        mode: the TFLite build: ``int8`` (full integer, float I/O), ``fp32``, ``fp16`` or
            ``dynamic``.
        size: the model's fixed input side in pixels (a multiple of the generator's pad
            multiple); the page runs crops of at most this size.
        node_modules: where ``npm ci`` installed LiteRT.js (default: the repository's).
        overwrite: write into an existing folder with files in it.
        calibration_data: int8 calibration photos (default: the embedded scikit-image photos).
        num_calibration: int8 calibration samples.
        on_model: called with the TFLite build's report once the model is written.

    Returns:
        The manifest (also written as ``out_dir/manifest.json``).

    Raises:
        UserError: an unknown mode or size, a missing model or runtime, an existing folder (all
            before anything is converted).
    """
    from keras_pggan.export.builds import generator_file
    from keras_pggan.io_utils import check_writable, refuse_shipped
    from keras_pggan.models import shipped

    if mode not in MODES:
        raise UserError(f"--mode: unknown mode {mode!r}; choose from {', '.join(MODES)}")
    if size < 16:
        raise UserError(f"--size: must be at least 16 pixels, got {size}")
    try:
        model_path = generator_file(shipped.resolve(model))
    except FileNotFoundError as e:
        raise UserError(f"--model: {e}") from None
    runtime = find_runtime(node_modules)
    refuse_shipped(out_dir, overwrite, "OUT")
    check_writable(out_dir, overwrite, "OUT")

    from keras_pggan.export.tflite import export_tflite
    from keras_pggan.models.generator import pad_multiple_of
    from keras_pggan.models.saved import load_generator

    try:
        generator = load_generator(model_path)
    except (OSError, ValueError) as e:
        raise UserError(f"--model: {model_path}: {e}") from e
    multiple = pad_multiple_of(generator)
    if size % multiple:
        raise UserError(
            f"--size: {size} is not a multiple of the generator's pad multiple {multiple}"
        )
    name = _model_name(model, model_path)
    model_file = f"model/{name}-{mode}-{size}.tflite"
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as tmp:
        target = os.path.join(tmp, "model.tflite")
        report = export_tflite(
            generator,
            target,
            mode=mode,
            io="float",
            fixed_size=size,
            calibration_data=calibration_data,
            num_calibration=num_calibration,
        )
        _copy(target, out_dir, model_file)
    if on_model is not None:
        on_model(report)
    for source, relative in runtime_files(runtime):
        _copy(source, out_dir, relative)
    for page_file in PAGE_FILES:
        _copy(os.path.join(STATIC_DIR, page_file), out_dir, f"static/{page_file}")
    with open(os.path.join(out_dir, "index.html"), "w", encoding="utf-8") as f:
        f.write(standalone_html())
    return write_manifest(
        out_dir,
        {
            "format": FORMAT_VERSION,
            "model": {
                "file": model_file,
                "name": name,
                "source": os.path.abspath(model_path),
                "mode": mode,
                "io": "float",
                "size": size,
                "pad_multiple": multiple,
                "params": report["params"],
                "ops": report["ops"],
            },
            "runtime": {
                "package": RUNTIME_PACKAGE,
                "version": runtime.version,
                "path": "runtime/wasm/",
                "default_build": DEFAULT_WASM_BUILD,
                "threaded_build": THREADED_WASM_BUILD,
                "builds": list(WASM_BUILDS),
            },
            "regions": {"working_size": size, "context": _context(), "min_context": _block()},
        },
    )


def _context() -> float:
    from keras_pggan.inference.regions import DEFAULT_CONTEXT

    return DEFAULT_CONTEXT


def _block() -> int:
    from keras_pggan.inference.regions import MIN_CONTEXT_PX

    return MIN_CONTEXT_PX


def write_manifest(out_dir: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """Adds every file's bytes and sha256 (and :func:`download_bytes`) and writes the manifest."""
    files = {}
    for root, dirs, names in os.walk(out_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for file_name in sorted(names):
            path = os.path.join(root, file_name)
            relative = os.path.relpath(path, out_dir).replace(os.sep, "/")
            if relative == MANIFEST:
                continue
            files[relative] = {"bytes": os.path.getsize(path), "sha256": _sha256(path)}
    manifest = {**manifest, "files": files, "downloads": download_bytes(files)}
    with open(os.path.join(out_dir, MANIFEST), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    return manifest


def verify(out_dir: str) -> list[str]:
    """The files of a build whose bytes no longer match its manifest (empty: intact)."""
    with open(os.path.join(out_dir, MANIFEST), encoding="utf-8") as f:
        manifest = json.load(f)
    bad = []
    for relative, entry in manifest["files"].items():
        path = os.path.join(out_dir, *relative.split("/"))
        if not os.path.isfile(path) or _sha256(path) != entry["sha256"]:
            bad.append(relative)
    return bad


# -- serving it ----------------------------------------------------------------------------------
class _Handler(http.server.SimpleHTTPRequestHandler):
    isolated = False
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".js": "text/javascript",
        ".tflite": "application/octet-stream",
        ".json": "application/json",
    }

    def end_headers(self):
        if self.isolated:
            for key, value in ISOLATION_HEADERS.items():
                self.send_header(key, value)
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


class StaticServer:
    """Serves a folder on 127.0.0.1 (a free port) in a thread: ``.wasm`` as ``application/wasm``.

    Args:
        folder: what to serve.
        isolated: send the COOP/COEP headers, so the page may use the threaded build.
        host: interface to bind.
        port: 0 for a free one.

    Example:
        >>> with StaticServer("web_build") as server:      # doctest: +SKIP
        ...     page.goto(server.url + "/index.html")
    """

    def __init__(self, folder: str, isolated: bool = False, host: str = "127.0.0.1", port=0):
        handler = type(
            "Handler",
            (_Handler,),
            {"isolated": isolated, "__init__": _bind_folder(os.path.abspath(folder))},
        )
        self._server = http.server.ThreadingHTTPServer((host, port), handler)
        self.port = self._server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> StaticServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> StaticServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _bind_folder(folder: str):
    def __init__(self, *args, **kwargs):
        _Handler.__init__(self, *args, directory=folder, **kwargs)

    return __init__
