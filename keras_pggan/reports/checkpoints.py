"""Generator files side by side on V: the table to pick the file to ship by.

V is a run's validation lists (:func:`keras_pggan.reports.ship.v_parts`: ``cmp_facade_val`` and
the ImageNet hold-out), each part scored at 256² with the project's fixed seeded centre-128 and
free-form sets (:func:`keras_pggan.evaluation.evaluate.score_methods`), so the numbers are the
model card's. The in-training V hole L1 (128² crops, training masks) is too noisy to pick a
checkpoint by. ``scripts/compare_checkpoints.py`` is the driver.

Example:
    >>> from keras_pggan.reports import checkpoints
    >>> results = checkpoints.compare(["a.keras", "b.keras"], parts)  # doctest: +SKIP
    >>> print(checkpoints.table(results))  # doctest: +SKIP
"""

from __future__ import annotations

import sys

KINDS = ("center", "freeform")
# Each cell: PSNR dB / SSIM / hole chroma error (8-bit levels) / blotch (% of hole pixels).
CELL = (
    ("psnr", "{:.2f}"),
    ("ssim", "{:.4f}"),
    ("hole_chroma", "{:.2f}"),
    ("hole_blotch", "{:.1f}"),
)


def compare(
    files: list[str], parts: dict[str, list[str]], size: int = 256, seed: int = 0
) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """V scores of each generator file.

    Args:
        files: ``.keras`` / SavedModel / ``.tflite`` models.
        parts: ``{part label: image files}`` (:func:`keras_pggan.reports.ship.v_parts`).
        size: crop side.
        seed: mask seed.

    Returns:
        ``{file: {part: {kind: {metric: mean}}}}``.
    """
    from keras_pggan.evaluation.evaluate import score_methods

    cache: dict = {}
    out = {}
    for f in files:
        out[f] = {
            part: score_methods({"m": f}, images_, size=size, seed=seed, images=cache)["m"]
            for part, images_ in parts.items()
        }
        print(f"{f}: mean PSNR {mean_psnr(out[f]):.3f} dB", file=sys.stderr, flush=True)
    return out


def mean_psnr(scores: dict[str, dict[str, dict[str, float]]]) -> float:
    """The mean PSNR over every part and hole kind of one file's :func:`compare` scores."""
    values = [s[kind]["psnr"] for s in scores.values() for kind in KINDS]
    return sum(values) / len(values)


def best(results: dict) -> str:
    """The file with the highest :func:`mean_psnr` (the first of equals)."""
    return max(results, key=lambda f: mean_psnr(results[f]))


def _cell(scores: dict[str, float]) -> str:
    return " / ".join("–" if k not in scores else spec.format(scores[k]) for k, spec in CELL)


def table(results: dict) -> str:
    """A markdown table of :func:`compare`'s results, one row a file, the best in bold.

    Each cell is PSNR dB / SSIM / hole chroma error (levels) / blotch % of one part and hole
    kind (:func:`keras_pggan.evaluation.metrics.hole_chroma_errors`); the last column is the
    mean PSNR the pick is made by.
    """
    parts = list(next(iter(results.values())))
    head = [f"{p} {k} PSNR / SSIM / chroma / blotch %" for p in parts for k in KINDS]
    lines = [
        "| file | " + " | ".join(head) + " | mean PSNR |",
        "|---|" + "---|" * len(head) + "---:|",
    ]
    top = best(results)
    for f, scores in results.items():
        cells = [_cell(scores[p][k]) for p in parts for k in KINDS]
        name = f"**`{f}`**" if f == top else f"`{f}`"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {mean_psnr(scores):.3f} |")
    return "\n".join(lines) + "\n"
