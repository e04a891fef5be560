"""Scores generator files on V side by side, to pick the one to ship.

Example (how the model card's "none of its checkpoints was better" was measured):

  python scripts/compare_checkpoints.py --run-dir ~/.cache/keras_pggan/runs/ship_v2_rewarm2 \\
      saved_models/pggan_dres.keras RUN/checkpoints/generator_ema-epoch028.keras

V is the run's validation lists (its ``config.json``, as ``python -m keras_pggan.ship`` reads
them: ``cmp_facade_val`` and the ImageNet hold-out), each part scored at 256² with the project's
fixed seeded centre-128 and free-form sets, so the numbers are the model card's
(:mod:`keras_pggan.reports.checkpoints`). Prints a markdown table (PSNR dB / SSIM / hole chroma
error / blotch % per part and hole kind, and the mean PSNR of the four) and the file with the
highest mean; ``--out FILE`` also writes the table there (an existing file only with
``--overwrite``). Nothing else is written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from keras_pggan import cli
from keras_pggan.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python scripts/compare_checkpoints.py",
        description=__doc__.splitlines()[0],
        formatter_class=cli.HelpFormatter,
    )
    p.add_argument("files", nargs="+", help="generator files to compare")
    p.add_argument("--run-dir", required=True, help="the run whose config.json names V")
    p.add_argument("--size", type=int, default=256, help="side of the evaluation crops")
    p.add_argument("--seed", type=int, default=0, help="seed of the mask sets")
    p.add_argument("--out", help="also write the table to this file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    return p


def compare(args) -> None:
    """Checks the inputs (nothing is scored before), then scores, prints and writes the table."""
    from keras_pggan.io_utils import check_writable, write_text_atomic
    from keras_pggan.reports import checkpoints
    from keras_pggan.reports.ship import v_parts

    cfg_path = os.path.join(args.run_dir, "config.json")
    if not os.path.isfile(cfg_path):
        raise UserError(f"{cfg_path}: no such file (is --run-dir a run directory?)")
    missing = [f for f in args.files if not os.path.exists(f)]
    if missing:
        raise UserError(f"{', '.join(missing)}: no such file")
    if args.out:
        check_writable(args.out, args.overwrite, what="--out")
    try:
        with open(cfg_path, encoding="utf-8") as f:
            parts = v_parts(json.load(f))
    except (ValueError, KeyError, FileNotFoundError) as e:
        raise UserError(f"{cfg_path}: no usable data.val ({type(e).__name__}: {e})") from None

    results = checkpoints.compare(args.files, parts, size=args.size, seed=args.seed)
    text = checkpoints.table(results) + f"\nBest by mean PSNR: `{checkpoints.best(results)}`\n"
    if args.out:
        write_text_atomic(args.out, text)
    print(text)


def main(argv=None) -> int:
    return cli.run(compare, build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
