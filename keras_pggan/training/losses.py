"""Loss functions: pure, TF-GAN-style names, per-example outputs.

Every function returns one value per example (shape [B]) by averaging over all non-batch axes, so
the same function serves the G-GAN head (logits [B,1]) and the PatchGAN head (logits [B,h,w,1]),
and the caller can scale by the *global* batch for distributed training
(``tf.nn.compute_average_loss``).

Example:
    >>> real = tf.constant([[2.0]]); fake = tf.constant([[-1.0]])
    >>> float(discriminator_adversarial_loss(real, fake, "hinge")[0])
    0.0
"""

from __future__ import annotations

import tensorflow as tf

from keras_pggan.config import ADVERSARIAL_LOSSES
from keras_pggan.data.imageio import YCBCR_601

# The adversarial loss names are the schema's (LossConfig.adversarial).
ADVERSARIAL_KINDS = ADVERSARIAL_LOSSES


def _per_example_mean(x):
    x = tf.convert_to_tensor(x)
    rank = x.shape.rank
    if rank is None:
        raise ValueError("losses need inputs of known rank")
    if rank == 0:
        raise ValueError("losses need a batch axis; got a scalar")
    if rank == 1:
        return x
    return tf.reduce_mean(x, axis=list(range(1, rank)))


def _check_kind(kind):
    if kind not in ADVERSARIAL_KINDS:
        raise ValueError(f"unknown adversarial loss {kind!r}; choose one of {ADVERSARIAL_KINDS}")


def discriminator_adversarial_loss(real_logits, fake_logits, kind: str = "bce"):
    """Discriminator loss on real and fake logits of any rank.

    Args:
        real_logits: logits for real images, [B, ...].
        fake_logits: logits for generated images, same shape.
        kind: ``"bce"``: softplus(−r) + softplus(f) (binary cross-entropy on both);
            ``"hinge"``: relu(1 − r) + relu(1 + f); ``"lsgan"``: ½(r − 1)² + ½f².

    Returns:
        float32 [B].
    """
    _check_kind(kind)
    r = tf.cast(real_logits, tf.float32)
    f = tf.cast(fake_logits, tf.float32)
    if kind == "bce":
        loss = tf.nn.softplus(-r) + tf.nn.softplus(f)
    elif kind == "hinge":
        loss = tf.nn.relu(1.0 - r) + tf.nn.relu(1.0 + f)
    else:
        loss = 0.5 * tf.square(r - 1.0) + 0.5 * tf.square(f)
    return _per_example_mean(loss)


def generator_adversarial_loss(fake_logits, kind: str = "bce"):
    """Generator loss on the discriminator's logits for generated images.

    Args:
        fake_logits: [B, ...] logits of any rank.
        kind: ``"bce"``: non-saturating softplus(−f); ``"hinge"``: −f; ``"lsgan"``: ½(f − 1)².

    Returns:
        float32 [B].
    """
    _check_kind(kind)
    f = tf.cast(fake_logits, tf.float32)
    if kind == "bce":
        loss = tf.nn.softplus(-f)
    elif kind == "hinge":
        loss = -f
    else:
        loss = 0.5 * tf.square(f - 1.0)
    return _per_example_mean(loss)


def rgb_to_ycbcr(x):
    """BT.601 luma and chroma of RGB tensors [..., 3] (linear; no offsets: for differences).

    The matrix is :data:`keras_pggan.data.imageio.YCBCR_601`, the colour scores' own.
    """
    m = tf.constant(YCBCR_601, tf.float32)
    return tf.einsum("...c,dc->...d", tf.cast(x, tf.float32), m)


def reconstruction_loss(
    y_true,
    y_pred,
    mask=None,
    mode: str = "full",
    hole_weight: float = 6.0,
    channel_weights=None,
):
    """L1 reconstruction loss per example.

    Args:
        y_true: target images [B,H,W,C].
        y_pred: predicted images, same shape.
        mask: [B,H,W,1], 1 = hole; required for ``"hole"`` and ``"weighted"``.
        mode: ``"full"``: mean |y − ŷ| over all pixels; ``"hole"``: mean over hole pixels only
            (0 for an example without holes); ``"weighted"``: hole pixels weighted by
            ``hole_weight``, known pixels by 1, normalised by the total weight.
        hole_weight: see ``mode``.
        channel_weights: optional per-channel weights of |y − ŷ| (length C), e.g. luma and
            chroma weights after :func:`rgb_to_ycbcr`; normalised to mean 1.

    Returns:
        float32 [B].
    """
    diff = tf.abs(tf.cast(y_true, tf.float32) - tf.cast(y_pred, tf.float32))
    if channel_weights is not None:
        w = tf.constant(channel_weights, tf.float32)
        diff = diff * (w / tf.reduce_mean(w))
    if mode == "full":
        return _per_example_mean(diff)
    if mode not in ("hole", "weighted"):
        raise ValueError(f"unknown reconstruction mode {mode!r}")
    if mask is None:
        raise ValueError(f"reconstruction mode {mode!r} needs a mask")
    m = tf.cast(mask, tf.float32) * tf.ones_like(diff)
    w = m if mode == "hole" else 1.0 + (hole_weight - 1.0) * m
    axes = list(range(1, diff.shape.rank))
    return tf.math.divide_no_nan(tf.reduce_sum(w * diff, axes), tf.reduce_sum(w, axes))


def colour_lowpass_loss(y_true, y_pred, mask, cell: int = 8):
    """Low-frequency colour error in the hole, per example.

    Cb and Cr of the truth and the prediction are averaged over ``cell``×``cell`` cells; the
    loss is the mean |Δ| of those cell averages over cells that are at least half hole. A blotch
    of the wrong hue survives the pooling; pixel noise and texture do not.

    Args:
        y_true: target images [B,H,W,3] (H, W multiples of ``cell``).
        y_pred: predicted images, same shape.
        mask: [B,H,W,1], 1 = hole.
        cell: side of the pooling cells.

    Returns:
        float32 [B] (0 for an example with no hole cell).
    """
    chroma = rgb_to_ycbcr(tf.cast(y_true, tf.float32) - tf.cast(y_pred, tf.float32))[..., 1:]
    pooled = tf.nn.avg_pool2d(chroma, cell, cell, "VALID")
    holes = tf.nn.avg_pool2d(tf.cast(mask, tf.float32), cell, cell, "VALID")
    w = tf.cast(holes >= 0.5, tf.float32)
    total = tf.reduce_sum(w * tf.abs(pooled), axis=[1, 2, 3])
    return tf.math.divide_no_nan(total, 2.0 * tf.reduce_sum(w, axis=[1, 2, 3]))


def feature_matching_loss(real_features, fake_features):
    """Mean L1 between two lists of feature maps, per example, averaged over the maps.

    The real features are held constant (``tf.stop_gradient``): the term moves only what made
    the fake ones.

    Args:
        real_features: list of [B,h,w,c] activations of the real images.
        fake_features: the same layers' activations of the fills, same shapes.

    Returns:
        float32 [B].
    """
    if len(real_features) != len(fake_features) or not real_features:
        raise ValueError(
            f"feature_matching_loss needs two equal, non-empty lists of feature maps, got "
            f"{len(real_features)} and {len(fake_features)}"
        )
    per_map = [
        _per_example_mean(tf.abs(tf.stop_gradient(tf.cast(r, tf.float32)) - tf.cast(f, tf.float32)))
        for r, f in zip(real_features, fake_features)
    ]
    return tf.add_n(per_map) / float(len(per_map))
