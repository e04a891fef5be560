"""Fixed, seeded evaluation mask sets, hole-ratio buckets and mask grids (1 = hole).

A set is defined by its manifest header (kind, size, count, seed, resolved hole-ratio bounds,
mask folder): mask ``i`` is ``MaskSampler(...)(seed=[seed, i])``, so the same header always
gives the same masks, and ``make_eval_set`` writes them as byte-reproducible PNG files.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
from collections.abc import Iterator

import numpy as np
import tensorflow as tf

from keras_pggan.config import MaskConfig
from keras_pggan.data import imageio
from keras_pggan.data.masks.sampling import MaskSampler, parse_mask_spec
from keras_pggan.io_utils import atomic_path, write_text_atomic

BUCKETS = ("0-10%", "10-20%", "20-30%", "30-40%", "40-50%", "50-60%", ">60%")
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

_MASK_NAME = re.compile(r"^mask_\d{5,}\.png$")
_BATCH = 64  # masks per tf.data batch; smaller sets are drawn directly


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
def _eval_header(kind, size, count, seed, min_hole_ratio, max_hole_ratio, mask_dir) -> dict:
    """Validates an eval set's parameters; returns its manifest header (bounds resolved).

    The header defines the set: ``_iter_eval_masks(header)`` draws its masks.

    Raises:
        ValueError: for a bad kind, size, count, seed or bounds.
    """
    for name, v in (("size", size), ("count", count)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
            raise ValueError(f"eval masks: {name} must be a positive integer, got {v!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ValueError(f"eval masks: seed must be an integer in [0, 2**63), got {seed!r}")
    kinds = [k for k, _ in parse_mask_spec(kind)]
    if min_hole_ratio is None:
        min_hole_ratio = max(EVAL_HOLE_RATIO_BOUNDS[k][0] for k in kinds)
    if max_hole_ratio is None:
        max_hole_ratio = min(EVAL_HOLE_RATIO_BOUNDS[k][1] for k in kinds)
    header = {
        "format": EVAL_SET_FORMAT,
        "version": EVAL_SET_VERSION,
        "kind": kind,
        "size": int(size),
        "count": int(count),
        "seed": int(seed),
        "min_hole_ratio": min_hole_ratio,
        "max_hole_ratio": max_hole_ratio,
        "mask_dir": mask_dir,
        "convention": "8-bit grey PNG, 255 = hole",
    }
    _mask_config(header)  # validates the bounds now, before any mask is drawn
    return header


def _mask_config(header: dict) -> MaskConfig:
    return MaskConfig(
        spec=header["kind"],
        min_hole_ratio=header["min_hole_ratio"],
        max_hole_ratio=header["max_hole_ratio"],
        mask_dir=header["mask_dir"],
    )


@functools.lru_cache(maxsize=8)
def _cached_sampler(cfg: MaskConfig, size: int) -> MaskSampler:
    return MaskSampler(cfg, size, size)


def _iter_eval_masks(header: dict) -> Iterator[np.ndarray]:
    """The masks of the set ``header`` defines, one uint8 [size, size] (1 = hole) at a time."""
    cfg, size = _mask_config(header), header["size"]
    seed, count = header["seed"], header["count"]
    # Samplers are reused across calls (tracing costs about a second); not for ``folder``, whose
    # file list is taken when the sampler is made.
    uses_files = any(k == "folder" for k, _ in parse_mask_spec(cfg.spec))
    sampler = MaskSampler(cfg, size, size) if uses_files else _cached_sampler(cfg, size)
    if count <= _BATCH:  # not worth a tf.data pipeline; the masks are the same either way
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
        .batch(_BATCH)
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
    header = _eval_header(kind, size, count, seed, min_hole_ratio, max_hole_ratio, mask_dir)
    return np.stack(list(_iter_eval_masks(header)))


def make_eval_set(
    kind: str,
    size: int,
    count: int,
    seed: int,
    out_dir: str,
    *,
    overwrite: bool = False,
    progress: bool = False,
    min_hole_ratio: float | None = None,
    max_hole_ratio: float | None = None,
    mask_dir: str | None = None,
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
        overwrite: replace a non-empty ``out_dir`` whose manifest differs (stale ``mask_*.png``
            files beyond ``count`` are removed).
        progress: show a progress bar.
        min_hole_ratio: see ``make_eval_masks``.
        max_hole_ratio: see ``make_eval_masks``.
        mask_dir: folder of mask files for kind ``folder``.

    Returns:
        The manifest path.

    Raises:
        ValueError: for bad arguments, or a non-empty ``out_dir`` holding a different set
            without ``overwrite``.

    Example:
        >>> make_eval_set("thick", 256, 100, 0, "eval/thick256")  # doctest: +SKIP
        'eval/thick256/manifest.json'
    """
    header = _eval_header(kind, size, count, seed, min_hole_ratio, max_hole_ratio, mask_dir)
    manifest_path = os.path.join(out_dir, MANIFEST)
    old = _existing_manifest(out_dir, manifest_path)
    if old is not None and not overwrite:
        old_header = {k: v for k, v in old.items() if k not in ("histogram", "masks")}
        if old_header != header:  # fail before spending time on the masks
            raise ValueError(
                f"{out_dir}: not empty and holds a different mask set (or none); "
                "choose another folder or pass overwrite=True (--overwrite)"
            )
    it = _iter_eval_masks(header)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, total=header["count"], desc=f"{kind} {header['size']}px masks", unit="mask")
    files, entries = [], []
    histogram = dict.fromkeys(BUCKETS, 0)
    for i, mask in enumerate(it):
        data = imageio.encode_png(mask > 0)
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
        hole = imageio.decode_mask(data, file)
        if hole.shape != (size, size):
            raise ValueError(f"{file}: is {hole.shape[1]}x{hole.shape[0]}, manifest says {size}")
        masks[i] = hole
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
