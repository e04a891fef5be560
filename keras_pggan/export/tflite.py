"""TFLite builds of the generator (fp32, dynamic-range, fp16, int8), converted and checked.

Example:
    >>> report = export_tflite("runs/x/generator.keras", "saved_models/pggan_dres-int8.tflite",
    ...                        mode="int8")                                  # doctest: +SKIP
    >>> report["ops"]                                                        # doctest: +SKIP
    ['ADD', 'CONCATENATION', 'CONV_2D', ...]
    >>> from keras_pggan.inference.backends import run_tflite
    >>> out = run_tflite("saved_models/pggan_dres-int8.tflite", image01, mask)  # doctest: +SKIP

Every build goes through a SavedModel written by ``keras.export.ExportArchive`` with a TFLite-only
endpoint (no string ops, no asserts), then ``tf.lite.TFLiteConverter.from_saved_model`` with builtin
ops only. A Keras 3 model saved with ``tf.saved_model.save`` instead converts "successfully" into a
weightless model, so each build is checked against the size its weights need and against custom or
Flex ops (``TFLiteCheckError``). Every generator option converts with builtin ops: TFLite has no
bicubic resize, so ``upsample_interpolation="bicubic"`` is computed by fixed filters inside
:class:`keras_pggan.models.layers.ResizeUpsample` (the same graph in Keras; nothing is substituted
here),
and ``upsample="transposed"`` becomes ``TRANSPOSE_CONV``.

The endpoint (signature ``serving_default``; address inputs by name: the converter puts them in
reverse name order, so ``get_input_details()`` lists ``mask`` (index 0) before ``image``) is
:func:`keras_pggan.inference.fill.fill_holes`, the graph every backend runs:

* ``image`` float32 [1,H,W,3] in [0,1] (uint8 [0,255] for ``io="uint8"``),
* ``mask`` float32 [1,H,W,1], 1 = hole (uint8 255 = hole for ``io="uint8"``),
* output ``inpainted`` [1,H,W,3] in [0,1], composited inside the graph (known pixels are kept).

H and W are dynamic (``Interpreter.resize_tensor_input``) unless ``fixed_size`` is given, and must
be multiples of the pad multiple unless the build pads inside (``pad_inside=True``). The multiple
and the rest of this contract are embedded as JSON in the model's ``keras_pggan`` metadata buffer
(:func:`keras_pggan.inference.backends.read_metadata`), which
:class:`keras_pggan.inference.backends.TFLiteInpainter`
reads to pad on the host. This module converts and checks; running a build is
:mod:`keras_pggan.inference.backends`' job (``TFLiteInpainter``, ``run_tflite`` and
``read_metadata`` are
re-exported here, where the docs and model cards have always imported them).
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import tempfile
import time
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import flatbuffers
import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert import schema_py_generated as schema

from keras_pggan.export.calibration import calibration_samples

# TFLiteInpainter, read_metadata and run_tflite are re-exported (docs and model cards import them).
from keras_pggan.inference.backends import (  # noqa: F401
    METADATA_NAME,
    TFLiteInpainter,
    read_metadata,
    run_tflite,
)
from keras_pggan.inference.fill import fill_holes, round_up
from keras_pggan.io_utils import atomic_path
from keras_pggan.models.generator import all_layers, pad_multiple_of
from keras_pggan.models.saved import load_generator
from keras_pggan.signatures import DEFAULT_SIGNATURE, IMAGE, INPUTS, MASK, OUTPUT

MODES = ("fp32", "dynamic", "fp16", "int8")
IOS = ("float", "uint8")
DILATED_CONVS = ("native", "space_to_batch")
# Bytes each generator parameter needs in the file for each mode (int8 biases are int32 but are a
# negligible share of the weights).
BYTES_PER_PARAM = {"fp32": 4, "dynamic": 1, "fp16": 2, "int8": 1}
METADATA_VERSION = 1
# TFLite kernels and mmap readers expect constant buffers aligned like the C++ writer leaves them.
_BUFFER_ALIGNMENT = 16


class TFLiteCheckError(ValueError):
    """A converted model failed a check (weightless file, custom or Flex ops)."""


# -- the generator and its TFLite endpoint ----------------------------------------------------


class _NativeDilatedConv2D(keras.layers.Conv2D):
    """``Conv2D`` whose dilated convolution is one ``Conv2D`` op with a ``dilations`` attribute.

    ``tf.nn.convolution`` (Keras's path) wraps dilated convolutions in SpaceToBatchND /
    BatchToSpaceND. With dynamic H and W the converter cannot fold that back into a dilated
    ``CONV_2D`` and keeps 12+ shape ops per convolution; ``tf.nn.conv2d`` emits the dilated op
    directly. Same weights, same numbers (tested); used only for export tracing.
    """

    def convolution_op(self, inputs, kernel):
        from keras_pggan.models.layers import native_conv2d

        return native_conv2d(self, inputs, kernel)


def keras_dilation_clone(generator: keras.Model) -> keras.Model:
    """Returns a copy of ``generator`` whose dilated convolutions use Keras's own lowering.

    The opposite of :func:`native_dilation_clone`: :class:`keras_pggan.models.layers.DilatedConv2D`
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
        for layer in all_layers(generator)
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
        for layer in all_layers(generator)
        if isinstance(layer, keras.layers.Conv2D) and tuple(layer.dilation_rate) != (1, 1)
    ]
    if not dilated:
        return generator
    copy = keras.models.clone_model(generator, clone_function=clone)
    copy.set_weights(generator.get_weights())
    return copy


def _make_endpoint(generator: keras.Model, pad_multiple: int, pad_inside: bool, quantized: bool):
    def serve(image, mask):
        out = fill_holes(
            generator,
            image,
            mask,
            pad_multiple=pad_multiple if pad_inside else None,
            int8_ranges=quantized,
        )
        if pad_inside:
            # The in-graph padding reshapes to a dynamic batch; keep the signature's batch of 1.
            out = tf.reshape(out, tf.shape(image))
        return {OUTPUT: out}

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
        DEFAULT_SIGNATURE,
        _make_endpoint(generator, multiple, pad_inside, quantized),
        input_signature=[
            tf.TensorSpec([1, h, w, 3], tf.float32, name=IMAGE),
            tf.TensorSpec([1, h, w, 1], tf.float32, name=MASK),
        ],
    )
    return archive


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


# -- conversion ---------------------------------------------------------------------------------


def _check_mode_io(mode: str, io: str) -> None:
    """Raises ``ValueError`` for an unknown ``mode`` or ``io``, or uint8 I/O without int8."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if io not in IOS:
        raise ValueError(f"io must be one of {IOS}, got {io!r}")
    if io != "float" and mode != "int8":
        raise ValueError(f"io={io!r} needs mode='int8' (only full-integer builds take uint8)")


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
    _check_mode_io(mode, io)
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, [DEFAULT_SIGNATURE])
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
    with warnings.catch_warnings():
        # int8 calibration runs TensorFlow's own tf.lite.Interpreter inside the converter, which
        # warns that it is deprecated: not ours to act on (this project runs LiteRT).
        warnings.filterwarnings("ignore", message=r"(?s).*tf\.lite\.Interpreter is deprecated")
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


def _calibration_record(calibration_data, num_samples: int, size) -> dict:
    """What the int8 build was calibrated on, for its report."""
    if calibration_data is None:
        source = "default photos"
    elif isinstance(calibration_data, (str, os.PathLike)):
        source = os.fspath(calibration_data)
    else:
        source = "arrays"
    return {
        "source": source,
        "num_samples": num_samples,
        "size": list(size),
        "masks": "generated: centre squares, rectangles, strokes",
    }


def _describe_tensors(details: dict) -> dict:
    """A signature runner's tensor details as JSON: shape signature, dtype, quantization."""
    return {
        name: {
            "shape_signature": [int(v) for v in d["shape_signature"]],
            "dtype": np.dtype(d["dtype"]).name,
            "quantization": [float(d["quantization"][0]), int(d["quantization"][1])],
        }
        for name, d in details.items()
    }


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
    _check_mode_io(mode, io)
    if dilated_conv not in DILATED_CONVS:
        raise ValueError(f"dilated_conv must be one of {DILATED_CONVS}, got {dilated_conv!r}")
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

    calibration = samples = None
    if mode == "int8":
        calib_size = size or (calibration_size, calibration_size)
        if not pad_inside:
            calib_size = tuple(round_up(s, multiple) for s in calib_size)
        samples = calibration_samples(calibration_data, num_calibration, calib_size, seed)
        calibration = _calibration_record(calibration_data, len(samples), calib_size)

    start = time.perf_counter()
    archive = build_tflite_archive(traced, size, pad_inside, mode == "int8", multiple)
    with contextlib.ExitStack() as stack:
        sm_dir = saved_model_dir or stack.enter_context(tempfile.TemporaryDirectory())
        archive.write_out(sm_dir, verbose=False)
        model_bytes, ops = convert_saved_model(sm_dir, mode, params, samples, io, min_size_ratio)
    ratio = len(model_bytes) / expected_bytes(params, mode)
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_bytes)
    runner = interpreter.get_signature_runner(DEFAULT_SIGNATURE)
    by_index = {d["index"]: name for name, d in runner.get_input_details().items()}
    # The converter orders positional inputs by reverse name (mask, image), whatever the
    # endpoint's argument order; recorded so index-based callers need not guess.
    input_order = [by_index[d["index"]] for d in interpreter.get_input_details()]
    metadata = {
        "version": METADATA_VERSION,
        "signature": DEFAULT_SIGNATURE,
        "inputs": list(INPUTS[DEFAULT_SIGNATURE]),
        "input_order": input_order,
        "output": OUTPUT,
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
        "inputs": _describe_tensors(runner.get_input_details()),
        "input_order": input_order,
        "outputs": _describe_tensors(runner.get_output_details()),
        "calibration": calibration,
        "convert_seconds": round(seconds, 2),
        "metadata": metadata,
    }
