"""Scores generator files on V side by side, to pick the one to ship.

Example (how the model card's "none of its checkpoints was better" was measured):

  python scripts/compare_checkpoints.py --run-dir ~/.cache/keras_pggan/runs/ship_v2_rewarm2 \\
      saved_models/pggan_dres.keras RUN/checkpoints/generator_ema-epoch028.keras

V is the run's validation lists (its ``config.json``, as ``scripts/ship_model.py`` reads them:
``cmp_facade_val`` and the ImageNet hold-out), each part scored at 256² with the project's fixed
seeded centre-128 and free-form sets (``keras_pggan.evaluation.evaluate.score_methods``), so the
numbers
are the model card's. The in-training V hole L1 (128² crops, training masks) is too noisy to
pick a checkpoint by; this is the table to pick by. Prints a markdown table (PSNR dB / SSIM per
part and hole kind, and the mean PSNR of the four) and the file with the highest mean; ``--out
FILE`` also writes the table there (an existing file only with ``--overwrite``). Nothing else is
written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "scripts"))

KINDS = ("center", "freeform")


def compare(
    files: list[str], parts: dict[str, list[str]], size: int = 256, seed: int = 0
) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """V scores of each generator file.

    Args:
        files: ``.keras`` / SavedModel / ``.tflite`` models.
        parts: ``{part label: image files}`` (``ship_model.v_parts``).
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


def table(results: dict) -> str:
    """A markdown table of :func:`compare`'s results, one row a file, the best in bold."""
    parts = list(next(iter(results.values())))
    head = [f"{p} {k} PSNR / SSIM" for p in parts for k in KINDS]
    lines = [
        "| file | " + " | ".join(head) + " | mean PSNR |",
        "|---|" + "---|" * len(head) + "---:|",
    ]
    top = best(results)
    for f, scores in results.items():
        cells = [
            f"{scores[p][k]['psnr']:.2f} / {scores[p][k]['ssim']:.4f}" for p in parts for k in KINDS
        ]
        name = f"**`{f}`**" if f == top else f"`{f}`"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {mean_psnr(scores):.3f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", help="generator files to compare")
    p.add_argument("--run-dir", required=True, help="the run whose config.json names V")
    p.add_argument("--size", type=int, default=256, help="side of the evaluation crops")
    p.add_argument("--seed", type=int, default=0, help="seed of the mask sets")
    p.add_argument("--out", help="also write the table to this file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    args = p.parse_args(argv)

    cfg_path = os.path.join(args.run_dir, "config.json")
    if not os.path.isfile(cfg_path):
        print(f"error: {cfg_path}: no such file (is --run-dir a run directory?)", file=sys.stderr)
        return 2
    missing = [f for f in args.files if not os.path.exists(f)]
    if missing:
        print(f"error: {', '.join(missing)}: no such file", file=sys.stderr)
        return 2
    from keras_pggan.errors import UserError
    from keras_pggan.io_utils import check_writable, write_text_atomic

    if args.out:
        try:
            check_writable(args.out, args.overwrite, what="--out")
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    try:
        with open(cfg_path, encoding="utf-8") as f:
            cfg = json.load(f)
        from ship_model import v_parts

        parts = v_parts(cfg)
    except (ValueError, KeyError, FileNotFoundError) as e:
        print(f"error: {cfg_path}: no usable data.val ({type(e).__name__}: {e})", file=sys.stderr)
        return 2

    results = compare(args.files, parts, size=args.size, seed=args.seed)
    text = table(results) + f"\nBest by mean PSNR: `{best(results)}`\n"
    if args.out:
        write_text_atomic(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
