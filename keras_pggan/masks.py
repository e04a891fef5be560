"""In-graph training masks, mask files and fixed, seeded evaluation mask sets (1 = hole).

Example:

    python -m keras_pggan.masks make-eval-set --kind freeform --size 256 --count 1000 --seed 0 \\
        eval_masks/freeform256
    python -m keras_pggan.masks preview --kind thick --size 256 --count 16 --seed 0 thick.png

Every training mask is drawn with pure TensorFlow ops from a stateless seed (``tf.random.
stateless_*`` only), so masks are made per example inside ``tf.data.Dataset.map`` and the same
seed gives the same mask eagerly, in a ``tf.function`` and in a parallel ``map``.

Kinds (``KINDS``):

- ``center``: a centred square hole whose side is half the short side (128 at 256²): the
  evaluation of the PGGAN paper and of Context Encoders. Ignores the seed.
- ``rect``: 1–3 random axis-aligned rectangles, each side 15–50 % of the image side.
- ``freeform``: brush strokes modelled on DeepFill v2's free-form masks: 1–4 strokes of
  4–12 vertices, turning by angles around 2π/5 that alternate in sign, step lengths drawn around
  the image diagonal / 8, brush widths 12–40 px at 256² (scaled with the short side). Unlike
  DeepFill v2, each stroke is turned by its own random angle (instead of flipping the whole mask)
  and vertices that leave the image are reflected back into it (instead of clipped).
- ``thin`` / ``medium`` / ``thick``: free-form presets with narrow / medium / wide brushes, in
  the spirit of LaMa's thin / medium / thick evaluation sets at 256² and 512². The parameters are
  ours (see ``STROKE_PRESETS``), not LaMa's, and scale with the short side, so the masks at 512²
  look like the masks at 256² drawn at twice the resolution.
- ``folder``: mask files from ``MaskConfig.mask_dir`` (recursive; png/jpg/jpeg/bmp/webp): a
  random file, random flips, a random multiple of 90° (odd multiples only for square files), a
  nearest-neighbour resize to the target size, binarised with the file convention below.

Mask file convention (``load_mask_file`` and the ``folder`` kind agree pixel for pixel): a pixel
is a hole when its luma ``(19595·R + 38470·G + 7471·B + 2¹⁵) >> 16`` (PIL's ``convert("L")``;
the grey value itself for grey images) is >= 128, i.e. white = hole. An image with an alpha
channel that is not all-opaque (some alpha < 255) is read from its alpha channel instead:
transparent (alpha < 128) = hole.

Strokes are rasterised without a per-pixel loop over primitives: each stroke segment is a
capsule (a segment thickened by the brush radius), a convex shape, so its intersection with each
pixel row is one interval computed in closed form (two end disks and two long sides). The
intervals are accumulated as +1/-1 marks in a row-difference array whose cumulative sum along x
is the coverage: O(segments·H + H·W) work instead of O(segments·H·W).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import io
import json
import math
import os
import re
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf
from PIL import Image

from keras_pggan.config import MaskConfig
from keras_pggan.io_utils import atomic_path, write_text_atomic

KINDS = ("center", "rect", "freeform", "thin", "medium", "thick", "folder")
STROKE_KINDS = ("freeform", "thin", "medium", "thick")
MASK_FILE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
BUCKETS = ("0-10%", "10-20%", "20-30%", "30-40%", "40-50%", "50-60%", ">60%")
MAX_ATTEMPTS = 10
EVAL_SET_VERSION = 1
EVAL_SET_FORMAT = "keras_pggan.masks eval set"
MANIFEST = "manifest.json"

# Hole-ratio bounds of evaluation sets when none are given: the bucketed kinds stay in the
# 1–60 % buckets (no near-empty masks); the centre square (25 %) and user mask files are kept as
# they are.
EVAL_HOLE_RATIO_BOUNDS = {
    "center": (0.0, 1.0),
    "folder": (0.0, 1.0),
    "rect": (0.01, 0.6),
    "freeform": (0.01, 0.6),
    "thin": (0.01, 0.6),
    "medium": (0.01, 0.6),
    "thick": (0.01, 0.6),
}

_ALG = "auto_select"
_SCAN_BLOCK = 32
_REFERENCE_SIDE = 256.0
_MIN_RADIUS = 0.75  # px: a thinner brush could slip between pixel centres


# -- seeds and random numbers -----------------------------------------------------------------
def _fold(seed: tf.Tensor, tag) -> tf.Tensor:
    """A new stateless seed derived from ``seed`` and an integer tag."""
    return tf.random.experimental.stateless_fold_in(seed, tag, alg=_ALG)


def _uniform(seed, shape, lo=0.0, hi=1.0) -> tf.Tensor:
    return tf.random.stateless_uniform(shape, seed, lo, hi, dtype=tf.float32, alg=_ALG)


def _randint(seed, shape, lo, hi) -> tf.Tensor:
    """Uniform int32 in ``[lo, hi]`` (both inclusive; tensors allowed)."""
    return tf.random.stateless_uniform(
        shape, seed, minval=lo, maxval=tf.add(hi, 1), dtype=tf.int32, alg=_ALG
    )


def _as_seed(seed) -> tf.Tensor:
    seed = tf.convert_to_tensor(seed)
    if seed.dtype not in (tf.int32, tf.int64):
        raise ValueError(f"mask seed must be an int32/int64 tensor of shape [2], got {seed.dtype}")
    return tf.ensure_shape(tf.cast(seed, tf.int64), [2])


# -- mask spec ---------------------------------------------------------------------------------
def parse_mask_spec(spec: str) -> tuple[tuple[str, float], ...]:
    """Parses a weighted mixture of mask kinds.

    Args:
        spec: comma-separated ``kind[:weight]`` items, e.g. ``"freeform:0.5,rect:0.5"`` or
            ``"thin,thick:3"``. A missing weight is 1.

    Returns:
        ``((kind, weight), ...)`` in the order given, weights normalised to sum to 1.

    Raises:
        ValueError: naming the spec and the problem (unknown kind, bad or non-positive weight,
            a kind listed twice, an empty item).

    Example:
        >>> parse_mask_spec("freeform:3,rect")
        (('freeform', 0.75), ('rect', 0.25))
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"mask spec {spec!r}: must be a non-empty string like 'freeform:0.5'")
    items: list[tuple[str, float]] = []
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            raise ValueError(f"mask spec {spec!r}: empty item")
        kind, sep, weight_text = item.partition(":")
        kind = kind.strip()
        if kind not in KINDS:
            raise ValueError(f"mask spec {spec!r}: unknown kind {kind!r}; choose from {KINDS}")
        weight = 1.0
        if sep:
            try:
                weight = float(weight_text)
            except ValueError:
                raise ValueError(
                    f"mask spec {spec!r}: weight {weight_text.strip()!r} of {kind!r} is not a "
                    "number"
                ) from None
            if not math.isfinite(weight) or weight <= 0:
                raise ValueError(
                    f"mask spec {spec!r}: weight of {kind!r} must be a positive number, "
                    f"got {weight_text.strip()!r}"
                )
        if any(k == kind for k, _ in items):
            raise ValueError(f"mask spec {spec!r}: kind {kind!r} is listed twice")
        items.append((kind, weight))
    total = sum(w for _, w in items)
    return tuple((k, w / total) for k, w in items)


# -- free-form strokes ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class StrokeParams:
    """Parameters of free-form brush-stroke masks.

    Lengths are in pixels at a 256-pixel short side and scale linearly with the short side.

    Attributes:
        min_strokes: fewest strokes per mask.
        max_strokes: most strokes per mask.
        min_vertices: fewest segments per stroke.
        max_vertices: most segments per stroke.
        min_width: narrowest brush (diameter).
        max_width: widest brush (diameter).
        mean_step: mean segment length; lengths are normal(mean, mean/2) clipped to [0, 2·mean].
        mean_angle: mean turning angle in radians; alternate vertices turn by ``2π - angle``.
        angle_range: half-width of the range the per-stroke angle bounds are drawn from.
    """

    min_strokes: int
    max_strokes: int
    min_vertices: int
    max_vertices: int
    min_width: float
    max_width: float
    mean_step: float
    mean_angle: float = 2 * math.pi / 5
    angle_range: float = 2 * math.pi / 15

    def __post_init__(self):
        c = "StrokeParams"
        for lo, hi in (("min_strokes", "max_strokes"), ("min_vertices", "max_vertices")):
            a, b = getattr(self, lo), getattr(self, hi)
            if not isinstance(a, int) or not isinstance(b, int) or not 1 <= a <= b:
                raise ValueError(f"{c}.{hi}: need integers 1 <= {lo} <= {hi}, got {a!r}, {b!r}")
        if not 0 < self.min_width <= self.max_width:
            raise ValueError(f"{c}.max_width: need 0 < min_width <= max_width")
        if not self.mean_step > 0:
            raise ValueError(f"{c}.mean_step: must be positive, got {self.mean_step!r}")


# ``freeform`` is modelled on DeepFill v2's free-form recipe (a few strokes of 4–12 vertices, brush
# widths 12–40 px, steps around diagonal/8 = 45 px at 256², turning angles 2π/5 ± 2π/15); the
# exact numbers are our defaults. The thin/medium/thick presets are our own, tuned so their mean
# hole ratios (before any bounds) are about 12 %, 24 % and 37 % at any size.
STROKE_PRESETS = {
    "freeform": StrokeParams(1, 4, 4, 12, 12.0, 40.0, 45.25),
    "thin": StrokeParams(3, 6, 4, 10, 4.0, 12.0, 40.0),
    "medium": StrokeParams(2, 5, 4, 10, 16.0, 36.0, 40.0),
    "thick": StrokeParams(2, 4, 3, 8, 40.0, 72.0, 45.0),
}


def _rasterize_capsules(ax, ay, bx, by, radius, height: int, width: int) -> tf.Tensor:
    """Coverage of a union of capsules (segment AB thickened by ``radius``) on the pixel grid.

    A pixel is covered when its centre is within ``radius`` of the segment. Inputs are float32
    [K]; capsules with a negative radius are skipped. Returns bool [height, width].
    """
    yc = tf.range(0.5, height, dtype=tf.float32)[None, :]  # pixel-centre rows [1,H]
    ax, ay, bx, by, r = (tf.reshape(t, [-1, 1]) for t in (ax, ay, bx, by, radius))
    r2 = r * r
    inf = tf.constant(np.inf, tf.float32)
    lefts, rights = [], []
    for cx, cy in ((ax, ay), (bx, by)):  # the two round caps
        h = r2 - tf.square(yc - cy)
        s = tf.sqrt(tf.maximum(h, 0.0))
        ok = h >= 0.0
        lefts.append(tf.where(ok, cx - s, inf))
        rights.append(tf.where(ok, cx + s, -inf))
    # The two long sides A ± r·n → B ± r·n; rows cross them at parameter t in [0, 1]. A row that
    # meets the capsule only through a cap edge is already covered by that cap's disk.
    dx, dy = bx - ax, by - ay
    inv_length = tf.math.rsqrt(tf.maximum(dx * dx + dy * dy, 1e-12))
    off_x, off_y = -dy * inv_length * r, dx * inv_length * r
    sloped = tf.abs(dy) > 1e-6
    inv_dy = 1.0 / tf.where(sloped, dy, 1.0)
    for sign in (1.0, -1.0):
        t = (yc - ay - sign * off_y) * inv_dy
        x = ax + sign * off_x + t * dx
        ok = sloped & (t >= 0.0) & (t <= 1.0)
        lefts.append(tf.where(ok, x, inf))
        rights.append(tf.where(ok, x, -inf))
    left = tf.reduce_min(tf.stack(lefts), axis=0)  # [K,H]
    right = tf.reduce_max(tf.stack(rights), axis=0)
    hit = (r >= 0.0) & (left <= right)
    # Columns whose centre x + 0.5 lies in [left, right]: [start, stop).
    big = float(width + 2)
    start = tf.math.ceil(tf.clip_by_value(left - 0.5, -1.0, big))
    stop = tf.math.floor(tf.clip_by_value(right - 0.5, -2.0, big)) + 1.0
    start = tf.clip_by_value(tf.cast(start, tf.int32), 0, width)
    stop = tf.clip_by_value(tf.cast(stop, tf.int32), 0, width)
    weight = tf.cast(hit & (stop > start), tf.float32)
    pitch = -(-(width + 1) // _SCAN_BLOCK) * _SCAN_BLOCK
    rows = tf.range(0, height * pitch, pitch, dtype=tf.int32)[None, :]
    ids = tf.reshape(tf.stack([rows + start, rows + stop]), [-1])
    marks = tf.reshape(tf.stack([weight, -weight]), [-1])
    diff = tf.reshape(tf.math.unsorted_segment_sum(marks, ids, height * pitch), [height, pitch])
    return _row_cumsum(diff)[:, :width] > 0.5


def _row_cumsum(x: tf.Tensor) -> tf.Tensor:
    """Inclusive cumulative sum along axis 1 of float32 [H, L], L a multiple of _SCAN_BLOCK.

    Two small matmuls (within blocks of _SCAN_BLOCK columns, then across blocks) instead of
    ``tf.cumsum``, which is 3–6x slower on CPU at these sizes. Exact for integer-valued inputs
    (all partial sums are small integers).
    """
    h, length = x.shape
    b = _SCAN_BLOCK
    g = length // b
    inner = tf.matmul(tf.reshape(x, [h * g, b]), tf.constant(np.triu(np.ones((b, b), np.float32))))
    inner = tf.reshape(inner, [h, g, b])
    before = tf.matmul(inner[:, :, -1], tf.constant(np.triu(np.ones((g, g), np.float32), 1)))
    return tf.reshape(inner + before[:, :, None], [h, length])


def _uniform_int(u, lo: int, hi: int) -> tf.Tensor:
    """Maps uniforms in [0, 1) to integers in [lo, hi]."""
    return lo + tf.minimum(tf.cast(u * (hi - lo + 1), tf.int32), hi - lo)


def _draw_strokes(seed, height: int, width: int, p: StrokeParams) -> tf.Tensor:
    """Free-form brush strokes; returns bool [height, width].

    All random numbers come from three stateless draws (few ops: this runs per example).
    """
    scale = min(height, width) / _REFERENCE_SIDE
    ns, nv = p.max_strokes, p.max_vertices
    u_vert, u_width, u_x, u_y, u_lo, u_hi, u_turn, u_count = tf.unstack(
        _uniform(seed, [ns, 8]), axis=1
    )
    n_strokes = _uniform_int(u_count[0], p.min_strokes, p.max_strokes)
    n_vertices = _uniform_int(u_vert, p.min_vertices, p.max_vertices)
    width_px = (p.min_width + u_width * (p.max_width - p.min_width)) * scale
    radius = tf.maximum(0.5 * width_px, _MIN_RADIUS)
    # DeepFill v2's turning angles: per stroke a range mean ± U(0, angle_range), alternate
    # vertices turning by 2π - angle; then the whole stroke is turned by a random angle.
    angle_min = (p.mean_angle - u_lo * p.angle_range)[:, None]
    angle_max = (p.mean_angle + u_hi * p.angle_range)[:, None]
    angles = angle_min + _uniform(_fold(seed, 1), [ns, nv]) * (angle_max - angle_min)
    even = np.arange(nv) % 2 == 0
    angles = np.where(even, 2 * math.pi, 0.0) + np.where(even, -1.0, 1.0) * angles
    angles += 2 * math.pi * u_turn[:, None]
    step = p.mean_step * scale
    lengths = tf.random.stateless_normal([ns, nv], _fold(seed, 2), step, step / 2, alg=_ALG)
    lengths = tf.clip_by_value(lengths, 0.0, 2 * step)
    xs = tf.cumsum(tf.concat([u_x[:, None] * width, lengths * tf.cos(angles)], 1), axis=1)
    ys = tf.cumsum(tf.concat([u_y[:, None] * height, lengths * tf.sin(angles)], 1), axis=1)
    # Reflect vertices that leave the image back into it (a triangle wave on each axis).
    xs = width - tf.abs(tf.math.floormod(xs, 2.0 * width) - width)
    ys = height - tf.abs(tf.math.floormod(ys, 2.0 * height) - height)
    valid = (np.arange(ns)[:, None] < n_strokes) & (np.arange(nv)[None, :] < n_vertices[:, None])
    r = tf.where(valid, radius[:, None], -1.0)
    return _rasterize_capsules(xs[:, :-1], ys[:, :-1], xs[:, 1:], ys[:, 1:], r, height, width)


# -- rectangles and the centre square -------------------------------------------------------------
def _box(height: int, width: int, y0, x0, h, w) -> tf.Tensor:
    """Bool [height, width] of boxes; y0, x0, h, w int32 [N]."""
    ys = tf.range(height)[None, :]
    xs = tf.range(width)[None, :]
    rows = (ys >= y0[:, None]) & (ys < (y0 + h)[:, None])  # [N,H]
    cols = (xs >= x0[:, None]) & (xs < (x0 + w)[:, None])  # [N,W]
    return tf.reduce_any(rows[:, :, None] & cols[:, None, :], axis=0)


def _check_rect_params(min_rects=1, max_rects=3, min_size=0.15, max_size=0.5) -> None:
    if not (isinstance(min_rects, int) and isinstance(max_rects, int)):
        raise ValueError(
            f"rect: min_rects/max_rects must be integers, got {min_rects!r}, {max_rects!r}"
        )
    if not 1 <= min_rects <= max_rects:
        raise ValueError(f"rect: need 1 <= min_rects <= max_rects, got {min_rects}, {max_rects}")
    if not 0 < min_size <= max_size <= 1:
        raise ValueError(f"rect: need 0 < min_size <= max_size <= 1, got {min_size}, {max_size}")


def _draw_rects(
    seed, height: int, width: int, min_rects=1, max_rects=3, min_size=0.15, max_size=0.5
) -> tf.Tensor:
    n = max_rects
    count = _randint(_fold(seed, 1), [], min_rects, max_rects)
    frac = _uniform(_fold(seed, 2), [n, 2], min_size, max_size)
    h = tf.maximum(tf.cast(tf.round(frac[:, 0] * height), tf.int32), 1)
    w = tf.maximum(tf.cast(tf.round(frac[:, 1] * width), tf.int32), 1)
    pos = _uniform(_fold(seed, 3), [n, 2])
    y0 = tf.cast(tf.floor(pos[:, 0] * tf.cast(height - h + 1, tf.float32)), tf.int32)
    x0 = tf.cast(tf.floor(pos[:, 1] * tf.cast(width - w + 1, tf.float32)), tf.int32)
    h = tf.where(tf.range(n) < count, h, 0)
    return _box(height, width, y0, x0, h, w)


def _center_square(height: int, width: int, side: int | None = None) -> np.ndarray:
    side = min(height, width) // 2 if side is None else int(side)
    if not 0 < side <= min(height, width):
        raise ValueError(f"center: side must be in [1, {min(height, width)}], got {side}")
    m = np.zeros((height, width), bool)
    y0, x0 = (height - side) // 2, (width - side) // 2
    m[y0 : y0 + side, x0 : x0 + side] = True
    return m


def _blob(seed, k, height: int, width: int, centred) -> tf.Tensor:
    """Exactly ``k`` hole pixels: a near-square box filled row by row (ragged last row)."""
    k = tf.cast(k, tf.int32)
    wb = tf.cast(tf.math.ceil(tf.sqrt(tf.cast(k, tf.float32) * (width / height))), tf.int32)
    wb = tf.clip_by_value(wb, 1, width)
    hb = (k + wb - 1) // wb
    too_tall = hb > height
    wb = tf.where(too_tall, (k + height - 1) // height, wb)
    hb = tf.where(too_tall, height, hb)
    y0 = tf.where(centred, (height - hb) // 2, _randint(_fold(seed, 1), [], 0, height - hb))
    x0 = tf.where(centred, (width - wb) // 2, _randint(_fold(seed, 2), [], 0, width - wb))
    iy = tf.range(height)[:, None] - y0
    ix = tf.range(width)[None, :] - x0
    return (iy >= 0) & (iy < hb) & (ix >= 0) & (ix < wb) & (iy * wb + ix < k)


# -- mask files ----------------------------------------------------------------------------------
def _nearest_index(n_in: int, n_out: int) -> np.ndarray:
    """Source index of each output pixel of a nearest resize (half-pixel centres)."""
    return ((2 * np.arange(n_out, dtype=np.int64) + 1) * n_in) // (2 * n_out)


def _hole_from_array(a: np.ndarray) -> np.ndarray:
    """Binarises a uint8 [H,W,C] array (C in 1..4) with the mask file convention."""
    a = a.astype(np.int64)
    c = a.shape[-1]
    if c in (2, 4) and a[..., -1].min() < 255:
        return a[..., -1] < 128
    if c >= 3:
        luma = (a[..., 0] * 19595 + a[..., 1] * 38470 + a[..., 2] * 7471 + 32768) >> 16
    else:
        luma = a[..., 0]
    return luma >= 128


def _pil_to_uint8(img: Image.Image) -> np.ndarray:
    """A decoded image as uint8 [H,W,C] with C = 1 (grey), 2 (grey+alpha), 3 or 4."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(img, dtype=np.int64)
        if img.mode.startswith("I;16") or a.max() > 255:
            a = a >> 8
        return np.clip(a, 0, 255).astype(np.uint8)[..., None]
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode == "PA":
        img = img.convert("RGBA")
    elif img.mode not in ("L", "LA", "RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.mode else "RGB")
    a = np.asarray(img, dtype=np.uint8)
    return a[..., None] if a.ndim == 2 else a


def load_mask_file(path: str, height: int | None = None, width: int | None = None) -> np.ndarray:
    """Reads a mask image with the file convention (see the module docstring).

    Args:
        path: a PNG, JPEG, BMP, WebP, ... file PIL can decode.
        height: optional output height (with ``width``): nearest-neighbour resize.
        width: optional output width.

    Returns:
        bool [H, W], True = hole.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: naming the file when it cannot be decoded, or for a lone height/width.

    Example:
        >>> hole = load_mask_file("masks/0001.png", 256, 256)  # doctest: +SKIP
    """
    if (height is None) != (width is None):
        raise ValueError(f"{path}: give both height and width, or neither")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such mask file")
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise ValueError(f"{path}: cannot decode mask image (empty file, 0 bytes)")
    try:
        with Image.open(path) as img:
            img.load()
            a = _pil_to_uint8(img)
    except Image.DecompressionBombError as e:
        raise ValueError(
            f"{path}: cannot decode mask image (decompression bomb guard: {e})"
        ) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"{path}: cannot decode mask image ({e})") from e
    hole = _hole_from_array(a)
    if height is not None:
        if height <= 0 or width <= 0:
            raise ValueError(f"{path}: height and width must be positive, got {height}x{width}")
        hole = hole[_nearest_index(hole.shape[0], height)][:, _nearest_index(hole.shape[1], width)]
    return hole


def list_mask_files(mask_dir: str | None) -> list[str]:
    """Mask files under ``mask_dir`` (recursive, sorted, by extension).

    Raises:
        ValueError: naming the folder when it is missing, not a folder, or holds no mask file.
    """
    if not mask_dir:
        raise ValueError("mask kind 'folder' needs MaskConfig.mask_dir (a folder of mask images)")
    if not os.path.isdir(mask_dir):
        raise ValueError(f"mask_dir {mask_dir!r}: not a directory")
    found = []
    for root, dirs, files in os.walk(mask_dir):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(MASK_FILE_EXTENSIONS):
                found.append(os.path.join(root, name))
    if not found:
        raise ValueError(
            f"mask_dir {mask_dir!r}: no mask files ({', '.join(MASK_FILE_EXTENSIONS)}) found"
        )
    return sorted(found)


def _hole_from_tensor(img: tf.Tensor) -> tf.Tensor:
    """In-graph twin of ``_hole_from_array``: uint8 [H,W,C] → bool [H,W]."""
    x = tf.cast(img, tf.int32)
    c = tf.shape(x)[-1]
    alpha = x[..., c - 1]
    use_alpha = ((c == 2) | (c == 4)) & (tf.reduce_min(alpha) < 255)

    def luma():
        return tf.cond(
            c >= 3,
            lambda: (x[..., 0] * 19595 + x[..., 1] * 38470 + x[..., 2] * 7471 + 32768) // 65536,
            lambda: x[..., 0],
        )

    return tf.cond(use_alpha, lambda: alpha < 128, lambda: luma() >= 128)


def _decodable_mask_files(mask_dir: str | None) -> list[str]:
    """The mask files of ``mask_dir`` that ``tf.io.decode_image`` reads; warns about the others.

    The folder kind decodes inside ``tf.data``, where one bad file would stop a training run
    hours in; checking each file once here turns that into a named warning at startup.

    Raises:
        ValueError: naming the folder when no file is left.
    """
    good = []
    for path in list_mask_files(mask_dir):
        try:
            tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
        except (tf.errors.OpError, ValueError) as e:
            reason = (getattr(e, "message", None) or str(e)).strip().splitlines()[0]
            reason = re.sub(r"\{\{.*?\}\}|\[Op:.*$", "", reason).strip()
            print(
                f"keras_pggan.masks: WARNING: skipping mask file {path}: cannot decode ({reason})",
                file=sys.stderr,
            )
            continue
        good.append(path)
    if not good:
        raise ValueError(f"mask_dir {mask_dir!r}: no decodable mask file")
    return good


def _make_folder_drawer(height: int, width: int, mask_dir: str | None) -> Callable:
    files = tf.constant(_decodable_mask_files(mask_dir))
    n = int(files.shape[0])

    def draw(seed):
        i = _randint(_fold(seed, 1), [], 0, n - 1)
        img = tf.io.decode_image(tf.io.read_file(files[i]), expand_animations=False)
        hole = _hole_from_tensor(img)
        u = _uniform(_fold(seed, 2), [2])
        hole = tf.cond(u[0] < 0.5, lambda: tf.reverse(hole, [1]), lambda: hole)
        hole = tf.cond(u[1] < 0.5, lambda: tf.reverse(hole, [0]), lambda: hole)
        shape = tf.shape(hole)
        k = _randint(_fold(seed, 3), [], 0, 3)
        # Quarter turns only for square files: a non-square mask turned on its side would be
        # stretched by the resize below.
        k = tf.where(shape[0] == shape[1], k, k // 2 * 2)
        hole = tf.image.rot90(hole[..., None], k)[..., 0]
        shape = tf.shape(hole, out_type=tf.int64)
        iy = (2 * tf.range(height, dtype=tf.int64) + 1) * shape[0] // (2 * height)
        ix = (2 * tf.range(width, dtype=tf.int64) + 1) * shape[1] // (2 * width)
        return tf.gather(tf.gather(hole, iy, axis=0), ix, axis=1)

    return draw


# -- drawers -------------------------------------------------------------------------------------
def _make_drawer(kind: str, height: int, width: int, **params) -> Callable:
    """A function ``seed → bool [height, width]`` for one kind (validates ``params`` now)."""
    ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (height, width))
    if not ok or height < 2 or width < 2:
        raise ValueError(f"mask size must be integers >= 2, got {height!r}x{width!r}")
    height, width = int(height), int(width)
    if kind == "center":
        try:
            m = _center_square(height, width, **params)
        except TypeError as e:
            raise ValueError(f"center: bad parameter ({e})") from None
        return lambda seed: tf.constant(m)
    if kind == "rect":
        try:
            _check_rect_params(**params)
        except TypeError as e:
            raise ValueError(f"rect: bad parameter ({e})") from None
        return lambda seed: _draw_rects(seed, height, width, **params)
    if kind in STROKE_KINDS:
        try:
            p = dataclasses.replace(STROKE_PRESETS[kind], **params)
        except TypeError as e:
            raise ValueError(f"{kind}: bad stroke parameter ({e})") from None
        return lambda seed: _draw_strokes(seed, height, width, p)
    if kind == "folder":
        unknown = set(params) - {"mask_dir"}
        if unknown:
            raise ValueError(f"folder: unknown parameter(s) {sorted(unknown)}; only mask_dir")
        return _make_folder_drawer(height, width, params.get("mask_dir"))
    raise ValueError(f"unknown mask kind {kind!r}; choose from {KINDS}")


def sample_mask(kind: str, height: int, width: int, seed, **params) -> tf.Tensor:
    """Draws one mask of a single kind, without hole-ratio bounds.

    Args:
        kind: one of ``KINDS``.
        height: mask height.
        width: mask width.
        seed: int32/int64 tensor (or sequence) of shape [2].
        **params: kind parameters: ``side`` (center); ``min_rects``, ``max_rects``,
            ``min_size``, ``max_size`` (rect, sides as fractions of the image side);
            ``StrokeParams`` fields (stroke kinds); ``mask_dir`` (folder).

    Returns:
        float32 [height, width, 1] in {0, 1}, 1 = hole.

    Raises:
        ValueError: for an unknown kind or parameter.

    Example:
        >>> m = sample_mask("freeform", 256, 256, [0, 1])
        >>> m.shape
        TensorShape([256, 256, 1])
    """
    hole = _make_drawer(kind, height, width, **params)(_as_seed(seed))
    return tf.cast(hole, tf.float32)[..., None]


def _count_bounds(n: int, lo: float, hi: float) -> tuple[int, int]:
    """Smallest and largest hole-pixel counts k with lo <= k / n <= hi (float comparisons)."""
    kmin = max(0, math.ceil(lo * n))
    while kmin > 0 and (kmin - 1) / n >= lo:
        kmin -= 1
    while kmin <= n and kmin / n < lo:
        kmin += 1
    kmax = min(n, math.floor(hi * n))
    while kmax < n and (kmax + 1) / n <= hi:
        kmax += 1
    while kmax >= 0 and kmax / n > hi:
        kmax -= 1
    return kmin, kmax


class MaskSampler:
    """Draws training masks from a ``MaskConfig`` inside ``tf.data`` (stateless, seeded).

    The kind is picked once per mask from the spec's weights. A draw whose hole ratio is outside
    ``[min_hole_ratio, max_hole_ratio]`` is re-drawn with derived seeds, at most
    ``MAX_ATTEMPTS`` times in all; when every draw misses, the last draw's hole-pixel count is
    clipped into the bounds and the mask is replaced by a compact box of exactly that many
    pixels (filled row by row, random position; centred for ``center``). The result is always
    inside the bounds.

    Args:
        mask_cfg: the mask section of the experiment config.
        height: mask height.
        width: mask width.

    Raises:
        ValueError: for a bad spec, a missing/empty ``mask_dir`` with ``folder``, or bounds no
            mask of ``height·width`` pixels can meet.

    Example:
        >>> sampler = MaskSampler(MaskConfig(spec="freeform:0.5,rect:0.5"), 256, 256)
        >>> ds = tf.data.Dataset.range(8).map(lambda i: sampler(tf.stack([7, i])))
    """

    def __init__(self, mask_cfg: MaskConfig, height: int, width: int):
        self.mask_cfg = mask_cfg
        spec = parse_mask_spec(mask_cfg.spec)
        self.kinds = tuple(k for k, _ in spec)
        self.weights = tuple(w for _, w in spec)
        self._drawers = [
            _make_drawer(
                k, height, width, **({"mask_dir": mask_cfg.mask_dir} if k == "folder" else {})
            )
            for k in self.kinds
        ]
        self.height, self.width = height, width = int(height), int(width)
        n = height * width
        self._kmin, self._kmax = _count_bounds(n, mask_cfg.min_hole_ratio, mask_cfg.max_hole_ratio)
        if self._kmin > self._kmax:
            raise ValueError(
                f"MaskConfig hole-ratio bounds [{mask_cfg.min_hole_ratio}, "
                f"{mask_cfg.max_hole_ratio}] admit no mask of {height}x{width} pixels"
            )
        self._bounded = self._kmin > 0 or self._kmax < n
        self._fn = tf.function(
            self._sample, input_signature=[tf.TensorSpec([2], tf.int64)], autograph=False
        )

    def __call__(self, seed) -> tf.Tensor:
        """Returns float32 [height, width, 1] in {0, 1} for an int seed tensor of shape [2]."""
        return self._fn(_as_seed(seed))

    def _pick_kind(self, seed) -> tf.Tensor:
        if len(self.kinds) == 1:
            return tf.constant(0, tf.int32)
        logits = tf.math.log(tf.constant([self.weights], tf.float32))
        pick = tf.random.stateless_categorical(logits, 1, _fold(seed, 11), dtype=tf.int32)
        return pick[0, 0]

    def _draw(self, index, seed) -> tf.Tensor:
        if len(self._drawers) == 1:
            return self._drawers[0](seed)
        return tf.switch_case(index, [lambda d=d: d(seed) for d in self._drawers])

    def _sample(self, seed: tf.Tensor) -> tf.Tensor:
        h, w = self.height, self.width
        index = self._pick_kind(seed)
        attempts = _fold(seed, 12)
        if not self._bounded:
            hole = self._draw(index, _fold(attempts, 0))
        else:
            kmin, kmax = self._kmin, self._kmax

            def inside(count):
                return (count >= kmin) & (count <= kmax)

            def body(i, hole, count):
                hole = self._draw(index, _fold(attempts, i))
                return i + 1, hole, tf.reduce_sum(tf.cast(hole, tf.int32))

            _, hole, count = tf.while_loop(
                lambda i, hole, count: (i < MAX_ATTEMPTS) & ~inside(count),
                body,
                (tf.constant(0), tf.zeros([h, w], tf.bool), tf.constant(-1)),
            )
            centred = tf.gather(tf.constant([k == "center" for k in self.kinds]), index)
            hole = tf.cond(
                inside(count),
                lambda: hole,
                lambda: _blob(_fold(seed, 13), tf.clip_by_value(count, kmin, kmax), h, w, centred),
            )
        return tf.ensure_shape(tf.cast(hole, tf.float32)[..., None], [h, w, 1])


# -- hole-ratio buckets ------------------------------------------------------------------------
def as_hole_mask(mask) -> np.ndarray:
    """Returns a bool [H,W] hole mask from bool, {0,1} or 8-bit (>= 128 = hole) [H,W] / [H,W,1].

    Raises:
        ValueError: wrong rank, a non-numeric dtype, or NaN/Inf values.
    """
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.ndim != 2:
        raise ValueError(f"mask must be [H,W] or [H,W,1], got shape {m.shape}")
    if m.dtype == np.bool_:
        return m
    if not (np.issubdtype(m.dtype, np.integer) or np.issubdtype(m.dtype, np.floating)):
        raise ValueError(f"mask must be bool, integer or float, got dtype {m.dtype}")
    if np.issubdtype(m.dtype, np.integer) and m.max(initial=0) > 1:
        return m >= 128  # 8-bit mask images: white = hole
    if not np.isfinite(m).all():
        raise ValueError("mask has NaN or Inf values")
    return m > 0.5


def hole_ratio_bucket(ratio: float) -> str:
    """The evaluation bucket of a hole ratio: ``"0-10%"``, ..., ``"50-60%"``, ``">60%"``.

    Buckets are ``[lo, hi)``, except that 60 % itself belongs to ``"50-60%"`` (so a set capped at
    ``max_hole_ratio=0.6`` has no ``">60%"`` mask). A 1e-9 tolerance absorbs float noise such as
    ``0.3 * 10 = 2.9999999999999996``.

    Raises:
        ValueError: for a ratio outside [0, 1] or NaN.

    Example:
        >>> hole_ratio_bucket(0.1), hole_ratio_bucket(0.6), hole_ratio_bucket(0.61)
        ('10-20%', '50-60%', '>60%')
    """
    ratio = float(ratio)
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"hole ratio must be in [0, 1], got {ratio!r}")
    if ratio > 0.6 + 1e-9:
        return BUCKETS[-1]
    return BUCKETS[min(int(math.floor(ratio * 10 + 1e-9)), 5)]


# -- evaluation sets ---------------------------------------------------------------------------
def _eval_bounds(kind: str, lo: float | None, hi: float | None) -> tuple[float, float]:
    kinds = [k for k, _ in parse_mask_spec(kind)]
    default_lo = max(EVAL_HOLE_RATIO_BOUNDS[k][0] for k in kinds)
    default_hi = min(EVAL_HOLE_RATIO_BOUNDS[k][1] for k in kinds)
    return (default_lo if lo is None else lo), (default_hi if hi is None else hi)


@functools.lru_cache(maxsize=8)
def _cached_sampler(cfg: MaskConfig, size: int) -> MaskSampler:
    return MaskSampler(cfg, size, size)


def _iter_eval_masks(kind, size, count, seed, min_hole_ratio, max_hole_ratio, mask_dir):
    for name, v in (("size", size), ("count", count)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
            raise ValueError(f"eval masks: {name} must be a positive integer, got {v!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ValueError(f"eval masks: seed must be an integer in [0, 2**63), got {seed!r}")
    lo, hi = _eval_bounds(kind, min_hole_ratio, max_hole_ratio)
    cfg = MaskConfig(spec=kind, min_hole_ratio=lo, max_hole_ratio=hi, mask_dir=mask_dir)
    # Samplers are reused across calls (tracing costs about a second); not for ``folder``, whose
    # file list is taken when the sampler is made.
    uses_files = any(k == "folder" for k, _ in parse_mask_spec(kind))
    size = int(size)
    sampler = MaskSampler(cfg, size, size) if uses_files else _cached_sampler(cfg, size)
    seed, count = int(seed), int(count)
    if count <= 64:  # not worth a tf.data pipeline; the masks are the same either way
        for i in range(count):
            yield sampler(tf.constant([seed, i], tf.int64)).numpy()[..., 0].astype(np.uint8)
        return
    base = tf.constant(seed, tf.int64)
    ds = (
        tf.data.Dataset.range(count)
        .map(
            lambda i: sampler(tf.stack([base, i])),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        .batch(64)
    )
    for batch in ds.as_numpy_iterator():
        yield from batch[..., 0].astype(np.uint8)


def make_eval_masks(
    kind: str,
    size: int,
    count: int,
    seed: int,
    min_hole_ratio: float | None = None,
    max_hole_ratio: float | None = None,
    mask_dir: str | None = None,
) -> np.ndarray:
    """A fixed, seeded set of square evaluation masks.

    Mask ``i`` is ``MaskSampler(...)(seed=[seed, i])``, so the first ``n`` masks are the same for
    any ``count >= n``.

    Args:
        kind: a kind or a weighted spec (see ``parse_mask_spec``).
        size: side in pixels.
        count: number of masks.
        seed: non-negative integer.
        min_hole_ratio: lower bound; ``None`` takes the kind's default from
            ``EVAL_HOLE_RATIO_BOUNDS`` (1 % for the bucketed kinds, 0 for center/folder).
        max_hole_ratio: upper bound; ``None`` takes the default (60 % for the bucketed kinds, so
            every mask falls in the 0–60 % buckets; 100 % for center/folder).
        mask_dir: folder of mask files for kind ``folder``.

    Returns:
        uint8 [count, size, size], 1 = hole.

    Raises:
        ValueError: for a bad kind, size, count, seed or bounds.
    """
    it = _iter_eval_masks(kind, size, count, seed, min_hole_ratio, max_hole_ratio, mask_dir)
    return np.stack(list(it))


def _png_bytes(mask: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((mask > 0).astype(np.uint8) * 255).save(buf, format="PNG")
    return buf.getvalue()


def _eval_header(kind, size, count, seed, lo, hi, mask_dir) -> dict[str, Any]:
    return {
        "format": EVAL_SET_FORMAT,
        "version": EVAL_SET_VERSION,
        "kind": kind,
        "size": int(size),
        "count": int(count),
        "seed": int(seed),
        "min_hole_ratio": lo,
        "max_hole_ratio": hi,
        "mask_dir": mask_dir,
        "convention": "8-bit grey PNG, 255 = hole",
    }


_MASK_NAME = re.compile(r"^mask_\d{5,}\.png$")


def make_eval_set(
    kind: str,
    size: int,
    count: int,
    seed: int,
    out_dir: str,
    *,
    min_hole_ratio: float | None = None,
    max_hole_ratio: float | None = None,
    mask_dir: str | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> str:
    """Writes a fixed evaluation mask set: ``mask_00000.png``, ... and ``manifest.json``.

    PNGs are 8-bit grey, 255 = hole, with no metadata, so re-running gives byte-identical files.
    Every file is written atomically and the manifest last. The manifest holds the parameters,
    a hole-ratio bucket histogram and, per mask, its file, hole ratio, bucket and sha256.

    Args:
        kind: a kind or a weighted spec.
        size: side in pixels.
        count: number of masks.
        seed: non-negative integer.
        out_dir: output folder (created).
        min_hole_ratio: see ``make_eval_masks``.
        max_hole_ratio: see ``make_eval_masks``.
        mask_dir: folder of mask files for kind ``folder``.
        overwrite: replace a non-empty ``out_dir`` whose manifest differs (stale ``mask_*.png``
            files beyond ``count`` are removed).
        progress: show a progress bar.

    Returns:
        The manifest path.

    Raises:
        ValueError: for bad arguments, or a non-empty ``out_dir`` holding a different set
            without ``overwrite``.

    Example:
        >>> make_eval_set("thick", 256, 100, 0, "eval/thick256")  # doctest: +SKIP
        'eval/thick256/manifest.json'
    """
    lo, hi = _eval_bounds(kind, min_hole_ratio, max_hole_ratio)
    header = _eval_header(kind, size, count, seed, lo, hi, mask_dir)
    manifest_path = os.path.join(out_dir, MANIFEST)
    old = _existing_manifest(out_dir, manifest_path)
    if old is not None and not overwrite:
        old_header = {k: v for k, v in old.items() if k not in ("histogram", "masks")}
        if old_header != header:  # fail before spending time on the masks
            raise ValueError(
                f"{out_dir}: not empty and holds a different mask set (or none); "
                "choose another folder or pass overwrite=True (--overwrite)"
            )
    it = _iter_eval_masks(kind, size, count, seed, lo, hi, mask_dir)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, total=count, desc=f"{kind} {size}px masks", unit="mask")
    files, entries = [], []
    histogram = dict.fromkeys(BUCKETS, 0)
    for i, mask in enumerate(it):
        data = _png_bytes(mask)
        holes = int(mask.sum())
        ratio = holes / mask.size
        bucket = hole_ratio_bucket(ratio)
        histogram[bucket] += 1
        name = f"mask_{i:05d}.png"
        files.append((name, data))
        entries.append(
            {
                "file": name,
                "hole_pixels": holes,
                "hole_ratio": ratio,
                "bucket": bucket,
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    manifest = {**header, "histogram": histogram, "masks": entries}
    if old is not None and old != manifest and not overwrite:
        raise ValueError(
            f"{out_dir}: holds a set with the same parameters but different masks (made with "
            "another TensorFlow version?); pass overwrite=True (--overwrite) to replace it"
        )
    if old is not None:
        keep = {name for name, _ in files}
        for name in os.listdir(out_dir):
            if _MASK_NAME.match(name) and name not in keep:
                os.remove(os.path.join(out_dir, name))
    os.makedirs(out_dir, exist_ok=True)
    for name, data in files:
        with atomic_path(os.path.join(out_dir, name)) as tmp, open(tmp, "wb") as f:
            f.write(data)
    write_text_atomic(manifest_path, json.dumps(manifest, indent=2) + "\n")
    return manifest_path


def _existing_manifest(out_dir: str, manifest_path: str) -> dict | None:
    """The manifest in a non-empty ``out_dir`` ({} when it has none); None for a new/empty one."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(f"{out_dir}: exists and is not a directory")
    if not os.path.isdir(out_dir) or not os.listdir(out_dir):
        return None
    try:
        with open(manifest_path, encoding="utf-8") as f:
            old = json.load(f)
    except (OSError, json.JSONDecodeError):
        return {}
    return old if isinstance(old, dict) else {}


def load_eval_set(out_dir: str) -> tuple[np.ndarray, dict]:
    """Reads a set written by ``make_eval_set``, verifying every file's sha256.

    Returns:
        ``(masks, manifest)``: uint8 [N, S, S] with 1 = hole, and the manifest dict.

    Raises:
        ValueError: naming the file when the manifest is missing or malformed, a mask file is
            missing, its sha256 differs from the manifest's or its size is wrong.
    """
    path = os.path.join(out_dir, MANIFEST)
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no eval-set manifest")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
        size, entries = int(manifest["size"]), manifest["masks"]
        if manifest.get("format") != EVAL_SET_FORMAT:
            raise ValueError(f"format is {manifest.get('format')!r}")
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: not an eval-set manifest ({e})") from e
    masks = np.zeros((len(entries), size, size), np.uint8)
    for i, entry in enumerate(entries):
        file = os.path.join(out_dir, entry["file"])
        if not os.path.isfile(file):
            raise ValueError(f"{file}: listed in {MANIFEST} but missing")
        with open(file, "rb") as f:
            data = f.read()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise ValueError(f"{file}: sha256 differs from {MANIFEST} (file changed?)")
        with Image.open(io.BytesIO(data)) as img:
            a = np.asarray(img.convert("L"))
        if a.shape != (size, size):
            raise ValueError(f"{file}: is {a.shape[1]}x{a.shape[0]}, manifest says {size}")
        masks[i] = a >= 128
    return masks, manifest


def mask_grid(masks: np.ndarray, pad: int = 2) -> np.ndarray:
    """Tiles uint8/bool masks [N,H,W] (1 = hole) into one uint8 image, white = hole."""
    n, h, w = masks.shape
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad), 128, np.uint8)
    for i, m in enumerate(masks):
        y, x = pad + (i // cols) * (h + pad), pad + (i % cols) * (w + pad)
        grid[y : y + h, x : x + w] = (m > 0).astype(np.uint8) * 255
    return grid


# -- CLI -----------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m keras_pggan.masks",
        description="Fixed, seeded evaluation mask sets and mask previews (white = hole).",
    )
    sub = p.add_subparsers(dest="command", required=True)

    def common(q, count_default=None):
        q.add_argument(
            "--kind", required=True, help=f"a kind {KINDS} or a spec like freeform:0.5,rect:0.5"
        )
        q.add_argument("--size", type=int, required=True, help="mask side in pixels")
        q.add_argument(
            "--count",
            type=int,
            required=count_default is None,
            default=count_default,
            help="number of masks",
        )
        q.add_argument("--seed", type=int, default=0, help="base seed; mask i uses [seed, i]")
        q.add_argument("--min-hole-ratio", type=float, default=None, help="default: per kind")
        q.add_argument("--max-hole-ratio", type=float, default=None, help="default: per kind")
        q.add_argument("--mask-dir", default=None, help="folder of mask files (kind folder)")

    q = sub.add_parser("make-eval-set", help="write mask_XXXXX.png files and manifest.json")
    common(q)
    q.add_argument("--overwrite", action="store_true", help="replace a different set in OUT")
    q.add_argument("out", metavar="OUT", help="output folder")
    q = sub.add_parser("preview", help="write a grid PNG of masks")
    common(q, count_default=16)
    q.add_argument("out", metavar="OUT.png", help="output PNG")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m keras_pggan.masks``; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    kw = {
        "min_hole_ratio": args.min_hole_ratio,
        "max_hole_ratio": args.max_hole_ratio,
        "mask_dir": args.mask_dir,
    }
    try:
        if args.command == "make-eval-set":
            path = make_eval_set(
                args.kind,
                args.size,
                args.count,
                args.seed,
                args.out,
                overwrite=args.overwrite,
                progress=sys.stderr.isatty(),
                **kw,
            )
            with open(path, encoding="utf-8") as f:
                hist = json.load(f)["histogram"]
            shown = ", ".join(f"{b}: {n}" for b, n in hist.items() if n)
            print(f"wrote {args.count} masks and {path} ({shown})")
        else:
            masks = make_eval_masks(args.kind, args.size, args.count, args.seed, **kw)
            with atomic_path(args.out) as tmp:
                Image.fromarray(mask_grid(masks)).save(tmp, format="PNG")
            print(f"wrote {args.out} ({args.count} masks, mean hole ratio {masks.mean():.3f})")
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
