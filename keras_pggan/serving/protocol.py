"""The local server's request parsing: TF Serving's REST JSON rules and tensor protos.

:func:`parse_predict_body` is TF Serving's ``FillPredictRequestFromJson`` (row ``instances`` or
columnar ``inputs``, bytes as ``{"b64": ...}``, values cast to the signature's dtypes) and
:func:`predict_json` its response writer (``*_bytes`` string outputs as ``{"b64": ...}``, so
bodies are valid UTF-8 JSON). Malformed requests raise :class:`ServingError` with
``INVALID_ARGUMENT`` naming the input, as TF Serving answers.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping

import grpc
import numpy as np

from keras_pggan.serving.client import ServingError, array_to_json
from keras_pggan.signatures import DEFAULT_SIGNATURE


def invalid(message: str) -> ServingError:
    """An ``INVALID_ARGUMENT`` error with ``message``."""
    return ServingError(grpc.StatusCode.INVALID_ARGUMENT, message)


def key_problems(missing, unknown, signature: str, specs) -> str:
    """The message for a request whose input names differ from the signature's."""
    parts = []
    if missing:
        parts.append(f"missing input(s) {', '.join(repr(n) for n in missing)}")
    if unknown:
        parts.append(f"unknown input(s) {', '.join(repr(n) for n in unknown)}")
    return f"{'; '.join(parts)} for signature {signature!r} (expects {', '.join(sorted(specs))})"


def proto_to_array(name: str, proto) -> np.ndarray:
    """A request's ``TensorProto`` → numpy array; ``INVALID_ARGUMENT`` if malformed."""
    import tensorflow as tf

    try:
        return tf.make_ndarray(proto)
    except Exception as e:
        raise invalid(f"input '{name}': malformed TensorProto ({e})") from None


def _json_values_to_array(name: str, value, dtype: str) -> np.ndarray:
    """A JSON value → numpy array of the signature's dtype (TF Serving's type rules)."""
    if dtype == "string":
        try:
            decoded = _decode_json_strings(value)
        except ValueError as e:
            raise invalid(f"input '{name}': {e}") from None
        shape = _json_shape(value)
        out = np.empty(shape, dtype=object)
        if shape:
            flat = list(_flatten(decoded, len(shape)))
            if len(flat) != out.size:
                raise invalid(f"input '{name}': ragged nested lists")
            out.reshape(-1)[:] = flat
        else:
            out[()] = decoded
        return out
    try:
        array = np.asarray(value)
    except ValueError:
        raise invalid(f"input '{name}': ragged nested lists (every row needs one length)") from None
    if array.dtype.kind not in "iuf" or array.dtype == np.bool_:
        raise invalid(
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
            raise invalid("ragged nested lists")
        yield value
        return
    if not isinstance(value, list):
        raise invalid("ragged nested lists")
    for v in value:
        yield from _flatten(v, depth - 1)


def _is_b64(value) -> bool:
    return isinstance(value, dict) and set(value) == {"b64"}


def parse_predict_body(specs_of: Callable[[str], Mapping], body: bytes):
    """TF Serving's ``FillPredictRequestFromJson``.

    Args:
        specs_of: signature name → its input specs (``tf.TensorSpec`` by name); raises
            :class:`ServingError` for an unknown signature.
        body: the request body.

    Returns:
        ``(signature, inputs, row)``: inputs as numpy arrays, ``row`` when the request used
        ``instances`` (the response then uses ``predictions``).

    Raises:
        ServingError: ``INVALID_ARGUMENT`` naming the problem.
    """
    try:
        doc = json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, ValueError) as e:
        raise invalid(f"JSON Parse error: {e}") from None
    if not isinstance(doc, dict):
        raise invalid("JSON Parse error: the request body must be a JSON object")
    signature = doc.get("signature_name", DEFAULT_SIGNATURE)
    if not isinstance(signature, str):
        raise invalid("'signature_name' key must be a string value.")
    specs = specs_of(signature)
    dtypes = {name: spec.dtype.name for name, spec in specs.items()}
    if "instances" in doc and "inputs" in doc:
        raise invalid("expecting only one of 'inputs' or 'instances' keys to exist")
    if "instances" in doc:
        instances = doc["instances"]
        if not isinstance(instances, list) or not instances:
            raise invalid("'instances' must be a non-empty list")
        objects = isinstance(instances[0], dict) and not _is_b64(instances[0])
        if not objects and len(specs) > 1:
            raise invalid(
                "instances is a plain list, but expecting list of objects as multiple input "
                f"tensors required as per tensorinfo_map ({', '.join(sorted(specs))})"
            )
        columns: dict[str, list] = {name: [] for name in specs}
        for i, item in enumerate(instances):
            if objects != (isinstance(item, dict) and not _is_b64(item)):
                raise invalid(f"instance {i}: expecting {'object' if objects else 'value/list'}")
            item = item if objects else {next(iter(specs)): item}
            missing = sorted(set(specs) - set(item))
            unknown = sorted(set(item) - set(specs))
            if missing or unknown:
                raise invalid(f"instance {i}: {key_problems(missing, unknown, signature, specs)}")
            for name in specs:
                columns[name].append(item[name])
        inputs = {}
        for name, values in columns.items():
            shapes = {_json_shape(v) for v in values}
            if len(shapes) > 1:
                raise invalid(
                    f"input '{name}': instances have different shapes {sorted(shapes)} "
                    "(use the columnar 'inputs' format or one request per size)"
                )
            inputs[name] = _json_values_to_array(name, values, dtypes[name])
        return signature, inputs, True
    if "inputs" in doc:
        value = doc["inputs"]
        if not isinstance(value, dict) or _is_b64(value):
            if len(specs) > 1:
                raise invalid(
                    "inputs is a plain value/list, but expecting an object as multiple input "
                    f"tensors required as per tensorinfo_map ({', '.join(sorted(specs))})"
                )
            value = {next(iter(specs)): value}
        missing = sorted(set(specs) - set(value))
        unknown = sorted(set(value) - set(specs))
        if missing or unknown:
            raise invalid(f"'inputs': {key_problems(missing, unknown, signature, specs)}")
        inputs = {name: _json_values_to_array(name, value[name], dtypes[name]) for name in specs}
        return signature, inputs, False
    raise invalid("Missing 'inputs' or 'instances' key")


def predict_json(outputs: Mapping[str, np.ndarray], row: bool) -> bytes:
    """TF Serving's response JSON (``*_bytes`` string outputs as ``{"b64": ...}``), ASCII.

    Args:
        outputs: output name → array.
        row: ``{"predictions": ...}`` (for ``instances`` requests), else ``{"outputs": ...}``.
    """
    converted = {name: array_to_json(name, value) for name, value in outputs.items()}
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
