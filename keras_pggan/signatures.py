"""Names of the exported model's signatures, inputs and outputs: defined once, used everywhere.

The SavedModel (``keras_pggan.export``), its TFLite builds (``keras_pggan.export.tflite``), the
serving clients and the local protocol server (``keras_pggan.serving``) import these; TF Serving
users see them in ``saved_model_cli show``. Changing one is a breaking change for every
deployed client.

- ``serving_default``: ``image`` float32 [B,H,W,3] in [0,1], ``mask`` float32 [B,H,W,1]
  (1 = hole) → ``inpainted`` float32 [B,H,W,3] in [0,1], composited.
- ``serving_bytes``: ``image_bytes``, ``mask_bytes`` string [B] (encoded files, the mask with the
  file convention of :mod:`keras_pggan.data.imageio`) → ``inpainted_png_bytes`` string [B].

:func:`describe_signatures` is the one description of a ``SignatureDef`` map (the SavedModel's,
TF Serving's gRPC and REST metadata): it reads protobuf's JSON form, so a REST client needs no
TensorFlow.
"""

from collections.abc import Mapping
from typing import Any

DEFAULT_SIGNATURE = "serving_default"
BYTES_SIGNATURE = "serving_bytes"
IMAGE, MASK, OUTPUT = "image", "mask", "inpainted"
IMAGE_BYTES, MASK_BYTES, OUTPUT_PNG = "image_bytes", "mask_bytes", "inpainted_png_bytes"
INPUTS = {DEFAULT_SIGNATURE: (IMAGE, MASK), BYTES_SIGNATURE: (IMAGE_BYTES, MASK_BYTES)}
OUTPUTS = {DEFAULT_SIGNATURE: (OUTPUT,), BYTES_SIGNATURE: (OUTPUT_PNG,)}

# TensorFlow's DataType names (tensorflow/core/framework/types.proto) whose ``tf.dtypes`` name is
# not the rest of the name in lower case.
_DTYPE_NAMES = {"FLOAT": "float32", "DOUBLE": "float64", "HALF": "float16"}


def dtype_name(dtype: str | int) -> str:
    """``"DT_FLOAT"`` → ``"float32"``: the ``tf.dtypes.as_dtype(...).name`` of a ``DataType`` enum
    name as protobuf's JSON writes it (``"DT_STRING"`` → ``"string"``, ``"DT_FLOAT_REF"`` →
    ``"float32_ref"``), without importing TensorFlow. An enum number JSON could not name is
    returned as its digits."""
    if not isinstance(dtype, str) or not dtype.startswith("DT_"):
        return str(dtype)
    base = dtype[3:]
    ref = base.endswith("_REF")
    base = base[:-4] if ref else base
    return _DTYPE_NAMES.get(base, base.lower()) + ("_ref" if ref else "")


def signature_dicts(signature_defs: Mapping[str, Any]) -> dict[str, dict]:
    """A map of ``SignatureDef`` protos in the JSON form :func:`describe_signatures` reads."""
    from google.protobuf import json_format

    return {
        key: json_format.MessageToDict(sig, preserving_proto_field_name=True)
        for key, sig in signature_defs.items()
    }


def describe_signatures(signature_defs: Mapping[str, Mapping[str, Any]]) -> dict[str, dict]:
    """Signature names → ``{"inputs": {name: [dtype, shape]}, "outputs": {...}}``.

    Args:
        signature_defs: a ``SignatureDef`` map in protobuf's JSON form with the .proto's field
            names (``json_format.MessageToDict(sig, preserving_proto_field_name=True)`` per
            signature; TF Serving's REST ``/metadata`` returns this form).

    Returns:
        Sorted by name, internal ``__``-prefixed signatures left out; a shape lists each
        dimension's size (-1: any), ``[]`` for a scalar or an unknown rank.
    """

    def describe(infos: Mapping[str, Any]) -> dict[str, list]:
        return {
            name: [
                dtype_name(info.get("dtype", "DT_INVALID")),
                [int(d.get("size", 0)) for d in info.get("tensor_shape", {}).get("dim", [])],
            ]
            for name, info in sorted(infos.items())
        }

    return {
        key: {part: describe(sig.get(part, {})) for part in ("inputs", "outputs")}
        for key, sig in sorted(signature_defs.items())
        if not key.startswith("__")
    }
