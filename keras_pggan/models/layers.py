"""Building blocks shared by the generator and discriminator.

The generator up-samples with "interpolated convolution" (resize ×2, then a convolution) as the
paper describes; ``ResizeUpsample`` wraps ``tf.image.resize`` because Keras 3.14–3.15's
``UpSampling2D(interpolation="bilinear")`` breaks ``fit``/``export`` when the spatial dimensions are
unknown (keras PR #23315, not released at the time of writing). Its bicubic mode is a fixed
convolution instead: TFLite has no builtin bicubic resize.
"""

from __future__ import annotations

import functools
import os

import keras
import numpy as np
import tensorflow as tf

# The name lists are the schema's (keras_pggan.config owns them); imported here for the checks.
from keras_pggan.config import BLOCK_TYPES, HOLE_FILLS, INTERPOLATIONS, NORMS_D

NATIVE_DILATION_ENV = "KERAS_PGGAN_NATIVE_DILATION"
# conv_block's activations: a Keras activation name, or "lrelu" (LeakyReLU with ``slope``).
ACTIVATIONS = ("relu", "lrelu")
# Keys' cubic convolution parameter: tf.image.resize's bicubic (and PIL's) use a = -0.5.
KEYS_A = -0.5


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


def keys_cubic(t, a: float = KEYS_A) -> np.ndarray:
    """Keys' cubic convolution kernel at offsets ``t`` (``a = -0.5``: ``tf.image.resize``'s)."""
    t = np.abs(np.asarray(t, np.float64))
    near = (a + 2) * t**3 - (a + 3) * t**2 + 1
    far = a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def bicubic_phase_taps(factor: int) -> np.ndarray:
    """[factor, 5] taps of bicubic ×``factor`` up-sampling over inputs ``k-2 … k+2``.

    Output ``factor·k + p`` (half-pixel centres, as ``tf.image.resize``) samples the input at
    ``k + (p + 0.5) / factor - 0.5``; row ``p`` holds the cubic weights of the five inputs around
    ``k`` (at most four of them non-zero). Each row sums to 1.
    """
    offsets = np.arange(-2, 3)
    return np.stack([keys_cubic(offsets - ((p + 0.5) / factor - 0.5)) for p in range(factor)])


@keras.saving.register_keras_serializable(package="keras_pggan")
class ResizeUpsample(keras.layers.Layer):
    """Resizes the spatial dimensions by an integer factor.

    Works on inputs with unknown height and width, exports to SavedModel and converts to TFLite
    builtin ops: ``"bilinear"`` and ``"nearest"`` are ``tf.image.resize`` (``RESIZE_BILINEAR`` /
    ``RESIZE_NEAREST_NEIGHBOR``). TFLite has no bicubic resize (``tf.image.resize``'s
    ``ResizeBicubic`` would need the Flex delegate), so ``"bicubic"`` is computed as what it is
    for an integer factor, a fixed filter: one 5×5 depthwise convolution per output phase (Keys'
    cubic, ``a = -0.5``, half-pixel centres), interleaved by ``depth_to_space``, the borders
    extended by repeating the edge pixel (``MIRROR_PAD``, ``DEPTHWISE_CONV_2D``,
    ``CONCATENATION``, ``DEPTH_TO_SPACE``). The same graph runs in Keras, SavedModel and TFLite.
    At ×2 it equals ``tf.image.resize(method="bicubic")`` to float round-off except in the three
    outermost output rows and columns, where ``tf.image.resize`` drops the taps outside the image
    and renormalises the rest (other factors differ by up to 1e-3 inside too: TensorFlow reads
    its weights from a table; tests/layers_test.py measures both).

    Args:
        factor: integer scale factor for height and width.
        interpolation: ``"bilinear"``, ``"bicubic"`` or ``"nearest"``.
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> y = ResizeUpsample(2)(tf.zeros([1, 5, 7, 3]))
        >>> tuple(y.shape)
        (1, 10, 14, 3)
    """

    def __init__(self, factor: int = 2, interpolation: str = "bilinear", **kwargs):
        super().__init__(**kwargs)
        if interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}"
            )
        if int(factor) != factor or factor < 1:
            raise ValueError(f"factor must be a positive integer, got {factor!r}")
        self.factor = int(factor)
        self.interpolation = interpolation

    def call(self, inputs):
        if self.interpolation == "bicubic":
            return tf.cast(self._bicubic(tf.cast(inputs, tf.float32)), inputs.dtype)
        shape = tf.shape(inputs)
        size = tf.stack([shape[1] * self.factor, shape[2] * self.factor])
        method = (
            tf.image.ResizeMethod.BILINEAR
            if self.interpolation == "bilinear"
            else tf.image.ResizeMethod.NEAREST_NEIGHBOR
        )
        # Resized in float32 (tf.image.resize returns float32 anyway): under XLA the gradient of
        # a float16/bfloat16 resize mixes precisions and fails to compile.
        out = tf.image.resize(tf.cast(inputs, tf.float32), size, method=method)
        return tf.cast(out, inputs.dtype)

    def _bicubic(self, x):
        channels = int(x.shape[-1])
        # Two 1-pixel SYMMETRIC pads repeat the edge pixel twice (clamped taps) and, unlike one
        # 2-pixel pad, accept maps of side 1.
        for _ in range(2):
            x = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
        taps = bicubic_phase_taps(self.factor)
        phases = []
        for py in range(self.factor):
            for px in range(self.factor):
                kernel = np.outer(taps[py], taps[px])[:, :, None, None]
                kernel = np.tile(kernel, [1, 1, channels, 1]).astype(np.float32)
                phases.append(tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "VALID"))
        # depth_to_space reads channel (dy·factor + dx)·C + c as the pixel at offset (dy, dx).
        return tf.nn.depth_to_space(tf.concat(phases, axis=-1), self.factor)

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
class SelectLeakyReLU(keras.layers.LeakyReLU):
    """``keras.layers.LeakyReLU`` computed as ``where(x > 0, x, slope·x)``: the same values and
    gradients, without TensorFlow's ``LeakyRelu`` op.

    After a convolution with a bias, grappler's remapper (TensorFlow 2.21 with oneDNN, which
    training turns on) fuses Conv2D + BiasAdd + LeakyRelu although ``LeakyReluGrad`` still reads
    the ``BiasAdd``, whenever the activation feeds something other than a convolution (the
    G-GAN head's ``Flatten``, a mean): the rewrite fails and logs ``E… remapper failed:
    INVALID_ARGUMENT: Mutation::Apply error: fanout '…LeakyReluGrad' exist for missing node
    '…BiasAdd'`` in the middle of training (the demo preset's first epoch, Context Encoder).
    :func:`conv_block` uses this class after every biased convolution. Saved models that hold
    ``keras.layers.LeakyReLU`` there load as before (no weights; same names).
    """

    def call(self, inputs):
        return keras.ops.where(inputs > 0, inputs, inputs * self.negative_slope)


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
        if fill not in HOLE_FILLS:
            raise ValueError(f"fill must be one of {HOLE_FILLS}, got {fill!r}")
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
    """Returns the normalisation layer for ``norm`` or ``None`` for ``"none"``/``"spectral"``.

    ``"instance"`` is ``GroupNormalization(groups=-1)``: Keras 3's instance normalisation, which
    replaces tensorflow-addons' ``InstanceNormalization``. Being per-sample, it gives the same
    result whatever the per-replica batch, which keeps distributed training exact.
    ``"spectral"`` normalises the convolution's weights instead (:func:`conv_block`).
    """
    if norm not in NORMS_D:
        raise ValueError(f"unknown normalisation {norm!r}; choose one of {NORMS_D}")
    if norm == "instance":
        return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=f"{name}_norm")
    return None


def conv_block(
    x,
    filters: int,
    kernel_size: int,
    *,
    name: str,
    strides: int = 1,
    dilation_rate: int = 1,
    norm: str = "none",
    activation: str | None = "relu",
    slope: float = 0.2,
    spectral: bool = False,
    transpose: bool = False,
    kernel_initializer: str = "glorot_uniform",
    padding: str = "same",
    dilated_layer: bool = True,
    conv_name: str | None = None,
    dtype=None,
):
    """Convolution → optional normalisation → optional activation: every network's conv block.

    The layers and their names, which saved models record (changing them breaks loading):
    the convolution ``conv_name`` (default ``{name}_conv``), wrapped in
    ``SpectralNormalization`` ``{name}_sn`` when ``spectral``; ``GroupNormalization``
    ``{name}_norm`` for ``norm="instance"``; then ``Activation`` ``{name}_relu`` or
    ``LeakyReLU`` ``{name}_lrelu`` (:class:`SelectLeakyReLU` after a biased convolution). The
    convolution has a bias exactly when no normalisation layer follows it (a bias before
    instance normalisation is cancelled by it).

    Args:
        x: the input tensor.
        filters: output channels.
        kernel_size: square kernel side.
        name: the block's name, the prefix of its layers' names.
        strides: convolution strides (up-sampling factor when ``transpose``).
        dilation_rate: dilation of the convolution (not with ``transpose``).
        norm: ``"instance"`` (a normalisation layer), ``"none"`` or ``"spectral"`` (no layer:
            pass ``spectral=True`` to wrap the convolution).
        activation: ``"relu"``, ``"lrelu"`` or ``None``.
        slope: LeakyReLU's negative slope (``activation="lrelu"``).
        spectral: wrap the convolution in ``keras.layers.SpectralNormalization``.
        transpose: a ``Conv2DTranspose`` instead of a ``Conv2D``.
        kernel_initializer: the convolution's kernel initialiser.
        padding: the convolution's padding.
        dilated_layer: a dilated convolution is a :class:`DilatedConv2D` (one native op where
            possible); ``False`` keeps Keras's ``Conv2D`` (the class GLGAN's saved models hold).
        conv_name: the convolution's own name, when it is not ``{name}_conv``.
        dtype: dtype policy of the convolution (and its spectral wrapper), e.g. float32 logits
            under a mixed policy.

    Returns:
        The block's output tensor.

    Example:
        >>> y = conv_block(keras.Input((8, 8, 4)), 6, 3, name="b", strides=2, norm="instance")
        >>> tuple(y.shape)
        (None, 4, 4, 6)
    """
    if activation is not None and activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS} or None, got {activation!r}")
    layer = normalization(norm, name)
    kwargs = {}
    if transpose:
        if dilation_rate != 1:
            raise ValueError("a transposed convolution takes no dilation_rate here")
        conv_class = keras.layers.Conv2DTranspose
    else:
        conv_class = DilatedConv2D if dilation_rate != 1 and dilated_layer else keras.layers.Conv2D
        kwargs["dilation_rate"] = dilation_rate
    conv = conv_class(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        use_bias=layer is None,
        kernel_initializer=kernel_initializer,
        name=conv_name or f"{name}_conv",
        dtype=dtype,
        **kwargs,
    )
    if spectral:
        conv = keras.layers.SpectralNormalization(conv, name=f"{name}_sn", dtype=dtype)
    x = conv(x)
    if layer is not None:
        x = layer(x)
    if activation == "lrelu":
        # After a biased convolution, not the LeakyRelu op (SelectLeakyReLU says why).
        lrelu = SelectLeakyReLU if layer is None else keras.layers.LeakyReLU
        x = lrelu(slope, name=f"{name}_lrelu")(x)
    elif activation is not None:
        x = keras.layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


def apply_residual_block(
    x,
    filters: int,
    dilation_rate: int = 1,
    norm: str = "instance",
    name: str = "block",
    block_type: str = "both",
    inner_filters: int | None = None,
):
    """Residual block: Conv 3×3 → Norm → ReLU → Conv 3×3 → Norm, plus the identity.

    With ``dilation_rate=1`` this is PGGAN-Res's plain block; with growing rates it is
    PGGAN-DRes's dilated residual block, whose receptive field grows without down-sampling.
    ``block_type`` says which convolution carries ``dilation_rate`` (the other has rate 1):
    ``"both"``, ``"dilated_first"`` (``{name}_1_conv``) or ``"dilated_second"``
    (``{name}_2_conv``), the paper's Fig. 4 types. Layers: ``{name}_1_conv``, ``{name}_1_norm``,
    ``{name}_1_relu``, ``{name}_2_conv``, ``{name}_2_norm``, ``{name}_add``. ``inner_filters``
    (default ``filters``) is the width between the two convolutions.

    Example:
        >>> y = apply_residual_block(keras.Input((8, 8, 4)), 4, 2, "none", "r", "dilated_first")
        >>> tuple(y.shape)
        (None, 8, 8, 4)
    """
    if block_type not in BLOCK_TYPES:
        raise ValueError(f"block_type must be one of {BLOCK_TYPES}, got {block_type!r}")
    rate1 = dilation_rate if block_type in ("both", "dilated_first") else 1
    rate2 = dilation_rate if block_type in ("both", "dilated_second") else 1
    shortcut = x
    x = conv_block(x, inner_filters or filters, 3, dilation_rate=rate1, norm=norm, name=f"{name}_1")
    x = conv_block(x, filters, 3, dilation_rate=rate2, norm=norm, activation=None, name=f"{name}_2")
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
        x = conv_block(
            x,
            min(f, cfg.max_filters),
            kernel_size,
            strides=2,
            norm=cfg.norm if i > 1 else "none",
            activation="lrelu",
            slope=cfg.leaky_relu_slope,
            spectral=cfg.norm == "spectral",
            name=f"{prefix}conv{i}",
            conv_name=f"{prefix}conv{i}",
        )
        side, f = -(-side // 2), f * 2
    return x
