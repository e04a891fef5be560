"""TF Serving clients: :class:`GrpcClient` and :class:`RestClient`, with timeouts and retries.

Both work against ``tensorflow_model_server`` (e.g. the ``tensorflow/serving`` image) and against
the local server (:mod:`keras_pggan.serving.server`) alike:

* :class:`GrpcClient`: ``PredictionService.Predict`` / ``GetModelMetadata`` with a deadline per
  call, retried with exponential backoff on ``UNAVAILABLE`` (server not up yet, restarting).
* :class:`RestClient`: ``POST /v1/models/<name>[/versions/<v>]:predict`` in row (``instances``)
  or columnar (``inputs``) format, bytes as ``{"b64": ...}``; ``GET /v1/models/<name>`` (status)
  and ``.../metadata``; retried on connection errors and HTTP 503.

TF Serving's REST API base64-encodes string outputs only when the output's name ends in
``_bytes``, as ``{"b64": "..."}``; ``serving_bytes``'s output is named ``inpainted_png_bytes`` for
that reason. :class:`RestClient` decodes ``{"b64"}`` values to bytes. (TF Serving writes other
string outputs as raw bytes, which need not be UTF-8; the client decodes bodies with
``surrogateescape`` so such bytes survive too.)

A client pointed at the other API's port (TF Serving: gRPC 8500, REST 8501) says so: when a call
fails as unavailable it probes the port once, and a port that answers HTTP/1.1 (to
:class:`GrpcClient`) or HTTP/2 (gRPC, to :class:`RestClient`) fails at once with a message naming
the client to use, instead of retrying a connection that cannot work.

Images and masks are read and encoded by :mod:`keras_pggan.data.imageio` (the project's one file
convention). This module needs numpy, grpc, Pillow and (for REST) requests; TensorFlow is imported
only when a gRPC call builds or reads tensor protos.
"""

from __future__ import annotations

import base64
import io
import json
import random
import socket
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import grpc
import numpy as np

from keras_pggan import signatures
from keras_pggan.data import imageio
from keras_pggan.signatures import BYTES_SIGNATURE, DEFAULT_SIGNATURE

DEFAULT_MODEL_NAME = "pggan_dres"
DEFAULT_TIMEOUT = 60.0
DEFAULT_RETRIES = 4
DEFAULT_BACKOFF = 0.25
# TF Serving accepts messages up to 2 GiB; gRPC's default limit (4 MiB) would stop a batch of
# 256² float images.
GRPC_OPTIONS = [
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
]
# Reconnect quickly after a refused connection so retries on UNAVAILABLE see a fresh attempt.
_CLIENT_OPTIONS = GRPC_OPTIONS + [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]
# tensorflow_serving/util/net_http status mapping (ToHTTPStatusCode).
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}
_FROM_HTTP = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ABORTED,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    499: grpc.StatusCode.CANCELLED,
    501: grpc.StatusCode.UNIMPLEMENTED,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}


class ServingError(Exception):
    """A failed request, with its gRPC status code (REST statuses are mapped back).

    Attributes:
        code: a ``grpc.StatusCode``.
        message: the server's (or the client's) message.
        retryable: ``False`` where a retry cannot help even on ``UNAVAILABLE`` (the port speaks
            the other API).
    """

    def __init__(self, code: grpc.StatusCode, message: str, retryable: bool = True):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable

    @property
    def http_status(self) -> int:
        """The HTTP status TF Serving's REST API uses for this code."""
        return HTTP_STATUS.get(self.code, 500)


# -- the shared client ---------------------------------------------------------------------------


class _Client:
    """What the two clients share: construction, retries, context management, ``inpaint``.

    Args:
        address: the server's endpoint, opened by the subclass's ``_connect``.
        model_name: the served model's name.
        timeout: seconds per call.
        retries: extra attempts after ``UNAVAILABLE`` (a request the server did not process).
        backoff: first wait in seconds; waits ``backoff · 2^k`` (±25 %) before retry ``k + 1``.

    Attributes:
        last_attempts: attempts the last call needed (1 = no retry).
    """

    def __init__(
        self,
        address: str,
        model_name: str = DEFAULT_MODEL_NAME,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
    ):
        self.model_name = model_name
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.last_attempts = 0
        self._connect(address)

    def _connect(self, address: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Releases the connection."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _with_retries(self, attempt: Callable[[], Any]) -> Any:
        """Runs ``attempt()``; again after a backoff while it raises ``UNAVAILABLE``.

        Raises:
            ServingError: what the last attempt raised.
        """
        for k in range(self.retries + 1):
            self.last_attempts = k + 1
            try:
                return attempt()
            except ServingError as e:
                if e.code != grpc.StatusCode.UNAVAILABLE or not e.retryable or k == self.retries:
                    raise
            time.sleep(self.backoff * (2**k) * (0.75 + 0.5 * random.random()))
        raise AssertionError("unreachable")

    def predict(
        self, inputs: Mapping[str, Any], signature=DEFAULT_SIGNATURE, version=None
    ) -> dict[str, np.ndarray]:
        """Runs ``signature`` on ``inputs`` (input name → array); see the subclasses."""
        raise NotImplementedError

    def _predict_png(self, image_png: bytes, mask_png: bytes, version) -> np.ndarray:
        inputs = {
            signatures.IMAGE_BYTES: np.array([image_png], object),
            signatures.MASK_BYTES: np.array([mask_png], object),
        }
        out = self.predict(inputs, BYTES_SIGNATURE, version)[signatures.OUTPUT_PNG]
        return imageio.decode_rgb(out[0], f"the server's {signatures.OUTPUT_PNG}")

    def inpaint(
        self, image, mask, signature: str = DEFAULT_SIGNATURE, version: int | None = None
    ) -> np.ndarray:
        """Inpaints one image through the server.

        Args:
            image: [H,W,3] uint8, or float in [0,1].
            mask: [H,W] bool or {0,1} (1 = hole); 8-bit masks: >= 128 is a hole.
            signature: ``serving_default`` (float tensors) or ``serving_bytes`` (PNG both ways).
            version: a model version; ``None`` for the latest.

        Returns:
            uint8 [H,W,3]; known pixels equal the input's.

        Raises:
            ValueError: a bad image or mask, or sizes that differ.
            ServingError: the server's error.
        """
        image01 = imageio.as_float01(image)
        holes = imageio.as_hole_mask(mask)
        if holes.shape != image01.shape[:2]:
            raise ValueError(f"mask shape {holes.shape} does not match image {image01.shape[:2]}")
        if signature == BYTES_SIGNATURE:
            pixels = imageio.encode_png(imageio.as_uint8_image(image))
            return self._predict_png(pixels, imageio.encode_png(holes), version)
        inputs = {
            signatures.IMAGE: image01[None],
            signatures.MASK: holes[None, ..., None].astype(np.float32),
        }
        return imageio.to_uint8(self.predict(inputs, signature, version)[signatures.OUTPUT][0])

    def inpaint_files(
        self,
        image_path: str,
        mask_path: str,
        signature: str = DEFAULT_SIGNATURE,
        version: int | None = None,
    ) -> np.ndarray:
        """Inpaints an image file with a mask file, both as displayed (EXIF orientation applied).

        ``serving_bytes`` sends the files as they are, except a file with an EXIF orientation:
        the server's decoder (``tf.io.decode_image``) ignores EXIF, so such a file is sent as a
        PNG of its upright pixels (the mask as its holes, white = hole) instead.

        Returns:
            uint8 [H,W,3].
        """
        if signature == BYTES_SIGNATURE:
            image_png = _upright_file_bytes(image_path, imageio.decode_rgb)
            mask_png = _upright_file_bytes(mask_path, imageio.decode_mask)
            return self._predict_png(image_png, mask_png, version)
        image, holes = imageio.load_rgb(image_path), imageio.load_mask_file(mask_path)
        return self.inpaint(image, holes, signature, version)


def _upright_file_bytes(path: str, decode: Callable[[bytes, str], np.ndarray]) -> bytes:
    """The file's bytes, or a PNG of ``decode(bytes, path)`` if it carries an EXIF orientation."""
    from PIL import Image

    with open(path, "rb") as f:
        data = f.read()
    with Image.open(io.BytesIO(data)) as im:
        rotated = imageio.exif_orientation(im) != 1
    return imageio.encode_png(decode(data, path)) if rotated else data


# -- which protocol a port speaks -----------------------------------------------------------------


def probe_protocol(host: str, port: int, timeout: float = 1.0) -> str | None:
    """What answers on ``host:port``: ``"http"`` (HTTP/1.x, e.g. TF Serving's REST API),
    ``"http2"`` (an HTTP/2 server such as gRPC: it opens with a SETTINGS frame) or ``None``
    (nothing listens, or no answer within ``timeout``)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode("ascii", "replace"))
            data = sock.recv(64)
    except OSError:
        return None
    if data.startswith(b"HTTP/"):
        return "http"
    if len(data) >= 9 and data[3] == 0x04:  # frame type 4: SETTINGS, a server's first frame
        return "http2"
    return None


def _grpc_host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of a gRPC target (``host:port``, ``[::1]:port``, ``dns:///host:port``)."""
    for prefix in ("dns:///", "dns:", "ipv4:", "ipv6:"):
        if address.startswith(prefix):
            address = address[len(prefix) :]
            break
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or address.startswith("unix:"):
        return None
    return host.strip("[]") or "localhost", int(port)


def _wrong_protocol(host: str, port: int, want: str, timeout: float) -> str | None:
    """A message when ``host:port`` speaks the other TF Serving API than ``want``, else None."""
    got = probe_protocol(host, port, min(timeout, 2.0))
    if want == "grpc" and got == "http":
        return (
            f"port {port} speaks HTTP/1.1 (TF Serving's REST API), not gRPC: use RestClient "
            f"(--rest on the command line) or the gRPC port (TF Serving's default: 8500)"
        )
    if want == "rest" and got == "http2":
        return (
            f"port {port} speaks HTTP/2 (gRPC, TF Serving's gRPC API), not the REST API: use "
            f"GrpcClient (no --rest on the command line) or the REST port (TF Serving's "
            f"default: 8501)"
        )
    return None


def _client_array(value) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (bytes, str)):
        return np.array([v.encode() if isinstance(v, str) else v for v in value], object)
    return np.asarray(value)


def _metadata(name: str, version, signature_defs: dict) -> dict[str, Any]:
    """``{"name", "version", "signatures"}`` of a model's ``SignatureDef`` map (JSON form)."""
    signatures_ = signatures.describe_signatures(signature_defs)
    return {"name": name, "version": int(version or 0), "signatures": signatures_}


# -- gRPC ----------------------------------------------------------------------------------------


class GrpcClient(_Client):
    """gRPC client of ``tensorflow.serving.PredictionService``.

    Args:
        address: ``host:port`` of the gRPC endpoint.
        model_name: the served model's name.
        timeout: deadline of each call in seconds.
        retries: extra attempts after ``UNAVAILABLE``; waits ``backoff · 2^k`` (±25 %) between.
        backoff: first wait in seconds.

    Attributes:
        last_attempts: attempts the last call needed (1 = no retry).

    Example:
        >>> with GrpcClient("localhost:8500", "pggan_dres") as client:   # doctest: +SKIP
        ...     out = client.inpaint(image_uint8, holes)                  # uint8 [H,W,3]
    """

    def _connect(self, address: str) -> None:
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self.address = address
        self._channel = grpc.insecure_channel(address, options=_CLIENT_OPTIONS)
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def _model_spec(self, spec, version, signature=None):
        spec.name = self.model_name
        if version is not None:
            spec.version.value = int(version)
        if signature is not None:
            spec.signature_name = signature

    def _call(self, method, request):
        def attempt():
            try:
                return method(request, timeout=self.timeout)
            except grpc.RpcError as e:
                code = e.code() if callable(getattr(e, "code", None)) else grpc.StatusCode.UNKNOWN
                details = e.details() if callable(getattr(e, "details", None)) else str(e)
                target = _grpc_host_port(self.address)
                if code == grpc.StatusCode.UNAVAILABLE and target:
                    hint = _wrong_protocol(*target, "grpc", self.timeout)
                    if hint:
                        raise ServingError(code, hint, retryable=False) from None
                raise ServingError(code, details or code.name) from None

        return self._with_retries(attempt)

    def predict(
        self,
        inputs: Mapping[str, Any],
        signature: str = DEFAULT_SIGNATURE,
        version: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Calls ``Predict``.

        Args:
            inputs: input name → array (float32 arrays, or object arrays / lists of ``bytes``).
            signature: the signature name.
            version: a model version; ``None`` for the latest.

        Returns:
            Output name → numpy array (``bytes`` objects for string outputs).

        Raises:
            ServingError: the server's status (after retries for ``UNAVAILABLE``).
        """
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        self._model_spec(request.model_spec, version, signature)
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(_client_array(value)))
        response = self._call(self._stub.Predict, request)
        return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}

    def metadata(self, version: int | None = None) -> dict[str, Any]:
        """Calls ``GetModelMetadata``.

        Returns:
            ``{"name", "version", "signatures"}``, signatures as in
            :func:`keras_pggan.export.saved_model.signature_summary`.
        """
        from tensorflow_serving.apis import get_model_metadata_pb2

        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        self._model_spec(request.model_spec, version)
        response = self._call(self._stub.GetModelMetadata, request)
        sig_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(sig_map)
        spec = response.model_spec
        sig_defs = signatures.signature_dicts(sig_map.signature_def)
        return _metadata(spec.name, spec.version.value, sig_defs)


# -- REST JSON (TF Serving's json_tensor rules; the local server uses the encoder too) ----------


def _rest_base(server: str) -> str:
    server = server.rstrip("/")
    return server if server.startswith(("http://", "https://")) else f"http://{server}"


def _decode_strings(value):
    if isinstance(value, list):
        return [_decode_strings(v) for v in value]
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, str):
        # Bodies are decoded with surrogateescape: a raw (non-UTF-8) string comes back exactly.
        return value.encode("utf-8", "surrogateescape")
    raise ValueError(f"expected a string or {{'b64': ...}}, got {type(value).__name__}")


def _first_leaf(value):
    while isinstance(value, list) and value:
        value = value[0]
    return value


def json_to_array(value) -> np.ndarray:
    """A JSON tensor value from a REST response → float32 array, or object array of bytes."""
    leaf = _first_leaf(value)
    if isinstance(leaf, (str, dict)):
        return np.array(_decode_strings(value), dtype=object)
    return np.asarray(value, dtype=np.float32)


def _json_strings(array: np.ndarray, as_b64: bool):
    def one(v):
        if as_b64:
            return {"b64": base64.b64encode(v).decode("ascii")}
        # Lossless and still ASCII JSON: undecodable bytes become \udcXX escapes, which
        # ``encode("utf-8", "surrogateescape")`` turns back into the bytes.
        return v.decode("utf-8", "surrogateescape")

    flat = [one(v if isinstance(v, bytes) else bytes(v)) for v in array.reshape(-1)]
    return np.array(flat, dtype=object).reshape(array.shape).tolist() if array.ndim else flat[0]


def array_to_json(name: str, array: np.ndarray, b64_all_strings: bool = False):
    """JSON value of a tensor: numbers as lists; strings as {"b64"} (inputs, *_bytes outputs)."""
    array = np.asarray(array)
    if array.dtype == object or array.dtype.kind in ("S", "U"):
        if array.dtype.kind == "U":
            array = np.vectorize(lambda s: s.encode(), otypes=[object])(array)
        return _json_strings(array, b64_all_strings or name.endswith("_bytes"))
    return array.tolist()


# -- REST ----------------------------------------------------------------------------------------


class RestClient(_Client):
    """Client of TF Serving's REST API (``/v1/models/...``).

    Args:
        server: ``host:port`` or ``http://host:port`` of the REST endpoint.
        model_name: the served model's name.
        timeout: seconds per HTTP request (connect and read).
        retries: extra attempts after a connection error or HTTP 503, with backoff.
        backoff: first wait in seconds (doubles per retry, ±25 %).
        request_format: ``"row"`` (``instances``) or ``"columnar"`` (``inputs``); keyword only.

    Attributes:
        last_attempts: attempts the last call needed (1 = no retry).

    Example:
        >>> client = RestClient("localhost:8501", "pggan_dres")          # doctest: +SKIP
        >>> client.status()["model_version_status"][0]["state"]          # doctest: +SKIP
        'AVAILABLE'
    """

    def __init__(self, server: str, *args, request_format: str = "row", **kwargs):
        if request_format not in ("row", "columnar"):
            raise ValueError(f"request_format must be 'row' or 'columnar', got {request_format!r}")
        self.request_format = request_format
        super().__init__(server, *args, **kwargs)

    def _connect(self, address: str) -> None:
        import requests

        self.base = _rest_base(address)
        self._session = requests.Session()
        self._outputs: dict[str, list[str]] = {}

    def close(self) -> None:
        """Closes the HTTP session."""
        self._session.close()

    def _url(self, version: int | None, suffix: str = "") -> str:
        url = f"{self.base}/v1/models/{self.model_name}"
        if version is not None:
            url += f"/versions/{int(version)}"
        return url + suffix

    def _request(self, method: str, url: str, body: bytes | None = None) -> Any:
        import requests

        headers = {"Content-Type": "application/json"} if body is not None else {}

        def attempt():
            try:
                response = self._session.request(
                    method, url, data=body, headers=headers, timeout=self.timeout
                )
            except requests.ConnectionError as e:
                parts = urllib.parse.urlsplit(url)
                if parts.scheme == "http" and parts.hostname:
                    hint = _wrong_protocol(parts.hostname, parts.port or 80, "rest", self.timeout)
                    if hint:
                        code = grpc.StatusCode.UNAVAILABLE
                        raise ServingError(code, hint, retryable=False) from None
                raise ServingError(grpc.StatusCode.UNAVAILABLE, f"{url}: {e}") from None
            except requests.Timeout:
                raise ServingError(
                    grpc.StatusCode.DEADLINE_EXCEEDED, f"{url}: no answer in {self.timeout} s"
                ) from None
            # surrogateescape: TF Serving's raw (non-``_bytes``) string outputs survive exactly.
            text = response.content.decode("utf-8", "surrogateescape")
            try:
                doc = json.loads(text) if text.strip() else {}
            except ValueError:
                doc = {"error": text[:500]}
            if response.status_code != 200:
                code = _FROM_HTTP.get(response.status_code, grpc.StatusCode.UNKNOWN)
                message = doc.get("error", text[:500]) if isinstance(doc, dict) else text[:500]
                raise ServingError(code, message)
            return doc

        return self._with_retries(attempt)

    def status(self, version: int | None = None) -> dict[str, Any]:
        """``GET /v1/models/<name>[/versions/<v>]``: the ``GetModelStatusResponse`` JSON."""
        return self._request("GET", self._url(version))

    def metadata(self, version: int | None = None) -> dict[str, Any]:
        """``GET .../metadata``: ``{"name", "version", "signatures"}`` like the gRPC client's."""
        doc = self._request("GET", self._url(version, "/metadata"))  # JSON only: no TensorFlow
        sig_defs = doc["metadata"]["signature_def"].get("signature_def", {})
        spec = doc["model_spec"]
        return _metadata(spec["name"], spec.get("version"), sig_defs)

    def _output_names(self, signature: str, version: int | None) -> list[str]:
        if signature in signatures.OUTPUTS:
            return list(signatures.OUTPUTS[signature])
        if signature not in self._outputs:
            served = self.metadata(version)["signatures"]
            if signature in served:
                self._outputs[signature] = sorted(served[signature]["outputs"])
        return self._outputs.get(signature, ["output"])

    def predict(
        self,
        inputs: Mapping[str, Any],
        signature: str = DEFAULT_SIGNATURE,
        version: int | None = None,
        request_format: str | None = None,
    ) -> dict[str, np.ndarray]:
        """``POST .../:predict``.

        Args:
            inputs: input name → array (float arrays, or object arrays / lists of ``bytes``);
                all with the same batch (first) dimension.
            signature: the signature name.
            version: a model version; ``None`` for the latest.
            request_format: overrides the client's ``"row"`` / ``"columnar"``.

        Returns:
            Output name → numpy array (float32, or object arrays of ``bytes``).

        Raises:
            ServingError: the server's error (HTTP status mapped to a gRPC code).
        """
        fmt = request_format or self.request_format
        arrays = {name: _client_array(value) for name, value in inputs.items()}
        columns = {name: array_to_json(name, a, b64_all_strings=True) for name, a in arrays.items()}
        doc: dict[str, Any] = {"signature_name": signature}
        if fmt == "row":
            sizes = {len(a) for a in arrays.values()}
            if len(sizes) != 1:
                raise ValueError(f"row format needs one batch size, got {sorted(sizes)}")
            doc["instances"] = [
                {name: columns[name][i] for name in columns} for i in range(sizes.pop())
            ]
        else:
            doc["inputs"] = columns
        body = json.dumps(doc).encode("ascii")
        result = self._request("POST", self._url(version, ":predict"), body)
        names = self._output_names(signature, version)
        if "predictions" in result:
            rows = result["predictions"]
            if rows and isinstance(rows[0], dict) and set(rows[0]) - {"b64"}:
                return {k: json_to_array([row[k] for row in rows]) for k in rows[0]}
            return {names[0]: json_to_array(rows)}
        outputs = result.get("outputs")
        if isinstance(outputs, dict) and set(outputs) - {"b64"}:
            return {k: json_to_array(v) for k, v in outputs.items()}
        return {names[0]: json_to_array(outputs)}
