"""GLGAN (Iizuka et al. 2017) as a baseline: the completion network and the global + local
discriminator.

The completion network follows the paper's table: a 5×5 convolution, two stride-2 down-samplings
(each followed by a 3×3 convolution, one more at the lowest resolution), dilated 3×3
convolutions at rates 2, 4, 8, 16, two 3×3 convolutions, two 4×4 transposed-convolution
up-samplings (each followed by a 3×3 convolution, the last at half width) and a 3×3 output
convolution. Fully convolutional: any H, W that is a multiple of ``2**num_downsamplings``.

The discriminator has two branches of 5×5 stride-2 convolutions down to 4×4, each ending in a
dense layer of ``2·max_filters`` units (GLGAN's 1024): the global branch reads the whole image,
the local branch a fixed-size patch around the hole (``HoleCrop``). The two feature vectors are
concatenated into one logit, as in the paper.

Example:
    >>> from keras_pggan.config import get_preset
    >>> cfg = get_preset("glgan")
    >>> g = build_glgan_generator(cfg.generator)
    >>> tuple(g({"image": tf.zeros([1, 64, 96, 3]), "mask": tf.ones([1, 64, 96, 1])}).shape)
    (1, 64, 96, 3)
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_pggan.config import DiscriminatorConfig, GeneratorConfig
from keras_pggan.models.layers import MaskedInput, apply_strided_conv_stack, conv_block

# He initialisation keeps the signal's scale through the deep ReLU stack without the papers'
# batch normalisation (with Glorot's the untrained network outputs ~1e-4).
_INIT = "he_normal"


def _conv_norm_act(
    x, filters, kernel_size, norm, name, strides=1, dilation_rate=1, transpose=False
):
    """A completion-network block: He-initialised convolution, ``norm``, ReLU.

    Its dilated convolutions stay Keras's ``Conv2D`` (the class GLGAN's saved models hold).
    """
    return conv_block(
        x,
        filters,
        kernel_size,
        strides=strides,
        dilation_rate=dilation_rate,
        norm=norm,
        transpose=transpose,
        kernel_initializer=_INIT,
        dilated_layer=False,
        name=name,
    )


def hole_patch_offsets(mask, patch_size: int):
    """Top-left corners of the ``patch_size``² patches centred on each mask's holes.

    The patch is centred on the bounding box of all hole pixels (any mask kind: rectangles,
    strokes, several holes) and shifted to lie inside the image; a mask without holes gets the
    image centre.

    Args:
        mask: [B,H,W,1] (or [B,H,W]), 1 = hole; H and W >= ``patch_size``.
        patch_size: side of the patch.

    Returns:
        ``(top, left)``: int32 [B] each.

    Example:
        >>> m = tf.zeros([1, 32, 32, 1]); m = tf.tensor_scatter_nd_update(m, [[0, 0, 31, 0]], [1.0])
        >>> [int(v[0]) for v in hole_patch_offsets(m, 16)]
        [0, 16]
    """
    holes = tf.convert_to_tensor(mask)
    if holes.shape.rank == 4:
        holes = holes[..., 0]
    holes = holes > 0.5
    shape = tf.shape(holes)

    def start(any_hole, n):
        # any_hole: [B, n] bool, a hole somewhere in that row (or column).
        has = tf.reduce_any(any_hole, axis=1)
        as_int = tf.cast(any_hole, tf.int32)
        first = tf.argmax(as_int, axis=1, output_type=tf.int32)
        last = n - 1 - tf.argmax(tf.reverse(as_int, [1]), axis=1, output_type=tf.int32)
        centred = (first + last + 1 - patch_size) // 2
        centred = tf.where(has, centred, (n - patch_size) // 2)
        return tf.clip_by_value(centred, 0, tf.maximum(n - patch_size, 0))

    top = start(tf.reduce_any(holes, axis=2), shape[1])
    left = start(tf.reduce_any(holes, axis=1), shape[2])
    return top, left


def crop_patches(images, top, left, patch_size: int):
    """Crops one ``patch_size``² patch per image at (``top``, ``left``); differentiable in images.

    Args:
        images: [B,H,W,C].
        top: int32 [B].
        left: int32 [B].
        patch_size: side of the patches.

    Returns:
        [B, patch_size, patch_size, C].
    """
    steps = tf.range(patch_size, dtype=tf.int32)[None, :]
    rows = tf.gather(images, top[:, None] + steps, axis=1, batch_dims=1)
    return tf.gather(rows, left[:, None] + steps, axis=2, batch_dims=1)


@keras.saving.register_keras_serializable(package="keras_pggan")
class HoleCrop(keras.layers.Layer):
    """Crops a fixed-size patch around the holes: GLGAN's local discriminator input.

    Inputs ``[images [B,H,W,C], mask [B,H,W,1]]``; output [B, patch_size, patch_size, C]
    (see :func:`hole_patch_offsets` for where the patch goes).

    Args:
        patch_size: side of the patch.
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> crop = HoleCrop(16)([tf.zeros([2, 32, 48, 3]), tf.ones([2, 32, 48, 1])])
        >>> tuple(crop.shape)
        (2, 16, 16, 3)
    """

    def __init__(self, patch_size: int, **kwargs):
        super().__init__(**kwargs)
        if int(patch_size) != patch_size or patch_size < 1:
            raise ValueError(f"patch_size must be a positive integer, got {patch_size!r}")
        self.patch_size = int(patch_size)

    def call(self, inputs):
        images, mask = inputs
        top, left = hole_patch_offsets(mask, self.patch_size)
        return crop_patches(images, top, left, self.patch_size)

    def compute_output_shape(self, input_shape):
        image_shape = input_shape[0]
        return (image_shape[0], self.patch_size, self.patch_size, image_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"patch_size": self.patch_size})
        return config


def build_glgan_generator(cfg: GeneratorConfig, name: str | None = None) -> keras.Model:
    """Builds GLGAN's completion network.

    Args:
        cfg: generator configuration with ``variant="glgan"``: ``stem_kernel_size`` (5 in the
            paper), ``num_downsamplings`` (2), ``base_filters`` (64) doubling up to
            ``max_filters`` (256), one dilated convolution per ``dilation_rates`` entry
            (2, 4, 8, 16), ``norm``.
        name: model name; defaults to ``"glgan_generator"``.

    Returns:
        A functional ``keras.Model``: ``{"image": [B,H,W,3] in [-1,1], "mask": [B,H,W,1]}`` →
        raw output [B,H,W,3] in [-1,1]; H, W multiples of ``cfg.pad_multiple``.
    """
    if cfg.variant != "glgan":
        raise ValueError(f"GeneratorConfig.variant: expected 'glgan', got {cfg.variant!r}")
    image = keras.Input((None, None, 3), name="image")
    mask = keras.Input((None, None, 1), name="mask")
    x = MaskedInput(name="masked_input")([image, mask])
    f = min(cfg.base_filters, cfg.max_filters)
    x = _conv_norm_act(x, f, cfg.stem_kernel_size, cfg.norm, "stem")
    encoder_filters = []
    for i in range(cfg.num_downsamplings):
        encoder_filters.append(f)
        f = min(f * 2, cfg.max_filters)
        x = _conv_norm_act(x, f, 3, cfg.norm, f"down{i + 1}", strides=2)
        x = _conv_norm_act(x, f, 3, cfg.norm, f"down{i + 1}_b")
    x = _conv_norm_act(x, f, 3, cfg.norm, "mid")
    for i, rate in enumerate(cfg.dilation_rates):
        x = _conv_norm_act(x, f, 3, cfg.norm, f"dilated{i + 1}", dilation_rate=rate)
    x = _conv_norm_act(x, f, 3, cfg.norm, "post1")
    x = _conv_norm_act(x, f, 3, cfg.norm, "post2")
    last = len(encoder_filters) - 1
    for i, up_filters in enumerate(reversed(encoder_filters)):
        x = _conv_norm_act(x, up_filters, 4, cfg.norm, f"up{i + 1}", strides=2, transpose=True)
        conv_filters = max(up_filters // 2, 1) if i == last else up_filters
        x = _conv_norm_act(x, conv_filters, 3, cfg.norm, f"up{i + 1}_b")
    x = keras.layers.Conv2D(3, 3, padding="same", name="to_rgb_conv")(x)
    out = keras.layers.Activation("tanh", name="to_rgb_tanh", dtype="float32")(x)
    return keras.Model({"image": image, "mask": mask}, out, name=name or "glgan_generator")


def _branch(x, cfg: DiscriminatorConfig, name: str):
    """5×5 stride-2 convolutions until the map is at most 4×4, then a dense feature layer."""
    x = apply_strided_conv_stack(x, cfg, kernel_size=5, prefix=f"{name}_")
    x = keras.layers.Flatten(name=f"{name}_flatten")(x)
    x = keras.layers.Dense(2 * cfg.max_filters, name=f"{name}_dense")(x)
    return keras.layers.LeakyReLU(cfg.leaky_relu_slope, name=f"{name}_dense_lrelu")(x)


def local_patch_size(cfg: DiscriminatorConfig, image_size: int | tuple[int, int]) -> int:
    """The local discriminator's patch side: ``cfg.local_patch_size``, else half the short side."""
    h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
    return int(cfg.local_patch_size or min(h, w) // 2)


def build_glgan_discriminator(
    cfg: DiscriminatorConfig, image_size: int | tuple[int, int], name: str | None = None
) -> keras.Model:
    """Builds GLGAN's discriminator: global and local branches joined into one logit.

    Args:
        cfg: discriminator configuration with ``variant="glgan"``.
        image_size: training crop size (int or (height, width)); fixed by the dense layers.
        name: model name; defaults to ``"glgan_discriminator"``.

    Returns:
        A ``keras.Model`` mapping ``{"image": [B,H,W,3] in [-1,1], "mask": [B,H,W,1]}`` to
        ``{"global": (B,1)}`` (the joint logit; the mask only places the local patch).

    Raises:
        ValueError: a variant other than ``"glgan"`` or a patch larger than the image.
    """
    if cfg.variant != "glgan":
        raise ValueError(f"DiscriminatorConfig.variant: expected 'glgan', got {cfg.variant!r}")
    h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
    patch = local_patch_size(cfg, (h, w))
    if not 1 <= patch <= min(h, w):
        raise ValueError(
            f"DiscriminatorConfig.local_patch_size: {patch} does not fit in a {h}x{w} image"
        )
    image = keras.Input((h, w, 3), name="image")
    mask = keras.Input((h, w, 1), name="mask")
    global_features = _branch(image, cfg, "global")
    local = HoleCrop(patch, name="local_crop")([image, mask])
    local_features = _branch(local, cfg, "local")
    x = keras.layers.Concatenate(name="concat")([global_features, local_features])
    logit = keras.layers.Dense(1, name="logit", dtype="float32")(x)
    return keras.Model(
        {"image": image, "mask": mask}, {"global": logit}, name=name or "glgan_discriminator"
    )
