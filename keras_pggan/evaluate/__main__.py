"""Score inpainting models and classical baselines on the same images and the same masks.

Example:
    python -m keras_pggan.evaluate --model runs/x/generator.keras --data photos/val \\
        --mask-kind center --seed 0 --size 256 --out eval/x
    python -m keras_pggan.evaluate --compare pggan=runs/a/generator.keras \\
        ggan=runs/b/generator.keras patch=runs/c/generator.keras --data photos/val \\
        --masks eval_masks/freeform256 --size 256 --out eval/ablation

Writes ``report.md``, ``metrics.json``, ``per_image.csv`` and ``sheets/`` into ``--out``, which
must be new or empty unless ``--overwrite`` is given (:mod:`keras_pggan.evaluation.evaluate`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from keras_pggan import cli
from keras_pggan.evaluation import classical
from keras_pggan.evaluation.evaluate import (
    EvalConfig,
    overall_lines,
    parse_model_args,
    run_evaluation,
)
from keras_pggan.io_utils import check_writable


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m keras_pggan.evaluate`` argument parser."""
    p = argparse.ArgumentParser(
        prog=cli.prog("keras_pggan.evaluate"),
        description="Score inpainting models and classical baselines on the same images and masks.",
        epilog="Example: python -m keras_pggan.evaluate --model g.keras --data photos "
        "--mask-kind center --seed 0 --size 256 --out eval/g",
    )
    p.add_argument("--model", help=".keras file, SavedModel dir or .tflite file")
    p.add_argument(
        "--compare",
        nargs="+",
        metavar="[LABEL=]PATH",
        help="several models in one table (e.g. the paper's ablation)",
    )
    p.add_argument("--data", required=True, help="folder of test images (recursive, sorted)")
    masks = p.add_mutually_exclusive_group(required=True)
    masks.add_argument("--masks", help="eval mask set folder (python -m keras_pggan.masks)")
    masks.add_argument("--mask-kind", help="generate the mask set: center, rect, freeform, ...")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated masks")
    p.add_argument("--size", type=int, default=256, help="side of the evaluation crops")
    p.add_argument("--out", required=True, help="output folder (new or empty; else --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty --out")
    p.add_argument("--count", type=int, help="evaluate the first N images (all of them if fewer)")
    p.add_argument(
        "--baselines",
        default=",".join(classical.BASELINES),
        help="comma list of telea, ns, mean; 'none' for no baseline",
    )
    p.add_argument("--batch-size", type=int, default=8, help="images per model call")
    p.add_argument("--sheets", type=int, default=8, help="comparison sheets to write")
    p.add_argument("--feature-model", help=".keras feature extractor for FID / LPIPS-style")
    p.add_argument("--save-outputs", action="store_true", help="OUT/outputs/<method>/<id>.png")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def config_from_args(args: argparse.Namespace) -> EvalConfig:
    """The evaluation the flags ask for; checks the models exist and ``--out`` may be written."""
    if not args.model and not args.compare:
        raise ValueError("give --model PATH and/or --compare PATH [PATH ...]")
    check_writable(args.out, args.overwrite, "--out")
    models = parse_model_args(args.model, args.compare)
    for _, path in models:
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such model file or directory")
    return EvalConfig(
        models=models,
        data_dir=args.data,
        out_dir=args.out,
        size=args.size,
        masks_dir=args.masks,
        mask_kind=args.mask_kind,
        seed=args.seed,
        count=args.count,
        baselines=classical.parse_baselines(args.baselines),
        batch_size=args.batch_size,
        num_sheets=args.sheets,
        feature_model=args.feature_model,
        save_outputs=args.save_outputs,
    )


def _evaluate(args: argparse.Namespace) -> None:
    result = run_evaluation(config_from_args(args), progress=not args.quiet)
    print(f"wrote {os.path.join(args.out, 'report.md')} ({result['images']['count']} images)")
    print("\n".join(overall_lines(result)))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m keras_pggan.evaluate``; returns the exit status."""
    return cli.run(_evaluate, build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
