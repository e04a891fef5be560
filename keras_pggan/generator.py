"""The PGGAN generator: an encoder–decoder ResNet (PGGAN-DRes or PGGAN-Res).

Example:
    >>> from keras_pggan.config import get_preset
    >>> g = build_generator(get_preset("tiny").generator)
    >>> out = g({"image": tf.zeros([1, 32, 48, 3]), "mask": tf.ones([1, 32, 48, 1])})
    >>> tuple(out.shape)
    (1, 32, 48, 3)
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_pggan.config import GeneratorConfig
from keras_pggan.layers import (
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
        x = apply_residual_block(x, filters, dilation_rate=rate, norm=cfg.norm, name=f"res{i + 1}")
    for i, up_filters in enumerate(reversed(encoder_filters)):
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


def inpaint(generator: keras.Model, image, mask, training: bool = False):
    """Runs the generator on [0,1] images and returns the composited result in [0,1].

    Args:
        generator: a model from :func:`build_generator`.
        image: float [B,H,W,3] in [0,1]; H, W multiples of the generator's pad multiple.
        mask: float [B,H,W,1], 1 = hole.
        training: forwarded to the generator.

    Returns:
        float32 [B,H,W,3] in [0,1]; known pixels equal ``image`` exactly.
    """
    image = tf.convert_to_tensor(image, tf.float32)
    mask = tf.convert_to_tensor(mask, tf.float32)
    x = image * 2.0 - 1.0
    raw = generator({"image": x, "mask": mask}, training=training)
    fill = (tf.cast(raw, tf.float32) + 1.0) * 0.5
    return composite(fill, image, mask)
