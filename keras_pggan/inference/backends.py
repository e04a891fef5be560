"""Inference backends: a Keras generator, an exported SavedModel or a ``.tflite`` build.

Each backend has ``name``, ``pad_multiple`` and ``run(image01, mask01)``: float32 [B,H,W,3] in
[0,1] and [B,H,W,1] (1 = hole) → the composited float32 [B,H,W,3] at the input's size. The Keras
backend pads on the host with :func:`keras_pggan.inference.fill.pad_to_multiple` and runs
:func:`keras_pggan.inference.fill.fill_holes` (the graph the SavedModel and TFLite builds
export); the SavedModel pads inside its graph; the TFLite runner pads on the host like the
Keras backend (or to the build's fixed size, or not at all for ``pad_inside`` builds). All three
agree within :data:`BACKEND_TOLERANCE_U8` uint8 levels (tested).

Example:
    >>> backend = load_backend("saved_models/pggan_dres")                   # doctest: +SKIP
    >>> out = run_tflite("g-int8.tflite", image01, mask, num_threads=2)     # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re

import numpy as np
import tensorflow as tf

from keras_pggan.data.imageio import as_float01, as_hole_mask
from keras_pggan.inference.fill import composite_np, fill_holes, pad_to_multiple
from keras_pggan.models.generator import pad_multiple_of
from keras_pggan.models.saved import GENERATOR, KERAS_EXT, generator_path, load_generator
from keras_pggan.signatures import DEFAULT_SIGNATURE, IMAGE, MASK, OUTPUT

# Backends agree on uint8 outputs within this many levels (tested): fp32 arithmetic differs by
# ~1e-5 between Keras, the SavedModel and LiteRT, which can flip a rounding by one level.
BACKEND_TOLERANCE_U8 = 1
# Name of the ``.tflite`` metadata buffer holding the build's contract as JSON (written by
# ``keras_pggan.export.tflite.export_tflite``).
METADATA_NAME = "keras_pggan"
# TF Serving's layout: a model base path holds one numeric folder per version (``<base>/3/``).
_VERSION = re.compile(r"[0-9]+")
SAVED_MODEL_FILE = "saved_model.pb"


# -- Keras and SavedModel ---------------------------------------------------------------------
class KerasBackend:
    """Runs a Keras generator; pads on the host to its pad multiple.

    Args:
        generator: a generator ``keras.Model`` (dict inputs ``image``, ``mask``).
    """

    name = "keras"

    def __init__(self, generator):
        self.generator = generator
        self.pad_multiple = pad_multiple_of(generator)
        self._fn = tf.function(lambda x, m: fill_holes(generator, x, m), reduce_retracing=True)

    def run(self, image01: np.ndarray, mask01: np.ndarray) -> np.ndarray:
        """float32 [B,H,W,3] in [0,1] and [B,H,W,1] → composited float32 [B,H,W,3]."""
        h, w = image01.shape[1:3]
        x, m = pad_to_multiple(image01, mask01, self.pad_multiple)
        return np.asarray(self._fn(x, m))[:, :h, :w]


class SavedModelBackend:
    """Runs the ``serving_default`` signature of an exported SavedModel (it pads inside).

    Args:
        path: the SavedModel directory.
    """

    name = "saved_model"
    pad_multiple = 1

    def __init__(self, path: str):
        self.path = path
        self._loaded = tf.saved_model.load(path)
        if DEFAULT_SIGNATURE not in self._loaded.signatures:
            raise ValueError(f"{path}: SavedModel has no {DEFAULT_SIGNATURE!r} signature")
        self._fn = self._loaded.signatures[DEFAULT_SIGNATURE]

    def run(self, image01: np.ndarray, mask01: np.ndarray) -> np.ndarray:
        """As :meth:`KerasBackend.run`."""
        out = self._fn(**{IMAGE: tf.constant(image01), MASK: tf.constant(mask01)})
        if OUTPUT not in out:
            raise ValueError(
                f"{self.path}: {DEFAULT_SIGNATURE} returned {sorted(out)}, no {OUTPUT!r}"
            )
        return out[OUTPUT].numpy()


# -- TFLite (LiteRT) ----------------------------------------------------------------------------
def read_metadata(model_or_path, name: str = METADATA_NAME) -> dict | None:
    """Returns the JSON metadata ``name`` of a ``.tflite`` (path or bytes), or ``None``."""
    from ai_edge_litert import schema_py_generated as schema

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


class TFLiteInpainter:
    """Runs a ``.tflite`` build from ``keras_pggan.export.tflite.export_tflite`` with LiteRT.

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
        if DEFAULT_SIGNATURE not in signatures:
            raise ValueError(f"{self.path or 'model'}: no {DEFAULT_SIGNATURE!r} signature")
        runner = self.interpreter.get_signature_runner(DEFAULT_SIGNATURE)
        self.inputs = runner.get_input_details()
        self.output = runner.get_output_details()[OUTPUT]
        sig = self.inputs[IMAGE]["shape_signature"]
        self.fixed_size = None if sig[1] < 0 or sig[2] < 0 else (int(sig[1]), int(sig[2]))
        self._shape = None

    def _pad(self, image01: np.ndarray, mask01: np.ndarray):
        """Pads [1,H,W,C] arrays to a size the build accepts (image and mask together)."""
        if self.fixed_size:
            (fh, fw), (h, w) = self.fixed_size, image01.shape[1:3]
            if h > fh or w > fw:
                raise ValueError(f"image {h}x{w} is larger than the model's fixed size {fh}x{fw}")
            pad = ((0, 0), (0, fh - h), (0, fw - w), (0, 0))
            return np.pad(image01, pad, mode="symmetric"), np.pad(mask01, pad, mode="symmetric")
        if self.pad_inside:
            return image01, mask01
        return pad_to_multiple(image01, mask01, self.pad_multiple)

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
            self.interpreter.resize_tensor_input(self.inputs[IMAGE]["index"], list(shape))
            self.interpreter.resize_tensor_input(self.inputs[MASK]["index"], [*shape[:3], 1])
            self.interpreter.allocate_tensors()
            self._shape = shape
        self._set(IMAGE, image01)
        self._set(MASK, mask01)
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
        image01 = as_float01(image)
        holes = as_hole_mask(mask)
        h, w = image01.shape[:2]
        if holes.shape != (h, w):
            raise ValueError(f"mask shape {holes.shape} does not match image {h}x{w}")
        if not holes.any():  # nothing to fill (also an image with no pixels): the input as is
            return image01.copy()
        x, m = self._pad(image01[None], holes[None, ..., None].astype(np.float32))
        out = self.run_padded(x, m)[0, :h, :w]
        return composite_np(np.clip(out, 0.0, 1.0), image01, holes)


def run_tflite(
    path, image01, mask, num_threads: int | None = None, pad_multiple: int | None = None
) -> np.ndarray:
    """One-shot :class:`TFLiteInpainter`: inpaints ``image01`` [H,W,3] with ``mask`` [H,W].

    Returns:
        float32 [H,W,3] in [0,1]; known pixels equal the input's.
    """
    return TFLiteInpainter(path, num_threads=num_threads, pad_multiple=pad_multiple)(image01, mask)


class TFLiteBackend:
    """Runs a ``.tflite`` build through :class:`TFLiteInpainter` (batch 1).

    Args:
        path: the ``.tflite`` file.
        num_threads: LiteRT CPU threads.
    """

    name = "tflite"

    def __init__(self, path: str, num_threads: int | None = None):
        self.path = path
        self.runner = TFLiteInpainter(path, num_threads=num_threads)
        self.pad_multiple = int(self.runner.pad_multiple)

    def run(self, image01: np.ndarray, mask01: np.ndarray) -> np.ndarray:
        """As :meth:`KerasBackend.run`, one image at a time."""
        return np.stack([self.runner(x, m[..., 0]) for x, m in zip(image01, mask01)])


# -- picking a backend ----------------------------------------------------------------------------
def is_version(name: str) -> bool:
    """Whether a folder name is a SavedModel version (TF Serving's numeric folders)."""
    return bool(_VERSION.fullmatch(name))


def latest_version(model_base_path: str, complete: bool = False) -> int | None:
    """The highest numeric version folder under ``model_base_path`` (``None`` if none).

    Args:
        model_base_path: a TF Serving model base path (``<base>/<version>/saved_model.pb``).
        complete: count only versions that hold a ``saved_model.pb`` (what can be loaded);
            otherwise every numeric folder counts (what a new version must not overwrite).
    """
    if not os.path.isdir(model_base_path):
        return None
    versions = [
        int(name)
        for name in os.listdir(model_base_path)
        if is_version(name)
        and os.path.isdir(os.path.join(model_base_path, name))
        and (not complete or os.path.exists(os.path.join(model_base_path, name, SAVED_MODEL_FILE)))
    ]
    return max(versions) if versions else None


def _find_saved_model(path: str) -> str | None:
    """``path`` itself, or its highest numeric version sub-directory (TF Serving layout)."""
    if os.path.exists(os.path.join(path, SAVED_MODEL_FILE)):
        return path
    version = latest_version(path, complete=True)
    return None if version is None else os.path.join(path, str(version))


def load_backend(path: str, num_threads: int | None = None):
    """Picks the backend for ``path``: ``.keras`` file or run directory, SavedModel, ``.tflite``.

    Args:
        path: a ``.keras`` file, a run directory holding ``generator.keras``, a SavedModel
            directory (a TF Serving ``<name>/<version>/`` folder picks the highest version), a
            ``.tflite`` file, or a shipped model's name (``pggan_dres``, ``pggan_dres-int8``,
            ...: :mod:`keras_pggan.models.shipped`).
        num_threads: LiteRT CPU threads (``.tflite`` only).

    Returns:
        A :class:`KerasBackend`, :class:`SavedModelBackend` or :class:`TFLiteBackend`.

    Raises:
        FileNotFoundError: nothing at ``path`` and no shipped model of that name.
        ValueError: ``path`` is none of the supported kinds.
    """
    from keras_pggan.models.shipped import resolve

    path = resolve(path)
    if os.path.isdir(path):
        saved_model = _find_saved_model(path)
        if saved_model:
            return SavedModelBackend(saved_model)
        if os.path.exists(generator_path(path)):
            path = generator_path(path)
        else:
            raise ValueError(
                f"{path}: directory holds neither a SavedModel ({SAVED_MODEL_FILE}) nor "
                f"{GENERATOR}{KERAS_EXT}"
            )
    if path.endswith(".tflite"):
        return TFLiteBackend(path, num_threads=num_threads)
    if path.endswith(KERAS_EXT):
        try:
            return KerasBackend(load_generator(path))
        except (OSError, ValueError, TypeError, KeyError) as e:
            raise ValueError(f"{path}: cannot load the Keras model ({e})") from None
    raise ValueError(f"{path}: expected a .keras file, a SavedModel directory or a .tflite file")
