"""Where a fill's colour goes wrong: measurements behind the model card's colour section.

Issue 35 asks, before the training recipe changes, which of these puts wrong hues in the hole:
the loss (RGB L1 is mostly a luma loss), the scale gap (the model trained on 128² crops of
256-scale photos, V puts 128-px holes in 256² views), the distance from known pixels (too little
reach at the bottleneck), or the working-size path on large photos. Each function measures one
of them on V photos with the fixed seeded masks, for a model and OpenCV Telea side by side.

``python -m scripts.colour_diagnosis`` runs them; :func:`diagnosis_lines` turns its result into
markdown (its findings computed from the numbers), which is both the script's report and the
model card's section "Where the colour goes wrong" (:mod:`keras_pggan.reports.model_card`).

Example:
    >>> from keras_pggan.reports import colour
    >>> rows = colour.chroma_by_distance(inpainter, telea, images, masks)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence

import numpy as np

from keras_pggan.errors import UserError
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


def file_sha256(path: str) -> str | None:
    """sha256 of a model file (``None`` for a SavedModel folder): the diagnosed model's identity."""
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def check_diagnosed_model(diag: dict, card: dict, folder: str) -> None:
    """Refuses to put a diagnosis into the card of another model.

    A diagnosis with ``model_sha256`` must be of the card's Keras file in ``folder`` byte for
    byte (a reshipped model keeps the file name); one written before the hash was recorded must
    at least name that file.

    Raises:
        UserError: the diagnosed model is not the card's.
    """
    keras = [f["path"] for f in card.get("files", []) if f["path"].endswith(".keras")]
    if not keras:
        raise UserError(f"{folder}: the card lists no .keras file to match the diagnosis with")
    shipped = os.path.join(folder, keras[0])
    if diag.get("model_sha256"):
        if diag["model_sha256"] != file_sha256(shipped):
            raise UserError(
                f"the diagnosis is of {diag['model']} (sha256 {diag['model_sha256'][:12]}…), "
                f"not of {shipped}: rerun it on the card's model"
            )
    elif os.path.basename(diag["model"]) != os.path.basename(keras[0]):
        raise UserError(f"the diagnosis is of {diag['model']}, not of the card's {keras[0]}")


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


# -- The diagnosis as markdown: the model card's section and the script's report ----------------

KIND_TITLES = {"center": "centre-128", "freeform": "free-form"}
# The scale probe's rows: {key in a part's entry: the hole and the view}. The 128² view is the
# 256² one (the training photos' scale) halved: the training crops' size at half their scale.
SCALE_PROBES = {
    "center": "128-px hole, 256² view",
    "center64_at_256": "64-px hole, 256² view",
    "center64_at_128": "64-px hole, 128² view",
}
LARGE_PATHS = {
    "tiled_3000_at_512": "3000-px photo, working-size path (512 px)",
    "whole_768": "the same photo whole at 768 px",
}
# The card's names of V's parts where the script's keys differ.
PART_LABELS = {"imagenet_holdout": "ImageNet hold-out"}
# What the numbers must show for each finding's conclusion.
NOISE_SHARE = 0.10  # blurring the chroma removes less than this share: the hues are patches
PSNR_BLIND_DB = 0.1  # Telea's chroma moves the model's PSNR less than this: PSNR misses it
SAME_LEVELS = 0.5  # the two large-photo paths differ less than this: not the working-size path


def diagnosis_lines(diag: dict) -> list[str]:
    """The diagnosis as markdown lines, without a heading: what was measured, the findings
    (:func:`diagnosis_findings`) and the tables.

    The model card's section "Where the colour goes wrong"
    (:func:`keras_pggan.reports.model_card.render_model_card`) and the report of
    ``python -m scripts.colour_diagnosis`` are both these lines.

    Args:
        diag: what :func:`scripts.colour_diagnosis.diagnose` returns (``colour_diagnosis.json``).
    """
    counts = diag.get("counts")
    photos = f" ({' + '.join(str(n) for n in counts.values())} photos)" if counts else ""
    lines = [
        f"Measured with `python -m scripts.colour_diagnosis` on `{diag['model']}`: V{photos} at "
        "256² with the card's seeded masks, the model beside OpenCV Telea on the same masks. "
        "Chroma = mean over hole pixels of (|ΔCb| + |ΔCr|) / 2, BT.601, in 8-bit levels; blotch "
        f"= % of hole pixels whose chroma is more than {M.BLOTCH_LEVELS:g} levels off.",
        "",
        *[f"- {x}" for x in diagnosis_findings(diag)],
        "",
        "Model and Telea on V; the model's fill with its chroma blurred in the hole (Gaussian, "
        "σ = 8 px) and with Telea's chroma under its luma:",
        "",
        *_gap_table(diag["parts"]),
        "",
        "Chroma error (levels) by distance from the hole's edge, centre-128 holes:",
        "",
        *_distance_table(diag["parts"]),
        "",
        "Hole size against scale, centre holes (the 128² view is the 256² view halved: the "
        "size of the training crops, at half the training photos' scale):",
        "",
        *_scale_table(diag["parts"]),
    ]
    if diag.get("large_photo"):
        n = diag.get("large_photos")
        lines += [
            "",
            f"Large photos ({f'{n} ' if n else ''}ImageNet V photos scaled to 3000 px, a centred "
            "elliptical hole of about 10 % of the photo; scored at 768 px):",
            "",
            *_large_table(diag["large_photo"]),
        ]
    return lines


def diagnosis_findings(diag: dict) -> list[str]:
    """The diagnosis's conclusions, one sentence each, computed from its numbers.

    Each sentence states the numbers it rests on; its verdict follows the thresholds above
    (:data:`NOISE_SHARE`, :data:`PSNR_BLIND_DB`, :data:`SAME_LEVELS`) and the bootstrap
    interval of the model − Telea difference.
    """
    parts = diag["parts"]
    out = [_gap_finding(parts, kind) for kind in KIND_TITLES if _has(parts, kind)]
    out += [_distance_finding(part, e["center"]) for part, e in parts.items() if "center" in e]
    rows = [e[kind] for e in parts.values() for kind in KIND_TITLES if kind in e]
    probes = [(r, r.get("swap")) for r in rows if "blur8" in r]
    if probes:
        out.append(_blur_finding([r for r, _ in probes]))
    if any(swap for _, swap in probes):
        out.append(_swap_finding([(r, swap) for r, swap in probes if swap]))
    if all(key in e for e in parts.values() for key in SCALE_PROBES):
        out.append(_scale_finding(parts))
    if all(k in diag.get("large_photo", {}) for k in LARGE_PATHS):
        out.append(_large_finding(diag["large_photo"]))
    return out


def _has(parts: dict, kind: str) -> bool:
    return all(kind in e for e in parts.values())


def _label(part: str) -> str:
    return PART_LABELS.get(part, part)


def _num(value, spec: str) -> str:
    """``spec.format(value)``, or an en dash for a missing or not-a-number value."""
    if value is None or not np.isfinite(value):
        return "–"
    return spec.format(value)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int) -> list[str]:
    """A markdown table whose first ``text_columns`` columns are text, the rest right-aligned."""
    rule = "|" + "---|" * text_columns + "---:|" * (len(head) - text_columns)
    return ["| " + " | ".join(head) + " |", rule] + ["| " + " | ".join(r) + " |" for r in rows]


def _verdict(low: float, high: float) -> str:
    if low > 0:
        return "larger"
    if high < 0:
        return "smaller"
    return "no clear difference"


def _gap_finding(parts: dict, kind: str) -> str:
    clauses = []
    for part, e in parts.items():
        r = e[kind]
        d, low, high = r["chroma_gap_ci"]
        clauses.append(
            f"on {_label(part)} {r['model']['hole_chroma']:.2f} levels against Telea's "
            f"{r['telea']['hole_chroma']:.2f} ({d:+.2f}, 95 % CI {low:+.2f} to {high:+.2f}: "
            f"{_verdict(low, high)})"
        )
    return f"{KIND_TITLES[kind].capitalize()} holes, the model's chroma error: " + (
        "; ".join(clauses) + "."
    )


def _band_words(band: str) -> str:
    """``"0-8"`` → "within 8 px of the edge", ``">48"`` → "beyond 48 px from the edge"."""
    if band.startswith(">"):
        return f"beyond {band[1:]} px from the edge"
    low, high = band.split("-")
    if low == "0":
        return f"within {high} px of the edge"
    return f"{low}–{high} px from the edge"


def _distance_finding(part: str, r: dict) -> str:
    # Bands with no hole pixels (small free-form holes) have no error to compare.
    kept = [i for i, b in enumerate(r["by_distance"]["model"]) if b["pixels"]]
    model, telea = ([r["by_distance"][k][i] for i in kept] for k in ("model", "telea"))
    first, last = _band_words(model[0]["band"]), _band_words(model[-1]["band"])
    ratio = model[-1]["chroma"] / telea[-1]["chroma"]
    trend = "grows" if model[-1]["chroma"] > model[0]["chroma"] else "goes"
    return (
        f"On {_label(part)} (centre-128), the model's chroma error {trend} from "
        f"{model[0]['chroma']:.1f} levels {first} to {model[-1]['chroma']:.1f} {last}, Telea's "
        f"from {telea[0]['chroma']:.1f} to {telea[-1]['chroma']:.1f}: {last} the model's chroma "
        f"error is {ratio:.1f}× Telea's."
    )


def _blur_finding(rows: list[dict]) -> str:
    changes = [r["blur8"]["hole_chroma"] / r["model"]["hole_chroma"] - 1 for r in rows]
    low, high = min(changes), max(changes)
    why = (
        "the wrong hues are low-frequency patches, not pixel noise"
        if -low < NOISE_SHARE
        else "part of the error is pixel-scale noise"
    )
    return (
        "Blurring the model's chroma in the hole (σ = 8 px) changes its chroma error by "
        f"{100 * low:+.0f} % to {100 * high:+.0f} %: {why}."
    )


def _swap_finding(pairs: list[tuple[dict, dict]]) -> str:
    deltas = [swap["psnr"] - r["model"]["psnr"] for r, swap in pairs]
    low, high = min(deltas), max(deltas)
    why = (
        "PSNR barely sees the chroma gap (luma dominates it)"
        if max(abs(low), abs(high)) < PSNR_BLIND_DB
        else f"chroma moves PSNR by up to {max(abs(low), abs(high)):.2f} dB"
    )
    return (
        f"Telea's chroma under the model's luma changes the model's PSNR by {low:+.2f} to "
        f"{high:+.2f} dB: {why}."
    )


def _gaps(e: dict) -> list[float]:
    """Model − Telea chroma error of a part's scale probes, in :data:`SCALE_PROBES` order."""
    return [e[k]["model"]["hole_chroma"] - e[k]["telea"]["hole_chroma"] for k in SCALE_PROBES]


def _scale_finding(parts: dict) -> str:
    clauses, size, none = [], True, True
    for part, e in parts.items():
        gaps = _gaps(e)
        clauses.append(
            f"on {_label(part)} "
            + ", ".join(f"{g:+.2f} ({what})" for g, what in zip(gaps, SCALE_PROBES.values()))
        )
        size = size and gaps[0] > 0 and max(gaps[1:]) <= gaps[0] / 2
        none = none and max(gaps) <= 0
    if none:
        why = "the model's chroma error is at or below Telea's at every hole size and scale"
    elif size:
        why = (
            "the gap comes with the hole's size in pixels (the distance from known pixels), not "
            "with the image's scale: with 64-px holes it is at most half the 128-px one at both "
            "scales"
        )
    else:
        why = "64-px holes do not halve the gap: hole size alone does not explain it"
    return "Model − Telea chroma error in levels, " + "; ".join(clauses) + f": {why}."


def _large_finding(large: dict) -> str:
    tiled, whole = (large[k]["hole_chroma"] for k in LARGE_PATHS)
    why = (
        "the working-size path is not where the colour goes wrong"
        if abs(tiled - whole) < SAME_LEVELS
        else "the working-size path changes the colour"
    )
    return (
        f"On photos scaled to 3000 px, the working-size path's chroma error is {tiled:.2f} levels "
        f"against {whole:.2f} for the same photo filled whole at 768 px ({tiled - whole:+.2f}): "
        f"{why}."
    )


def _gap_table(parts: dict) -> list[str]:
    head = (
        "part", "holes", "model PSNR dB", "model chroma", "model blotch %", "Telea PSNR dB",
        "Telea chroma", "Telea blotch %", "model − Telea chroma (95 % CI)",
        "model chroma, blurred", "model luma + Telea chroma: PSNR dB",
    )  # fmt: skip
    rows = []
    for part, e in parts.items():
        for kind, title in KIND_TITLES.items():
            if kind not in e:
                continue
            r = e[kind]
            m, t = r["model"], r["telea"]
            d, low, high = r["chroma_gap_ci"]
            rows.append(
                [_label(part), title]
                + [_num(m["psnr"], "{:.2f}"), _num(m["hole_chroma"], "{:.2f}")]
                + [_num(m["hole_blotch"], "{:.1f}"), _num(t["psnr"], "{:.2f}")]
                + [_num(t["hole_chroma"], "{:.2f}"), _num(t["hole_blotch"], "{:.1f}")]
                + [f"{d:+.2f} ({low:+.2f}, {high:+.2f})"]
                + [_num(r.get("blur8", {}).get("hole_chroma"), "{:.2f}")]
                + [_num(r.get("swap", {}).get("psnr"), "{:.2f}")]
            )
    return _table(head, rows, 2)


def _distance_table(parts: dict) -> list[str]:
    bands = [b["band"] for b in next(iter(parts.values()))["center"]["by_distance"]["model"]]
    rows = []
    for part, e in parts.items():
        by = e["center"]["by_distance"]
        model, telea = ([b["chroma"] for b in by[k]] for k in ("model", "telea"))
        for label, values, spec in (
            ("model", model, "{:.2f}"),
            ("Telea", telea, "{:.2f}"),
            ("model ÷ Telea", [a / b if b else None for a, b in zip(model, telea)], "{:.2f}×"),
        ):
            rows.append([_label(part), label] + [_num(v, spec) for v in values])
    return _table(["part", "fill", *(f"{b} px" for b in bands)], rows, 2)


def _scale_table(parts: dict) -> list[str]:
    head = (
        "part", "hole, view", "model PSNR dB", "model chroma", "Telea PSNR dB", "Telea chroma",
        "model − Telea chroma",
    )  # fmt: skip
    rows = []
    for part, e in parts.items():
        for key, what in SCALE_PROBES.items():
            if key in e:
                m, t = e[key]["model"], e[key]["telea"]
                rows.append(
                    [_label(part), what, _num(m["psnr"], "{:.2f}")]
                    + [_num(m["hole_chroma"], "{:.2f}"), _num(t["psnr"], "{:.2f}")]
                    + [_num(t["hole_chroma"], "{:.2f}")]
                    + [_num(m["hole_chroma"] - t["hole_chroma"], "{:+.2f}")]
                )
    return _table(head, rows, 2)


def _large_table(large: dict) -> list[str]:
    rows = [
        [LARGE_PATHS.get(k, k), _num(r["psnr"], "{:.2f}"), _num(r.get("ssim"), "{:.4f}")]
        + [_num(r["hole_chroma"], "{:.2f}"), _num(r["hole_blotch"], "{:.1f}")]
        for k, r in large.items()
    ]
    return _table(("path", "PSNR dB", "SSIM", "chroma", "blotch %"), rows, 1)
