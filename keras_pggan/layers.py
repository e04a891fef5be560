"""Building blocks shared by the generator and discriminator.

The generator up-samples with "interpolated convolution" (resize ×2, then a convolution) as the
paper describes; ``ResizeUpsample`` wraps ``tf.image.resize`` because Keras 3.14–3.15's
``UpSampling2D(interpolation="bilinear")`` breaks ``fit``/``export`` when the spatial dimensions are
unknown (keras PR #23315, not released at the time of writing).
"""

from __future__ import annotations

import functools
import os

import keras
import tensorflow as tf

NATIVE_DILATION_ENV = "KERAS_PGGAN_NATIVE_DILATION"


@functools.cache
def native_dilation_enabled() -> bool:
    """Whether :class:`DilatedConv2D` emits one dilated ``Conv2D`` op (decided once per process).

    ``KERAS_PGGAN_NATIVE_DILATION``: ``1`` always (needs oneDNN, ``TF_ENABLE_ONEDNN_OPTS=1``, or
    a GPU for the gradients: TensorFlow's own CPU kernels have none for dilation rates > 1),
    ``0`` never, unset or ``auto``: only when a GPU is visible. Opt-in on CPU because the
    measurements disagree across shapes (bench/results/summary.md).
    """
    value = os.environ.get(NATIVE_DILATION_ENV, "auto").strip().lower()
    if value in ("0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    return bool(tf.config.list_physical_devices("GPU"))


def native_conv2d(layer: keras.layers.Conv2D, inputs, kernel):
    """``layer``'s convolution as one ``Conv2D`` op carrying its ``dilations`` attribute."""
    return tf.nn.conv2d(
        inputs,
        kernel,
        strides=[1, *layer.strides, 1],
        padding=layer.padding.upper(),
        dilations=[1, *layer.dilation_rate, 1],
    )


@keras.saving.register_keras_serializable(package="keras_pggan")
class DilatedConv2D(keras.layers.Conv2D):
    """``Conv2D`` whose dilated convolution runs as one dilated op where the kernels allow it.

    Keras lowers a dilated convolution through ``tf.nn.convolution``, i.e. SpaceToBatchND →
    Conv2D → BatchToSpaceND, which turns a 64×64 map at rate 8 into a batch of 64 8×8 maps and
    back, in the forward pass and in both gradients. On a GPU, or when asked for
    (``KERAS_PGGAN_NATIVE_DILATION=1`` with oneDNN), the op runs directly with its
    ``dilations`` attribute instead (see :func:`native_dilation_enabled`). Same
    weights and the same numbers within round-off (tests/layers_test.py); measured in
    bench/results/optimizations.md.
    """

    def convolution_op(self, inputs, kernel):
        if tuple(self.dilation_rate) == (1, 1) or not native_dilation_enabled():
            return super().convolution_op(inputs, kernel)
        return native_conv2d(self, inputs, kernel)


@keras.saving.register_keras_serializable(package="keras_pggan")
class ResizeUpsample(keras.layers.Layer):
    """Resizes the spatial dimensions by an integer factor with ``tf.image.resize``.

    Works on inputs with unknown height and width, exports to SavedModel and converts to the
    TFLite builtin ``RESIZE_BILINEAR`` / ``RESIZE_NEAREST_NEIGHBOR`` ops.

    Args:
        factor: integer scale factor for height and width.
        interpolation: ``"bilinear"`` or ``"nearest"``.
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> y = ResizeUpsample(2)(tf.zeros([1, 5, 7, 3]))
        >>> tuple(y.shape)
        (1, 10, 14, 3)
    """

    def __init__(self, factor: int = 2, interpolation: str = "bilinear", **kwargs):
        super().__init__(**kwargs)
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(
                f"interpolation must be 'bilinear' or 'nearest', got {interpolation!r}"
            )
        if int(factor) != factor or factor < 1:
            raise ValueError(f"factor must be a positive integer, got {factor!r}")
        self.factor = int(factor)
        self.interpolation = interpolation

    def call(self, inputs):
        shape = tf.shape(inputs)
        size = tf.stack([shape[1] * self.factor, shape[2] * self.factor])
        method = (
            tf.image.ResizeMethod.BILINEAR
            if self.interpolation == "bilinear"
            else tf.image.ResizeMethod.NEAREST_NEIGHBOR
        )
        out = tf.image.resize(inputs, size, method=method)
        return tf.cast(out, inputs.dtype)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (
            b,
            None if h is None else h * self.factor,
            None if w is None else w * self.factor,
            c,
        )

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "interpolation": self.interpolation})
        return config


@keras.saving.register_keras_serializable(package="keras_pggan")
class MaskedInput(keras.layers.Layer):
    """Replaces the holes of ``image`` and appends the mask: ``concat(image·(1−m) + f·m, m)``.

    ``f`` is 0 (``fill="zero"``) or, with ``fill="mean"``, each image's mean colour over its known
    pixels (per channel; 0 for an image without known pixels). Doing this inside the generator
    makes it idempotent for callers that already zeroed the holes and safe for callers that did
    not: hole pixels can never reach the network.

    Args:
        fill: ``"zero"`` or ``"mean"``.
        **kwargs: passed to ``keras.layers.Layer``.
    """

    def __init__(self, fill: str = "zero", **kwargs):
        super().__init__(**kwargs)
        if fill not in ("zero", "mean"):
            raise ValueError(f"fill must be 'zero' or 'mean', got {fill!r}")
        self.fill = fill

    def call(self, inputs):
        image, holes = inputs
        holes = tf.cast(holes, image.dtype)
        known = 1.0 - holes
        x = image * known
        if self.fill == "mean":
            # Sums in float32: a 1024² bfloat16 sum would lose the colour to round-off.
            x32, k32 = tf.cast(x, tf.float32), tf.cast(known, tf.float32)
            total = tf.reduce_sum(x32, axis=[1, 2], keepdims=True)
            count = tf.reduce_sum(k32, axis=[1, 2], keepdims=True)
            mean = total / tf.maximum(count, 1.0)  # TFLite builtins only (no DivNoNan)
            x = x + tf.cast(mean, image.dtype) * holes
        return tf.concat([x, holes], axis=-1)

    def get_config(self):
        config = super().get_config()
        config["fill"] = self.fill
        return config

    def compute_output_shape(self, input_shape):
        image_shape, holes_shape = input_shape
        return (*image_shape[:-1], image_shape[-1] + holes_shape[-1])


def normalization(norm: str, name: str) -> keras.layers.Layer | None:
    """Returns the normalisation layer for ``norm`` or ``None`` for ``"none"``.

    ``"instance"`` is ``GroupNormalization(groups=-1)``: Keras 3's instance normalisation, which
    replaces tensorflow-addons' ``InstanceNormalization``. Being per-sample, it gives the same
    result whatever the per-replica batch, which keeps distributed training exact.
    """
    if norm == "instance":
        return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=f"{name}_norm")
    if norm in ("none", "spectral"):
        return None
    raise ValueError(f"unknown normalisation {norm!r}")


def apply_conv_norm_act(
    x,
    filters: int,
    kernel_size: int,
    strides: int = 1,
    dilation_rate: int = 1,
    norm: str = "instance",
    activation: str | None = "relu",
    name: str = "conv",
):
    """Conv2D ('same' padding) → optional normalisation → optional activation.

    Dilated convolutions use :class:`DilatedConv2D`.
    """
    conv = DilatedConv2D if dilation_rate != 1 else keras.layers.Conv2D
    x = conv(
        filters,
        kernel_size,
        strides=strides,
        dilation_rate=dilation_rate,
        padding="same",
        use_bias=norm == "none",
        name=f"{name}_conv",
    )(x)
    layer = normalization(norm, name)
    if layer is not None:
        x = layer(x)
    if activation is not None:
        x = keras.layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


def apply_residual_block(
    x, filters: int, dilation_rate: int = 1, norm: str = "instance", name: str = "block"
):
    """Residual block: two 3×3 convolutions (dilated by ``dilation_rate``) plus the identity.

    With ``dilation_rate=1`` this is PGGAN-Res's plain block; with growing rates it is
    PGGAN-DRes's dilated residual block, whose receptive field grows without down-sampling.
    """
    shortcut = x
    x = apply_conv_norm_act(x, filters, 3, dilation_rate=dilation_rate, norm=norm, name=f"{name}_1")
    x = apply_conv_norm_act(
        x, filters, 3, dilation_rate=dilation_rate, norm=norm, activation=None, name=f"{name}_2"
    )
    return keras.layers.Add(name=f"{name}_add")([shortcut, x])


def apply_strided_conv_stack(x, cfg, kernel_size: int, prefix: str):
    """Stride-2 convolutions + LeakyReLU until the map is at most 4×4 (the baselines' critics).

    Filters start at ``cfg.base_filters`` and double per layer up to ``cfg.max_filters``;
    ``cfg.norm`` ``"spectral"`` wraps each convolution, ``"instance"`` normalises every layer but
    the first. Layers are named ``{prefix}conv{i}`` (+ ``_sn``, ``_lrelu``).
    """
    side, f, i = max(int(x.shape[1]), int(x.shape[2])), cfg.base_filters, 0
    while side > 4:
        i += 1
        instance_norm = cfg.norm == "instance" and i > 1
        conv = keras.layers.Conv2D(
            min(f, cfg.max_filters),
            kernel_size,
            strides=2,
            padding="same",
            use_bias=not instance_norm,
            name=f"{prefix}conv{i}",
        )
        if cfg.norm == "spectral":
            conv = keras.layers.SpectralNormalization(conv, name=f"{prefix}conv{i}_sn")
        x = conv(x)
        if instance_norm:
            x = normalization("instance", f"{prefix}conv{i}")(x)
        x = keras.layers.LeakyReLU(cfg.leaky_relu_slope, name=f"{prefix}conv{i}_lrelu")(x)
        side, f = -(-side // 2), f * 2
    return x
