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
import tensorflow as tf  # noqa: F401  (used in the docstring example)

from keras_pggan.config import PAPER_GENERATORS, GeneratorConfig
from keras_pggan.models.layers import (
    MaskedInput,
    ResizeUpsample,
    apply_residual_block,
    conv_block,
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

    Output: the raw generator output [B,H,W,3] in [-1,1] (tanh). Callers reach it through
    :func:`keras_pggan.inference.fill.fill_holes`, which composites it with the input.

    Args:
        cfg: generator configuration.
        name: model name; defaults to ``f"pggan_{cfg.variant}_generator"``.

    Returns:
        A functional ``keras.Model``, fully convolutional (any H, W).

    Raises:
        ValueError: if ``cfg.variant`` is a baseline's (``"ce"``: ``ce.build_ce_generator``,
            ``"glgan"``: ``glgan.build_glgan_generator``).
    """
    if cfg.variant not in PAPER_GENERATORS:
        raise ValueError(
            f"build_generator builds PGGAN generators {PAPER_GENERATORS}, not {cfg.variant!r}: "
            f"use keras_pggan.models.{cfg.variant}.build_{cfg.variant}_generator"
        )
    image = keras.Input((None, None, 3), name="image")
    mask = keras.Input((None, None, 1), name="mask")
    x = MaskedInput(cfg.hole_fill, name="masked_input")([image, mask])

    filters = min(cfg.base_filters, cfg.max_filters)
    x = conv_block(x, filters, cfg.stem_kernel_size, norm=cfg.norm, name="stem")
    encoder_filters = []
    for i in range(cfg.num_downsamplings):
        encoder_filters.append(filters)
        filters = min(filters * 2, cfg.max_filters)
        x = conv_block(x, filters, 3, strides=2, norm=cfg.norm, name=f"down{i + 1}")
    for i, rate in enumerate(cfg.dilation_rates):
        x = apply_residual_block(
            x,
            filters,
            rate,
            norm=cfg.norm,
            name=f"res{i + 1}",
            block_type=cfg.block_type,
            inner_filters=cfg.residual_filters,
        )
    for i, up_filters in enumerate(reversed(encoder_filters)):
        if cfg.upsample == "transposed":
            x = conv_block(
                x, up_filters, 3, strides=2, norm=cfg.norm, name=f"up{i + 1}", transpose=True
            )
            continue
        x = ResizeUpsample(2, cfg.upsample_interpolation, name=f"up{i + 1}_resize")(x)
        x = conv_block(x, up_filters, 3, norm=cfg.norm, name=f"up{i + 1}")
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


def all_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The leaf layers of ``model``, nested models flattened."""
    found = []
    for layer in model.layers:
        found += all_layers(layer) if isinstance(layer, keras.Model) else [layer]
    return found


def pad_multiple_of(generator: keras.Model) -> int:
    """Height and width multiple the generator needs: the product of its convolution strides.

    The definition for built models (any variant, loaded or not);
    ``GeneratorConfig.pad_multiple`` is its pre-build twin, and tests/contracts_test.py checks
    that the two agree for every variant.
    """
    multiple = 1
    for layer in all_layers(generator):
        if isinstance(layer, keras.layers.Conv2D):
            multiple *= int(layer.strides[0])
    return multiple
