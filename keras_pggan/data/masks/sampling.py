"""In-graph training masks: the kinds, ``MaskSampler`` and ``sample_mask`` (1 = hole).

Everything a ``tf.data`` pipeline needs; see the package docstring (``keras_pggan.masks``) for
the kinds and the seeding guarantees.

Strokes are rasterised without a per-pixel loop over primitives: each stroke segment is a
capsule (a segment thickened by the brush radius), a convex shape, so its intersection with each
pixel row is one interval computed in closed form (two end disks and two long sides). The
intervals are accumulated as +1/-1 marks in a row-difference array whose cumulative sum along x
is the coverage: O(segments·H + H·W) work instead of O(segments·H·W).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import sys
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from keras_pggan.config import MaskConfig
from keras_pggan.data import imageio
from keras_pggan.data.masks.kinds import KINDS, MASK_FILE_EXTENSIONS, STROKE_KINDS

MAX_ATTEMPTS = 10

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
    """The ``folder`` kind: a random file, flipped, turned and resized, as bool [height, width].

    Files are binarised in-graph with ``imageio.hole_from_tensor`` (the project's convention).
    ``tf.io.decode_image`` ignores EXIF orientation, so files are used as stored, not as shown.
    """
    files = tf.constant(_decodable_mask_files(mask_dir))
    n = int(files.shape[0])

    def draw(seed):
        i = _randint(_fold(seed, 1), [], 0, n - 1)
        img = tf.io.decode_image(tf.io.read_file(files[i]), expand_animations=False)
        hole = imageio.hole_from_tensor(img)
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
