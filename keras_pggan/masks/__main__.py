"""The ``python -m keras_pggan.masks`` CLI: ``make-eval-set`` and ``preview`` (white = hole).

Example:

    python -m keras_pggan.masks make-eval-set --kind freeform --size 256 --count 1000 --seed 0 \\
        eval_masks/freeform256
    python -m keras_pggan.masks preview --kind thick --size 256 --count 16 --seed 0 thick.png

Exit codes: 0 on success, 2 for a usage or user error (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys

from keras_pggan import cli
from keras_pggan.data import imageio
from keras_pggan.data.masks.kinds import KINDS
from keras_pggan.io_utils import atomic_path


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m keras_pggan.masks`` (``make-eval-set``, ``preview``)."""
    p = argparse.ArgumentParser(
        prog=cli.prog("keras_pggan.masks"),
        description="Fixed, seeded evaluation mask sets and mask previews (white = hole).",
    )
    sub = p.add_subparsers(dest="command", required=True)

    def common(q, count_default=None):
        q.add_argument(
            "--kind", required=True, help=f"a kind {KINDS} or a spec like freeform:0.5,rect:0.5"
        )
        q.add_argument("--size", type=int, required=True, help="mask side in pixels")
        q.add_argument(
            "--count",
            type=int,
            required=count_default is None,
            default=count_default,
            help="number of masks",
        )
        q.add_argument("--seed", type=int, default=0, help="base seed; mask i uses [seed, i]")
        q.add_argument("--min-hole-ratio", type=float, default=None, help="default: per kind")
        q.add_argument("--max-hole-ratio", type=float, default=None, help="default: per kind")
        q.add_argument("--mask-dir", default=None, help="folder of mask files (kind folder)")

    q = sub.add_parser("make-eval-set", help="write mask_XXXXX.png files and manifest.json")
    common(q)
    q.add_argument("--overwrite", action="store_true", help="replace a different set in OUT")
    q.add_argument("out", metavar="OUT", help="output folder")
    q = sub.add_parser("preview", help="write a grid PNG of masks")
    common(q, count_default=16)
    q.add_argument("out", metavar="OUT.png", help="output PNG")
    return p


def _masks(args: argparse.Namespace) -> None:
    from keras_pggan.data.masks.eval_set import make_eval_masks, make_eval_set, mask_grid

    kw = {
        "min_hole_ratio": args.min_hole_ratio,
        "max_hole_ratio": args.max_hole_ratio,
        "mask_dir": args.mask_dir,
    }
    if args.command == "make-eval-set":
        path = make_eval_set(
            args.kind,
            args.size,
            args.count,
            args.seed,
            args.out,
            overwrite=args.overwrite,
            progress=sys.stderr.isatty(),
            **kw,
        )
        with open(path, encoding="utf-8") as f:
            hist = json.load(f)["histogram"]
        shown = ", ".join(f"{b}: {n}" for b, n in hist.items() if n)
        print(f"wrote {args.count} masks and {path} ({shown})")
    else:
        masks = make_eval_masks(args.kind, args.size, args.count, args.seed, **kw)
        with atomic_path(args.out) as tmp, open(tmp, "wb") as f:
            f.write(imageio.encode_png(mask_grid(masks)))
        print(f"wrote {args.out} ({args.count} masks, mean hole ratio {masks.mean():.3f})")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m keras_pggan.masks``.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0, or 2 for a usage or user error.
    """
    return cli.run(_masks, build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
