"""Where a fill's colour goes wrong: measurements behind the model card's colour section.

Issue 35 asks, before the training recipe changes, which of these puts wrong hues in the hole:
the loss (RGB L1 is mostly a luma loss), the scale gap (the model trained on 128² crops of
256-scale photos, V puts 128-px holes in 256² views), the distance from known pixels (too little
reach at the bottleneck), or the working-size path on large photos. Each function measures one
of them on V photos with the fixed seeded masks, for a model and OpenCV Telea side by side.

Example:
    >>> from keras_pggan.reports import colour
    >>> rows = colour.chroma_by_distance(inpainter, telea, images, masks)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from keras_pggan.evaluation import metrics as M

Fill = Callable[[np.ndarray, np.ndarray], np.ndarray]

# Distance bands (px from the nearest known pixel) for chroma_by_distance.
DISTANCE_BANDS = ((0, 8), (8, 16), (16, 32), (32, 48), (48, 10_000))


def ycbcr(image) -> np.ndarray:
    """BT.601 (Y, Cb, Cr) of an RGB image in 8-bit levels (no offsets), float64 [H,W,3]."""
    x = M.as_float01(image) * 255.0
    rows = np.asarray((M.LUMA, *M.CHROMA_601), dtype=np.float64)
    return x @ rows.T


def rgb_from_ycbcr(ycc: np.ndarray) -> np.ndarray:
    """Inverse of :func:`ycbcr`: uint8 RGB (rounded, clipped)."""
    rows = np.asarray((M.LUMA, *M.CHROMA_601), dtype=np.float64)
    rgb = ycc @ np.linalg.inv(rows).T
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def _gaussian_blur(channel: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(channel, sigma, mode="reflect")


def blurred_chroma(fill: np.ndarray, holes: np.ndarray, sigma: float = 8.0) -> np.ndarray:
    """``fill`` with its Cb/Cr low-passed (Gaussian ``sigma`` px) inside the hole; luma kept.

    If the wrong hues were pixel noise, this would remove most of the chroma error; if they are
    patches (low frequency), it changes little.
    """
    ycc = ycbcr(fill)
    for c in (1, 2):
        blurred = _gaussian_blur(ycc[..., c], sigma)
        ycc[..., c] = np.where(holes, blurred, ycc[..., c])
    return rgb_from_ycbcr(ycc)


def luma_chroma_swap(luma_from: np.ndarray, chroma_from: np.ndarray) -> np.ndarray:
    """An image with the Y of ``luma_from`` and the Cb/Cr of ``chroma_from``."""
    a, b = ycbcr(luma_from), ycbcr(chroma_from)
    a[..., 1:] = b[..., 1:]
    return rgb_from_ycbcr(a)


def distance_to_known(holes: np.ndarray) -> np.ndarray:
    """Euclidean distance (px) of each hole pixel to the nearest known pixel (0 outside)."""
    from scipy.ndimage import distance_transform_edt

    return distance_transform_edt(holes)


def chroma_by_distance(
    fills: dict[str, Fill],
    images: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    bands: Sequence[tuple[int, int]] = DISTANCE_BANDS,
) -> dict[str, list[dict]]:
    """Mean per-pixel chroma error (levels) of each fill in distance bands from the hole's edge.

    A model whose chroma error grows faster with the distance than Telea's lacks reach (it sees
    too little context at the bottleneck, or holes bigger than it trained on).

    Returns:
        ``{label: [{"band": "0-8", "chroma": levels, "pixels": n}, ...]}``.
    """
    sums = {k: np.zeros(len(bands)) for k in fills}
    counts = np.zeros(len(bands))
    for image, mask in zip(images, masks):
        holes = np.asarray(mask).astype(bool)
        dist = distance_to_known(holes)
        truth = ycbcr(image)
        in_band = [holes & (dist > lo) & (dist <= hi) for lo, hi in bands]
        counts += [b.sum() for b in in_band]
        for label, fn in fills.items():
            err = np.abs(ycbcr(fn(image, holes))[..., 1:] - truth[..., 1:]).mean(axis=-1)
            sums[label] += [err[b].sum() for b in in_band]
    names = [f"{lo}-{hi}" if hi < 10_000 else f">{lo}" for lo, hi in bands]
    return {
        label: [
            {"band": n, "chroma": float(s / c) if c else float("nan"), "pixels": int(c)}
            for n, s, c in zip(names, sums[label], counts)
        ]
        for label in fills
    }


def per_image_rows(
    fills: dict[str, Fill], images: Sequence[np.ndarray], masks: Sequence[np.ndarray]
) -> dict[str, list[dict]]:
    """Per-image metrics (:func:`keras_pggan.evaluation.metrics.image_metrics`) of each fill,
    plus the model-only probes on the first fill: its chroma blurred (``blur8``) and its luma
    under the second fill's chroma (``swap``).
    """
    labels = list(fills)
    out: dict[str, list[dict]] = {k: [] for k in (*labels, "blur8", "swap")}
    for image, mask in zip(images, masks):
        holes = np.asarray(mask).astype(bool)
        done = {k: fills[k](image, holes) for k in labels}
        for k in labels:
            out[k].append(M.image_metrics(done[k], image, holes))
        first = done[labels[0]]
        out["blur8"].append(M.image_metrics(blurred_chroma(first, holes), image, holes))
        if len(labels) > 1:
            swapped = luma_chroma_swap(first, done[labels[1]])
            out["swap"].append(M.image_metrics(swapped, image, holes))
    return {k: v for k, v in out.items() if v}


def mean_rows(rows: Sequence[dict], keys=("psnr", "ssim", "hole_chroma", "hole_blotch")) -> dict:
    """Means over images of the given keys (NaN-safe)."""
    return {k: float(np.nanmean([r[k] for r in rows])) for k in keys}


def bootstrap_difference(
    a: Sequence[float], b: Sequence[float], n: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of ``a − b`` over paired images with a 95 % bootstrap interval (resampling images).

    Returns:
        ``(mean, low, high)``.
    """
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    d = d[np.isfinite(d)]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(d), size=(n, len(d)))
    means = d[idx].mean(axis=1)
    return float(d.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def resize_uint8(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area/bilinear antialiased resize of a uint8 image or bool mask to ``(h, w)``."""
    import tensorflow as tf

    a = np.asarray(image)
    is_mask = a.dtype == np.bool_
    x = a.astype(np.float32)[..., None] if is_mask else a.astype(np.float32)
    y = tf.image.resize(x, size, method="bilinear", antialias=True).numpy()
    if is_mask:
        return y[..., 0] > 0.5
    return np.clip(np.round(y), 0, 255).astype(np.uint8)
