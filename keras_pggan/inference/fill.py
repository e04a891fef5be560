"""The one fill: pad → [-1,1] → generator → crop → composite, and the contracts it is made of.

Every inference path reaches a generator through :func:`fill_holes` (``PGGAN.call``, the sample
grids, the EMA validation, both SavedModel signatures, the TFLite endpoint and the Keras
backend); only ``PGGAN.train_step``/``test_step`` call a generator directly, for the raw output
their losses need (tests/architecture_test.py checks both). The pieces are public because each
has one owner here:

- the value ranges: images are [0,1] at every API, the generator works in [-1,1]
  (:func:`to_model_range`, :func:`from_model_range`);
- compositing ``m·G + (1−m)·x``: :func:`composite` (tensors or arrays, any shared value range)
  and its host twin :func:`composite_np` (a select by hole, exact for uint8), with
  :func:`masked_view` (holes painted white, the "masked" column of grids and sheets);
- padding to the generator's multiple: :func:`round_up`, :func:`pad_to_multiple` (host) and the
  in-graph mirror padding inside :func:`fill_holes`.

TensorFlow is imported only by the in-graph functions, so the host-side helpers stay light.

Example:
    >>> from keras_pggan.models.generator import build_generator
    >>> from keras_pggan.config import get_preset
    >>> g = build_generator(get_preset("tiny").generator)
    >>> out = fill_holes(g, np.zeros([1, 30, 45, 3]), np.ones([1, 30, 45, 1]), pad_multiple=4)
    >>> tuple(out.shape)
    (1, 30, 45, 3)
"""

from __future__ import annotations

import math

import numpy as np


# -- value ranges and compositing -------------------------------------------------------------
def to_model_range(x01):
    """[0,1] images → the generator's [-1,1] (tensors or arrays; the dtype is the caller's)."""
    return x01 * 2.0 - 1.0


def from_model_range(raw):
    """The generator's [-1,1] output → [0,1] (tensors or arrays; no clipping)."""
    return (raw + 1.0) * 0.5


def composite(generated, image, mask):
    """Keeps known pixels and takes the generator's pixels in holes: ``m·G(x) + (1−m)·x``.

    Works on tensors and float arrays, in any value range as long as ``generated`` and ``image``
    share it; with a soft mask it blends. For uint8 arrays use :func:`composite_np`.
    """
    return mask * generated + (1.0 - mask) * image


def _hole_selector(holes, ndim: int) -> np.ndarray:
    """``holes`` (bool or {0,1}, with or without the channel axis) as bool broadcastable to
    images of rank ``ndim``."""
    m = np.asarray(holes)
    m = m if m.dtype == np.bool_ else m > 0.5
    return m if m.ndim == ndim else m[..., None]


def composite_np(fill, image, holes) -> np.ndarray:
    """Host twin of :func:`composite` for a binary mask: ``fill`` in the holes, ``image`` elsewhere.

    A select, not a blend, so known pixels are the input's bytes whatever the dtype (uint8
    included) and the result has ``image``'s dtype.

    Args:
        fill: [..., H, W, C] (or a value broadcastable to it, e.g. one colour).
        image: [..., H, W, C].
        holes: bool or {0,1} hole mask, [..., H, W] or [..., H, W, 1] (1 = hole).

    Example:
        >>> composite_np(np.uint8(9), np.zeros((1, 2, 1), np.uint8), [[1, 0]])[..., 0].tolist()
        [[9, 0]]
    """
    image = np.asarray(image)
    out = np.where(_hole_selector(holes, image.ndim), fill, image)
    return out.astype(image.dtype, copy=False)


def masked_view(image, holes) -> np.ndarray:
    """What the network is shown, for people: ``image`` with its holes painted white.

    Args:
        image: uint8 (white 255) or float in [0,1] (white 1.0), [..., H, W, 3].
        holes: as :func:`composite_np`.
    """
    image = np.asarray(image)
    white = 255 if image.dtype == np.uint8 else 1.0
    return composite_np(white, image, holes)


# -- padding -------------------------------------------------------------------------------------
def round_up(n, multiple):
    """``n`` rounded up to a multiple of ``multiple`` (ints or integer tensors)."""
    return (n + multiple - 1) // multiple * multiple


def pad_to_multiple(image: np.ndarray, mask: np.ndarray, multiple: int):
    """Host-side twin of the in-graph padding: mirror-pads [B,H,W,C] arrays at the bottom/right.

    Image and mask pad together so mirrored hole pixels stay holes; ``"symmetric"`` (edge pixel
    repeated) is TF's ``SYMMETRIC`` MirrorPad, so every backend sees the same padded input.
    Returns both arrays unchanged when H and W already are multiples.
    """
    h, w = image.shape[1:3]
    ph, pw = round_up(h, multiple) - h, round_up(w, multiple) - w
    if not ph and not pw:
        return image, mask
    pad = ((0, 0), (0, ph), (0, pw), (0, 0))
    return np.pad(image, pad, mode="symmetric"), np.pad(mask, pad, mode="symmetric")


def _pin01(x):
    # A fake-quant node fixes this tensor's int8 range to exactly [0, 1] (scale 1/255): uint8
    # images then map to int8 without rounding and known pixels pass through unchanged.
    import tensorflow as tf

    return tf.quantization.fake_quant_with_min_max_args(x, min=0.0, max=1.0, num_bits=8)


def _mirror_pad_to(x, target_h, target_w, channels: int, rounds: int):
    """Mirror-pads [B,h,w,C] at the bottom/right to (target_h, target_w), like ``np.pad``.

    ``SYMMETRIC`` padding needs pad <= size, so images smaller than the target are padded in up
    to ``rounds`` rounds, each at most doubling the size (``np.pad(mode="symmetric")`` gives the
    same pixels). Dynamic paddings hide the channel count, which the convolutions need: a
    reshape restores it (``EnsureShape`` has no TFLite builtin).
    """
    import tensorflow as tf

    for _ in range(rounds):
        shape = tf.shape(x)
        ph = tf.minimum(target_h - shape[1], shape[1])
        pw = tf.minimum(target_w - shape[2], shape[2])
        x = tf.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]], mode="SYMMETRIC")
    return tf.reshape(x, [-1, target_h, target_w, channels])


# -- the one inpaint function --------------------------------------------------------------------
def fill_holes(
    generator,
    image,
    mask,
    training: bool = False,
    pad_multiple: int | None = None,
    allow_empty_batch: bool = False,
    int8_ranges: bool = False,
):
    """Inpaints [0,1] images: pad, scale to [-1,1], run the generator, crop, composite.

    The one in-graph inference path: ``PGGAN.call``, both SavedModel signatures
    (``keras_pggan.export.saved_model``) and the TFLite endpoint (``keras_pggan.export.tflite``)
    call it; host-side backends pad with :func:`pad_to_multiple` and call the same graph.

    Args:
        generator: a generator ``keras.Model`` (dict inputs ``image`` in [-1,1], ``mask``).
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
    import tensorflow as tf

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
        th, tw = round_up(h, pad_multiple), round_up(w, pad_multiple)
        x = _mirror_pad_to(x, th, tw, 3, rounds)
        m = _mirror_pad_to(m, th, tw, 1, rounds)
    raw = generator({"image": to_model_range(x), "mask": m}, training=training)
    fill = from_model_range(tf.cast(raw, tf.float32))
    if padded:
        fill = fill[:, :h, :w, :]
    if allow_empty_batch:
        fill = fill[:batch]
    if int8_ranges:
        # In int8 the arithmetic blend re-quantizes known pixels; a select keeps them.
        return _pin01(tf.where(mask > 0.5, _pin01(fill), image))
    return composite(fill, image, mask)
