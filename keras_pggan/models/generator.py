"""The PGGAN generator: an encoder–decoder ResNet (PGGAN-DRes or PGGAN-Res).

Example:
    >>> from keras_pggan.config import get_preset
    >>> g = build_generator(get_preset("tiny").generator)
    >>> out = g({"image": tf.zeros([1, 32, 48, 3]), "mask": tf.ones([1, 32, 48, 1])})
    >>> tuple(out.shape)
    (1, 32, 48, 3)
"""

from __future__ import annotations

import math
import os

import keras
import numpy as np
import tensorflow as tf

from keras_pggan.config import GeneratorConfig

# ce and glgan register the baselines' custom layers (keras_pggan.models.layers registers the
# rest), so
# every saved generator loads wherever this module is imported (load_generator, the runners).
from keras_pggan.models import (
    ce,  # noqa: F401
)
from keras_pggan.models.layers import (
    MaskedInput,
    ResizeUpsample,
    apply_conv_norm_act,
    apply_residual_block,
)


def build_generator(cfg: GeneratorConfig, name: str | None = None) -> keras.Model:
    """Builds the generator; the only function that reads ``GeneratorConfig``.

    Inputs (a dict): ``image`` [B,H,W,3] in [-1,1] and ``mask`` [B,H,W,1] (1 = hole). Holes are
    zeroed inside the graph (idempotent), so no caller can leak hole pixels into the network. H and
    W must be multiples of ``cfg.pad_multiple``; callers above (export, inpaint) pad.

    Layers: ``stem``, ``down{i}``, residual blocks ``res{i}`` (``cfg.block_type`` says which of
    their two convolutions is dilated), then per up-sampling either ``up{i}_resize`` +
    ``up{i}_conv`` (``cfg.upsample="resize_conv"``) or one transposed ``up{i}_conv``
    (``"transposed"``), and ``to_rgb``. The default options build the graph every saved model has.

    Output: the raw generator output [B,H,W,3] in [-1,1] (tanh). Compose it with
    :func:`composite` before showing or scoring it.

    Args:
        cfg: generator configuration.
        name: model name; defaults to ``f"pggan_{cfg.variant}_generator"``.

    Returns:
        A functional ``keras.Model``, fully convolutional (any H, W).

    Raises:
        ValueError: if ``cfg.variant`` is a baseline's (``"ce"``: ``ce.build_ce_generator``,
            ``"glgan"``: ``glgan.build_glgan_generator``).
    """
    if cfg.variant not in ("dres", "res"):
        raise ValueError(
            f"build_generator builds PGGAN generators ('dres', 'res'), not {cfg.variant!r}: use "
            f"keras_pggan.{cfg.variant}.build_{cfg.variant}_generator"
        )
    image = keras.Input((None, None, 3), name="image")
    mask = keras.Input((None, None, 1), name="mask")
    x = MaskedInput(cfg.hole_fill, name="masked_input")([image, mask])

    filters = min(cfg.base_filters, cfg.max_filters)
    x = apply_conv_norm_act(x, filters, cfg.stem_kernel_size, norm=cfg.norm, name="stem")
    encoder_filters = []
    for i in range(cfg.num_downsamplings):
        encoder_filters.append(filters)
        filters = min(filters * 2, cfg.max_filters)
        x = apply_conv_norm_act(x, filters, 3, strides=2, norm=cfg.norm, name=f"down{i + 1}")
    for i, rate in enumerate(cfg.dilation_rates):
        x = apply_residual_block(
            x, filters, rate, norm=cfg.norm, name=f"res{i + 1}", block_type=cfg.block_type
        )
    for i, up_filters in enumerate(reversed(encoder_filters)):
        if cfg.upsample == "transposed":
            x = apply_conv_norm_act(
                x, up_filters, 3, strides=2, norm=cfg.norm, name=f"up{i + 1}", transpose=True
            )
            continue
        x = ResizeUpsample(2, cfg.upsample_interpolation, name=f"up{i + 1}_resize")(x)
        x = apply_conv_norm_act(x, up_filters, 3, norm=cfg.norm, name=f"up{i + 1}")
    x = keras.layers.Conv2D(3, cfg.stem_kernel_size, padding="same", name="to_rgb_conv")(x)
    out = keras.layers.Activation("tanh", name="to_rgb_tanh", dtype="float32")(x)
    return keras.Model(
        {"image": image, "mask": mask}, out, name=name or f"pggan_{cfg.variant}_generator"
    )


def _float32_policies(node):
    """A copy of a model config with every layer's dtype policy set to float32."""
    if isinstance(node, dict):
        if node.get("class_name") == "DTypePolicy" and isinstance(node.get("config"), dict):
            return {**node, "config": {**node["config"], "name": "float32"}}
        return {k: _float32_policies(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_float32_policies(v) for v in node]
    return node


def as_float32(model: keras.Model) -> keras.Model:
    """The same functional model computing in float32 (same weights), e.g. after bf16 training.

    Models trained under ``mixed_bfloat16`` keep float32 variables but compute in bfloat16;
    saved as they are, they would run in bfloat16 everywhere they are loaded (emulated, and
    very slow, on CPUs without AVX512_BF16/AMX). Every saved generator goes through this.
    A model that already computes in float32 everywhere is returned as it is.
    """
    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return model
    clone = model.__class__.from_config(_float32_policies(model.get_config()))
    clone.set_weights(model.get_weights())
    return clone


def composite(generated, image, mask):
    """Keeps known pixels and takes the generator's pixels in holes: ``m·G(x) + (1−m)·x``.

    Works in any value range as long as ``generated`` and ``image`` share it.
    """
    return mask * generated + (1.0 - mask) * image


# -- the one inpaint function ----------------------------------------------------------------------
def _pin01(x):
    # A fake-quant node fixes this tensor's int8 range to exactly [0, 1] (scale 1/255): uint8
    # images then map to int8 without rounding and known pixels pass through unchanged.
    return tf.quantization.fake_quant_with_min_max_args(x, min=0.0, max=1.0, num_bits=8)


def _mirror_pad_to(x, target_h, target_w, channels: int, rounds: int):
    """Mirror-pads [B,h,w,C] at the bottom/right to (target_h, target_w), like ``np.pad``.

    ``SYMMETRIC`` padding needs pad <= size, so images smaller than the target are padded in up
    to ``rounds`` rounds, each at most doubling the size (``np.pad(mode="symmetric")`` gives the
    same pixels). Dynamic paddings hide the channel count, which the convolutions need: a
    reshape restores it (``EnsureShape`` has no TFLite builtin).
    """
    for _ in range(rounds):
        shape = tf.shape(x)
        ph = tf.minimum(target_h - shape[1], shape[1])
        pw = tf.minimum(target_w - shape[2], shape[2])
        x = tf.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]], mode="SYMMETRIC")
    return tf.reshape(x, [-1, target_h, target_w, channels])


def fill_holes(
    generator: keras.Model,
    image,
    mask,
    training: bool = False,
    pad_multiple: int | None = None,
    allow_empty_batch: bool = False,
    int8_ranges: bool = False,
):
    """Inpaints [0,1] images: pad, scale to [-1,1], run the generator, composite, crop.

    The one in-graph inference path: ``PGGAN.call``, both SavedModel signatures
    (``keras_pggan.export``) and the TFLite endpoint (``keras_pggan.export.tflite``) call it;
    host-side
    backends pad with :func:`pad_to_multiple` and call the same graph.

    Args:
        generator: a model from :func:`build_generator` (or a baseline's generator).
        image: float [B,H,W,3] in [0,1].
        mask: float [B,H,W,1], 1 = hole.
        training: forwarded to the generator.
        pad_multiple: mirror-pad H and W (image and mask together, bottom/right) to this
            multiple and crop back, so any size works; ``None``: H and W must already be
            multiples of the generator's pad multiple.
        allow_empty_batch: a batch of 0 images returns 0 images. oneDNN's convolutions
            (TensorFlow's default on AVX-512 CPUs) reject an empty batch ("input depth must be
            evenly divisible by filter depth"), so an empty batch is padded to one blank image
            and sliced back (a ``tf.cond`` would stop tf2onnx); other batches get a padding of 0.
        int8_ranges: full-integer TFLite builds: pins the [0,1] tensors' int8 range and
            composites with a select, so known pixels pass through int8 unchanged.

    Returns:
        float32 [B,H,W,3] in [0,1]; known pixels equal ``image``.
    """
    image = tf.convert_to_tensor(image, tf.float32)
    mask = tf.convert_to_tensor(mask, tf.float32)
    x, m = image, mask
    if int8_ranges:
        image, mask = _pin01(image), _pin01(mask)
        # The generator concatenates the mask with the [-1,1] image and int8 concatenation
        # shares one scale: fed the pinned mask directly, it would either clip the image
        # channels to [0,1] (measured: +0.03 bias in holes) or, unpinned, give the uint8 mask
        # input a [-1,1] scale (0 -> 127). A select to {0,1} decouples the two.
        x, m = image, tf.where(mask > 0.5, 1.0, 0.0)
    shape = tf.shape(image)
    batch, h, w = shape[0], shape[1], shape[2]
    if allow_empty_batch:
        extra = [[0, tf.maximum(1 - batch, 0)], [0, 0], [0, 0], [0, 0]]
        x = tf.reshape(tf.pad(x, extra), [-1, h, w, 3])
        m = tf.reshape(tf.pad(m, extra), [-1, h, w, 1])
    padded = bool(pad_multiple and pad_multiple > 1)
    if padded:
        rounds = max(1, math.ceil(math.log2(pad_multiple)))
        th = (h + pad_multiple - 1) // pad_multiple * pad_multiple
        tw = (w + pad_multiple - 1) // pad_multiple * pad_multiple
        x = _mirror_pad_to(x, th, tw, 3, rounds)
        m = _mirror_pad_to(m, th, tw, 1, rounds)
    raw = generator({"image": x * 2.0 - 1.0, "mask": m}, training=training)
    fill = (tf.cast(raw, tf.float32) + 1.0) * 0.5
    if padded:
        fill = fill[:, :h, :w, :]
    if allow_empty_batch:
        fill = fill[:batch]
    if int8_ranges:
        # In int8 the arithmetic blend re-quantizes known pixels; a select keeps them.
        return _pin01(tf.where(mask > 0.5, _pin01(fill), image))
    return composite(fill, image, mask)


def pad_to_multiple(image: np.ndarray, mask: np.ndarray, multiple: int):
    """Host-side twin of the in-graph padding: mirror-pads [B,H,W,C] arrays at the bottom/right.

    Image and mask pad together so mirrored hole pixels stay holes; ``"symmetric"`` (edge pixel
    repeated) is TF's ``SYMMETRIC`` MirrorPad, so every backend sees the same padded input.
    Returns both arrays unchanged when H and W already are multiples.
    """
    h, w = image.shape[1:3]
    ph, pw = (-h) % multiple, (-w) % multiple
    if not ph and not pw:
        return image, mask
    pad = ((0, 0), (0, ph), (0, pw), (0, 0))
    return np.pad(image, pad, mode="symmetric"), np.pad(mask, pad, mode="symmetric")


# -- loading ---------------------------------------------------------------------------------------
def load_generator(generator_or_path) -> keras.Model:
    """Returns the generator from a model, a ``PGGAN``, a ``.keras`` file or a run directory.

    Args:
        generator_or_path: a generator ``keras.Model``, a model with a ``.generator`` attribute,
            a ``generator.keras`` path, or a run directory holding ``generator.keras``.

    Returns:
        The generator ``keras.Model`` (dict inputs ``image``, ``mask``), computing in float32
        (:func:`as_float32`: an in-memory model trained under a mixed policy is cloned with
        the same weights; files on disk are float32 already).

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
        # This module's imports (layers, ce, glgan) register every custom layer.
        return keras.saving.load_model(path, compile=False)
    model = getattr(generator_or_path, "generator", generator_or_path)
    if not isinstance(model, keras.Model):
        raise ValueError(f"expected a keras.Model or a path, got {type(generator_or_path)!r}")
    # A model still in memory after mixed-precision training computes in float16/bfloat16:
    # every consumer here infers or exports, and those stay float32 (a float32 model as it is).
    return as_float32(model)


def all_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The leaf layers of ``model``, nested models flattened."""
    found = []
    for layer in model.layers:
        found += all_layers(layer) if isinstance(layer, keras.Model) else [layer]
    return found


def pad_multiple_of(generator: keras.Model) -> int:
    """Height and width multiple the generator needs: the product of its convolution strides."""
    multiple = 1
    for layer in all_layers(generator):
        if isinstance(layer, keras.layers.Conv2D):
            multiple *= int(layer.strides[0])
    return multiple
