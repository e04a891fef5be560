"""SavedModel export of the generator for TF Serving (and the TFLite export, re-exported).

Example:
    >>> report = export_saved_model("runs/x/generator.keras", "runs/x/pggan_dres")
    ... # doctest: +SKIP
    >>> report["path"], report["size_ratio"]                                 # doctest: +SKIP
    ('runs/x/pggan_dres/1', 1.0)

The SavedModel holds the generator only, in TF Serving's layout ``<model_base_path>/<version>/``,
with two signatures (their names are API):

* ``serving_default``: ``image`` float32 [B,H,W,3] in [0,1] and ``mask`` float32 [B,H,W,1]
  (1 = hole) → ``inpainted`` float32 [B,H,W,3] in [0,1]. Any H and W: the image and the mask are
  mirror-padded together at the bottom and right to the generator's multiple inside the graph, and
  the output is cropped back. The output is composited (``m·G(x) + (1−m)·x``), so known pixels are
  the input's.
* ``serving_bytes``: ``image_bytes`` and ``mask_bytes`` string [B] (PNG, JPEG, BMP or GIF) →
  ``inpainted_png_bytes`` string [B] (PNG files). The ``_bytes`` suffix makes TF Serving's REST API
  send the output base64-encoded (``{"b64": ...}``). Each image is decoded and inpainted on its
  own (``tf.map_fn``), so the images of one request may differ in size. Mask files: white
  (luminance >= 128) = hole; a mask with an alpha channel that has transparent pixels
  (alpha < 128) marks its transparent pixels as holes instead.

Bad inputs fail inside the graph with ``InvalidArgumentError`` (TF Serving answers
``INVALID_ARGUMENT``): mask and image sizes differ, empty images, NaN or Inf values, undecodable
bytes, different numbers of images and masks. ``serving_bytes`` reads each file's header before
decoding it: empty strings, formats other than PNG/JPEG/BMP/GIF and headers claiming more than
``MAX_DECODE_PIXELS`` pixels (decompression bombs) are refused by name before any allocation.

Size: ``keras.export.ExportArchive.track(model)`` stores every weight twice (once for the Keras
variable wrappers it tracks, once for the ``tf.Variable`` the endpoints capture), so the
``variables/`` folder is 2× the weights. This module tracks the ``tf.Variable`` objects themselves
and checks the written size against ``params × 4`` bytes (:func:`check_variables_size`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from typing import Any

import keras
import tensorflow as tf

from keras_pggan.data.imageio import (
    MAX_IMAGE_PIXELS,
    decode_image_tensor,
    decode_mask_tensor,
    encode_png,
    to_uint8_tensor,
)
from keras_pggan.export.tflite import export_tflite
from keras_pggan.inference.backends import latest_version
from keras_pggan.inference.fill import fill_holes
from keras_pggan.io_utils import refuse_shipped
from keras_pggan.models.generator import pad_multiple_of
from keras_pggan.models.saved import load_generator
from keras_pggan.signatures import (
    BYTES_SIGNATURE,
    DEFAULT_SIGNATURE,
    IMAGE,
    IMAGE_BYTES,
    MASK,
    MASK_BYTES,
    OUTPUT,
    OUTPUT_PNG,
    describe_signatures,
    signature_dicts,
)

__all__ = [
    "BYTES_SIGNATURE",
    "DEFAULT_SIGNATURE",
    "SavedModelCheckError",
    "check_variables_size",
    "export_saved_model",
    "export_tflite",
    "signature_summary",
    "variables_bytes",
]

METADATA_FILE = "keras_pggan.json"
WARMUP_FILE = "tf_serving_warmup_requests"
WARMUP_SIZE = 64
# Largest image (height × width) serving_bytes decodes: every image reader's bomb guard.
MAX_DECODE_PIXELS = MAX_IMAGE_PIXELS


class SavedModelCheckError(ValueError):
    """A written SavedModel failed a check (weights missing or stored twice)."""


# -- the serving graph ------------------------------------------------------------------------


def _make_inpaint(generator: keras.Model, multiple: int):
    """Returns ``inpaint01(image, mask) -> inpainted``, all float32 [B,H,W,C] in [0,1].

    Any H and W (mirror-padded to ``multiple`` inside the graph) and any batch, 0 included.
    """

    def inpaint01(image, mask):
        return fill_holes(generator, image, mask, pad_multiple=multiple, allow_empty_batch=True)

    return inpaint01


def _check_inputs(image, mask, image_name: str, mask_name: str):
    """In-graph checks that survive into TF Serving (asserts become INVALID_ARGUMENT)."""
    image_shape, mask_shape = tf.shape(image), tf.shape(mask)
    checks = [
        tf.debugging.assert_equal(
            image_shape[:3],
            mask_shape[:3],
            message=f"{mask_name} must have the batch, height and width of {image_name}",
        ),
        tf.debugging.assert_positive(
            image_shape[1:3], message=f"{image_name} height and width must be positive"
        ),
    ]
    with tf.control_dependencies(checks):
        image = tf.debugging.assert_all_finite(image, f"{image_name} has NaN or Inf values")
        mask = tf.debugging.assert_all_finite(mask, f"{mask_name} has NaN or Inf values")
    return image, mask


_PNG_SIGNATURE = (0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A)


def _check_header(data, name: str, max_pixels: int):
    """In-graph checks of one encoded image before it is decoded; returns ``data``.

    Fails (``InvalidArgumentError`` naming ``name``) for an empty string, a file that is not PNG,
    JPEG, BMP or GIF, or a header claiming more than ``max_pixels`` pixels: a decompression bomb
    (a few kB of PNG can claim 30000² pixels) is refused before ``DecodeImage`` allocates for it.
    """
    head = tf.strings.substr(tf.strings.join([tf.strings.substr(data, 0, 32), "\0" * 32]), 0, 32)
    b = tf.cast(tf.io.decode_raw(head, tf.uint8), tf.int64)

    def le(i, n):
        return sum(b[i + k] * 256**k for k in range(n))

    def be(i, n):
        return sum(b[i + k] * 256 ** (n - 1 - k) for k in range(n))

    def signed32(x):
        return tf.where(x >= 2**31, x - 2**32, x)

    is_png = tf.reduce_all(tf.equal(b[:8], tf.constant(_PNG_SIGNATURE, tf.int64)))
    is_jpeg = tf.logical_and(tf.equal(b[0], 0xFF), tf.equal(b[1], 0xD8))
    is_gif = tf.reduce_all(tf.equal(b[:4], tf.constant([71, 73, 70, 56], tf.int64)))  # GIF8
    is_bmp = tf.logical_and(tf.equal(b[0], 66), tf.equal(b[1], 77))  # BM
    known = is_png | is_jpeg | is_gif | is_bmp
    # Height, width from the header (BMP heights are negative for top-down rows).
    other = tf.where(
        is_png,
        tf.stack([be(20, 4), be(16, 4)]),
        tf.where(
            is_gif,
            tf.stack([le(8, 2), le(6, 2)]),
            tf.abs(tf.stack([signed32(le(22, 4)), signed32(le(18, 4))])),
        ),
    )
    size = tf.cond(
        is_jpeg,
        lambda: tf.cast(tf.image.extract_jpeg_shape(data)[:2], tf.int64),
        lambda: other,
    )
    checks = [
        tf.debugging.assert_positive(tf.strings.length(data), message=f"{name} is empty (0 bytes)"),
        tf.debugging.Assert(known, [f"{name} is not a PNG, JPEG, BMP or GIF file"]),
    ]
    with tf.control_dependencies(checks):
        pixels = size[0] * size[1]
    check = tf.debugging.Assert(
        pixels <= max_pixels,
        [
            f"{name}: the image header claims more than {max_pixels} pixels (decompression "
            "bomb guard); its height, width:",
            size,
        ],
    )
    with tf.control_dependencies([check]):
        return tf.identity(data)


def _make_endpoints(generator: keras.Model, multiple: int):
    inpaint01 = _make_inpaint(generator, multiple)

    def serve_default(image, mask):
        image, mask = _check_inputs(image, mask, IMAGE, MASK)
        return {OUTPUT: inpaint01(image, mask)}

    def serve_bytes(image_bytes, mask_bytes):
        count = tf.debugging.assert_equal(
            tf.shape(image_bytes),
            tf.shape(mask_bytes),
            message=f"{IMAGE_BYTES} and {MASK_BYTES} must hold the same number of images",
        )

        def one(pair):
            data = _check_header(pair[0], IMAGE_BYTES, MAX_DECODE_PIXELS)
            mask_data = _check_header(pair[1], MASK_BYTES, MAX_DECODE_PIXELS)
            image = decode_image_tensor(data, channels=3)
            image = tf.image.convert_image_dtype(image, tf.float32)[None]
            mask = decode_mask_tensor(mask_data)[None]
            image, mask = _check_inputs(image, mask, IMAGE_BYTES, MASK_BYTES)
            out = inpaint01(image, mask)[0]
            return tf.io.encode_png(to_uint8_tensor(out))

        with tf.control_dependencies([count]):
            pngs = tf.map_fn(
                one, (image_bytes, mask_bytes), fn_output_signature=tf.TensorSpec([], tf.string)
            )
        return {OUTPUT_PNG: pngs}

    return serve_default, serve_bytes


def build_serving_archive(generator: keras.Model, pad_multiple: int | None = None):
    """Wraps the generator in an ``ExportArchive`` with both serving signatures.

    The archive tracks the generator's ``tf.Variable`` objects (what the endpoints capture), not
    the Keras variable wrappers that ``archive.track(model)`` would add: the weights are then
    stored once.

    Args:
        generator: the generator (dict inputs ``image``, ``mask`` in [-1,1]).
        pad_multiple: defaults to :func:`keras_pggan.models.generator.pad_multiple_of`.

    Returns:
        A ``keras.export.ExportArchive``; ``write_out(dir)`` writes the SavedModel.
    """
    multiple = pad_multiple or pad_multiple_of(generator)
    serve_default, serve_bytes = _make_endpoints(generator, multiple)
    archive = keras.export.ExportArchive()
    # On the TF backend ``Variable.value`` is the underlying tf.Variable, the object the traced
    # endpoints capture; listing it (rather than the wrapper) keeps one copy per weight while
    # the revived model still exposes ``.variables``.
    archive.add_variable_collection("variables", [v.value for v in generator.variables])
    archive.add_endpoint(
        DEFAULT_SIGNATURE,
        serve_default,
        input_signature=[
            tf.TensorSpec([None, None, None, 3], tf.float32, name=IMAGE),
            tf.TensorSpec([None, None, None, 1], tf.float32, name=MASK),
        ],
    )
    archive.add_endpoint(
        BYTES_SIGNATURE,
        serve_bytes,
        input_signature=[
            tf.TensorSpec([None], tf.string, name=IMAGE_BYTES),
            tf.TensorSpec([None], tf.string, name=MASK_BYTES),
        ],
    )
    return archive


# -- checks and facts about a written SavedModel -------------------------------------------------


def variables_bytes(saved_model_dir: str) -> tuple[int, int]:
    """Returns ``(data bytes, folder bytes)`` of a SavedModel's ``variables/`` folder.

    The data bytes are the ``variables.data-*`` shards (the weights plus the small serialized
    object graph); the folder bytes add ``variables.index``.
    """
    folder = os.path.join(saved_model_dir, "variables")
    data = total = 0
    for name in os.listdir(folder):
        size = os.path.getsize(os.path.join(folder, name))
        total += size
        if name.startswith("variables.data-"):
            data += size
    return data, total


def check_variables_size(
    saved_model_dir: str, params: int, low: float = 0.9, high: float = 1.3
) -> float:
    """Checks the stored weights against ``params × 4`` bytes (float32).

    Args:
        saved_model_dir: a SavedModel version folder.
        params: the generator's parameter count.
        low: smallest accepted ratio (below: weights missing).
        high: largest accepted ratio (above: weights stored twice).

    Returns:
        ``data bytes / (params × 4)``.

    Raises:
        SavedModelCheckError: the ratio is outside ``[low, high]``.
    """
    data, _ = variables_bytes(saved_model_dir)
    ratio = data / max(4 * params, 1)
    if not low <= ratio <= high:
        why = "weights missing" if ratio < low else "weights stored more than once"
        raise SavedModelCheckError(
            f"{saved_model_dir}: variables hold {data} bytes for {params} float32 parameters "
            f"({4 * params} bytes): ratio {ratio:.2f} outside [{low}, {high}] ({why})"
        )
    return ratio


def signature_summary(saved_model_dir: str) -> dict[str, dict]:
    """Signature names → ``{"inputs": {name: [dtype, shape]}, "outputs": {...}}`` from the .pb
    (:func:`keras_pggan.signatures.describe_signatures`, as the serving clients' metadata)."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    return describe_signatures(signature_dicts(proto.meta_graphs[0].signature_def))


def _write_warmup(saved_model_dir: str, multiple: int) -> None:
    """Writes TF Serving warm-up requests (one per signature) to ``assets.extra/``."""
    import numpy as np
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    size = max(WARMUP_SIZE, multiple)
    image = np.full((1, size, size, 3), 0.5, np.float32)
    mask = np.zeros((1, size, size, 1), np.float32)
    mask[:, size // 4 : size // 2, size // 4 : size // 2] = 1.0

    inputs = {
        DEFAULT_SIGNATURE: {IMAGE: image, MASK: mask},
        BYTES_SIGNATURE: {
            IMAGE_BYTES: np.array([encode_png(np.full((size, size, 3), 128, np.uint8))], object),
            MASK_BYTES: np.array([encode_png(mask[0, ..., 0] > 0.5)], object),
        },
    }
    folder = os.path.join(saved_model_dir, "assets.extra")
    os.makedirs(folder, exist_ok=True)
    with tf.io.TFRecordWriter(os.path.join(folder, WARMUP_FILE)) as writer:
        for signature, tensors in inputs.items():
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(signature_name=signature)
            )
            for name, value in tensors.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())


def _make_tree_readable(folder: str) -> None:
    # mkdtemp creates 0700 folders; TF Serving containers often run as another user.
    umask = os.umask(0)
    os.umask(umask)
    for root, dirs, files in os.walk(folder):
        os.chmod(root, 0o777 & ~umask)
        for name in files:
            os.chmod(os.path.join(root, name), 0o666 & ~umask)
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o777 & ~umask)


# -- export -------------------------------------------------------------------------------------


def export_saved_model(
    generator_or_path,
    model_base_path: str,
    version: int | None = None,
    overwrite: bool = False,
    warmup: bool = True,
    check_size: bool = True,
) -> dict[str, Any]:
    """Exports the generator as a TF Serving SavedModel at ``<model_base_path>/<version>/``.

    The SavedModel is written to a temporary folder inside ``model_base_path`` (TF Serving ignores
    non-numeric names) and renamed into place, so a server watching the folder never sees a
    half-written version.

    Args:
        generator_or_path: a generator ``keras.Model``, a ``.keras`` file or a run directory (see
            :func:`keras_pggan.models.saved.load_generator`).
        model_base_path: the model's folder, e.g. ``runs/x/pggan_dres``.
        version: a positive integer; ``None`` picks the highest existing version + 1 (or 1).
        overwrite: replace an existing version folder (otherwise ``FileExistsError``) and allow
            exporting into the repository's shipped ``saved_models/`` (otherwise ``UserError``).
        warmup: write TF Serving warm-up requests to ``assets.extra/``.
        check_size: run :func:`check_variables_size` on the result.

    Returns:
        A report dict: ``path``, ``version``, ``params``, ``expected_bytes`` (params × 4),
        ``variables_data_bytes``, ``variables_dir_bytes``, ``size_ratio``, ``pad_multiple``,
        ``signatures`` (see :func:`signature_summary`), ``seconds``.

    Raises:
        FileNotFoundError: ``generator_or_path`` does not exist.
        FileExistsError: the version folder exists and ``overwrite`` is false.
        UserError: ``model_base_path`` is in the shipped ``saved_models/`` and ``overwrite`` is
            false (:func:`keras_pggan.io_utils.refuse_shipped`).
        ValueError: bad ``version`` or not a generator.
        SavedModelCheckError: the written weights are missing or stored twice.

    Example:
        >>> export_saved_model(generator, "runs/x/pggan_dres", version=1)  # doctest: +SKIP
    """
    if version is not None and (
        not isinstance(version, int) or isinstance(version, bool) or version <= 0
    ):
        raise ValueError(f"version must be a positive integer, got {version!r}")
    generator = load_generator(generator_or_path)
    inputs = generator.input
    if not isinstance(inputs, dict) or set(inputs) != {IMAGE, MASK}:
        raise ValueError(
            f"expected a generator with dict inputs 'image' and 'mask', got {generator.name!r}"
        )
    start = time.perf_counter()
    base = os.fspath(model_base_path)
    refuse_shipped(base, overwrite, "model_base_path")  # a new version there would be served
    os.makedirs(base, exist_ok=True)
    if version is None:
        version = (latest_version(base) or 0) + 1
    final = os.path.join(base, str(version))
    if os.path.exists(final) and not overwrite:
        raise FileExistsError(f"{final} exists; pass overwrite=True to replace it")

    multiple = pad_multiple_of(generator)
    params = int(generator.count_params())
    tmp = tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=base)
    try:
        written = os.path.join(tmp, "model")
        build_serving_archive(generator, multiple).write_out(written, verbose=False)
        if warmup:
            _write_warmup(written, multiple)
        metadata = {
            "generator": generator.name,
            "params": params,
            "pad_multiple": multiple,
            "value_range": [0.0, 1.0],
            "mask": "1 = hole",
            "signatures": {
                DEFAULT_SIGNATURE: f"{IMAGE}, {MASK} -> {OUTPUT}",
                BYTES_SIGNATURE: f"{IMAGE_BYTES}, {MASK_BYTES} -> {OUTPUT_PNG}",
            },
        }
        os.makedirs(os.path.join(written, "assets.extra"), exist_ok=True)
        with open(os.path.join(written, "assets.extra", METADATA_FILE), "w") as f:
            json.dump(metadata, f, indent=2, sort_keys=True)
        ratio = check_variables_size(written, params) if check_size else None
        _make_tree_readable(written)
        old = None
        if os.path.exists(final):
            old = os.path.join(tmp, "old")
            os.rename(final, old)
        os.rename(written, final)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
    data, total = variables_bytes(final)
    return {
        "path": final,
        "version": version,
        "params": params,
        "expected_bytes": 4 * params,
        "variables_data_bytes": data,
        "variables_dir_bytes": total,
        "size_ratio": round(ratio if ratio is not None else data / max(4 * params, 1), 3),
        "pad_multiple": multiple,
        "signatures": signature_summary(final),
        "seconds": round(time.perf_counter() - start, 2),
    }
