"""A small line plot drawn with Pillow (the project's only imaging dependency; no matplotlib).

Used by :mod:`keras_pggan.reports.training_recipe` (V hole L1 against wall time) and
:mod:`keras_pggan.reports.ship` (the model card's training curve).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

PALETTE = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    first = math.ceil(lo / step) * step
    out, v = [], first
    while v <= hi + 1e-9 * step:
        out.append(round(v, 10))
        v += step
    return out


def line_plot(
    series: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    path: str,
    title: str,
    xlabel: str,
    ylabel: str,
    size: tuple[int, int] = (900, 560),
) -> str:
    """Draws ``(label, xs, ys)`` series as lines with markers and writes a PNG.

    Returns:
        ``path``.
    """
    width, height = size
    left, right, top, bottom = 80, 200, 40, 60
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    xs_all = [x for _, xs, _ in series for x in xs]
    ys_all = [y for _, _, ys in series for y in ys]
    if not xs_all:
        raise ValueError("line_plot: no points")
    x0, x1 = min(xs_all), max(xs_all)
    y0, y1 = min(ys_all), max(ys_all)
    pad = (y1 - y0) * 0.05 or 0.05
    y0, y1 = y0 - pad, y1 + pad
    if x1 == x0:
        x1 = x0 + 1

    def px(x, y):
        u = left + (x - x0) / (x1 - x0) * (width - left - right)
        v = height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom)
        return u, v

    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    for t in _ticks(x0, x1):
        u, _ = px(t, y0)
        draw.line([u, height - bottom, u, height - bottom + 5], fill="black")
        draw.line([u, top, u, height - bottom], fill=(230, 230, 230))
        draw.text((u - 12, height - bottom + 8), f"{t:g}", fill="black", font=font)
    for t in _ticks(y0, y1):
        _, v = px(x0, t)
        draw.line([left - 5, v, left, v], fill="black")
        draw.line([left, v, width - right, v], fill=(230, 230, 230))
        draw.text((8, v - 6), f"{t:.3g}", fill="black", font=font)
    for i, (label, xs, ys) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        points = [px(x, y) for x, y in zip(xs, ys)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for u, v in points:
            draw.ellipse([u - 3, v - 3, u + 3, v + 3], fill=colour)
        ly = top + 10 + 18 * i
        draw.line([width - right + 12, ly + 6, width - right + 36, ly + 6], fill=colour, width=3)
        draw.text((width - right + 42, ly), label, fill="black", font=font)
    draw.text((left, 12), title, fill="black", font=font)
    draw.text(((width - right + left) // 2 - 40, height - 22), xlabel, fill="black", font=font)
    draw.text((8, top - 30), ylabel, fill="black", font=font)
    img.save(path)
    return path
