"""TFLite builds of the generator (fp32, dynamic-range, fp16, int8) and a LiteRT runner.

Example:
    >>> report = export_tflite("runs/x/generator.keras", "saved_models/pggan_dres-int8.tflite",
    ...                        mode="int8")                                  # doctest: +SKIP
    >>> report["ops"]                                                        # doctest: +SKIP
    ['ADD', 'CONCATENATION', 'CONV_2D', ...]
    >>> out = run_tflite("saved_models/pggan_dres-int8.tflite", image01, mask)  # doctest: +SKIP

Every build goes through a SavedModel written by ``keras.export.ExportArchive`` with a TFLite-only
endpoint (no string ops, no asserts), then ``tf.lite.TFLiteConverter.from_saved_model`` with builtin
ops only. A Keras 3 model saved with ``tf.saved_model.save`` instead converts "successfully" into a
weightless model, so each build is checked against the size its weights need and against custom or
Flex ops (``TFLiteCheckError``).

The endpoint (signature ``serving_default``; address inputs by name: the converter puts them in
reverse name order, so ``get_input_details()`` lists ``mask`` (index 0) before ``image``):

* ``image`` float32 [1,H,W,3] in [0,1] (uint8 [0,255] for ``io="uint8"``),
* ``mask`` float32 [1,H,W,1], 1 = hole (uint8 255 = hole for ``io="uint8"``),
* output ``inpainted`` [1,H,W,3] in [0,1], composited inside the graph (known pixels are kept).

H and W are dynamic (``Interpreter.resize_tensor_input``) unless ``fixed_size`` is given, and must
be multiples of the pad multiple unless the build pads inside (``pad_inside=True``). The multiple
and the rest of this contract are embedded as JSON in the model's ``keras_pggan`` metadata buffer
(:func:`read_metadata`), which :class:`TFLiteInpainter` reads to pad on the host.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from typing import Any

import flatbuffers
import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert import schema_py_generated as schema

from keras_pggan.generator import composite
from keras_pggan.io_utils import atomic_path

MODES = ("fp32", "dynamic", "fp16", "int8")
IOS = ("float", "uint8")
DILATED_CONVS = ("native", "space_to_batch")
# Bytes each generator parameter needs in the file for each mode (int8 biases are int32 but are a
# negligible share of the weights).
BYTES_PER_PARAM = {"fp32": 4, "dynamic": 1, "fp16": 2, "int8": 1}
SIGNATURE_KEY = "serving_default"
INPUT_NAMES = ("image", "mask")
OUTPUT_NAME = "inpainted"
METADATA_NAME = "keras_pggan"
METADATA_VERSION = 1
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
# TFLite kernels and mmap readers expect constant buffers aligned like the C++ writer leaves them.
_BUFFER_ALIGNMENT = 16


class TFLiteCheckError(ValueError):
    """A converted model failed a check (weightless file, custom or Flex ops)."""


# -- the generator and its TFLite endpoint ----------------------------------------------------


def load_generator(generator_or_path) -> keras.Model:
    """Returns the generator from a model, a ``PGGAN``, a ``.keras`` file or a run directory.

    Args:
        generator_or_path: a generator ``keras.Model``, a model with a ``.generator`` attribute,
            a ``generator.keras`` path, or a run directory holding ``generator.keras``.

    Returns:
        The generator ``keras.Model`` (dict inputs ``image``, ``mask``).

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the path is not a ``.keras`` file or the object is not a Keras model.
    """
    if isinstance(generator_or_path, (str, os.PathLike)):
        path = os.fspath(generator_or_path)
        if os.path.isdir(path):
            path = os.path.join(path, "generator.keras")
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such file")
        if not path.endswith(".keras"):
            raise ValueError(f"{path}: expected a .keras file or a run directory")
        # Importing keras_pggan.generator (above) registers the custom layers.
        return keras.saving.load_model(path, compile=False)
    model = getattr(generator_or_path, "generator", generator_or_path)
    if not isinstance(model, keras.Model):
        raise ValueError(f"expected a keras.Model or a path, got {type(generator_or_path)!r}")
    return model


def _all_layers(model: keras.Model) -> list[keras.layers.Layer]:
    found = []
    for layer in model.layers:
        found += _all_layers(layer) if isinstance(layer, keras.Model) else [layer]
    return found


def pad_multiple_of(generator: keras.Model) -> int:
    """Height and width multiple the generator needs: the product of its convolution strides."""
    multiple = 1
    for layer in _all_layers(generator):
        if isinstance(layer, keras.layers.Conv2D):
            multiple *= int(layer.strides[0])
    return multiple


class _NativeDilatedConv2D(keras.layers.Conv2D):
    """``Conv2D`` whose dilated convolution is one ``Conv2D`` op with a ``dilations`` attribute.

    ``tf.nn.convolution`` (Keras's path) wraps dilated convolutions in SpaceToBatchND /
    BatchToSpaceND. With dynamic H and W the converter cannot fold that back into a dilated
    ``CONV_2D`` and keeps 12+ shape ops per convolution; ``tf.nn.conv2d`` emits the dilated op
    directly. Same weights, same numbers (tested); used only for export tracing.
    """

    def convolution_op(self, inputs, kernel):
        from keras_pggan.layers import native_conv2d

        return native_conv2d(self, inputs, kernel)


def keras_dilation_clone(generator: keras.Model) -> keras.Model:
    """Returns a copy of ``generator`` whose dilated convolutions use Keras's own lowering.

    The opposite of :func:`native_dilation_clone`: :class:`keras_pggan.layers.DilatedConv2D`
    layers become plain ``Conv2D`` (SpaceToBatchND → Conv2D → BatchToSpaceND). Kept for comparison.
    """

    def clone(layer):
        if isinstance(layer, keras.layers.Conv2D) and tuple(layer.dilation_rate) != (1, 1):
            return keras.layers.Conv2D.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    if not any(
        isinstance(layer, keras.layers.Conv2D)
        and type(layer) is not keras.layers.Conv2D
        and tuple(layer.dilation_rate) != (1, 1)
        for layer in _all_layers(generator)
    ):
        return generator
    copy = keras.models.clone_model(generator, clone_function=clone)
    copy.set_weights(generator.get_weights())
    return copy


def native_dilation_clone(generator: keras.Model) -> keras.Model:
    """Returns a copy of ``generator`` whose dilated convolutions lower to dilated ``CONV_2D``.

    Args:
        generator: a functional generator.

    Returns:
        A functional model with the same weights and outputs; ``generator`` itself is returned
        when it has no dilated convolution.
    """

    def clone(layer):
        if isinstance(layer, keras.layers.Conv2D) and tuple(layer.dilation_rate) != (1, 1):
            return _NativeDilatedConv2D.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    dilated = [
        layer
        for layer in _all_layers(generator)
        if isinstance(layer, keras.layers.Conv2D) and tuple(layer.dilation_rate) != (1, 1)
    ]
    if not dilated:
        return generator
    copy = keras.models.clone_model(generator, clone_function=clone)
    copy.set_weights(generator.get_weights())
    return copy


def _pin01(x):
    # A fake-quant node fixes this tensor's int8 range to exactly [0, 1] (scale 1/255): uint8
    # images then map to int8 without rounding and known pixels pass through unchanged.
    return tf.quantization.fake_quant_with_min_max_args(x, min=0.0, max=1.0, num_bits=8)


def _make_endpoint(generator: keras.Model, pad_multiple: int, pad_inside: bool, quantized: bool):
    def serve(image, mask):
        x, m = image, mask
        if quantized:
            image, mask = _pin01(image), _pin01(mask)
            # The generator concatenates the mask with the [-1,1] image and int8 concatenation
            # shares one scale: fed the pinned mask directly, it would either clip the image
            # channels to [0,1] (measured: +0.03 bias in holes) or, unpinned, give the uint8
            # mask input a [-1,1] scale (0 -> 127). A select to {0,1} decouples the two.
            x, m = image, tf.where(mask > 0.5, 1.0, 0.0)
        if pad_inside:
            shape = tf.shape(image)
            h, w = shape[1], shape[2]
            ph, pw = (-h) % pad_multiple, (-w) % pad_multiple
            paddings = [[0, 0], [0, ph], [0, pw], [0, 0]]
            # Mask and image mirror together so mirrored hole pixels stay holes. Dynamic
            # paddings hide the channel count, which CONV_2D needs: the reshape restores it
            # (EnsureShape has no TFLite builtin).
            x = tf.reshape(tf.pad(x, paddings, mode="SYMMETRIC"), [1, h + ph, w + pw, 3])
            m = tf.reshape(tf.pad(m, paddings, mode="SYMMETRIC"), [1, h + ph, w + pw, 1])
        raw = generator({"image": x * 2.0 - 1.0, "mask": m}, training=False)
        fill = (tf.cast(raw, tf.float32) + 1.0) * 0.5
        if pad_inside:
            fill = fill[:, :h, :w, :]
        if quantized:
            # In int8 the arithmetic blend re-quantizes known pixels; a select keeps them.
            out = _pin01(tf.where(mask > 0.5, _pin01(fill), image))
        else:
            out = composite(fill, image, mask)
        return {OUTPUT_NAME: out}

    return serve


def build_tflite_archive(
    generator: keras.Model,
    fixed_size: tuple[int, int] | None = None,
    pad_inside: bool = False,
    quantized: bool = False,
    pad_multiple: int | None = None,
) -> keras.export.ExportArchive:
    """Wraps the generator in an ``ExportArchive`` with the TFLite endpoint ``serving_default``.

    Args:
        generator: the generator (use :func:`native_dilation_clone` first for dilated ``CONV_2D``).
        fixed_size: ``(H, W)`` for a static signature; ``None`` for dynamic H and W.
        pad_inside: mirror-pad to the multiple inside the graph (any H, W) and crop back.
        quantized: add the int8 range pins and select-compositing (full-integer builds only).
        pad_multiple: defaults to :func:`pad_multiple_of`.

    Returns:
        An ``ExportArchive``; call ``write_out(dir)`` to get the SavedModel.
    """
    multiple = pad_multiple or pad_multiple_of(generator)
    h, w = fixed_size if fixed_size else (None, None)
    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint(
        SIGNATURE_KEY,
        _make_endpoint(generator, multiple, pad_inside, quantized),
        input_signature=[
            tf.TensorSpec([1, h, w, 3], tf.float32, name=INPUT_NAMES[0]),
            tf.TensorSpec([1, h, w, 1], tf.float32, name=INPUT_NAMES[1]),
        ],
    )
    return archive


# -- calibration data -------------------------------------------------------------------------


def default_photo_paths() -> list[str]:
    """The embedded default photos (see ``keras_pggan.data.default_photo_paths``)."""
    from keras_pggan.data import default_photo_paths as paths

    return paths()


def _image_files(folder: str) -> list[str]:
    found = []
    for root, _, files in os.walk(folder):
        found += [os.path.join(root, f) for f in files if f.lower().endswith(IMAGE_EXTENSIONS)]
    return sorted(found)


def _read_rgb01(path: str) -> np.ndarray | None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), np.float32) / 255.0
    except OSError:
        return None


def _as_rgb01(image) -> np.ndarray:
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] not in (3, 4):
        raise ValueError(f"image must be [H,W,3], got shape {a.shape}")
    a = a[..., :3]
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"image must be uint8 or float in [0,1], got dtype {a.dtype}")
    if not np.isfinite(a).all():
        raise ValueError("image has NaN or Inf values")
    return np.clip(a.astype(np.float32), 0.0, 1.0)


def _random_crop(image: np.ndarray, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    from PIL import Image

    scale = max(h / image.shape[0], w / image.shape[1])
    if scale != 1.0:
        size = (max(w, round(image.shape[1] * scale)), max(h, round(image.shape[0] * scale)))
        pil = Image.fromarray(np.round(image * 255).astype(np.uint8)).resize(size, Image.BICUBIC)
        image = np.asarray(pil, np.float32) / 255.0
    y = int(rng.integers(0, image.shape[0] - h + 1))
    x = int(rng.integers(0, image.shape[1] - w + 1))
    return image[y : y + h, x : x + w]


def calibration_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """One generated hole mask [h,w] float32 (1 = hole): centre square, rectangles or strokes."""
    m = np.zeros((h, w), np.float32)
    kind = int(rng.integers(3))
    if kind == 0:
        s = int(rng.integers(max(1, min(h, w) // 4), max(2, min(h, w) // 2 + 1)))
        y, x = (h - s) // 2, (w - s) // 2
        m[y : y + s, x : x + s] = 1.0
    elif kind == 1:
        for _ in range(int(rng.integers(1, 4))):
            rh = int(rng.integers(max(1, h // 8), max(2, h // 2)))
            rw = int(rng.integers(max(1, w // 8), max(2, w // 2)))
            y, x = int(rng.integers(0, h - rh + 1)), int(rng.integers(0, w - rw + 1))
            m[y : y + rh, x : x + rw] = 1.0
    else:
        yy, xx = np.mgrid[:h, :w]
        for _ in range(int(rng.integers(1, 4))):
            y, x = rng.uniform(0, h), rng.uniform(0, w)
            radius = rng.uniform(1, max(2.0, min(h, w) / 16))
            for _ in range(int(rng.integers(4, 10))):
                angle, step = rng.uniform(0, 2 * np.pi), rng.uniform(2, max(3.0, min(h, w) / 6))
                for t in np.linspace(0, 1, 6):
                    cy, cx = y + t * step * np.sin(angle), x + t * step * np.cos(angle)
                    m[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2] = 1.0
                y = float(np.clip(y + step * np.sin(angle), 0, h - 1))
                x = float(np.clip(x + step * np.cos(angle), 0, w - 1))
    return m


def calibration_samples(
    calibration_data=None,
    num_samples: int = 32,
    size: tuple[int, int] = (256, 256),
    seed: int = 0,
) -> list[dict[str, np.ndarray]]:
    """Real photos with generated masks, in the endpoint's input format.

    Args:
        calibration_data: ``None`` (the embedded default photos), a folder of images (searched
            recursively), a sequence of image paths, or a sequence of [H,W,3] arrays (uint8, or
            float in [0,1]).
        num_samples: samples to return; photos are reused with different crops and masks.
        size: ``(H, W)`` of the crops.
        seed: seeds crops and masks.

    Returns:
        A list of ``{"image": [1,H,W,3] float32, "mask": [1,H,W,1] float32}``.

    Raises:
        ValueError: no readable image was found.
    """
    if calibration_data is None:
        sources, where = default_photo_paths(), "the default photos"
    elif isinstance(calibration_data, (str, os.PathLike)):
        where = os.fspath(calibration_data)
        if not os.path.isdir(where):
            raise ValueError(f"calibration_data: {where} is not a directory")
        sources = _image_files(where)
    else:
        sources, where = list(calibration_data), "calibration_data"
    photos = []
    for s in sources:
        if isinstance(s, (str, os.PathLike)):
            img = _read_rgb01(os.fspath(s))
            if img is not None:
                photos.append(img)
        else:
            photos.append(_as_rgb01(s))
    if not photos:
        raise ValueError(f"calibration_data: no readable images in {where}")
    rng = np.random.default_rng(seed)
    h, w = size
    samples = []
    for i in range(num_samples):
        image = _random_crop(photos[i % len(photos)], h, w, rng)
        mask = calibration_mask(rng, h, w)
        samples.append({"image": image[None].astype(np.float32), "mask": mask[None, ..., None]})
    return samples


# -- checks on the flatbuffer -------------------------------------------------------------------

_BUILTIN_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def tflite_ops(model_bytes: bytes) -> list[str]:
    """Names of every operator in every subgraph, in order (``"CUSTOM:<code>"`` for custom ops).

    Flex ops (TF ops run by the Select-TF delegate) appear as ``"CUSTOM:Flex<Op>"``.
    """
    model = schema.Model.GetRootAs(model_bytes, 0)
    names = []
    for s in range(model.SubgraphsLength()):
        sub = model.Subgraphs(s)
        for i in range(sub.OperatorsLength()):
            code = model.OperatorCodes(sub.Operators(i).OpcodeIndex())
            # Codes above 127 live in builtin_code; deprecated_builtin_code saturates at 127.
            op = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            if op == schema.BuiltinOperator.CUSTOM:
                custom = code.CustomCode()
                names.append("CUSTOM:" + (custom.decode() if custom else "?"))
            else:
                names.append(_BUILTIN_NAMES.get(op, f"BUILTIN_{op}"))
    return names


def check_builtin_ops(ops: Iterable[str], where: str = "model") -> None:
    """Raises ``TFLiteCheckError`` if any op is custom or Flex (not runnable by plain LiteRT)."""
    bad = sorted({op for op in ops if op.startswith("CUSTOM") or op.lower().startswith("flex")})
    if bad:
        raise TFLiteCheckError(f"{where}: non-builtin ops {bad}; only TFLite builtin ops allowed")


def expected_bytes(params: int, mode: str) -> int:
    """Bytes the weights of ``params`` parameters take in a ``mode`` build."""
    return int(params) * BYTES_PER_PARAM[mode]


def check_tflite_size(
    num_bytes: int, params: int, mode: str, min_ratio: float = 0.5, where: str = "model"
) -> float:
    """Raises if a build is far smaller than its weights: the sign of a weightless conversion.

    Args:
        num_bytes: size of the ``.tflite`` flatbuffer.
        params: parameters of the generator it was converted from.
        mode: one of :data:`MODES`.
        min_ratio: smallest accepted ``num_bytes / expected_bytes``.
        where: names the model in the message.

    Returns:
        ``num_bytes / expected_bytes(params, mode)``.

    Raises:
        TFLiteCheckError: the file is smaller than ``min_ratio`` of the expected size.
    """
    expected = expected_bytes(params, mode)
    ratio = num_bytes / max(expected, 1)
    if ratio < min_ratio:
        raise TFLiteCheckError(
            f"{where}: {num_bytes} bytes is far smaller than the {expected} bytes its {params} "
            f"parameters need in {mode} (ratio {ratio:.2f} < {min_ratio}); the weights are "
            "missing. Was it converted from tf.saved_model.save of a Keras 3 model? Export "
            "with keras.export.ExportArchive or model.export instead."
        )
    return ratio


def weight_bytes(model_bytes: bytes) -> int:
    """Sum of the constant buffers' sizes (weights and other constants)."""
    model = schema.Model.GetRootAs(model_bytes, 0)
    return sum(model.Buffers(i).DataLength() for i in range(model.BuffersLength()))


# -- metadata -----------------------------------------------------------------------------------


class _AlignedBuilder(flatbuffers.Builder):
    # The Python object API aligns byte vectors to 1; the C++ writer aligns buffers to 16.
    def StartVector(self, elemSize, numElems, alignment):  # noqa: N802, N803
        if elemSize == 1 and numElems >= _BUFFER_ALIGNMENT:
            alignment = max(alignment, _BUFFER_ALIGNMENT)
        return super().StartVector(elemSize, numElems, alignment)


def add_metadata(model_bytes: bytes, metadata: dict, name: str = METADATA_NAME) -> bytes:
    """Returns the model with ``metadata`` stored as JSON in the metadata buffer ``name``.

    An existing entry of the same name is replaced. Constant buffers stay 16-byte aligned.
    """
    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    payload = np.frombuffer(json.dumps(metadata, sort_keys=True).encode(), np.uint8)
    buffer = schema.BufferT()
    buffer.data = payload
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if m.name not in (name, name.encode())]
    model.metadata.append(entry)
    builder = _AlignedBuilder(len(model_bytes) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def read_metadata(model_or_path, name: str = METADATA_NAME) -> dict | None:
    """Returns the JSON metadata ``name`` of a ``.tflite`` (path or bytes), or ``None``."""
    data = model_or_path
    if isinstance(model_or_path, (str, os.PathLike)):
        with open(model_or_path, "rb") as f:
            data = f.read()
    model = schema.Model.GetRootAs(data, 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name() and entry.Name().decode() == name:
            raw = model.Buffers(entry.Buffer()).DataAsNumpy()
            return json.loads(bytes(raw).decode())
    return None


# -- conversion ---------------------------------------------------------------------------------


def convert_saved_model(
    saved_model_dir: str,
    mode: str = "fp32",
    params: int | None = None,
    representative_data: Sequence[dict] | None = None,
    io: str = "float",
    min_size_ratio: float = 0.5,
) -> tuple[bytes, list[str]]:
    """Converts a SavedModel's ``serving_default`` with builtin ops only, then checks the result.

    Args:
        saved_model_dir: a SavedModel from ``ExportArchive`` or ``model.export``.
        mode: ``"fp32"``, ``"dynamic"`` (dynamic-range int8 weights), ``"fp16"`` (float16
            weights) or ``"int8"`` (full-integer, needs ``representative_data``).
        params: parameters the model should hold; enables the size check.
        representative_data: int8 calibration samples keyed by input name.
        io: ``"float"`` or ``"uint8"`` inputs and output (int8 only).
        min_size_ratio: see :func:`check_tflite_size`.

    Returns:
        ``(flatbuffer bytes, op names)``.

    Raises:
        ValueError: bad ``mode``/``io`` or missing calibration data.
        TFLiteCheckError: custom/Flex ops, or a file far smaller than its weights.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if io not in IOS:
        raise ValueError(f"io must be one of {IOS}, got {io!r}")
    if io != "float" and mode != "int8":
        raise ValueError(f"io={io!r} needs mode='int8' (only full-integer builds take uint8)")
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, [SIGNATURE_KEY])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode != "fp32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    if mode == "int8":
        if not representative_data:
            raise ValueError("mode='int8' needs representative_data (calibration samples)")
        samples = list(representative_data)
        converter.representative_dataset = lambda: iter(samples)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if io == "uint8":
            converter.inference_input_type = tf.uint8
            converter.inference_output_type = tf.uint8
    model_bytes = converter.convert()
    ops = tflite_ops(model_bytes)
    check_builtin_ops(ops, where=f"{mode} build of {saved_model_dir}")
    if params is not None:
        check_tflite_size(
            len(model_bytes),
            params,
            mode,
            min_size_ratio,
            where=f"{mode} build of {saved_model_dir}",
        )
    return model_bytes, ops


def make_readable(path: str) -> None:
    """Gives ``path`` the umask's permissions (atomic writes leave temporary files at 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _normalise_size(fixed_size) -> tuple[int, int] | None:
    if fixed_size is None:
        return None
    if isinstance(fixed_size, int):
        fixed_size = (fixed_size, fixed_size)
    h, w = (int(v) for v in fixed_size)
    if h <= 0 or w <= 0:
        raise ValueError(f"fixed_size must be positive, got {fixed_size!r}")
    return h, w


def export_tflite(
    generator_or_path,
    out_path: str,
    mode: str = "fp32",
    calibration_data=None,
    num_calibration: int = 32,
    io: str = "float",
    fixed_size: int | tuple[int, int] | None = None,
    pad_inside: bool = False,
    dilated_conv: str = "native",
    calibration_size: int = 256,
    saved_model_dir: str | None = None,
    min_size_ratio: float = 0.5,
    seed: int = 0,
) -> dict[str, Any]:
    """Converts the generator to a checked ``.tflite`` with the inpainting endpoint.

    Args:
        generator_or_path: see :func:`load_generator`.
        out_path: the ``.tflite`` file to write (atomically).
        mode: ``"fp32"``, ``"dynamic"`` (int8 weights, float activations), ``"fp16"`` (float16
            weights) or ``"int8"`` (full-integer, calibrated).
        calibration_data: int8 calibration photos; see :func:`calibration_samples`.
        num_calibration: int8 calibration samples (photo crops with generated masks).
        io: ``"float"`` or ``"uint8"`` input/output tensors (int8 only).
        fixed_size: ``H`` or ``(H, W)`` for a static signature; ``None`` for dynamic H and W.
        pad_inside: mirror-pad to the pad multiple inside the graph so any H, W works.
        dilated_conv: ``"native"`` (dilated ``CONV_2D``, default: faster, same numbers) or
            ``"space_to_batch"`` (Keras's own lowering; kept for comparison).
        calibration_size: side of the calibration crops when ``fixed_size`` is ``None``.
        saved_model_dir: keep the intermediate SavedModel here (default: a temporary folder).
        min_size_ratio: see :func:`check_tflite_size`.
        seed: seeds calibration crops and masks.

    Returns:
        A report dict: ``path``, ``mode``, ``io``, ``bytes``, ``params``, ``expected_bytes``,
        ``size_ratio``, ``weight_bytes``, ``ops`` (sorted unique names), ``op_counts``,
        ``pad_multiple``, ``fixed_size``, ``pad_inside``, ``dilated_conv``, ``inputs``,
        ``input_order`` (positional), ``outputs``, ``calibration``, ``convert_seconds``,
        ``metadata``.

    Raises:
        ValueError: bad arguments (mode, io, size not a multiple, no calibration images).
        TFLiteCheckError: the build has custom/Flex ops or is far smaller than its weights.

    Example:
        >>> r = export_tflite("runs/x/generator.keras", "g.tflite", mode="fp16")  # doctest: +SKIP
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if dilated_conv not in DILATED_CONVS:
        raise ValueError(f"dilated_conv must be one of {DILATED_CONVS}, got {dilated_conv!r}")
    if io not in IOS:
        raise ValueError(f"io must be one of {IOS}, got {io!r}")
    if io != "float" and mode != "int8":
        raise ValueError(f"io={io!r} needs mode='int8' (only full-integer builds take uint8)")
    generator = load_generator(generator_or_path)
    multiple = pad_multiple_of(generator)
    size = _normalise_size(fixed_size)
    if size and not pad_inside and (size[0] % multiple or size[1] % multiple):
        raise ValueError(
            f"fixed_size {size} is not a multiple of the pad multiple {multiple}; "
            "pick a multiple or set pad_inside=True"
        )
    params = int(generator.count_params())
    traced = (
        native_dilation_clone(generator)
        if dilated_conv == "native"
        else keras_dilation_clone(generator)
    )

    calibration = None
    samples = None
    if mode == "int8":
        calib_size = size or (calibration_size, calibration_size)
        if not pad_inside:
            calib_size = tuple(-(-s // multiple) * multiple for s in calib_size)
        samples = calibration_samples(calibration_data, num_calibration, calib_size, seed)
        calibration = {
            "source": "default photos"
            if calibration_data is None
            else (
                os.fspath(calibration_data)
                if isinstance(calibration_data, (str, os.PathLike))
                else "arrays"
            ),
            "num_samples": len(samples),
            "size": list(calib_size),
            "masks": "generated: centre squares, rectangles, strokes",
        }

    start = time.perf_counter()
    archive = build_tflite_archive(traced, size, pad_inside, mode == "int8", multiple)
    with contextlib.ExitStack() as stack:
        sm_dir = saved_model_dir or stack.enter_context(tempfile.TemporaryDirectory())
        archive.write_out(sm_dir, verbose=False)
        model_bytes, ops = convert_saved_model(sm_dir, mode, params, samples, io, min_size_ratio)
    ratio = len(model_bytes) / expected_bytes(params, mode)
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_bytes)
    runner = interpreter.get_signature_runner(SIGNATURE_KEY)
    by_index = {d["index"]: name for name, d in runner.get_input_details().items()}
    # The converter orders positional inputs by reverse name (mask, image), whatever the
    # endpoint's argument order; recorded so index-based callers need not guess.
    input_order = [by_index[d["index"]] for d in interpreter.get_input_details()]
    metadata = {
        "version": METADATA_VERSION,
        "signature": SIGNATURE_KEY,
        "inputs": list(INPUT_NAMES),
        "input_order": input_order,
        "output": OUTPUT_NAME,
        "value_range": [0.0, 1.0],
        "mask": "1 = hole",
        "pad_multiple": multiple,
        "pad_inside": bool(pad_inside),
        "fixed_size": list(size) if size else None,
        "mode": mode,
        "io": io,
        "compositing": "select (mask > 0.5)" if mode == "int8" else "mask*fill + (1-mask)*image",
        "params": params,
        "generator": generator.name,
    }
    model_bytes = add_metadata(model_bytes, metadata)
    with atomic_path(out_path) as tmp, open(tmp, "wb") as f:
        f.write(model_bytes)
    make_readable(out_path)
    seconds = time.perf_counter() - start

    def describe(details):
        return {
            name: {
                "shape_signature": [int(v) for v in d["shape_signature"]],
                "dtype": np.dtype(d["dtype"]).name,
                "quantization": [float(d["quantization"][0]), int(d["quantization"][1])],
            }
            for name, d in details.items()
        }

    return {
        "path": os.fspath(out_path),
        "mode": mode,
        "io": io,
        "bytes": len(model_bytes),
        "params": params,
        "expected_bytes": expected_bytes(params, mode),
        "size_ratio": round(ratio, 3),
        "weight_bytes": weight_bytes(model_bytes),
        "ops": sorted(set(ops)),
        "op_counts": dict(sorted(collections.Counter(ops).items())),
        "pad_multiple": multiple,
        "fixed_size": list(size) if size else None,
        "pad_inside": bool(pad_inside),
        "dilated_conv": dilated_conv,
        "inputs": describe(runner.get_input_details()),
        "input_order": input_order,
        "outputs": describe(runner.get_output_details()),
        "calibration": calibration,
        "convert_seconds": round(seconds, 2),
        "metadata": metadata,
    }


# -- running a build ----------------------------------------------------------------------------


def _binary_mask(mask) -> np.ndarray:
    from keras_pggan.masks import as_hole_mask

    return as_hole_mask(mask)


class TFLiteInpainter:
    """Runs a ``.tflite`` build from :func:`export_tflite` with the LiteRT interpreter.

    Pads on the host to the pad multiple stored in the model's metadata (or to a fixed size),
    resizes the interpreter's inputs when the shape changes, handles uint8 I/O quantization, and
    re-composites on the host so known pixels are exactly the input's whatever the build.

    Args:
        model: a ``.tflite`` path or its bytes.
        num_threads: LiteRT CPU threads (``None``: LiteRT's default).
        pad_multiple: overrides the metadata (needed for builds without ``keras_pggan`` metadata).

    Raises:
        ValueError: the model lacks the endpoint, or no pad multiple is known.

    Example:
        >>> inpainter = TFLiteInpainter("g-int8.tflite", num_threads=2)    # doctest: +SKIP
        >>> out = inpainter(image01, mask)   # [H,W,3] float32 in [0,1]     # doctest: +SKIP
    """

    def __init__(self, model, num_threads: int | None = None, pad_multiple: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        if isinstance(model, (str, os.PathLike)):
            self.path = os.fspath(model)
            with open(self.path, "rb") as f:
                model = f.read()
        else:
            self.path = None
        self.metadata = read_metadata(model) or {}
        self.pad_multiple = pad_multiple or self.metadata.get("pad_multiple")
        if not self.pad_multiple:
            raise ValueError(f"{self.path or 'model'}: no keras_pggan metadata; pass pad_multiple")
        self.pad_inside = bool(self.metadata.get("pad_inside", False))
        self.interpreter = Interpreter(model_content=model, num_threads=num_threads)
        signatures = self.interpreter.get_signature_list()
        if SIGNATURE_KEY not in signatures:
            raise ValueError(f"{self.path or 'model'}: no {SIGNATURE_KEY!r} signature")
        runner = self.interpreter.get_signature_runner(SIGNATURE_KEY)
        self.inputs = runner.get_input_details()
        self.output = runner.get_output_details()[OUTPUT_NAME]
        sig = self.inputs[INPUT_NAMES[0]]["shape_signature"]
        self.fixed_size = None if sig[1] < 0 or sig[2] < 0 else (int(sig[1]), int(sig[2]))
        self._shape = None

    def _padded_size(self, h: int, w: int) -> tuple[int, int]:
        if self.fixed_size:
            fh, fw = self.fixed_size
            if h > fh or w > fw:
                raise ValueError(f"image {h}x{w} is larger than the model's fixed size {fh}x{fw}")
            return fh, fw
        if self.pad_inside:
            return h, w
        m = self.pad_multiple
        return -(-h // m) * m, -(-w // m) * m

    def _set(self, name: str, value: np.ndarray) -> None:
        details = self.inputs[name]
        if details["dtype"] == np.uint8:
            scale, zero = details["quantization"]
            value = np.clip(np.round(value / scale + zero), 0, 255).astype(np.uint8)
        self.interpreter.set_tensor(details["index"], value.astype(details["dtype"], copy=False))

    def run_padded(self, image01: np.ndarray, mask01: np.ndarray) -> np.ndarray:
        """Runs the model once on [1,H,W,3] / [1,H,W,1] arrays already at a valid size.

        Returns:
            The model's ``inpainted`` output as float32 [1,H,W,3] (dequantized for uint8 I/O).
        """
        shape = image01.shape
        if shape != self._shape:
            self.interpreter.resize_tensor_input(self.inputs["image"]["index"], list(shape))
            self.interpreter.resize_tensor_input(self.inputs["mask"]["index"], [*shape[:3], 1])
            self.interpreter.allocate_tensors()
            self._shape = shape
        self._set("image", image01)
        self._set("mask", mask01)
        self.interpreter.invoke()
        out = self.interpreter.get_tensor(self.output["index"])
        if self.output["dtype"] == np.uint8:
            scale, zero = self.output["quantization"]
            out = (out.astype(np.float32) - zero) * scale
        return out.astype(np.float32, copy=False)

    def __call__(self, image, mask) -> np.ndarray:
        """Inpaints one image.

        Args:
            image: [H,W,3] uint8, or float in [0,1].
            mask: [H,W] (or [H,W,1]) bool or {0,1}; 8-bit masks: >= 128 is a hole.

        Returns:
            float32 [H,W,3] in [0,1]; known pixels equal the input's.

        Raises:
            ValueError: bad shapes, an image larger than a fixed-size build, a dtype other than
                uint8 / float (image) or bool / integer / float (mask), NaN or Inf values.
        """
        image01 = _as_rgb01(image)
        holes = _binary_mask(mask)
        h, w = image01.shape[:2]
        if holes.shape != (h, w):
            raise ValueError(f"mask shape {holes.shape} does not match image {h}x{w}")
        if not holes.any():  # nothing to fill (also an image with no pixels): the input as is
            return image01.copy()
        ph, pw = self._padded_size(h, w)
        pad = ((0, ph - h), (0, pw - w))
        # Image and mask mirror together so mirrored hole pixels stay holes (as pad_inside does).
        x = np.pad(image01, (*pad, (0, 0)), mode="symmetric")
        m = np.pad(holes.astype(np.float32), pad, mode="symmetric")
        out = self.run_padded(x[None], m[None, ..., None])[0, :h, :w]
        return np.where(holes[..., None], np.clip(out, 0.0, 1.0), image01)


def run_tflite(
    path, image01, mask, num_threads: int | None = None, pad_multiple: int | None = None
) -> np.ndarray:
    """One-shot :class:`TFLiteInpainter`: inpaints ``image01`` [H,W,3] with ``mask`` [H,W].

    Returns:
        float32 [H,W,3] in [0,1]; known pixels equal the input's.
    """
    return TFLiteInpainter(path, num_threads=num_threads, pad_multiple=pad_multiple)(image01, mask)


def model_card_section(report: dict[str, Any], title: str | None = None) -> str:
    """A markdown model-card section for one build from an :func:`export_tflite` report."""
    name = os.path.basename(report["path"])
    inputs = report["inputs"]
    mode, io = report["mode"], report["io"]
    size = report["fixed_size"]
    shape = f"{size[0]}×{size[1]}" if size else "H×W (dynamic)"
    what = {
        "fp32": "float32 weights and activations",
        "dynamic": "dynamic-range quantization: int8 weights, float activations",
        "fp16": "float16 weights (dequantized to float32 at load), float32 activations",
        "int8": "full-integer quantization: int8 weights and activations, calibrated on "
        f"{(report['calibration'] or {}).get('num_samples')} photo crops with "
        "generated masks",
    }[mode]
    if io == "uint8":
        image_in = "uint8 [1,H,W,3], 0–255"
        mask_in = "uint8 [1,H,W,1], 255 = hole, 0 = known"
        out = "uint8 [1,H,W,3], 0–255"
        arrays = "image uint8 [1,H,W,3], mask uint8 [1,H,W,1] (255 = hole)"
    else:
        arrays = "image float32 [1,H,W,3] in [0,1], mask float32 [1,H,W,1] (1 = hole)"
        image_in = "float32 [1,H,W,3] in [0,1]"
        mask_in = "float32 [1,H,W,1], 1 = hole, 0 = known"
        out = "float32 [1,H,W,3] in [0,1]"
    if report["pad_inside"]:
        padding = "any H, W: the model mirror-pads inside and crops back"
        hw = "any H, W"
    elif size:
        padding = f"inputs must be exactly {shape}; pad smaller images (symmetric) first"
        hw = f"H×W = {shape}"
    else:
        padding = (
            f"H and W must be multiples of {report['pad_multiple']}: pad the image and "
            "the mask together (symmetric) at the bottom/right, crop the output back"
        )
        hw = f"H, W multiples of {report['pad_multiple']}"
    quant = "; ".join(
        f"`{k}` scale {v['quantization'][0]:.6g}, zero point {v['quantization'][1]}"
        for k, v in [*inputs.items(), *report["outputs"].items()]
        if v["dtype"] == "uint8"
    )
    lines = [
        f"### {title or name}",
        "",
        f"- File: `{name}`, {report['bytes'] / 1e6:.2f} MB ({report['size_ratio']:.2f}× the "
        f"{BYTES_PER_PARAM[mode]} byte(s) × {report['params']:,} parameters its weights need)",
        f"- Build: {what}; builtin ops only: {', '.join(report['ops'])}",
        f"- Signature `{SIGNATURE_KEY}`, inputs by name: `image` {image_in}; `mask` {mask_in}. "
        f"Positional order (`get_input_details()`): {', '.join(report['input_order'])}",
        f"- Output `{OUTPUT_NAME}` {out}: composited inside the graph "
        f"({report['metadata']['compositing']}), so known pixels are the input's",
        f"- Size: {shape}; {padding}",
    ]
    if quant:
        lines.append(f"- uint8 quantization: {quant}")
    lines += [
        f"- Metadata: JSON in the `{METADATA_NAME}` metadata buffer (pad multiple, I/O contract)",
        "",
        "```python",
        "from keras_pggan.tflite import run_tflite",
        "",
        "# out: [H,W,3] float in [0,1]",
        f'out = run_tflite("{name}", image01, mask, num_threads=2)',
        "",
        "# or with the LiteRT interpreter directly",
        "from ai_edge_litert.interpreter import Interpreter",
        "",
        f'it = Interpreter(model_path="{name}", num_threads=2)',
        f'runner = it.get_signature_runner("{SIGNATURE_KEY}")',
        f"# {arrays}; {hw}",
        f'out = runner(image=image, mask=mask)["{OUTPUT_NAME}"]  # resizes the inputs itself',
        "```",
        "",
    ]
    return "\n".join(lines)
