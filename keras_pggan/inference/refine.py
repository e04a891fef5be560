"""Neural Patch Synthesis's texture stage (Yang et al. 2017): a fill refined at inference time.

NPS starts from a content network's fill (a Context-Encoder-like network,
:func:`keras_pggan.models.ce.build_ce_generator`) and optimises the hole pixels so that the
hole's feature patches match their nearest known ones. The feature extractor is an argument:
no VGG-19 weights ship with this project or can be downloaded here.

Example:
    >>> vgg = keras.saving.load_model("vgg19_relu3_1.keras")             # doctest: +SKIP
    >>> out, _ = neural_patch_refine(image, mask, fill, vgg)              # doctest: +SKIP
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_pggan.inference.fill import composite


def _feature_list(features) -> list:
    if isinstance(features, dict):
        features = [features[k] for k in sorted(features)]
    if not isinstance(features, (list, tuple)):
        features = [features]
    out = []
    for f in features:
        f = tf.convert_to_tensor(f)
        if f.shape.rank != 4:
            raise ValueError(
                f"feature_extractor must return [B,h,w,C] feature maps, got shape {f.shape}"
            )
        out.append(tf.cast(f, tf.float32))
    return out


def neural_patch_texture_loss(features, mask, patch_size: int = 3):
    """NPS's texture term: hole feature patches against their nearest known feature patches.

    For each feature map, every ``patch_size``² patch centred in the hole is matched (normalised
    cross-correlation) to the most similar patch centred outside it, and the squared distance to
    that patch is averaged. The matches are constants (recomputed at every call), as in Yang et
    al. (2017).

    Args:
        features: [B,h,w,C] maps, a list of them or a dict (e.g. VGG-19 relu3_1 and relu4_1).
        mask: [B,H,W,1], 1 = hole; resized (nearest) to each map.
        patch_size: side of the feature patches.

    Returns:
        float32 scalar (0 when a map has no hole or no known position).
    """
    mask = tf.convert_to_tensor(mask, tf.float32)
    total = tf.constant(0.0)
    for f in _feature_list(features):
        h, w = f.shape[1], f.shape[2]
        holes = tf.image.resize(mask, [h, w], method="nearest")[..., 0] > 0.5
        patches = tf.image.extract_patches(
            f,
            sizes=[1, patch_size, patch_size, 1],
            strides=[1, 1, 1, 1],
            rates=[1, 1, 1, 1],
            padding="SAME",
        )
        for b in range(f.shape[0]):
            inside = tf.boolean_mask(patches[b], holes[b])
            outside = tf.stop_gradient(tf.boolean_mask(patches[b], tf.logical_not(holes[b])))
            if inside.shape[0] == 0 or outside.shape[0] == 0:
                continue
            scores = tf.matmul(
                tf.math.l2_normalize(tf.stop_gradient(inside), axis=1),
                tf.math.l2_normalize(outside, axis=1),
                transpose_b=True,
            )
            nearest = tf.gather(outside, tf.argmax(scores, axis=1))
            total += tf.reduce_mean(tf.square(inside - nearest))
    return total


def neural_patch_refine(
    image,
    mask,
    fill,
    feature_extractor,
    steps: int = 100,
    learning_rate: float = 0.01,
    texture_weight: float = 1.0,
    tv_weight: float = 1e-3,
    patch_size: int = 3,
):
    """Neural Patch Synthesis's texture stage (Yang et al. 2017) with a pluggable extractor.

    NPS starts from a content network's fill (in the paper a Context-Encoder-like network, e.g.
    :func:`build_ce_generator`) and optimises the hole pixels so that the hole's feature patches
    match their nearest neighbours among the known region's, under a pretrained VGG-19 (relu3_1,
    relu4_1), while staying close to the fill (content term) and smooth (total variation). No
    VGG-19 weights ship with this project or can be downloaded here, so the extractor is an
    argument: any differentiable callable ``images [B,H,W,3] in [0,1] → [B,h,w,C]`` map(s), the
    contract of ``keras_pggan.evaluate``'s ``--feature-model``. Single scale and Adam (the paper:
    three scales, L-BFGS); the weights are our defaults.

    Args:
        image: [B,H,W,3] in [0,1] (hole pixels are ignored).
        mask: [B,H,W,1], 1 = hole.
        fill: [B,H,W,3] in [0,1], the content network's output (its hole pixels are used).
        feature_extractor: see above (e.g. a ``keras.Model`` with VGG-19 weights).
        steps: optimisation steps.
        learning_rate: Adam learning rate on the pixel values.
        texture_weight: weight of :func:`neural_patch_texture_loss`.
        tv_weight: weight of the total variation of the result.
        patch_size: side of the feature patches.

    Returns:
        ``(result, losses)``: float32 [B,H,W,3] in [0,1] whose known pixels equal ``image``'s,
        and the total loss per step.

    Example:
        >>> vgg = keras.saving.load_model("vgg19_relu3_1.keras")             # doctest: +SKIP
        >>> fill = inpaint(ce_generator, image, mask)                         # doctest: +SKIP
        >>> out, _ = neural_patch_refine(image, mask, fill, vgg)              # doctest: +SKIP
    """
    image = tf.convert_to_tensor(image, tf.float32)
    mask = tf.convert_to_tensor(mask, tf.float32)
    fill = tf.convert_to_tensor(fill, tf.float32)
    pixels = keras.Variable(composite(fill, image, mask), name="nps_pixels")
    optimizer = keras.optimizers.Adam(learning_rate)
    history = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            current = composite(pixels, image, mask)  # only hole pixels can move
            content = tf.reduce_sum(tf.square(mask * (current - fill))) / (
                tf.reduce_sum(mask) * 3.0 + 1e-8
            )
            texture = neural_patch_texture_loss(feature_extractor(current), mask, patch_size)
            tv = tf.reduce_mean(tf.image.total_variation(current)) / float(
                image.shape[1] * image.shape[2]
            )
            loss = content + texture_weight * texture + tv_weight * tv
        optimizer.apply_gradients([(tape.gradient(loss, pixels), pixels)])
        pixels.assign(tf.clip_by_value(pixels, 0.0, 1.0))
        history.append(float(loss))
    return composite(tf.convert_to_tensor(pixels), image, mask), history
