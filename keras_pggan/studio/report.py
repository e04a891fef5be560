"""The perceptual study's report: mean naturalness per method with a 95 % confidence interval.

Example:
    python -m keras_pggan.studio report votes.db                  # -> votes_report/
    python -m keras_pggan.studio report votes.db --out study/report --overwrite

Prints a table (method, votes, voters, mean score, 95 % CI) and writes ``report.md``,
``report.json`` and ``perceptual.png`` into ``--out`` (default: ``<votes file>_report`` next to
the votes file): a bar chart of the mean score per method with 95 % CI error bars, the real
photos (``original``) first and then the methods, like the paper's perceptual-study figure.
The interval is Student's t on the mean (n − 1 degrees of freedom); with a single vote it is
undefined (shown as –, ``null`` in JSON). Existing report files are not replaced without
``--overwrite``; the votes file is only read (a report can run while voting goes on).
"""

from __future__ import annotations

import json
import math
import os
import statistics
from collections.abc import Iterable, Sequence

from keras_pggan.io_utils import atomic_path, check_writable, write_text_atomic
from keras_pggan.studio import votes as votes_lib

FORMAT = "keras_pggan.studio.report"
VERSION = 1
ORIGINAL = "original"
CONFIDENCE = 0.95
OUTPUT_FILES = ("report.md", "report.json", "perceptual.png")
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189))
ORIGINAL_COLOUR = (150, 150, 150)


def method_order(methods: Iterable[str], order: Sequence[str] | None = None) -> list[str]:
    """Methods in the figure's order: ``order`` when given (others appended, sorted), else
    ``original`` first and the rest sorted."""
    methods = set(methods)
    first = [m for m in (order or ()) if m in methods]
    rest = sorted(methods - set(first), key=lambda m: (m != ORIGINAL, m))
    return first + rest


def mean_ci(scores: Sequence[float], confidence: float = CONFIDENCE) -> dict:
    """Mean, standard deviation and the t-distribution confidence interval of the mean.

    Args:
        scores: one value per vote (at least one).
        confidence: the interval's coverage.

    Returns:
        ``{n, mean, sd, ci95_low, ci95_high}``; ``sd`` and the interval are None when n = 1.

    Example:
        >>> r = mean_ci([1, 2, 3, 4, 5])
        >>> round(r["ci95_low"], 4), round(r["ci95_high"], 4)
        (1.0368, 4.9632)
    """
    from scipy import stats

    n = len(scores)
    if n == 0:
        raise ValueError("mean_ci: no scores")
    mean = float(statistics.fmean(scores))
    if n == 1:
        return {"n": 1, "mean": mean, "sd": None, "ci95_low": None, "ci95_high": None}
    sd = float(statistics.stdev(scores))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return {"n": n, "mean": mean, "sd": sd, "ci95_low": mean - half, "ci95_high": mean + half}


def summarise(
    votes: Iterable[votes_lib.Vote], order: Sequence[str] | None = None
) -> dict[str, dict]:
    """Per-method statistics of the votes, in the figure's order (:func:`method_order`).

    Args:
        votes: rows from :func:`keras_pggan.studio.votes.read_votes`.
        order: methods to put first, in this order.

    Returns:
        ``{method: {n, mean, sd, ci95_low, ci95_high, voters, images}}``.

    Example:
        >>> from keras_pggan.studio.votes import Vote
        >>> summarise([Vote("a", "0", "original", 5, "t"), Vote("b", "0", "original", 4, "t")])
        ... # doctest: +ELLIPSIS
        {'original': {'n': 2, 'mean': 4.5, ...}}
    """
    by_method: dict[str, list[votes_lib.Vote]] = {}
    for v in votes:
        by_method.setdefault(v.method, []).append(v)
    out = {}
    for method in method_order(by_method, order):
        rows = by_method[method]
        out[method] = mean_ci([v.score for v in rows])
        out[method]["voters"] = len({v.voter for v in rows})
        out[method]["images"] = len({v.image_id for v in rows})
    return out


def _fmt(x, spec: str = "{:.2f}") -> str:
    return "–" if x is None else spec.format(x)


def _ci(m: dict) -> str:
    if m["ci95_low"] is None:
        return "–"
    return f"[{m['ci95_low']:.2f}, {m['ci95_high']:.2f}]"


def render_table(summary: dict[str, dict]) -> str:
    """The plain-text table the CLI prints."""
    head = ("method", "votes", "voters", "images", "mean", "95% CI", "sd")
    rows = [
        (m, str(s["n"]), str(s["voters"]), str(s["images"]), _fmt(s["mean"]), _ci(s))
        + (_fmt(s["sd"]),)
        for m, s in summary.items()
    ]
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in (head, *rows)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(result: dict) -> str:
    """``report.md`` of a :func:`build_result`."""
    lines = [
        "# Perceptual study: naturalness",
        "",
        f"- Votes: {result['votes']} by {result['voters']} voters from `{result['votes_file']}`"
        + (f" ({result['first_vote']} to {result['last_vote']}, UTC)." if result["votes"] else "."),
        "- Score: 1 (clearly edited) to 5 (completely natural); each voter saw a random subset of "
        "the photos, one at a time, without knowing which method (if any) made a photo.",
        f"- 95 % CI: {result['interval']}.",
        "",
        "| method | votes | voters | images | mean | 95 % CI | sd |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for m, s in result["methods"].items():
        lines.append(
            f"| {m} | {s['n']} | {s['voters']} | {s['images']} | {_fmt(s['mean'])} | {_ci(s)} "
            f"| {_fmt(s['sd'])} |"
        )
    lines += ["", "![mean naturalness per method](perceptual.png)", ""]
    return "\n".join(lines)


def build_result(votes: list[votes_lib.Vote], path: str, order=None) -> dict:
    """The ``report.json`` content for the votes read from ``path``."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "votes_file": path,
        "votes": len(votes),
        "voters": len({v.voter for v in votes}),
        "first_vote": min((v.time for v in votes), default=None),
        "last_vote": max((v.time for v in votes), default=None),
        "interval": "Student's t on the mean score, n - 1 degrees of freedom; none for one vote",
        "methods": summarise(votes, order),
    }


def bar_chart(summary: dict[str, dict], path: str, title: str | None = None) -> str:
    """Draws mean naturalness per method with 95 % CI error bars (Pillow) and writes a PNG.

    Returns:
        ``path``.
    """
    from PIL import Image, ImageDraw, ImageFont

    def font(size):
        try:
            return ImageFont.load_default(size=size)
        except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
            return ImageFont.load_default()

    small, big = font(13), font(16)
    n = max(1, len(summary))
    bar_w, gap = 70, 40
    left, right, top, bottom = 70, 30, 50, 70
    width = max(420, left + right + n * bar_w + (n + 1) * gap)
    height = 460
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    y_max = 5.0

    def py(v: float) -> float:
        return height - bottom - v / y_max * (height - top - bottom)

    title = title or "Perceptual study: mean naturalness (1-5), 95 % CI"
    draw.text((width / 2, 16), title, fill="black", font=big, anchor="mt")
    for t in range(6):
        y = py(t)
        draw.line([left, y, width - right, y], fill=(225, 225, 225) if t else "black")
        draw.text((left - 8, y), str(t), fill="black", font=small, anchor="rm")
    draw.line([left, top, left, height - bottom], fill="black")
    label_x = 18
    draw.text(
        (label_x, (top + height - bottom) / 2), "score", fill="black", font=small, anchor="lm"
    )
    colours = iter(PALETTE * (1 + n // len(PALETTE)))
    for i, (method, s) in enumerate(summary.items()):
        x0 = left + gap + i * (bar_w + gap)
        colour = ORIGINAL_COLOUR if method == ORIGINAL else next(colours)
        draw.rectangle([x0, py(s["mean"]), x0 + bar_w, py(0)], fill=colour, outline="black")
        cx = x0 + bar_w / 2
        top_of_label = py(s["mean"])
        if s["ci95_low"] is not None:
            lo, hi = max(0.0, s["ci95_low"]), min(y_max, s["ci95_high"])
            draw.line([cx, py(lo), cx, py(hi)], fill="black", width=2)
            for v in (lo, hi):
                draw.line([cx - 10, py(v), cx + 10, py(v)], fill="black", width=2)
            top_of_label = py(hi)
        draw.text((cx, top_of_label - 4), f"{s['mean']:.2f}", fill="black", font=small, anchor="mb")
        name = method
        while len(name) > 3 and draw.textlength(name, font=small) > bar_w + gap - 6:
            name = name[:-2] + "…"
        draw.text((cx, height - bottom + 8), name, fill="black", font=small, anchor="mt")
        draw.text(
            (cx, height - bottom + 26), f"n={s['n']}", fill=(90, 90, 90), font=small, anchor="mt"
        )
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")
    return path


def write_report(result: dict, out_dir: str, overwrite: bool = False) -> list[str]:
    """Writes ``report.md``, ``report.json`` and ``perceptual.png`` into ``out_dir``.

    Raises:
        UserError: one of them exists and ``overwrite`` is false (nothing is written then).
    """
    paths = [os.path.join(out_dir, name) for name in OUTPUT_FILES]
    for p in paths:
        check_writable(p, overwrite, "--out")
    os.makedirs(out_dir, exist_ok=True)
    write_text_atomic(paths[0], render_markdown(result))
    write_text_atomic(paths[1], json.dumps(result, indent=2) + "\n")
    if result["methods"]:
        bar_chart(result["methods"], paths[2])
    else:
        paths.pop()
    return paths
