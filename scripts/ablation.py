"""The paper's ablations at equal budget: discriminator heads (Fig. 6), block types, up-sampling.

Example (run from the repository root). The discriminator table in docs/ablation.md was made at
half the evaluation scale, the three arms trained at once in three processes (``--train-only
--methods X`` each), then scored by the same command without ``--train-only``/``--methods``;
``--write-docs`` puts the result into docs/ablation.md (each study its own section):

    python scripts/ablation.py --steps 500 --size 64 --resize-to 128 --eval-size 128 \
        --out runs/ablation64 --write-docs
    python scripts/ablation.py --study blocks --steps 500 --size 64 --resize-to 128 \
        --eval-size 128 --out runs/ablation64 --write-docs
    python scripts/ablation.py --study upsample --steps 500 --size 64 --resize-to 128 \
        --eval-size 128 --out runs/ablation64 --write-docs

Smoke test (minutes; a temporary folder, never docs/): ``python scripts/ablation.py --quick
--study upsample``.

Every arm is PGGAN-DRes trained with ``scripts/paper_table.py``'s setup (the same data, masks,
seed, batch and steps) and run folder (``--out``); the studies and their arms are
:data:`keras_pggan.reports.ablation.STUDIES`. Scores every arm and the Telea reference with
``keras_pggan.evaluate`` on the fixed centre (a square of half the side) and free-form mask sets
of ``cmp_facade_val``, and writes the study's section of the document with sample sheets in
``<doc dir>/ablation/`` (the discriminator's) or ``<doc dir>/ablation/<study>/``. The document is
``--doc``, docs/ablation.md with ``--write-docs``, else ``<out>/ablation.md``. ``--train-only``
trains the missing arms and stops.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time

from keras_pggan import cli
from keras_pggan.errors import UserError
from keras_pggan.reports import ablation as ab
from keras_pggan.reports import paper_table as pt
from keras_pggan.reports.document import run_meta, write_document


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python scripts/ablation.py",
        description=__doc__.splitlines()[0],
        formatter_class=cli.HelpFormatter,
    )
    pt.add_run_args(
        p,
        helps={  # the shared options whose defaults differ here
            "methods": "comma list of the study's arms (default: all of them)",
            "out": "runs and eval (default: runs/paper_table; --quick: a temporary folder)",
            "doc": "the document (default: <out>/ablation.md; --write-docs: docs/ablation.md)",
            "sheets_dir": "sample sheets (default: <doc dir>/ablation[/<study>])",
        },
    )
    p.set_defaults(methods=None, doc=None, out=None)
    p.add_argument(
        "--study",
        choices=tuple(ab.STUDIES),
        default="discriminator",
        help="discriminator heads (Fig. 6), residual block types (Fig. 4) or up-sampling (Fig. 5)",
    )
    p.add_argument(
        "--write-docs",
        action="store_true",
        help="write the study's section into docs/ablation.md (sheets in docs/ablation/)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2 steps, 32² crops, narrow networks, 2 images, into a temporary "
        "folder (never docs/)",
    )
    p.add_argument("--note", action="append", default=[], help="a setup line for the document")
    return p


def check_args(args) -> None:
    """Validates the arms and where the document goes, then the paper table's checks."""
    study = ab.STUDIES[args.study]
    if args.quick:
        args.timing_sizes = str(ab.QUICK["size"])
    pt.resolve_outputs(args, ab.QUICK, "ablation-quick-", ab.DOC, "ablation.md")
    arms = [m.strip() for m in (args.methods or ",".join(study.arms)).split(",") if m.strip()]
    unknown = sorted(set(arms) - set(study.arms))
    if unknown or not arms:
        raise UserError(
            f"--methods: {unknown or 'empty list'} not arms of --study {args.study}; "
            f"choose from {tuple(study.arms)}"
        )
    folder = os.path.join(os.path.dirname(os.path.abspath(args.doc)), "ablation")
    if args.sheets_dir is None:
        args.sheets_dir = (
            folder if args.study == "discriminator" else os.path.join(folder, args.study)
        )
    args.methods = "pggan-dres"  # the paper table knows its own names only; arms checked here
    pt.check_run_args(args)
    args.methods = arms


def study(args, argv: list[str]) -> None:
    """Trains (or reuses) the study's arms, then scores them and writes its section."""
    check_args(args)
    start = time.time()
    runs = {m: pt.train_method(m, args, ab.arm_config(m, args)) for m in args.methods}
    if args.train_only:
        print(f"trained {', '.join(args.methods)} in {time.time() - start:.0f} s")
        return
    # Evaluated in a folder of its own so the paper table's evaluation is not overwritten.
    name = "ablation" if args.study == "discriminator" else f"ablation-{args.study}"
    args.out = os.path.join(args.out, name)
    runs = {m: dict(r) for m, r in runs.items()}
    evals = pt.evaluate_all(runs, args)
    sheets = pt.copy_sheets(evals, args)
    images = evals[pt.MASK_SETS[0][0]]["images"]["count"]
    meta = run_meta("python scripts/ablation.py " + shlex.join(argv), images)
    if args.study == "discriminator":
        text = ab.render(args, runs, evals, sheets, meta)
    else:
        zooms = ab.zoom_crops(runs, args) if ab.STUDIES[args.study].checkerboard else []
        text = ab.render_study(args, runs, evals, sheets, zooms, meta)
    results = {"meta": meta, "study": args.study, "runs": runs}
    write_document(args.doc, args.study, text, ab.SECTIONS, args.sheets_dir, results, evals)
    hint = "" if args.write_docs else " (--write-docs writes docs/ablation.md)"
    print(f"wrote the {args.study} section of {args.doc} in {time.time() - start:.0f} s{hint}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    return cli.run(lambda args: study(args, argv), build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
