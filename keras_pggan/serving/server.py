"""A local stand-in for ``tensorflow_model_server``: one SavedModel over gRPC and REST.

:func:`serve_locally` (and ``python -m keras_pggan.serving serve``) loads the highest numeric
version under a model base path with ``tf.saved_model.load`` and serves ``PredictionService``
(``Predict``, ``GetModelMetadata``) and ``ModelService.GetModelStatus`` over gRPC plus the REST
predict / status / metadata routes, with TF Serving's status codes and JSON error bodies
(``{"error": "..."}``). Bad requests are checked in Python before the model runs (dtype, rank,
channels, image/mask size mismatch, oversize, NaN/Inf, missing or unknown inputs, undecodable
bytes) and get ``INVALID_ARGUMENT`` (REST 400) naming the input; an unknown model or version gets
``NOT_FOUND`` (404) and an unknown signature ``FAILED_PRECONDITION`` (400), as TF Serving answers.
Errors raised inside the graph (its asserts) map to their TF status code. The server keeps serving
after every error.

Like TF Serving, the REST front end base64-encodes ``*_bytes`` string outputs as
``{"b64": "..."}`` (:mod:`keras_pggan.serving.protocol`), so its bodies are valid UTF-8 JSON.

It binds 127.0.0.1 unless told otherwise (``host="0.0.0.0"`` / ``--host 0.0.0.0`` for every
interface), and logs one access line per request (client, API, method or RPC, signature, status,
milliseconds) to the ``keras_pggan.serving.access`` logger at INFO, and to stderr with
``access_log=True`` (the ``serve`` command's default). Stderr lines are written by one
background thread from a bounded queue: a stderr that nobody reads (a full pipe) stalls that
thread only, never a request; lines that do not fit are dropped and counted
(:attr:`LocalServer.access_lines_dropped`, and one line saying how many once stderr drains).

TensorFlow is imported when a server starts, not when this module is imported.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import threading
import time
import warnings
from collections.abc import Mapping
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import numpy as np

from keras_pggan.data import imageio
from keras_pggan.serving.access_log import StderrLines
from keras_pggan.serving.client import GRPC_OPTIONS, ServingError
from keras_pggan.serving.protocol import (
    invalid,
    key_problems,
    parse_predict_body,
    predict_json,
    proto_to_array,
)
from keras_pggan.signatures import DEFAULT_SIGNATURE

# Pixels per request (batch × height × width): one 4096² image. Stricter than the decoders' bomb
# guard (keras_pggan.data.imageio.MAX_IMAGE_PIXELS) because a server holds every request's
# float32 tensors at once (~200 MB for 16.8 MP); never above the guard, whatever the budget.
DEFAULT_MAX_PIXELS = min(1 << 24, imageio.MAX_IMAGE_PIXELS)
_IMAGE_FORMATS = ("PNG", "JPEG", "MPO", "BMP", "GIF")
_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}
ACCESS_LOGGER = logging.getLogger("keras_pggan.serving.access")
_ROUTE = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>[0-9]+)|/labels/(?P<label>[^/:]+))?"
    r"(?P<suffix>/metadata|:predict|:classify|:regress)?/?$"
)


# -- one loaded model ------------------------------------------------------------------------------


def _clean_tf_message(message: str) -> str:
    """The useful line(s) of a TF runtime error (drops graph-execution boilerplate)."""
    text = message.split("<stack traces unavailable>")[-1]
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip()
        and not line.strip().startswith(("[[", "Graph execution error", "Detected at node"))
    ]
    return " ".join(lines)[:2000] or message[:2000]


class _Servable:
    """The highest version under a model base path, loaded with ``tf.saved_model.load``."""

    def __init__(self, model_base_path: str, model_name: str, max_pixels: int):
        import tensorflow as tf
        from tensorflow.core.protobuf import saved_model_pb2

        from keras_pggan.inference.backends import latest_version

        if not os.path.isdir(model_base_path):
            raise FileNotFoundError(f"{model_base_path}: no such directory")
        version = latest_version(model_base_path)
        if version is None:
            raise FileNotFoundError(f"{model_base_path}: no numeric version folder (e.g. 1/)")
        self.name = model_name
        self.version = version
        self.path = os.path.join(model_base_path, str(version))
        self.max_pixels = int(max_pixels)
        self.model = tf.saved_model.load(self.path)
        self.signatures = dict(self.model.signatures)
        self.input_specs = {
            key: dict(fn.structured_input_signature[1]) for key, fn in self.signatures.items()
        }
        proto = saved_model_pb2.SavedModel()
        with open(os.path.join(self.path, "saved_model.pb"), "rb") as f:
            proto.ParseFromString(f.read())
        self.signature_defs = proto.meta_graphs[0].signature_def

    # Request routing ------------------------------------------------------------------------

    def check_spec(self, name: str, version: int | None = None, label: str | None = None):
        """Raises ``NOT_FOUND`` unless the request names this model (and its version)."""
        if name != self.name:
            raise ServingError(
                grpc.StatusCode.NOT_FOUND, f"Servable not found for request: Latest({name})"
            )
        if label:
            raise ServingError(
                grpc.StatusCode.NOT_FOUND,
                f"Unrecognized servable version label: {label} (model {name} has no labels)",
            )
        if version is not None and int(version) != self.version:
            raise ServingError(
                grpc.StatusCode.NOT_FOUND,
                f"Servable not found for request: Specific({name}, {version})",
            )

    def specs(self, signature: str) -> dict:
        """Input specs of ``signature``; TF Serving's ``FAILED_PRECONDITION`` if unknown."""
        if signature not in self.signatures:
            raise ServingError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f'Serving signature key "{signature}" not found.',
            )
        return self.input_specs[signature]

    # Validation -----------------------------------------------------------------------------

    def _image_sizes(self, name: str, array: np.ndarray) -> list[tuple[int, int]]:
        """(height, width) of each encoded image, decoded once with Pillow to catch bad data.

        Decoding here (after the header passed the format and size checks) names the input and
        the problem for truncated or corrupt files, which inside the graph would fail as an
        anonymous ``DecodeImage`` error.
        """
        from PIL import Image, UnidentifiedImageError

        sizes = []
        for i, data in enumerate(array.reshape(-1)):
            if not isinstance(data, bytes):
                raise invalid(f"input '{name}'[{i}]: expected bytes, got {type(data).__name__}")
            where = f"input '{name}'[{i}]"
            if not data:
                raise invalid(f"{where}: empty (0 bytes), not an image")
            fmt = None
            try:
                fmt, w, h = imageio.image_header(data)
                if fmt in _IMAGE_FORMATS and 0 < w * h <= self.max_pixels:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        with Image.open(io.BytesIO(data)) as im:
                            im.load()  # truncated or corrupt data fails here
            except Image.DecompressionBombError as e:
                raise invalid(f"{where}: decompression bomb guard: {e}") from None
            except UnidentifiedImageError:
                raise invalid(
                    f"{where}: cannot decode {len(data)} bytes: not an image (PNG, JPEG, BMP, GIF)"
                ) from None
            except Exception as e:
                what = f"a {fmt} image" if fmt else "an image"
                raise invalid(f"{where}: cannot decode {len(data)} bytes as {what}: {e}") from None
            if fmt not in _IMAGE_FORMATS:
                raise invalid(f"{where}: {fmt} images are not supported")
            if h <= 0 or w <= 0:
                raise invalid(f"{where}: empty image")
            if h * w > self.max_pixels:
                raise invalid(
                    f"{where}: {w}x{h} (WxH) image, more than this server's limit of "
                    f"{self.max_pixels} pixels (--max-pixels)"
                )
            sizes.append((h, w))
        return sizes

    def validate(self, signature: str, inputs: Mapping[str, np.ndarray]) -> None:
        """Checks a request's tensors against the signature before it runs.

        Raises:
            ServingError: ``INVALID_ARGUMENT`` naming the input, or ``FAILED_PRECONDITION`` for
                an unknown signature.
        """
        specs = self.specs(signature)
        missing = sorted(set(specs) - set(inputs))
        unknown = sorted(set(inputs) - set(specs))
        if missing or unknown:
            raise invalid(key_problems(missing, unknown, signature, specs))
        batch = None
        pixels = 0
        image_sizes: dict[str, list] = {}
        for name in sorted(specs):
            spec, array = specs[name], inputs[name]
            want = spec.dtype.as_numpy_dtype if spec.dtype.name != "string" else object
            got = "string" if array.dtype == object or array.dtype.kind == "S" else array.dtype.name
            if spec.dtype.name == "string":
                if got != "string":
                    raise invalid(f"input '{name}': expected string (bytes), got {got}")
            elif array.dtype != want:
                raise invalid(f"input '{name}': expected {spec.dtype.name}, got {got}")
            shape = spec.shape.as_list()
            if array.ndim != len(shape):
                raise invalid(
                    f"input '{name}': expected rank {len(shape)} (shape "
                    f"{[d if d is not None else -1 for d in shape]}), got shape {list(array.shape)}"
                )
            for axis, (want_dim, got_dim) in enumerate(zip(shape, array.shape)):
                if want_dim is not None and want_dim != got_dim:
                    what = "channels" if axis == len(shape) - 1 else f"dimension {axis}"
                    raise invalid(f"input '{name}': expected {want_dim} {what}, got {got_dim}")
            if array.size == 0:
                raise invalid(f"input '{name}' is empty (shape {list(array.shape)})")
            if batch is None:
                batch = (name, array.shape[: min(3, array.ndim)])
            elif array.shape[: len(batch[1])] != batch[1][: array.ndim]:
                raise invalid(
                    f"input '{name}': shape {list(array.shape)} does not match input "
                    f"'{batch[0]}' {list(batch[1])} in batch, height and width"
                )
            if array.dtype.kind == "f":
                if not np.isfinite(array).all():
                    raise invalid(f"input '{name}' has NaN or Inf values")
                if array.ndim == 4:
                    pixels = max(pixels, array.shape[0] * array.shape[1] * array.shape[2])
            elif got == "string":
                image_sizes[name] = self._image_sizes(name, array)
                pixels = max(pixels, sum(h * w for h, w in image_sizes[name]))
        if len(image_sizes) > 1:
            (first, sizes), *others = sorted(image_sizes.items())
            for other, other_sizes in others:
                for i, (a, b) in enumerate(zip(sizes, other_sizes)):
                    if a != b:
                        raise invalid(
                            f"input '{other}'[{i}]: {b[1]}x{b[0]} (WxH) does not match input "
                            f"'{first}'[{i}] {a[1]}x{a[0]}"
                        )
        if pixels > self.max_pixels:
            raise invalid(
                f"input '{sorted(specs)[0]}': request has {pixels} pixels (batch × height × "
                f"width), more than this server's limit of {self.max_pixels} (--max-pixels)"
            )

    # Running ---------------------------------------------------------------------------------

    def predict(
        self, signature: str, inputs: Mapping[str, np.ndarray], output_filter=()
    ) -> dict[str, np.ndarray]:
        """Validates, runs the signature and returns its outputs as numpy arrays."""
        import tensorflow as tf

        self.validate(signature, inputs)
        fn = self.signatures[signature]
        outputs_known = set(self.signature_defs[signature].outputs)
        for name in output_filter:
            if name not in outputs_known:
                raise invalid(f"output tensor alias not found in signature: {name}")
        try:
            result = fn(**{name: tf.constant(value) for name, value in inputs.items()})
        except tf.errors.OpError as e:
            code = _BY_NUMBER.get(e.error_code, grpc.StatusCode.UNKNOWN)
            raise ServingError(code, _clean_tf_message(e.message)) from None
        except (TypeError, ValueError) as e:
            raise invalid(str(e)[:2000]) from None
        names = list(output_filter) or list(result)
        return {name: result[name].numpy() for name in names}

    def warm_up(self) -> int:
        """Replays ``assets.extra/tf_serving_warmup_requests`` (as TF Serving does)."""
        import tensorflow as tf
        from tensorflow_serving.apis import prediction_log_pb2

        path = os.path.join(self.path, "assets.extra", "tf_serving_warmup_requests")
        if not os.path.exists(path):
            return 0
        count = 0
        for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
            log = prediction_log_pb2.PredictionLog.FromString(record)
            request = log.predict_log.request
            inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
            self.predict(request.model_spec.signature_name or DEFAULT_SIGNATURE, inputs)
            count += 1
        return count

    def signature_def_map(self):
        from tensorflow_serving.apis import get_model_metadata_pb2

        sig_map = get_model_metadata_pb2.SignatureDefMap()
        for key, value in self.signature_defs.items():
            sig_map.signature_def[key].CopyFrom(value)
        return sig_map


# -- gRPC front end -------------------------------------------------------------------------------


def _peer_host(peer: str) -> str:
    """``ipv4:127.0.0.1:5123`` → ``127.0.0.1``; ``ipv6:[::1]:5123`` → ``::1``."""
    address = peer.split(":", 1)[1] if peer.startswith(("ipv4:", "ipv6:")) else peer
    host = address.rsplit(":", 1)[0] if address.count(":") == 1 or "]" in address else address
    return host.strip("[]") or "-"


def _make_grpc_servicers(servable: _Servable, access):
    import tensorflow as tf
    from tensorflow_serving.apis import (
        get_model_metadata_pb2,
        get_model_status_pb2,
        model_service_pb2_grpc,
        predict_pb2,
        prediction_service_pb2_grpc,
    )

    def spec_of(model_spec):
        version = model_spec.version.value if model_spec.HasField("version") else None
        label = model_spec.version_label if model_spec.HasField("version_label") else None
        return model_spec.name, version, label

    class Logged:
        """One access line per call, also when the call aborts or fails."""

        def __init__(self, context, rpc: str, signature: str = "-"):
            self.context, self.rpc, self.signature, self.status = context, rpc, signature, "OK"

        def abort(self, error: ServingError):
            self.status = error.code.name
            self.context.abort(error.code, error.message)

        def __enter__(self):
            self.start = time.perf_counter()
            return self

        def __exit__(self, kind, value, tb):
            if kind is not None and self.status == "OK":
                self.status = "UNKNOWN"  # an unexpected exception: gRPC answers UNKNOWN
            peer = _peer_host(self.context.peer() or "")
            access(peer, "gRPC", self.rpc, self.signature, self.status, self.start)

    class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):  # noqa: N802 (gRPC method name)
            signature = request.model_spec.signature_name or DEFAULT_SIGNATURE
            with Logged(context, "Predict", signature) as call:
                try:
                    servable.check_spec(*spec_of(request.model_spec))
                    servable.specs(signature)
                    inputs = {k: proto_to_array(k, v) for k, v in request.inputs.items()}
                    outputs = servable.predict(signature, inputs, list(request.output_filter))
                except ServingError as e:
                    error = e
                else:
                    response = predict_pb2.PredictResponse()
                    response.model_spec.name = servable.name
                    response.model_spec.version.value = servable.version
                    response.model_spec.signature_name = signature
                    for key, value in outputs.items():
                        response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
                    return response
                call.abort(error)

        def GetModelMetadata(self, request, context):  # noqa: N802
            with Logged(context, "GetModelMetadata") as call:
                try:
                    servable.check_spec(*spec_of(request.model_spec))
                    fields = list(request.metadata_field)
                    if not fields:
                        raise invalid(
                            "GetModelMetadataRequest must specify at least one metadata_field"
                        )
                    for field in fields:
                        if field != "signature_def":
                            raise invalid(f"Metadata field {field} is not supported")
                except ServingError as e:
                    call.abort(e)
                response = get_model_metadata_pb2.GetModelMetadataResponse()
                response.model_spec.name = servable.name
                response.model_spec.version.value = servable.version
                response.metadata["signature_def"].Pack(servable.signature_def_map())
                return response

    class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
        def GetModelStatus(self, request, context):  # noqa: N802
            with Logged(context, "GetModelStatus") as call:
                try:
                    servable.check_spec(*spec_of(request.model_spec))
                except ServingError as e:
                    call.abort(e)
                response = get_model_status_pb2.GetModelStatusResponse()
                status = response.model_version_status.add()
                status.version = servable.version
                status.state = get_model_status_pb2.ModelVersionStatus.AVAILABLE
                return response

    return PredictionServicer(), ModelServicer()


# -- REST front end -------------------------------------------------------------------------------


def _make_rest_handler(servable: _Servable, access):
    from google.protobuf import json_format

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "keras_pggan-serving"
        # TCP_NODELAY: the headers and the body go out as two writes; with Nagle's algorithm the
        # body waits for the client's delayed ACK of the headers, ~40 ms on every answer of a
        # kept-alive connection (measured: 44.7 ms per GET, 3.4 ms with a new connection each).
        disable_nagle_algorithm = True

        def log_message(self, format, *args):  # noqa: A002 (stdlib signature)
            pass

        def _send(self, status: int, body: bytes) -> None:
            self._status = status
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, error: ServingError) -> None:
            self._send(error.http_status, json.dumps({"error": error.message}).encode())

        def _route(self, method: str):
            match = _ROUTE.match(self.path.split("?", 1)[0])
            suffix = match and match["suffix"]
            ok = match and (
                (method == "GET" and suffix in (None, "/metadata"))
                or (method == "POST" and suffix in (":predict", ":classify", ":regress"))
            )
            if not ok:
                raise ServingError(
                    grpc.StatusCode.NOT_FOUND, f"Malformed request: {method} {self.path}"
                )
            version = int(match["version"]) if match["version"] else None
            servable.check_spec(match["name"], version, match["label"])
            return suffix

        def _logged(self, method: str, handle) -> None:
            start = time.perf_counter()
            self._status, self._signature = 500, "-"
            try:
                handle()
            finally:
                path = self.path if len(self.path) <= 200 else self.path[:200] + "..."
                where = self.client_address[0] if self.client_address else "-"
                access(where, "REST", f"{method} {path}", self._signature, self._status, start)

        def _specs_of(self, signature: str):
            self._signature = signature  # for the access line, also when the body is bad
            return servable.specs(signature)

        def do_GET(self):  # noqa: N802 (stdlib name)
            self._logged("GET", self._get)

        def do_POST(self):  # noqa: N802
            self._logged("POST", self._post)

        def _get(self):
            try:
                suffix = self._route("GET")
                if suffix == "/metadata":
                    doc = {
                        "model_spec": {
                            "name": servable.name,
                            "signature_name": "",
                            "version": str(servable.version),
                        },
                        "metadata": {
                            "signature_def": json_format.MessageToDict(
                                servable.signature_def_map(), preserving_proto_field_name=True
                            )
                        },
                    }
                else:
                    doc = {
                        "model_version_status": [
                            {
                                "version": str(servable.version),
                                "state": "AVAILABLE",
                                "status": {"error_code": "OK", "error_message": ""},
                            }
                        ]
                    }
                self._send(200, json.dumps(doc, indent=1).encode())
            except ServingError as e:
                self._error(e)
            except Exception as e:  # keep serving whatever happens
                self._error(ServingError(grpc.StatusCode.INTERNAL, repr(e)))

        def _post(self):
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length > 0 else b""
                suffix = self._route("POST")
                if suffix != ":predict":
                    raise ServingError(
                        grpc.StatusCode.UNIMPLEMENTED, f"{suffix[1:]} is not served by this model"
                    )
                signature, inputs, row = parse_predict_body(self._specs_of, body)
                outputs = servable.predict(signature, inputs)
                self._send(200, predict_json(outputs, row))
            except ServingError as e:
                self._error(e)
            except Exception as e:
                self._error(ServingError(grpc.StatusCode.INTERNAL, repr(e)))

    return Handler


# -- the server -----------------------------------------------------------------------------------


class LocalServer:
    """A running local server (gRPC and/or REST) for one model; use :func:`serve_locally`.

    Attributes:
        model_name: the name requests must use.
        version: the loaded version (the highest numeric folder).
        grpc_port, rest_port: bound ports (``None`` if that front end is off).
        grpc_address: ``host:port`` for :class:`GrpcClient`.
        rest_url: ``http://host:port`` for :class:`RestClient`.
        access_log: whether access lines also go to stderr (they always go to
            :data:`ACCESS_LOGGER`).
        access_lines_dropped: access lines that stderr could not take in time (its reader
            was too slow, or absent).
    """

    def __init__(
        self,
        servable: _Servable,
        host: str,
        grpc_port: int | None,
        rest_port: int | None,
        grpc_workers: int,
        access_log: bool = False,
    ):
        from tensorflow_serving.apis import (
            model_service_pb2_grpc,
            prediction_service_pb2_grpc,
        )

        self.servable = servable
        self.model_name = servable.name
        self.version = servable.version
        self.host = host
        self.access_log = access_log
        self._stderr_lines = StderrLines() if access_log else None
        self.grpc_port = self.rest_port = None
        self._grpc = self._http = self._thread = None
        self._stopped = threading.Event()
        connect_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
        try:
            if grpc_port is not None:
                self._grpc = grpc.server(
                    futures.ThreadPoolExecutor(max_workers=grpc_workers), options=GRPC_OPTIONS
                )
                predict, model = _make_grpc_servicers(servable, self._access)
                prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
                    predict, self._grpc
                )
                model_service_pb2_grpc.add_ModelServiceServicer_to_server(model, self._grpc)
                try:
                    port = self._grpc.add_insecure_port(f"{host}:{grpc_port}")
                except RuntimeError:
                    port = 0
                if not port:
                    raise OSError(f"cannot bind the gRPC port {host}:{grpc_port}")
                self.grpc_port = port
                self._grpc.start()
            if rest_port is not None:
                handler = _make_rest_handler(servable, self._access)
                self._http = ThreadingHTTPServer((host, rest_port), handler)
                self._http.daemon_threads = True
                self.rest_port = self._http.server_address[1]
                self._thread = threading.Thread(
                    target=self._http.serve_forever, name="rest-server", daemon=True
                )
                self._thread.start()
        except BaseException:
            self.stop()
            raise
        self.grpc_address = f"{connect_host}:{self.grpc_port}" if self.grpc_port else None
        self.rest_url = f"http://{connect_host}:{self.rest_port}" if self.rest_port else None

    def _access(self, client: str, api: str, method: str, signature: str, status, start) -> None:
        """Logs one request: ``client API method signature status N.N ms``."""
        ms = (time.perf_counter() - start) * 1000
        line = f"{client} {api} {method} {signature} {status} {ms:.1f} ms"
        ACCESS_LOGGER.info(line)
        if self._stderr_lines is not None:  # queued: a full stderr pipe must not hold a request
            self._stderr_lines.put(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}")

    @property
    def access_lines_dropped(self) -> int:
        return self._stderr_lines.dropped if self._stderr_lines is not None else 0

    def stop(self, grace: float = 1.0) -> None:
        """Stops both front ends (idempotent)."""
        if self._grpc is not None:
            self._grpc.stop(grace).wait()
            self._grpc = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._stderr_lines is not None:
            self._stderr_lines.close()
        self._stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Blocks until :meth:`stop` (returns ``True``) or the timeout."""
        return self._stopped.wait(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def serve_locally(
    model_base_path: str,
    grpc_port: int | None = 0,
    rest_port: int | None = 0,
    model_name: str | None = None,
    host: str = "127.0.0.1",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    grpc_workers: int = 8,
    warm_up: bool = True,
    access_log: bool = False,
) -> LocalServer:
    """Loads the latest version under ``model_base_path`` and serves it over gRPC and REST.

    Args:
        model_base_path: the model's folder holding numeric version folders.
        grpc_port: gRPC port; 0 picks a free one, ``None`` disables gRPC.
        rest_port: REST port; 0 picks a free one, ``None`` disables REST.
        model_name: the name requests use; defaults to the folder's name.
        host: interface to bind: this machine only by default, ``"0.0.0.0"`` for all.
        max_pixels: largest batch × height × width a request may carry.
        grpc_workers: gRPC handler threads (concurrent requests).
        warm_up: replay the SavedModel's TF Serving warm-up requests first.
        access_log: also write the access lines (one per request) to stderr; they always go to
            the ``keras_pggan.serving.access`` logger at INFO.

    Returns:
        A started :class:`LocalServer` (a context manager; ``.stop()`` ends it).

    Raises:
        FileNotFoundError: no folder or no numeric version in it.
        OSError: a port cannot be bound.

    Example:
        >>> with serve_locally("saved_models/pggan_dres") as server:     # doctest: +SKIP
        ...     out = GrpcClient(server.grpc_address, server.model_name).inpaint(img, holes)
    """
    base = os.fspath(model_base_path)
    name = model_name or os.path.basename(os.path.normpath(base))
    servable = _Servable(base, name, max_pixels)
    if warm_up:
        servable.warm_up()
    return LocalServer(servable, host, grpc_port, rest_port, grpc_workers, access_log)
