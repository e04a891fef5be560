"""The PGGAN discriminator: a shared trunk with a G-GAN head and a PatchGAN head.

One network, as in the paper: early convolutions are shared, then the G-GAN head reduces the image
to one logit and the PatchGAN head to a logit map (16×16 at 256², 32×32 at 512² with the default
strides). The ablation variants keep only one head.

Example:
    >>> from keras_pggan.config import DiscriminatorConfig
    >>> d = build_discriminator(DiscriminatorConfig(), image_size=256)
    >>> out = d(tf.zeros([2, 256, 256, 3]))
    >>> tuple(out["global"].shape), tuple(out["patch"].shape)
    ((2, 1), (2, 16, 16, 1))
"""

from __future__ import annotations

import keras
import tensorflow as tf  # noqa: F401  (used in the docstring example)

from keras_pggan.config import PAPER_DISCRIMINATORS, DiscriminatorConfig
from keras_pggan.models.layers import conv_block


def _conv(x, filters, kernel_size, strides, cfg: DiscriminatorConfig, name, norm=True, act=True):
    """A trunk or head block: LeakyReLU, ``cfg.norm`` (``norm=False``: no normalisation layer)."""
    return conv_block(
        x,
        filters,
        kernel_size,
        strides=strides,
        norm=cfg.norm if norm else "none",
        activation="lrelu" if act else None,
        slope=cfg.leaky_relu_slope,
        spectral=cfg.norm == "spectral",
        name=name,
    )


def build_discriminator(
    cfg: DiscriminatorConfig,
    image_size: int | tuple[int, int],
    name: str | None = None,
) -> keras.Model:
    """Builds the discriminator; the only function that reads ``DiscriminatorConfig``.

    Args:
        cfg: discriminator configuration.
        image_size: training crop size (int or (height, width)); the G-GAN head ends in a dense
            layer, so the size is fixed at build time.
        name: model name; defaults to ``f"pggan_{cfg.variant}_discriminator"``.

    Returns:
        A ``keras.Model`` mapping images [B,H,W,3] in [-1,1] to a dict with ``"global"`` (B,1)
        and/or ``"patch"`` (B, H/s, W/s, 1) logits, where s = ``cfg.patch_stride``.

    Raises:
        ValueError: if the size is not a multiple of the patch stride, or ``cfg.variant`` is a
            baseline's (``"ce"``, ``"glgan"``: their own modules build those).
    """
    if cfg.variant not in PAPER_DISCRIMINATORS:
        raise ValueError(
            f"build_discriminator builds PGGAN discriminators {PAPER_DISCRIMINATORS}, not "
            f"{cfg.variant!r}: use keras_pggan.models.{cfg.variant}."
            f"build_{cfg.variant}_discriminator"
        )
    h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
    s = cfg.patch_stride
    if h % s or w % s:
        raise ValueError(
            f"image_size {h}x{w} is not a multiple of the discriminator's patch stride {s}"
        )
    image = keras.Input((h, w, 3), name="image")
    filters = cfg.base_filters
    x = image
    # Shared trunk: low-level features serve both the global and the local decision.
    for i in range(cfg.num_shared_layers):
        x = _conv(x, min(filters, cfg.max_filters), 4, 2, cfg, f"shared{i + 1}", norm=i > 0)
        filters *= 2
    outputs = {}
    if cfg.variant in ("pggan", "patch"):
        p, f = x, filters
        for i in range(cfg.num_patch_layers):
            p = _conv(p, min(f, cfg.max_filters), 4, 2, cfg, f"patch{i + 1}")
            f *= 2
        # Logits in float32 under a mixed precision policy (losses need the range).
        outputs["patch"] = conv_block(
            p,
            1,
            3,
            norm="none",
            activation=None,
            spectral=cfg.norm == "spectral",
            dtype="float32",
            name="patch_logits",
        )
    if cfg.variant in ("pggan", "global"):
        g, f = x, filters
        gh, gw = -(-h // 2**cfg.num_shared_layers), -(-w // 2**cfg.num_shared_layers)
        for i in range(cfg.num_global_layers):
            gh, gw = -(-gh // 2), -(-gw // 2)
            # Instance norm of a 1×1 map is exactly 0 (each value minus its own mean): the head
            # would output a constant logit and never learn (seen at 64²). No norm there.
            norm = not (cfg.norm == "instance" and gh * gw == 1)
            g = _conv(g, min(f, cfg.max_filters), 4, 2, cfg, f"global{i + 1}", norm=norm)
            f *= 2
        g = keras.layers.Flatten(name="global_flatten")(g)
        outputs["global"] = keras.layers.Dense(1, name="global_logits", dtype="float32")(g)
    return keras.Model(image, outputs, name=name or f"pggan_{cfg.variant}_discriminator")


def trunk_layers(discriminator: keras.Model) -> list:
    """The layers of the shared trunk (blocks ``shared1`` … ``sharedN``), in call order.

    Raises:
        ValueError: if the model has no shared trunk (a baseline's discriminator).
    """
    trunk = [layer for layer in discriminator.layers if layer.name.startswith("shared")]
    if not trunk:
        raise ValueError(
            f"{discriminator.name} has no shared trunk (layers named 'shared…'): feature "
            "matching needs a PGGAN discriminator"
        )
    return trunk  # the trunk is a chain: a functional model lists its layers in call order


def trunk_features(discriminator: keras.Model, images, training: bool = False) -> list:
    """The activations of the shared trunk's blocks for ``images``.

    Runs the trunk's layers (:func:`trunk_layers`) of a model from :func:`build_discriminator`,
    weights shared with it (no second model is built or tracked), and returns each block's
    output after its activation.

    Args:
        discriminator: a PGGAN discriminator.
        images: [B,H,W,3] in [-1,1].
        training: passed to the layers.

    Returns:
        A list of [B, H/2^i, W/2^i, C_i] tensors, one per shared block.

    Raises:
        ValueError: if the model has no shared trunk.
    """
    x, features = images, []
    for layer in trunk_layers(discriminator):
        x = layer(x, training=training)
        if layer.name.endswith("_lrelu"):
            features.append(x)
    return features
