"""Inpainting metrics: L1, L2, PSNR, SSIM (whole image and holes), buckets, FID and LPIPS-style.

All functions take images as uint8 (0–255) or float in [0, 1] and score the *composited* result
(known pixels copied from the input, holes from the model), as the PGGAN paper and its predecessors
(Context Encoders, Iizuka et al.) report them.

Definitions (images scaled to [0, 1], means over pixels and channels):

* ``l1`` (%): ``100 · mean |x − y|``.
* ``l2`` (%): ``100 · mean (x − y)²``.
* ``psnr`` (dB): ``10 · log10(1 / MSE)``, **capped at** :data:`PSNR_CAP_DB` = 100 dB. Identical
  images have MSE 0 and an infinite PSNR; the cap keeps every average finite, and rows with
  identical images are flagged (``identical``) and counted separately in :func:`aggregate`, so a
  capped value never passes silently. 100 dB is above any real result: one 8-bit step in one channel
  of one pixel of a 256² image is already 101 dB.
* ``ssim``: structural similarity with an 11×11 Gaussian window (σ = 1.5), ``K1 = 0.01``,
  ``K2 = 0.03``, population (not sample) covariances, computed per channel over the "valid" window
  positions (no border padding) and averaged. This is ``skimage.metrics.structural_similarity(...,
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1)`` and
  ``tf.image.ssim``'s definition (cross-checked in the tests).
* ``hole_l1`` (%) and ``hole_psnr`` (dB): the same over hole pixels only; NaN when a mask has no
  hole (ignored by :func:`aggregate`, which counts them).
* ``checkerboard``: the fill's energy at the Nyquist frequencies over the truth's, in the holes
  (:func:`checkerboard_score`): about 1 for a natural fill, below 1 for a smoother one, far
  above 1 for the 2-pixel checkerboard of a transposed convolution. NaN without a hole.

FID and the LPIPS-style distance need a pretrained feature network, and no weights can be
downloaded here: both take an injectable ``feature_extractor`` and raise
:class:`FeatureExtractorMissing` with instructions when none is given.

Example:
    >>> import numpy as np
    >>> x = np.zeros((16, 16, 3), np.uint8); y = x.copy(); y[0, 0, 0] = 255
    >>> m = np.zeros((16, 16), bool); m[0, 0] = True
    >>> row = image_metrics(y, x, m)
    >>> round(row["psnr"], 2), round(row["hole_psnr"], 2)
    (28.85, 4.77)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from keras_pggan.data.imageio import YCBCR_601, uint8_to_float01

PSNR_CAP_DB = 100.0
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
# Keys of a per-image row that are averaged by aggregate().
METRIC_KEYS = (
    "l1",
    "l2",
    "psnr",
    "ssim",
    "hole_l1",
    "hole_psnr",
    "hole_colour",
    "hole_chroma",
    "hole_blotch",
    "checkerboard",
)
# Rows of keras_pggan.data.imageio.YCBCR_601 (the one BT.601 matrix): the luma weights (the
# checkerboard score works on luminance) and the chroma rows (Cb, Cr), for values in 8-bit levels.
LUMA = YCBCR_601[0]
CHROMA_601 = YCBCR_601[1:]
# A hole pixel whose (Cb, Cr) is this many 8-bit levels from the truth's is a colour blotch.
BLOTCH_LEVELS = 12.0


class FeatureExtractorMissing(RuntimeError):
    """FID / LPIPS were asked for without a feature extractor (none ships; none can download)."""


def as_float01(image) -> np.ndarray:
    """Returns ``image`` as float64 in [0, 1] (uint8 is divided by 255, floats are checked).

    The scoring variant of :func:`keras_pggan.data.imageio.as_float01` (same uint8 conversion,
    :func:`~keras_pggan.data.imageio.uint8_to_float01`): float64, so sums over large sets stay
    exact; any shape (batches for FID); and a float image outside [0, 1] is refused rather than
    clipped, since a metric must not score a different image than the one it was given.

    Raises:
        ValueError: a float image outside [0, 1] (beyond rounding) or an unsupported dtype.
    """
    a = np.asarray(image)
    if a.dtype == np.uint8:
        return uint8_to_float01(a, np.float64)
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"images must be uint8 or float in [0,1], got dtype {a.dtype}")
    a = a.astype(np.float64)
    if a.size and (a.min() < -1e-6 or a.max() > 1 + 1e-6):
        raise ValueError(f"float images must be in [0,1], got [{a.min():.3g}, {a.max():.3g}]")
    return np.clip(a, 0.0, 1.0)


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    x, y = as_float01(a), as_float01(b)
    if x.shape != y.shape:
        raise ValueError(f"images differ in shape: {x.shape} vs {y.shape}")
    return x, y


def _hole_selector(mask, shape) -> np.ndarray:
    m = np.asarray(mask)
    if m.ndim == len(shape) and m.shape[-1] == 1 and len(shape) == 3:
        m = m[..., 0]
    m = m > 0.5 if m.dtype != np.bool_ else m
    if m.shape != tuple(shape[:2]):
        raise ValueError(f"mask shape {m.shape} does not match image {tuple(shape[:2])}")
    return m


def mse_to_psnr(mse: float, data_range: float = 1.0) -> float:
    """PSNR in dB for a mean squared error, capped at :data:`PSNR_CAP_DB` (MSE 0 → the cap)."""
    if mse <= 0:
        return PSNR_CAP_DB
    return float(min(PSNR_CAP_DB, 10.0 * math.log10(data_range**2 / mse)))


def l1(a, b) -> float:
    """L1 error in percent: ``100 · mean |a − b|`` on [0, 1] images."""
    x, y = _pair(a, b)
    return float(100.0 * np.mean(np.abs(x - y)))


def l2(a, b) -> float:
    """L2 error in percent: ``100 · mean (a − b)²`` on [0, 1] images."""
    x, y = _pair(a, b)
    return float(100.0 * np.mean((x - y) ** 2))


def psnr(a, b) -> float:
    """PSNR in dB (data range 1 on [0, 1] images), capped at :data:`PSNR_CAP_DB`."""
    x, y = _pair(a, b)
    return mse_to_psnr(float(np.mean((x - y) ** 2)))


def hole_l1(a, b, mask) -> float:
    """L1 (%) over hole pixels only (all channels); NaN when the mask has no hole."""
    x, y = _pair(a, b)
    holes = _hole_selector(mask, x.shape)
    if not holes.any():
        return float("nan")
    return float(100.0 * np.mean(np.abs(x[holes] - y[holes])))


def hole_colour_error(a, b, mask) -> float:
    """Colour cast of a fill, in 8-bit levels: mean over channels of |hole mean(a) − hole mean(b)|.

    0 when the fill has the truth's mean colour in every channel, whatever its texture; a fill
    with a green cast of 20 levels scores 20 / 3 ≈ 6.7 against a grey truth. NaN when the mask
    has no hole.
    """
    x, y = _pair(a, b)
    holes = _hole_selector(mask, x.shape)
    if not holes.any():
        return float("nan")
    per_channel = np.abs(x[holes].mean(axis=0) - y[holes].mean(axis=0))
    return float(255.0 * np.mean(per_channel))


def hole_chroma_errors(a, b, mask) -> tuple[float, float]:
    """Per-pixel colour error of a fill in BT.601 chroma, 8-bit levels.

    Luma and chroma are separated so a fill with the right brightness and the wrong hue (a blue
    patch in a face) is seen, which PSNR and RGB L1 mostly miss: luma dominates both.

    Args:
        a: fill [H,W,3], uint8 or float in [0, 1].
        b: truth, same shape.
        mask: [H,W] (or [H,W,1]) bool or {0,1}, 1 = hole.

    Returns:
        ``(chroma, blotch)``: ``chroma`` is the mean over hole pixels of (|ΔCb| + |ΔCr|) / 2;
        ``blotch`` the share (%) of hole pixels whose chroma is more than
        :data:`BLOTCH_LEVELS` levels from the truth's (Euclidean in the CbCr plane). Both NaN
        when the mask has no hole.
    """
    x, y = _pair(a, b)
    holes = _hole_selector(mask, x.shape)
    if not holes.any():
        return float("nan"), float("nan")
    rows = np.asarray(CHROMA_601, dtype=np.float64).T * 255.0
    d = (x[holes].astype(np.float64) - y[holes].astype(np.float64)) @ rows  # [N, 2]: ΔCb, ΔCr
    chroma = float(np.mean(np.abs(d)))
    blotch = float(100.0 * np.mean(np.hypot(d[:, 0], d[:, 1]) > BLOTCH_LEVELS))
    return chroma, blotch


def hole_psnr(a, b, mask) -> float:
    """PSNR (dB, capped) over hole pixels only; NaN when the mask has no hole."""
    x, y = _pair(a, b)
    holes = _hole_selector(mask, x.shape)
    if not holes.any():
        return float("nan")
    return mse_to_psnr(float(np.mean((x[holes] - y[holes]) ** 2)))


def nyquist_energy(patch: np.ndarray) -> float:
    """Energy of a 2-D array at the Nyquist frequencies, along rows and along columns.

    ``Σ_y |Σ_x p(y,x)·(−1)^x|² + Σ_x |Σ_y p(y,x)·(−1)^y|²``: each row's (and column's) DFT
    coefficient at frequency N/2, squared and summed, i.e. the 2-D DFT's energy on the
    (·, N/2) column and the (N/2, ·) row (divided by the other side's length, by Parseval). It
    covers the ``(−1)^x``, ``(−1)^y`` and ``(−1)^(x+y)`` patterns whatever their slow variation
    along the other axis, and needs no even size or window.
    """
    p = np.asarray(patch, np.float64)
    sx = (-1.0) ** np.arange(p.shape[1])
    sy = (-1.0) ** np.arange(p.shape[0])
    return float(np.sum((p @ sx) ** 2) + np.sum((sy @ p) ** 2))


def checkerboard_score(a, b, mask) -> float:
    """How much more 2-pixel checkerboard a fill has than the truth, in the holes.

    Both images are turned into luminance (Rec. 601, [0, 1]); in each, the hole pixels keep
    their value minus their mean (so the hole's outline and brightness do not count) and every
    other pixel becomes 0; the score is :func:`nyquist_energy` of ``a``'s hole over ``b``'s:
    ``(E(a) + ε) / (E(b) + ε)`` with ``ε = n / 255²`` for ``n`` hole pixels (the energy of
    noise of one 8-bit level per pixel, so a flat truth does not divide by 0). All holes of an
    image are scored together (their bounding box holds nothing else: known pixels are 0); a
    dataset's score is the mean over its images (:func:`aggregate`).

    1 for a fill equal to the truth, below 1 for a smoother fill (a blur or a flat colour),
    far above 1 for the period-2 patterns transposed convolutions leave. Only the last
    up-sampling's period-2 pattern is measured; an earlier stage's period-4 one is not.

    Args:
        a: the composited prediction [H,W,3] (or [H,W]), uint8 or float in [0, 1].
        b: the truth, same shape.
        mask: [H,W] (or [H,W,1]) bool or {0,1}, 1 = hole.

    Returns:
        The ratio; NaN when the mask has no hole.

    Example:
        >>> truth = np.full((8, 8), 0.5); mask = np.ones((8, 8), bool)
        >>> fill = truth + 0.1 * (-1.0) ** np.indices((8, 8)).sum(0)
        >>> round(checkerboard_score(fill, truth, mask))
        10405
    """
    x, y = _pair(a, b)
    holes = _hole_selector(mask, x.shape)
    n = int(holes.sum())
    if not n:
        return float("nan")

    def hole_luma(img):
        lum = img @ np.asarray(LUMA) if img.ndim == 3 else img
        rows, cols = np.nonzero(holes)
        box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
        inside = holes[box]
        patch = np.where(inside, lum[box] - lum[holes].mean(), 0.0)
        return nyquist_energy(patch)

    eps = n / 255.0**2
    return float((hole_luma(x) + eps) / (hole_luma(y) + eps))


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """The normalised 1-D Gaussian taps of the separable SSIM window."""
    r = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    k = np.exp(-(r**2) / (2.0 * sigma**2))
    return k / k.sum()


def _filter_valid(x: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable correlation over the first two axes, keeping only full-window positions."""
    from scipy import ndimage

    pad = (len(taps) - 1) // 2
    out = ndimage.correlate1d(x, taps, axis=0, mode="reflect")
    out = ndimage.correlate1d(out, taps, axis=1, mode="reflect")
    # Every position at least ``pad`` pixels from the border saw only real pixels.
    return out[pad:-pad, pad:-pad] if pad else out


def ssim(a, b, sigma: float = SSIM_SIGMA, window: int = SSIM_WINDOW) -> float:
    """Mean structural similarity of two images (see the module docstring for the definition).

    Args:
        a: [H,W,C] or [H,W] image, uint8 or float in [0, 1].
        b: same shape as ``a``.
        sigma: Gaussian σ of the window.
        window: window side (odd).

    Returns:
        The SSIM averaged over valid window positions and channels (1.0 for identical images).

    Raises:
        ValueError: shapes differ or the image is smaller than the window.
    """
    x, y = _pair(a, b)
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    if x.ndim != 3:
        raise ValueError(f"ssim expects [H,W] or [H,W,C] images, got shape {x.shape}")
    if min(x.shape[:2]) < window:
        raise ValueError(f"images of {x.shape[0]}x{x.shape[1]} are smaller than the window")
    taps = gaussian_window(window, sigma)
    c1, c2 = (SSIM_K1 * 1.0) ** 2, (SSIM_K2 * 1.0) ** 2
    mu_x, mu_y = _filter_valid(x, taps), _filter_valid(y, taps)
    var_x = _filter_valid(x * x, taps) - mu_x**2
    var_y = _filter_valid(y * y, taps) - mu_y**2
    cov = _filter_valid(x * y, taps) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    den = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return float(np.mean(num / den))


def image_metrics(pred, truth, mask) -> dict[str, Any]:
    """Every per-image metric of one composited prediction.

    Args:
        pred: the composited inpainting [H,W,3], uint8 or float in [0, 1].
        truth: the original image, same shape.
        mask: [H,W] (or [H,W,1]) bool or {0,1}, 1 = hole.

    Returns:
        ``{"l1", "l2", "psnr", "ssim", "hole_l1", "hole_psnr", "hole_colour", "hole_chroma",
        "hole_blotch", "checkerboard", "hole_ratio", "identical"}`` (``hole_colour``:
        :func:`hole_colour_error`, 8-bit levels; ``hole_chroma`` / ``hole_blotch``:
        :func:`hole_chroma_errors`, levels / % of hole pixels;
        ``checkerboard``: :func:`checkerboard_score`);
        ``identical`` is True when ``pred`` equals ``truth`` (PSNR then sits at the cap).
    """
    x, y = _pair(pred, truth)
    holes = _hole_selector(mask, x.shape)
    chroma, blotch = hole_chroma_errors(x, y, holes)
    return {
        "l1": l1(x, y),
        "l2": l2(x, y),
        "psnr": psnr(x, y),
        "ssim": ssim(x, y),
        "hole_l1": hole_l1(x, y, holes),
        "hole_psnr": hole_psnr(x, y, holes),
        "hole_colour": hole_colour_error(x, y, holes),
        "hole_chroma": chroma,
        "hole_blotch": blotch,
        "checkerboard": checkerboard_score(x, y, holes),
        "hole_ratio": float(holes.mean()),
        "identical": bool(np.array_equal(x, y)),
    }


def _default_bucket_fn() -> Callable[[float], str]:
    from keras_pggan.data.masks import hole_ratio_bucket

    return hole_ratio_bucket


def _summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"count": len(rows)}
    for key in METRIC_KEYS:
        values = np.array([r[key] for r in rows], np.float64)
        finite = values[np.isfinite(values)]
        out[key] = float(finite.mean()) if finite.size else None
    out["identical"] = int(sum(bool(r.get("identical", False)) for r in rows))
    out["no_hole"] = int(sum(not np.isfinite(r["hole_l1"]) for r in rows))
    return out


def aggregate(
    rows: Iterable[dict[str, Any]], bucket_fn: Callable[[float], str] | None = None
) -> dict[str, Any]:
    """Averages per-image rows overall and per hole-ratio bucket.

    Args:
        rows: dicts from :func:`image_metrics` (a ``bucket`` key, when present, is used as is).
        bucket_fn: maps a hole ratio to a bucket name; defaults to
            ``keras_pggan.data.masks.hole_ratio_bucket`` (``"0-10%"`` … ``">60%"``).

    Returns:
        ``{"overall": summary, "buckets": {name: summary}}`` where a summary holds ``count``, the
        mean of each of :data:`METRIC_KEYS` (NaN hole metrics of hole-free masks are left out;
        ``None`` if nothing is left), ``identical`` (rows at the PSNR cap because the images are
        equal) and ``no_hole``. Buckets are in order of increasing hole ratio.
    """
    rows = list(rows)
    bucket_fn = bucket_fn or _default_bucket_fn()
    groups: dict[str, list[dict[str, Any]]] = {}
    order: dict[str, float] = {}
    for r in rows:
        name = r.get("bucket") or bucket_fn(r["hole_ratio"])
        groups.setdefault(name, []).append(r)
        order[name] = min(order.get(name, math.inf), r["hole_ratio"])
    buckets = {name: _summary(groups[name]) for name in sorted(groups, key=order.__getitem__)}
    return {"overall": _summary(rows), "buckets": buckets}


# -- feature-based distances -------------------------------------------------------------------

_NO_EXTRACTOR = (
    "{what} needs a pretrained feature extractor and none ships with keras_pggan (weights cannot "
    "be downloaded here). Pass feature_extractor=callable(images float32 [N,H,W,3] in [0,1]) -> "
    "{returns}, e.g. a keras.Model you load from local weights (InceptionV3 pool features for "
    "FID; a VGG/AlexNet trunk's activations for LPIPS)."
)


def _require(feature_extractor, what: str, returns: str):
    if feature_extractor is None:
        raise FeatureExtractorMissing(_NO_EXTRACTOR.format(what=what, returns=returns))
    return feature_extractor


def _as_list(features) -> list[np.ndarray]:
    if isinstance(features, dict):
        features = [features[k] for k in sorted(features)]
    if not isinstance(features, (list, tuple)):
        features = [features]
    return [np.asarray(f, np.float64) for f in features]


def _vectors(features) -> np.ndarray:
    """Feature maps [N,h,w,C] are average-pooled; vectors [N,D] pass through."""
    f = _as_list(features)[-1]
    if f.ndim > 2:
        f = f.reshape(f.shape[0], -1, f.shape[-1]).mean(axis=1)
    return f


def frechet_distance(real_features, fake_features) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets [N,D] (the FID formula).

    ``|μr − μf|² + Tr(Σr + Σf − 2·(Σr·Σf)^½)``, with the matrix square root from
    ``scipy.linalg.sqrtm`` (its tiny imaginary part dropped). Needs N ≥ 2 per set; with N < D the
    covariances are singular and FID is biased upwards, so compare FIDs only at equal N.
    """
    from scipy import linalg

    r, f = np.asarray(real_features, np.float64), np.asarray(fake_features, np.float64)
    if r.ndim != 2 or f.ndim != 2 or r.shape[1] != f.shape[1]:
        raise ValueError(f"features must be [N,D] with equal D, got {r.shape} and {f.shape}")
    if len(r) < 2 or len(f) < 2:
        raise ValueError("FID needs at least 2 feature vectors per set")
    mu_r, mu_f = r.mean(axis=0), f.mean(axis=0)
    cov_r = np.atleast_2d(np.cov(r, rowvar=False))
    cov_f = np.atleast_2d(np.cov(f, rowvar=False))
    with warnings.catch_warnings():
        # With fewer samples than dimensions the product is singular; sqrtm still returns the
        # right root in most cases and the ridge below covers the rest.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root, _ = linalg.sqrtm(cov_r @ cov_f, disp=False)
        if not np.isfinite(root).all():
            eps = np.eye(len(cov_r)) * 1e-6
            root, _ = linalg.sqrtm((cov_r + eps) @ (cov_f + eps), disp=False)
    root = np.real(root)
    diff = mu_r - mu_f
    value = diff @ diff + np.trace(cov_r) + np.trace(cov_f) - 2.0 * np.trace(root)
    return float(max(value, 0.0))


def fid(real_images, fake_images, feature_extractor=None, batch_size: int = 16) -> float:
    """FID between two image sets with an injected feature extractor.

    Args:
        real_images: [N,H,W,3] uint8 or float in [0, 1].
        fake_images: [M,H,W,3], same value range.
        feature_extractor: ``callable(float32 [n,H,W,3] in [0,1]) -> [n,D]`` (or feature maps,
            which are average-pooled; with several outputs the last is used).
        batch_size: images per extractor call.

    Raises:
        FeatureExtractorMissing: no extractor given.
    """
    extractor = _require(feature_extractor, "FID", "[N,D] features")
    real = extract_features(real_images, extractor, batch_size, _vectors)
    fake = extract_features(fake_images, extractor, batch_size, _vectors)
    return frechet_distance(real, fake)


def extract_features(images, extractor, batch_size: int = 16, reduce=_vectors) -> np.ndarray:
    """Runs ``extractor`` over ``images`` in batches and stacks ``reduce(features)``."""
    x = np.asarray(images)
    out = []
    for i in range(0, len(x), batch_size):
        batch = as_float01(x[i : i + batch_size]).astype(np.float32)
        out.append(reduce(extractor(batch)))
    return np.concatenate(out, axis=0)


def _unit(f: np.ndarray) -> np.ndarray:
    return f / (np.sqrt(np.sum(f * f, axis=-1, keepdims=True)) + 1e-10)


def lpips_distance(a, b, feature_extractor=None) -> np.ndarray:
    """LPIPS-style perceptual distance per image pair, with uniform layer weights.

    For each feature map [N,h,w,C] the extractor returns (other outputs, such as a pooled vector
    for FID, are ignored): normalise every position's channel vector to unit length, take the
    squared difference summed over channels, average over positions; sum over layers. This is
    LPIPS without its learned per-channel weights (which cannot be downloaded here), so values
    are comparable only between runs with the same extractor.

    Args:
        a: [N,H,W,3] (or [H,W,3]) uint8 or float in [0, 1].
        b: same shape.
        feature_extractor: ``callable(float32 [N,H,W,3] in [0,1]) -> map or list of outputs``;
            the 4-D outputs [N,h,w,C] are used.

    Returns:
        float64 [N] distances (0 for identical images).

    Raises:
        FeatureExtractorMissing: no extractor given.
    """
    extractor = _require(feature_extractor, "LPIPS", "a feature map [N,h,w,C] or a list of them")
    x, y = _pair(a, b)
    if x.ndim == 3:
        x, y = x[None], y[None]
    fx = [f for f in _as_list(extractor(x.astype(np.float32))) if f.ndim == 4]
    fy = [f for f in _as_list(extractor(y.astype(np.float32))) if f.ndim == 4]
    if not fx:
        raise ValueError("LPIPS needs feature maps [N,h,w,C]; the extractor returned none")
    total = np.zeros(len(x))
    for u, v in zip(fx, fy, strict=True):
        total += np.mean(np.sum((_unit(u) - _unit(v)) ** 2, axis=-1), axis=(1, 2))
    return total


# -- flat colours ------------------------------------------------------------------------------
FLAT_COLOURS = {
    "red wall": (178, 34, 34),
    "grey": (128, 128, 128),
    "lavender": (230, 230, 250),
    "dark brown": (92, 64, 51),
    "sky blue": (135, 206, 235),
}


def flat_colour_check(fn, size: int = 256, hole: int = 64) -> dict[str, dict]:
    """Fills a centred ``hole``² square in flat ``size``² images of :data:`FLAT_COLOURS`.

    Args:
        fn: ``fn(image uint8 [H,W,3], mask bool [H,W]) -> uint8 [H,W,3]`` (an ``Inpainter``
            or a baseline).

    Returns:
        ``{colour: {"rgb", "fill_mean", "mean_error" (per channel, signed levels),
        "max_abs_mean_error", "p99_pixel_error"}}``; a perfect fill has all errors 0.
    """
    out = {}
    top = (size - hole) // 2
    mask = np.zeros((size, size), bool)
    mask[top : top + hole, top : top + hole] = True
    for name, rgb in FLAT_COLOURS.items():
        image = np.zeros((size, size, 3), np.uint8) + np.array(rgb, np.uint8)
        fill = np.asarray(fn(image, mask))[mask].astype(np.float64)
        err = fill.mean(axis=0) - np.array(rgb, np.float64)
        out[name] = {
            "rgb": list(rgb),
            "fill_mean": [round(float(v), 2) for v in fill.mean(axis=0)],
            "mean_error": [round(float(v), 2) for v in err],
            "max_abs_mean_error": round(float(np.abs(err).max()), 2),
            "p99_pixel_error": round(float(np.percentile(np.abs(fill - np.array(rgb)), 99)), 2),
        }
    return out
