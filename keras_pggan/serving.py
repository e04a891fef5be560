"""TF Serving clients (gRPC and REST) and a local server that speaks the same two protocols.

Example:
    python -m keras_pggan.serving serve --model-base-path saved_models/pggan_dres \\
        --grpc-port 8500 --rest-port 8501
    python -m keras_pggan.serving predict --server localhost:8500 photo.png mask.png -o out.png
    python -m keras_pggan.serving predict --server localhost:8501 --rest \\
        --signature serving_bytes photo.jpg mask.png -o out.png

The clients work against ``tensorflow_model_server`` (e.g. the ``tensorflow/serving`` image) and
against the local server alike:

* :class:`GrpcClient`: ``PredictionService.Predict`` / ``GetModelMetadata`` with a deadline per
  call, retried with exponential backoff on ``UNAVAILABLE`` (server not up yet, restarting).
* :class:`RestClient`: ``POST /v1/models/<name>[/versions/<v>]:predict`` in row (``instances``)
  or columnar (``inputs``) format, bytes as ``{"b64": ...}``; ``GET /v1/models/<name>`` (status)
  and ``.../metadata``; retried on connection errors and HTTP 503.

The local server (:func:`serve_locally`, ``serve`` command) loads the highest numeric version
under ``--model-base-path`` with ``tf.saved_model.load`` and serves ``PredictionService``
(``Predict``, ``GetModelMetadata``) and ``ModelService.GetModelStatus`` over gRPC plus the REST
predict / status / metadata routes, with TF Serving's status codes and JSON error bodies
(``{"error": "..."}``). Bad requests are checked in Python before the model runs (dtype, rank,
channels, image/mask size mismatch, oversize, NaN/Inf, missing or unknown inputs, undecodable
bytes) and get ``INVALID_ARGUMENT`` (REST 400) naming the input; an unknown model or version gets
``NOT_FOUND`` (404) and an unknown signature ``FAILED_PRECONDITION`` (400), as TF Serving answers.
Errors raised inside the graph (its asserts) map to their TF status code. The server keeps serving
after every error.

TF Serving's REST API base64-encodes string outputs only when the output's name ends in
``_bytes``, as ``{"b64": "..."}``; ``serving_bytes``'s output is named ``inpainted_png_bytes`` for
that reason, and the local server encodes ``*_bytes`` outputs the same way, so its REST bodies are
valid UTF-8 JSON. :class:`RestClient` decodes ``{"b64"}`` values to bytes. (TF Serving writes other
string outputs as raw bytes, which need not be UTF-8; the client decodes bodies with
``surrogateescape`` so such bytes survive too.)
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import re
import signal
import sys
import threading
import time
import warnings
from collections.abc import Mapping
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import numpy as np

DEFAULT_MODEL_NAME = "pggan_dres"
DEFAULT_SIGNATURE = "serving_default"
BYTES_SIGNATURE = "serving_bytes"
DEFAULT_MAX_PIXELS = 1 << 24  # pixels per request (batch × height × width): one 4096² image
DEFAULT_TIMEOUT = 60.0
DEFAULT_RETRIES = 4
DEFAULT_BACKOFF = 0.25
# Output names of this project's signatures; other signatures are looked up in the metadata.
OUTPUT = "inpainted"
OUTPUT_PNG = "inpainted_png_bytes"
_KNOWN_OUTPUTS = {DEFAULT_SIGNATURE: [OUTPUT], BYTES_SIGNATURE: [OUTPUT_PNG]}
_IMAGE_FORMATS = ("PNG", "JPEG", "MPO", "BMP", "GIF")
# TF Serving accepts messages up to 2 GiB; gRPC's default limit (4 MiB) would stop a batch of
# 256² float images.
_GRPC_OPTIONS = [
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
]
# Reconnect quickly after a refused connection so retries on UNAVAILABLE see a fresh attempt.
_CLIENT_OPTIONS = _GRPC_OPTIONS + [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]
# tensorflow_serving/util/net_http status mapping (ToHTTPStatusCode).
_HTTP_STATUS = {
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
_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


class ServingError(Exception):
    """A failed request, with its gRPC status code (REST statuses are mapped back).

    Attributes:
        code: a ``grpc.StatusCode``.
        message: the server's (or the client's) message.
    """

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        """The HTTP status TF Serving's REST API uses for this code."""
        return _HTTP_STATUS.get(self.code, 500)


def _invalid(message: str) -> ServingError:
    return ServingError(grpc.StatusCode.INVALID_ARGUMENT, message)


# -- images and masks on the client side ---------------------------------------------------------


_EXIF_ORIENTATION = 0x0112


def _upright(im):
    """``im`` as displayed: its EXIF orientation applied (a no-op without one)."""
    from PIL import ImageOps

    return ImageOps.exif_transpose(im) if _orientation(im) != 1 else im


def _orientation(im) -> int:
    try:
        return int(im.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # noqa: BLE001 - a broken EXIF block: show the pixels as stored
        return 1


def read_image(path: str) -> np.ndarray:
    """Reads an image file as uint8 [H,W,3] as displayed (EXIF orientation applied, alpha
    dropped, grey expanded), like the local ``keras_pggan.inpaint``."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(_upright(im).convert("RGB"), np.uint8)


def mask_from_array(array: np.ndarray) -> np.ndarray:
    """Holes of a decoded mask image, bool [H,W], with the project's file convention.

    White (luminance >= 128) is a hole; if the image has an alpha channel with transparent
    pixels (alpha < 128), the transparent pixels are the holes instead. Luminance is PIL's
    integer luma, as in the SavedModel's ``serving_bytes`` decoder.
    """
    a = np.asarray(array)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"mask image must be [H,W] or [H,W,1|2|3|4], got shape {a.shape}")
    a = a.astype(np.int64)
    if a.shape[-1] in (2, 4) and (a[..., -1] < 128).any():
        return a[..., -1] < 128
    if a.shape[-1] >= 3:
        luma = (a[..., 0] * 19595 + a[..., 1] * 38470 + a[..., 2] * 7471 + 32768) >> 16
    else:
        luma = a[..., 0]
    return luma >= 128


def read_mask(path: str) -> np.ndarray:
    """Reads a mask file as bool [H,W] (True = hole); see :func:`mask_from_array`."""
    from PIL import Image

    with Image.open(path) as im:
        im = _upright(im)
        if im.mode not in ("L", "LA", "RGB", "RGBA"):
            im = im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB")
        return mask_from_array(np.asarray(im))


def encode_png(array: np.ndarray) -> bytes:
    """PNG bytes of a uint8 [H,W], [H,W,1], [H,W,3] or [H,W,4] array."""
    from PIL import Image

    a = np.asarray(array)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    buf = io.BytesIO()
    Image.fromarray(a.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def decode_image_bytes(data: bytes) -> np.ndarray:
    """Decodes PNG/JPEG bytes to uint8 [H,W,3]."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"), np.uint8)


def _as_float01(image) -> np.ndarray:
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[-1] not in (3, 4):
        raise ValueError(f"image must be [H,W,3], got shape {a.shape}")
    a = a[..., :3]
    return a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)


def _as_holes(mask) -> np.ndarray:
    from keras_pggan.masks import as_hole_mask

    return as_hole_mask(mask)


def _to_uint8(image01: np.ndarray) -> np.ndarray:
    return np.round(np.clip(image01, 0.0, 1.0) * 255.0).astype(np.uint8)


# -- clients --------------------------------------------------------------------------------------


class _Client:
    """Shared helpers of the two clients: inputs for the two signatures, output unpacking."""

    model_name: str

    def predict(self, inputs, signature=DEFAULT_SIGNATURE, version=None) -> dict[str, np.ndarray]:
        raise NotImplementedError

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
        """
        image01 = _as_float01(image)
        holes = _as_holes(mask)
        if holes.shape != image01.shape[:2]:
            raise ValueError(f"mask shape {holes.shape} does not match image {image01.shape[:2]}")
        if signature == BYTES_SIGNATURE:
            pixels = image if np.asarray(image).dtype == np.uint8 else _to_uint8(image01)
            inputs = {
                "image_bytes": np.array([encode_png(np.asarray(pixels)[..., :3])], object),
                "mask_bytes": np.array([encode_png(holes.astype(np.uint8) * 255)], object),
            }
            out = self.predict(inputs, signature, version)[OUTPUT_PNG]
            return decode_image_bytes(out[0])
        inputs = {"image": image01[None], "mask": holes[None, ..., None].astype(np.float32)}
        return _to_uint8(self.predict(inputs, signature, version)[OUTPUT][0])

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
        PNG of its upright pixels instead.

        Returns:
            uint8 [H,W,3].
        """
        if signature == BYTES_SIGNATURE:
            image_bytes = _file_bytes_upright(image_path)
            mask_bytes = _file_bytes_upright(mask_path)
            inputs = {
                "image_bytes": np.array([image_bytes], object),
                "mask_bytes": np.array([mask_bytes], object),
            }
            return decode_image_bytes(self.predict(inputs, signature, version)[OUTPUT_PNG][0])
        return self.inpaint(read_image(image_path), read_mask(mask_path), signature, version)


def _file_bytes_upright(path: str) -> bytes:
    """The file's bytes, or a PNG of its upright pixels if it carries an EXIF orientation."""
    from PIL import Image

    with Image.open(path) as im:
        if _orientation(im) != 1:
            im = _upright(im)
            if im.mode not in ("L", "LA", "RGB", "RGBA"):
                has_alpha = "A" in im.getbands() or "transparency" in im.info
                im = im.convert("RGBA" if has_alpha else "RGB")
            buf = io.BytesIO()
            im.save(buf, format="PNG")
            return buf.getvalue()
    with open(path, "rb") as f:
        return f.read()


def _sleep_backoff(backoff: float, attempt: int) -> None:
    time.sleep(backoff * (2**attempt) * (0.75 + 0.5 * random.random()))


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

    def __init__(
        self,
        address: str,
        model_name: str = DEFAULT_MODEL_NAME,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
    ):
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self.address = address
        self.model_name = model_name
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.last_attempts = 0
        self._channel = grpc.insecure_channel(address, options=_CLIENT_OPTIONS)
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _model_spec(self, spec, version, signature=None):
        spec.name = self.model_name
        if version is not None:
            spec.version.value = int(version)
        if signature is not None:
            spec.signature_name = signature

    def _call(self, method, request):
        for attempt in range(self.retries + 1):
            self.last_attempts = attempt + 1
            try:
                return method(request, timeout=self.timeout)
            except grpc.RpcError as e:
                code = e.code() if callable(getattr(e, "code", None)) else grpc.StatusCode.UNKNOWN
                if code == grpc.StatusCode.UNAVAILABLE and attempt < self.retries:
                    _sleep_backoff(self.backoff, attempt)
                    continue
                details = e.details() if callable(getattr(e, "details", None)) else str(e)
                raise ServingError(code, details or code.name) from None
        raise AssertionError("unreachable")

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
            :func:`keras_pggan.export.signature_summary`.
        """
        from tensorflow_serving.apis import get_model_metadata_pb2

        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        self._model_spec(request.model_spec, version)
        response = self._call(self._stub.GetModelMetadata, request)
        sig_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(sig_map)
        return {
            "name": response.model_spec.name,
            "version": int(response.model_spec.version.value),
            "signatures": _summarize_signature_defs(sig_map.signature_def),
        }


def _client_array(value) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (bytes, str)):
        return np.array([v.encode() if isinstance(v, str) else v for v in value], object)
    return np.asarray(value)


def _summarize_signature_defs(defs) -> dict[str, dict]:
    import tensorflow as tf

    def describe(infos):
        return {
            name: [
                tf.dtypes.as_dtype(info.dtype).name,
                [int(d.size) for d in info.tensor_shape.dim],
            ]
            for name, info in sorted(infos.items())
        }

    return {
        key: {"inputs": describe(sig.inputs), "outputs": describe(sig.outputs)}
        for key, sig in sorted(defs.items())
        if not key.startswith("__")
    }


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


def _json_to_array(value) -> np.ndarray:
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


def _array_to_json(name: str, array: np.ndarray, b64_all_strings: bool = False):
    """JSON value of a tensor: numbers as lists; strings as {"b64"} (inputs, *_bytes outputs)."""
    array = np.asarray(array)
    if array.dtype == object or array.dtype.kind in ("S", "U"):
        if array.dtype.kind == "U":
            array = np.vectorize(lambda s: s.encode(), otypes=[object])(array)
        return _json_strings(array, b64_all_strings or name.endswith("_bytes"))
    return array.tolist()


class RestClient(_Client):
    """Client of TF Serving's REST API (``/v1/models/...``).

    Args:
        server: ``host:port`` or ``http://host:port`` of the REST endpoint.
        model_name: the served model's name.
        timeout: seconds per HTTP request (connect and read).
        retries: extra attempts after a connection error or HTTP 503, with backoff.
        backoff: first wait in seconds (doubles per retry, ±25 %).
        request_format: ``"row"`` (``instances``) or ``"columnar"`` (``inputs``).

    Attributes:
        last_attempts: attempts the last call needed (1 = no retry).

    Example:
        >>> client = RestClient("localhost:8501", "pggan_dres")          # doctest: +SKIP
        >>> client.status()["model_version_status"][0]["state"]          # doctest: +SKIP
        'AVAILABLE'
    """

    def __init__(
        self,
        server: str,
        model_name: str = DEFAULT_MODEL_NAME,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        request_format: str = "row",
    ):
        import requests

        if request_format not in ("row", "columnar"):
            raise ValueError(f"request_format must be 'row' or 'columnar', got {request_format!r}")
        self.base = _rest_base(server)
        self.model_name = model_name
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.request_format = request_format
        self.last_attempts = 0
        self._session = requests.Session()
        self._outputs: dict[str, list[str]] = {}

    def close(self) -> None:
        self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _url(self, version: int | None, suffix: str = "") -> str:
        url = f"{self.base}/v1/models/{self.model_name}"
        if version is not None:
            url += f"/versions/{int(version)}"
        return url + suffix

    def _request(self, method: str, url: str, body: bytes | None = None) -> Any:
        import requests

        headers = {"Content-Type": "application/json"} if body is not None else {}
        for attempt in range(self.retries + 1):
            self.last_attempts = attempt + 1
            try:
                response = self._session.request(
                    method, url, data=body, headers=headers, timeout=self.timeout
                )
            except requests.ConnectionError as e:
                if attempt < self.retries:
                    _sleep_backoff(self.backoff, attempt)
                    continue
                raise ServingError(grpc.StatusCode.UNAVAILABLE, f"{url}: {e}") from None
            except requests.Timeout:
                raise ServingError(
                    grpc.StatusCode.DEADLINE_EXCEEDED, f"{url}: no answer in {self.timeout} s"
                ) from None
            if response.status_code == 503 and attempt < self.retries:
                _sleep_backoff(self.backoff, attempt)
                continue
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
        raise AssertionError("unreachable")

    def status(self, version: int | None = None) -> dict[str, Any]:
        """``GET /v1/models/<name>[/versions/<v>]``: the ``GetModelStatusResponse`` JSON."""
        return self._request("GET", self._url(version))

    def metadata(self, version: int | None = None) -> dict[str, Any]:
        """``GET .../metadata``: ``{"name", "version", "signatures"}`` like the gRPC client's."""
        from google.protobuf import json_format
        from tensorflow_serving.apis import get_model_metadata_pb2

        doc = self._request("GET", self._url(version, "/metadata"))
        sig_map = json_format.ParseDict(
            doc["metadata"]["signature_def"],
            get_model_metadata_pb2.SignatureDefMap(),
            ignore_unknown_fields=True,
        )
        return {
            "name": doc["model_spec"]["name"],
            "version": int(doc["model_spec"].get("version") or 0),
            "signatures": _summarize_signature_defs(sig_map.signature_def),
        }

    def _output_names(self, signature: str, version: int | None) -> list[str]:
        if signature in _KNOWN_OUTPUTS:
            return _KNOWN_OUTPUTS[signature]
        if signature not in self._outputs:
            signatures = self.metadata(version)["signatures"]
            if signature in signatures:
                self._outputs[signature] = sorted(signatures[signature]["outputs"])
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
        doc: dict[str, Any] = {"signature_name": signature}
        if fmt == "row":
            sizes = {len(a) for a in arrays.values()}
            if len(sizes) != 1:
                raise ValueError(f"row format needs one batch size, got {sorted(sizes)}")
            columns = {
                name: _array_to_json(name, a, b64_all_strings=True) for name, a in arrays.items()
            }
            doc["instances"] = [
                {name: columns[name][i] for name in columns} for i in range(sizes.pop())
            ]
        else:
            doc["inputs"] = {
                name: _array_to_json(name, a, b64_all_strings=True) for name, a in arrays.items()
            }
        body = json.dumps(doc).encode("ascii")
        result = self._request("POST", self._url(version, ":predict"), body)
        names = self._output_names(signature, version)
        if "predictions" in result:
            rows = result["predictions"]
            if rows and isinstance(rows[0], dict) and set(rows[0]) - {"b64"}:
                return {k: _json_to_array([row[k] for row in rows]) for k in rows[0]}
            return {names[0]: _json_to_array(rows)}
        outputs = result.get("outputs")
        if isinstance(outputs, dict) and set(outputs) - {"b64"}:
            return {k: _json_to_array(v) for k, v in outputs.items()}
        return {names[0]: _json_to_array(outputs)}


# -- the local server: one loaded model --------------------------------------------------------


def _key_problems(missing, unknown, signature: str, specs) -> str:
    parts = []
    if missing:
        parts.append(f"missing input(s) {', '.join(repr(n) for n in missing)}")
    if unknown:
        parts.append(f"unknown input(s) {', '.join(repr(n) for n in unknown)}")
    return f"{'; '.join(parts)} for signature {signature!r} (expects {', '.join(sorted(specs))})"


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

        from keras_pggan.export import latest_version

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
                raise _invalid(f"input '{name}'[{i}]: expected bytes, got {type(data).__name__}")
            where = f"input '{name}'[{i}]"
            if not data:
                raise _invalid(f"{where}: empty (0 bytes), not an image")
            fmt = None
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    with Image.open(io.BytesIO(data)) as im:
                        fmt, (w, h) = im.format, im.size
                        if fmt in _IMAGE_FORMATS and 0 < w * h <= self.max_pixels:
                            im.load()  # truncated or corrupt data fails here
            except Image.DecompressionBombError as e:
                raise _invalid(f"{where}: decompression bomb guard: {e}") from None
            except UnidentifiedImageError:
                raise _invalid(
                    f"{where}: cannot decode {len(data)} bytes: not an image (PNG, JPEG, BMP, GIF)"
                ) from None
            except Exception as e:
                what = f"a {fmt} image" if fmt else "an image"
                raise _invalid(f"{where}: cannot decode {len(data)} bytes as {what}: {e}") from None
            if fmt not in _IMAGE_FORMATS:
                raise _invalid(f"{where}: {fmt} images are not supported")
            if h <= 0 or w <= 0:
                raise _invalid(f"{where}: empty image")
            if h * w > self.max_pixels:
                raise _invalid(
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
            raise _invalid(_key_problems(missing, unknown, signature, specs))
        batch = None
        pixels = 0
        image_sizes: dict[str, list] = {}
        for name in sorted(specs):
            spec, array = specs[name], inputs[name]
            want = spec.dtype.as_numpy_dtype if spec.dtype.name != "string" else object
            got = "string" if array.dtype == object or array.dtype.kind == "S" else array.dtype.name
            if spec.dtype.name == "string":
                if got != "string":
                    raise _invalid(f"input '{name}': expected string (bytes), got {got}")
            elif array.dtype != want:
                raise _invalid(f"input '{name}': expected {spec.dtype.name}, got {got}")
            shape = spec.shape.as_list()
            if array.ndim != len(shape):
                raise _invalid(
                    f"input '{name}': expected rank {len(shape)} (shape "
                    f"{[d if d is not None else -1 for d in shape]}), got shape {list(array.shape)}"
                )
            for axis, (want_dim, got_dim) in enumerate(zip(shape, array.shape)):
                if want_dim is not None and want_dim != got_dim:
                    what = "channels" if axis == len(shape) - 1 else f"dimension {axis}"
                    raise _invalid(f"input '{name}': expected {want_dim} {what}, got {got_dim}")
            if array.size == 0:
                raise _invalid(f"input '{name}' is empty (shape {list(array.shape)})")
            if batch is None:
                batch = (name, array.shape[: min(3, array.ndim)])
            elif array.shape[: len(batch[1])] != batch[1][: array.ndim]:
                raise _invalid(
                    f"input '{name}': shape {list(array.shape)} does not match input "
                    f"'{batch[0]}' {list(batch[1])} in batch, height and width"
                )
            if array.dtype.kind == "f":
                if not np.isfinite(array).all():
                    raise _invalid(f"input '{name}' has NaN or Inf values")
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
                        raise _invalid(
                            f"input '{other}'[{i}]: {b[1]}x{b[0]} (WxH) does not match input "
                            f"'{first}'[{i}] {a[1]}x{a[0]}"
                        )
        if pixels > self.max_pixels:
            raise _invalid(
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
                raise _invalid(f"output tensor alias not found in signature: {name}")
        try:
            result = fn(**{name: tf.constant(value) for name, value in inputs.items()})
        except tf.errors.OpError as e:
            code = _BY_NUMBER.get(e.error_code, grpc.StatusCode.UNKNOWN)
            raise ServingError(code, _clean_tf_message(e.message)) from None
        except (TypeError, ValueError) as e:
            raise _invalid(str(e)[:2000]) from None
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


def _proto_to_array(name: str, proto) -> np.ndarray:
    import tensorflow as tf

    try:
        return tf.make_ndarray(proto)
    except Exception as e:
        raise _invalid(f"input '{name}': malformed TensorProto ({e})") from None


def _make_grpc_servicers(servable: _Servable):
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

    class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):  # noqa: N802 (gRPC method name)
            signature = request.model_spec.signature_name or DEFAULT_SIGNATURE
            try:
                servable.check_spec(*spec_of(request.model_spec))
                servable.specs(signature)
                inputs = {k: _proto_to_array(k, v) for k, v in request.inputs.items()}
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
            context.abort(error.code, error.message)

        def GetModelMetadata(self, request, context):  # noqa: N802
            try:
                servable.check_spec(*spec_of(request.model_spec))
                fields = list(request.metadata_field)
                if not fields:
                    raise _invalid(
                        "GetModelMetadataRequest must specify at least one metadata_field"
                    )
                for field in fields:
                    if field != "signature_def":
                        raise _invalid(f"Metadata field {field} is not supported")
            except ServingError as e:
                context.abort(e.code, e.message)
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            response.model_spec.name = servable.name
            response.model_spec.version.value = servable.version
            response.metadata["signature_def"].Pack(servable.signature_def_map())
            return response

    class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
        def GetModelStatus(self, request, context):  # noqa: N802
            try:
                servable.check_spec(*spec_of(request.model_spec))
            except ServingError as e:
                context.abort(e.code, e.message)
            response = get_model_status_pb2.GetModelStatusResponse()
            status = response.model_version_status.add()
            status.version = servable.version
            status.state = get_model_status_pb2.ModelVersionStatus.AVAILABLE
            return response

    return PredictionServicer(), ModelServicer()


# -- REST front end -------------------------------------------------------------------------------

_ROUTE = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>[0-9]+)|/labels/(?P<label>[^/:]+))?"
    r"(?P<suffix>/metadata|:predict|:classify|:regress)?/?$"
)


def _json_values_to_array(name: str, value, dtype: str) -> np.ndarray:
    """A JSON value → numpy array of the signature's dtype (TF Serving's type rules)."""
    if dtype == "string":
        try:
            decoded = _decode_json_strings(value)
        except ValueError as e:
            raise _invalid(f"input '{name}': {e}") from None
        shape = _json_shape(value)
        out = np.empty(shape, dtype=object)
        if shape:
            flat = list(_flatten(decoded, len(shape)))
            if len(flat) != out.size:
                raise _invalid(f"input '{name}': ragged nested lists")
            out.reshape(-1)[:] = flat
        else:
            out[()] = decoded
        return out
    try:
        array = np.asarray(value)
    except ValueError:
        raise _invalid(
            f"input '{name}': ragged nested lists (every row needs one length)"
        ) from None
    if array.dtype.kind not in "iuf" or array.dtype == np.bool_:
        raise _invalid(
            f"input '{name}': JSON values are not numbers (expected {dtype}, got "
            f"{'strings/objects' if array.dtype.kind in 'OUS' else array.dtype.name})"
        )
    with np.errstate(over="ignore"):
        return array.astype(dtype)


def _decode_json_strings(value):
    if isinstance(value, list):
        return [_decode_json_strings(v) for v in value]
    if isinstance(value, dict):
        if set(value) != {"b64"} or not isinstance(value["b64"], str):
            raise ValueError(f"JSON object {str(value)[:80]} not formatted correctly for base64")
        try:
            return base64.b64decode(value["b64"], validate=True)
        except ValueError:
            raise ValueError("Unable to base64 decode") from None
    if isinstance(value, str):
        return value.encode("utf-8")
    raise ValueError(f"JSON value {str(value)[:80]} is not of expected type: string")


def _json_shape(value) -> tuple[int, ...]:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return tuple(shape)


def _flatten(value, depth: int):
    if depth == 0:
        if isinstance(value, list):
            raise _invalid("ragged nested lists")
        yield value
        return
    if not isinstance(value, list):
        raise _invalid("ragged nested lists")
    for v in value:
        yield from _flatten(v, depth - 1)


def _is_b64(value) -> bool:
    return isinstance(value, dict) and set(value) == {"b64"}


def _parse_predict_body(servable: _Servable, body: bytes):
    """TF Serving's ``FillPredictRequestFromJson``: returns (signature, inputs, row format?)."""
    try:
        doc = json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, ValueError) as e:
        raise _invalid(f"JSON Parse error: {e}") from None
    if not isinstance(doc, dict):
        raise _invalid("JSON Parse error: the request body must be a JSON object")
    signature = doc.get("signature_name", DEFAULT_SIGNATURE)
    if not isinstance(signature, str):
        raise _invalid("'signature_name' key must be a string value.")
    specs = servable.specs(signature)
    dtypes = {name: spec.dtype.name for name, spec in specs.items()}
    if "instances" in doc and "inputs" in doc:
        raise _invalid("expecting only one of 'inputs' or 'instances' keys to exist")
    if "instances" in doc:
        instances = doc["instances"]
        if not isinstance(instances, list) or not instances:
            raise _invalid("'instances' must be a non-empty list")
        objects = isinstance(instances[0], dict) and not _is_b64(instances[0])
        if not objects and len(specs) > 1:
            raise _invalid(
                "instances is a plain list, but expecting list of objects as multiple input "
                f"tensors required as per tensorinfo_map ({', '.join(sorted(specs))})"
            )
        columns: dict[str, list] = {name: [] for name in specs}
        for i, item in enumerate(instances):
            if objects != (isinstance(item, dict) and not _is_b64(item)):
                raise _invalid(f"instance {i}: expecting {'object' if objects else 'value/list'}")
            item = item if objects else {next(iter(specs)): item}
            missing = sorted(set(specs) - set(item))
            unknown = sorted(set(item) - set(specs))
            if missing or unknown:
                raise _invalid(f"instance {i}: {_key_problems(missing, unknown, signature, specs)}")
            for name in specs:
                columns[name].append(item[name])
        inputs = {}
        for name, values in columns.items():
            shapes = {_json_shape(v) for v in values}
            if len(shapes) > 1:
                raise _invalid(
                    f"input '{name}': instances have different shapes {sorted(shapes)} "
                    "(use the columnar 'inputs' format or one request per size)"
                )
            inputs[name] = _json_values_to_array(name, values, dtypes[name])
        return signature, inputs, True
    if "inputs" in doc:
        value = doc["inputs"]
        if not isinstance(value, dict) or _is_b64(value):
            if len(specs) > 1:
                raise _invalid(
                    "inputs is a plain value/list, but expecting an object as multiple input "
                    f"tensors required as per tensorinfo_map ({', '.join(sorted(specs))})"
                )
            value = {next(iter(specs)): value}
        missing = sorted(set(specs) - set(value))
        unknown = sorted(set(value) - set(specs))
        if missing or unknown:
            raise _invalid(f"'inputs': {_key_problems(missing, unknown, signature, specs)}")
        inputs = {name: _json_values_to_array(name, value[name], dtypes[name]) for name in specs}
        return signature, inputs, False
    raise _invalid("Missing 'inputs' or 'instances' key")


def _predict_json(outputs: dict[str, np.ndarray], row: bool) -> bytes:
    """TF Serving's response JSON (``*_bytes`` string outputs as ``{"b64": ...}``), ASCII."""
    converted = {name: _array_to_json(name, value) for name, value in outputs.items()}
    if row:
        batch = {len(v) for v in converted.values() if isinstance(v, list)}
        if len(batch) != 1:
            raise ServingError(
                grpc.StatusCode.INVALID_ARGUMENT, "outputs have inconsistent batch sizes"
            )
        n = batch.pop()
        if len(converted) == 1:
            doc = {"predictions": next(iter(converted.values()))}
        else:
            doc = {"predictions": [{k: v[i] for k, v in converted.items()} for i in range(n)]}
    else:
        doc = {"outputs": next(iter(converted.values())) if len(converted) == 1 else converted}
    return json.dumps(doc).encode("utf-8")


def _make_rest_handler(servable: _Servable):
    from google.protobuf import json_format

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "keras_pggan-serving"

        def log_message(self, format, *args):  # noqa: A002 (stdlib signature)
            pass

        def _send(self, status: int, body: bytes) -> None:
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

        def do_GET(self):  # noqa: N802 (stdlib name)
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

        def do_POST(self):  # noqa: N802
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length > 0 else b""
                suffix = self._route("POST")
                if suffix != ":predict":
                    raise ServingError(
                        grpc.StatusCode.UNIMPLEMENTED, f"{suffix[1:]} is not served by this model"
                    )
                signature, inputs, row = _parse_predict_body(servable, body)
                outputs = servable.predict(signature, inputs)
                self._send(200, _predict_json(outputs, row))
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
    """

    def __init__(
        self,
        servable: _Servable,
        host: str,
        grpc_port: int | None,
        rest_port: int | None,
        grpc_workers: int,
    ):
        from tensorflow_serving.apis import (
            model_service_pb2_grpc,
            prediction_service_pb2_grpc,
        )

        self.servable = servable
        self.model_name = servable.name
        self.version = servable.version
        self.host = host
        self.grpc_port = self.rest_port = None
        self._grpc = self._http = self._thread = None
        self._stopped = threading.Event()
        connect_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
        try:
            if grpc_port is not None:
                self._grpc = grpc.server(
                    futures.ThreadPoolExecutor(max_workers=grpc_workers), options=_GRPC_OPTIONS
                )
                predict, model = _make_grpc_servicers(servable)
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
                self._http = ThreadingHTTPServer((host, rest_port), _make_rest_handler(servable))
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
) -> LocalServer:
    """Loads the latest version under ``model_base_path`` and serves it over gRPC and REST.

    Args:
        model_base_path: the model's folder holding numeric version folders.
        grpc_port: gRPC port; 0 picks a free one, ``None`` disables gRPC.
        rest_port: REST port; 0 picks a free one, ``None`` disables REST.
        model_name: the name requests use; defaults to the folder's name.
        host: interface to bind (``"0.0.0.0"`` for all).
        max_pixels: largest batch × height × width a request may carry.
        grpc_workers: gRPC handler threads (concurrent requests).
        warm_up: replay the SavedModel's TF Serving warm-up requests first.

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
    return LocalServer(servable, host, grpc_port, rest_port, grpc_workers)


# -- command line ---------------------------------------------------------------------------------


def _error(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m keras_pggan.serving",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:8]),
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="inpaint IMAGE with MASK through a server")
    p.add_argument("image", metavar="IMAGE", help="image file (PNG, JPEG, ...)")
    p.add_argument("mask", metavar="MASK", help="mask file: white = hole, or transparent = hole")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output image file")
    p.add_argument("--server", required=True, help="HOST:PORT (gRPC) or with --rest the REST one")
    p.add_argument("--rest", action="store_true", help="use the REST API instead of gRPC")
    p.add_argument("--model-name", default=DEFAULT_MODEL_NAME, help="served model name")
    p.add_argument("--version", type=int, default=None, help="model version (default: latest)")
    p.add_argument(
        "--signature",
        choices=(DEFAULT_SIGNATURE, BYTES_SIGNATURE),
        default=DEFAULT_SIGNATURE,
        help="float tensors (serving_default) or encoded files (serving_bytes)",
    )
    p.add_argument(
        "--format", choices=("row", "columnar"), default="row", help="REST request format"
    )
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per call")
    p.add_argument("--retries", type=int, default=DEFAULT_RETRIES, help="retries when unavailable")

    p = sub.add_parser("metadata", help="print a served model's signatures (and REST status)")
    p.add_argument("--server", required=True, help="HOST:PORT")
    p.add_argument("--rest", action="store_true", help="use the REST API instead of gRPC")
    p.add_argument("--model-name", default=DEFAULT_MODEL_NAME, help="served model name")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per call")

    p = sub.add_parser("serve", help="serve a SavedModel over gRPC and REST until interrupted")
    p.add_argument(
        "--model-base-path", required=True, help="folder holding version folders (1/, 2/, ...)"
    )
    p.add_argument("--model-name", default=None, help="name to serve under (default: folder name)")
    p.add_argument("--grpc-port", type=int, default=8500, help="gRPC port (0: any free port)")
    p.add_argument("--rest-port", type=int, default=8501, help="REST port (0: any free port)")
    p.add_argument("--host", default="0.0.0.0", help="interface to bind")
    p.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help="largest batch x height x width per request",
    )
    p.add_argument("--grpc-workers", type=int, default=8, help="concurrent gRPC requests")
    p.add_argument(
        "--intra-op-threads",
        type=int,
        default=0,
        help="TensorFlow threads inside one op (0: TF default, all cores)",
    )
    p.add_argument(
        "--inter-op-threads",
        type=int,
        default=0,
        help="TensorFlow ops run in parallel (0: TF default)",
    )
    p.add_argument("--no-warm-up", action="store_true", help="skip the warm-up requests")
    return parser


def _write_output(path: str, pixels: np.ndarray) -> None:
    from PIL import Image

    from keras_pggan.io_utils import atomic_path

    ext = os.path.splitext(path)[1].lower() or ".png"
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        fmt = Image.registered_extensions().get(ext, "PNG")
        Image.fromarray(pixels).save(f, format=fmt)


def _main_predict(args) -> int:
    for label, path in (("IMAGE", args.image), ("MASK", args.mask)):
        if not os.path.isfile(path):
            return _error(f"{label}: {path}: no such file")
    try:
        image, holes = read_image(args.image), read_mask(args.mask)
    except (OSError, ValueError) as e:
        return _error(f"cannot read {args.image} / {args.mask}: {e}")
    if holes.shape != image.shape[:2]:
        return _error(
            f"MASK: {args.mask} is {holes.shape[1]}x{holes.shape[0]}, "
            f"IMAGE {args.image} is {image.shape[1]}x{image.shape[0]}"
        )
    if args.rest:
        client = RestClient(
            args.server,
            args.model_name,
            timeout=args.timeout,
            retries=args.retries,
            request_format=args.format,
        )
    else:
        client = GrpcClient(args.server, args.model_name, args.timeout, args.retries)
    with client:
        start = time.perf_counter()
        try:
            out = client.inpaint_files(args.image, args.mask, args.signature, args.version)
        except ServingError as e:
            return _error(f"{args.server}: {e}", 1)
        seconds = time.perf_counter() - start
    try:
        _write_output(args.output, out)
    except (OSError, ValueError) as e:
        return _error(f"-o: {args.output}: {e}")
    api = "REST" if args.rest else "gRPC"
    print(
        f"{args.output}: {out.shape[1]}x{out.shape[0]} via {api} {args.signature} ({seconds:.2f} s)"
    )
    return 0


def _main_metadata(args) -> int:
    cls = RestClient if args.rest else GrpcClient
    with cls(args.server, args.model_name, timeout=args.timeout) as client:
        try:
            doc = client.metadata()
            if args.rest:
                doc["status"] = client.status()
        except ServingError as e:
            return _error(f"{args.server}: {e}", 1)
    print(json.dumps(doc, indent=2))
    return 0


def _main_serve(args) -> int:
    if not os.path.isdir(args.model_base_path):
        return _error(f"--model-base-path: {args.model_base_path}: no such directory")
    if args.max_pixels <= 0 or args.grpc_workers <= 0:
        return _error("--max-pixels and --grpc-workers must be positive")
    import tensorflow as tf

    # Thread pools must be sized before TensorFlow's runtime starts (the first op).
    if args.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    if args.inter_op_threads:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)
    try:
        server = serve_locally(
            args.model_base_path,
            grpc_port=args.grpc_port,
            rest_port=args.rest_port,
            model_name=args.model_name,
            host=args.host,
            max_pixels=args.max_pixels,
            grpc_workers=args.grpc_workers,
            warm_up=not args.no_warm_up,
        )
    except FileNotFoundError as e:
        return _error(f"--model-base-path: {e}")
    except OSError as e:
        return _error(f"--grpc-port/--rest-port: {e}")

    def stop(signum, frame):
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print(
        f"serving {server.model_name} version {server.version} from {server.servable.path}: "
        f"gRPC {args.host}:{server.grpc_port}, REST http://{args.host}:{server.rest_port}"
        f"/v1/models/{server.model_name}",
        flush=True,
    )
    try:
        while not server.wait(1.0):
            pass
    except KeyboardInterrupt:
        server.stop()
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "predict":
        return _main_predict(args)
    if args.command == "metadata":
        return _main_metadata(args)
    return _main_serve(args)


if __name__ == "__main__":
    sys.exit(main())
