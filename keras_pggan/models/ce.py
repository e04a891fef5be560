"""Context Encoder (Pathak et al. 2016) as a baseline: its generator and global discriminator.

The generator follows the paper's shape: a stride-2 convolutional encoder, a channel-wise fully
connected bottleneck (each channel's h×w map is mapped to a new h×w map by its own dense layer,
channels stay independent) followed by a 1×1 convolution that mixes the channels, and a decoder of
transposed stride-2 convolutions. The fully connected bottleneck fixes the size the network runs
at (``GeneratorConfig.fixed_size``, else the training crop). To keep the project's generator
contract (any H, W in, the same H, W out), the network resizes its input to that size and its
output back, inside the graph:

* holes are zeroed at full resolution first, so no hole pixel reaches the network;
* image and mask are resized together (bilinear): at the fixed size the resize is the identity,
  at other sizes the mask becomes a soft occupancy map;
* the output is resized (bilinear) back to the input size; composited outputs keep every known
  pixel, but at other sizes the fill carries the blur of the down- and up-sampling.

So SavedModel and TFLite builds accept any size but compute at the fixed size
(``keras_pggan.models.generator.pad_multiple_of`` reports ``2**num_downsamplings``, the
product of the encoder strides; padding to it is harmless because the network resizes anyway).

Loading a saved CE generator (``keras.saving.load_model``) needs this module imported: it
registers ``ResizeLike``.

Neural Patch Synthesis (Yang et al. 2017) refines a Context-Encoder-like fill by matching VGG-19
feature patches; its texture stage, an inference-time refinement of a fill, is
:func:`keras_pggan.inference.refine.neural_patch_refine`.

Example:
    >>> from keras_pggan.config import get_preset
    >>> g = build_ce_generator(get_preset("ce").generator, size=128)
    >>> tuple(g({"image": tf.zeros([1, 96, 160, 3]), "mask": tf.ones([1, 96, 160, 1])}).shape)
    (1, 96, 160, 3)
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from keras_pggan.config import DiscriminatorConfig, GeneratorConfig
from keras_pggan.models.layers import MaskedInput, apply_strided_conv_stack, conv_block

# He initialisation keeps the signal's scale through the ReLU stack without the paper's batch
# normalisation (with Glorot's the untrained network outputs ~1e-4).
_INIT = "he_normal"


@keras.saving.register_keras_serializable(package="keras_pggan")
class ResizeLike(keras.layers.Layer):
    """Resizes ``x`` [B,h,w,C] to the height and width of ``reference`` [B,H,W,*] (bilinear).

    The target size is read at run time (``tf.shape``), so it works with unknown H and W and
    lowers to TFLite's ``RESIZE_BILINEAR``.

    Example:
        >>> y = ResizeLike()([tf.zeros([1, 4, 4, 3]), tf.zeros([1, 6, 10, 1])])
        >>> tuple(y.shape)
        (1, 6, 10, 3)
    """

    def call(self, inputs):
        x, reference = inputs
        size = tf.shape(reference)[1:3]
        return tf.cast(tf.image.resize(x, size, method="bilinear"), x.dtype)

    def compute_output_shape(self, input_shape):
        x_shape, ref_shape = input_shape
        return (x_shape[0], ref_shape[1], ref_shape[2], x_shape[-1])


def _channelwise_dense(x, name: str):
    """The channel-wise fully connected layer on a static [B,h,w,C] map."""
    h, w, c = (int(d) for d in x.shape[1:])
    n = h * w
    x = keras.layers.Reshape((n, c), name=f"{name}_flatten")(x)
    # Glorot-uniform limit for a dense n → n map (Keras's own Glorot would count the channel
    # axis into the fans of the 3-D kernel).
    limit = math.sqrt(6.0 / (n + n))
    x = keras.layers.EinsumDense(
        "bnc,ncm->bmc",
        output_shape=(n, c),
        bias_axes="mc",
        kernel_initializer=keras.initializers.RandomUniform(-limit, limit),
        name=f"{name}_dense",
    )(x)
    return keras.layers.Reshape((h, w, c), name=f"{name}_unflatten")(x)


def ce_fixed_size(cfg: GeneratorConfig, size: int | None = None) -> int:
    """The side the CE generator runs at: ``cfg.fixed_size``, else ``size`` (the training crop).

    Raises:
        ValueError: when neither is given or the size is not a multiple of the pad multiple.
    """
    side = cfg.fixed_size or size
    if not side:
        raise ValueError("GeneratorConfig.fixed_size: the 'ce' generator needs a size")
    if side % cfg.pad_multiple:
        raise ValueError(
            f"GeneratorConfig.fixed_size: {side} is not a multiple of {cfg.pad_multiple} "
            "(2**num_downsamplings)"
        )
    return int(side)


def build_ce_generator(
    cfg: GeneratorConfig, size: int | None = None, name: str | None = None
) -> keras.Model:
    """Builds the Context Encoder generator.

    Args:
        cfg: generator configuration with ``variant="ce"``; ``num_downsamplings`` encoder and
            decoder stages with kernel ``stem_kernel_size``, widths ``base_filters`` doubling up
            to ``max_filters``, normalisation ``norm`` (none on the first and last layers).
        size: the side to build for when ``cfg.fixed_size`` is ``None`` (the training crop).
        name: model name; defaults to ``"ce_generator"``.

    Returns:
        A functional ``keras.Model``: ``{"image": [B,H,W,3] in [-1,1], "mask": [B,H,W,1]}`` →
        raw output [B,H,W,3] in [-1,1] for any H, W (computed at the fixed size).

    Raises:
        ValueError: a variant other than ``"ce"`` or a bad size.
    """
    if cfg.variant != "ce":
        raise ValueError(f"GeneratorConfig.variant: expected 'ce', got {cfg.variant!r}")
    side = ce_fixed_size(cfg, size)
    k = cfg.stem_kernel_size
    image = keras.Input((None, None, 3), name="image")
    mask = keras.Input((None, None, 1), name="mask")
    # Zero the holes at full resolution, then resize image and mask together to the fixed size.
    x = MaskedInput(name="masked_input")([image, mask])
    x = keras.layers.Resizing(side, side, interpolation="bilinear", name="to_fixed_size")(x)

    filters = []
    f = cfg.base_filters
    for i in range(cfg.num_downsamplings):
        filters.append(min(f, cfg.max_filters))
        name = f"enc{i + 1}"
        x = conv_block(
            x,
            filters[-1],
            k,
            strides=2,
            norm=cfg.norm if i > 0 else "none",
            activation="lrelu",
            slope=0.2,
            kernel_initializer=_INIT,
            name=name,
            conv_name=name,
        )
        f *= 2

    # Bottleneck: channel-wise fully connected, then a 1×1 convolution across channels.
    x = _channelwise_dense(x, "bottleneck_cwfc")
    x = conv_block(
        x,
        filters[-1],
        1,
        norm=cfg.norm,
        kernel_initializer=_INIT,
        padding="valid",
        name="bottleneck_mix",
        conv_name="bottleneck_mix",
    )
    for i, f in enumerate(reversed(filters[:-1])):
        name = f"dec{i + 1}"
        x = conv_block(
            x,
            f,
            k,
            strides=2,
            norm=cfg.norm,
            transpose=True,
            kernel_initializer=_INIT,
            name=name,
            conv_name=name,
        )
    x = keras.layers.Conv2DTranspose(
        3, k, strides=2, padding="same", name=f"dec{cfg.num_downsamplings}"
    )(x)
    x = keras.layers.Activation("tanh", name="to_rgb_tanh", dtype="float32")(x)
    out = ResizeLike(name="to_input_size", dtype="float32")([x, image])
    return keras.Model({"image": image, "mask": mask}, out, name=name or "ce_generator")


def build_ce_discriminator(
    cfg: DiscriminatorConfig, image_size: int | tuple[int, int], name: str | None = None
) -> keras.Model:
    """Builds Context Encoder's discriminator: one logit for the whole (composited) image.

    4×4 stride-2 convolutions (widths ``base_filters`` doubling up to ``max_filters``, LeakyReLU,
    ``norm`` after all but the first) until the map is at most 4×4, then a dense logit.

    Args:
        cfg: discriminator configuration with ``variant="ce"``.
        image_size: training crop size (int or (height, width)); fixed by the dense layer.
        name: model name; defaults to ``"ce_discriminator"``.

    Returns:
        A ``keras.Model`` mapping images [B,H,W,3] in [-1,1] to ``{"global": (B,1)}``.
    """
    if cfg.variant != "ce":
        raise ValueError(f"DiscriminatorConfig.variant: expected 'ce', got {cfg.variant!r}")
    h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
    image = keras.Input((h, w, 3), name="image")
    x = apply_strided_conv_stack(image, cfg, kernel_size=4, prefix="")
    x = keras.layers.Flatten(name="flatten")(x)
    logit = keras.layers.Dense(1, name="logit", dtype="float32")(x)
    return keras.Model(image, {"global": logit}, name=name or "ce_discriminator")
