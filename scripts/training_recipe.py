"""Recipe search at equal wall time: which training settings give the best V after N minutes.

Every recipe is the v2 base config (``scripts/configs/pggan_dres_v2.json``: PGGAN-DRes 32–128,
the fixed train split, 128² crops of 256-scale photos) with one change. Each trains for the same
wall time from the same seed on the same data; all checkpoints are kept and scored on a fixed
subset of V (every 3rd photo of V: 46 of 137) at 256² with the fixed centre-128 and free-form
sets, giving V hole L1 against wall time; the final generator is scored on all of V
(:mod:`keras_pggan.reports.training_recipe`).

Example (the commands behind docs/training_recipe.md):

    python -m scripts.training_recipe run --out ~/.cache/keras_pggan/runs/recipes --minutes 20
    python -m scripts.training_recipe report --out ~/.cache/keras_pggan/runs/recipes \\
        --doc docs/training_recipe.md
    python -m scripts.training_recipe render --doc docs/training_recipe.md --verdict "..."
    python -m scripts.training_recipe config v3-ycbcr-256 --out ~/.cache/keras_pggan/runs/x.json

``run`` trains ``--parallel`` recipes at a time (default 2 on 2 cores), each with one inter- and
one intra-op thread, so every recipe sees the same machine; a recipe whose run directory holds
``history.json`` is done and skipped. ``report`` writes the markdown table, the curve
(``docs/training_recipe/v_hole_l1.png``) and ``results.json``; an existing document is replaced
only with ``--overwrite``. ``config`` writes one recipe's training config (for a long run of
it: ``python -m keras_pggan.train --config FILE``; v3 recipes start ``--init-from`` the shipped
generator, ``saved_models/pggan_dres.keras``).
"""

from __future__ import annotations

import argparse
import os
import sys

from keras_pggan import cli
from keras_pggan.errors import UserError
from keras_pggan.reports import training_recipe as tr
from keras_pggan.reports.document import REPO

DOC = os.path.join(REPO, "docs", "training_recipe.md")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m scripts.training_recipe",
        description=__doc__.splitlines()[0],
        formatter_class=cli.HelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train the recipes", formatter_class=cli.HelpFormatter)
    r.add_argument("--out", required=True, help="folder for the runs (outside the work tree)")
    r.add_argument("--minutes", type=float, default=20.0, help="wall time per recipe")
    r.add_argument("--parallel", type=int, default=2, help="recipes at a time")
    r.add_argument("--only", default=None, help="comma-separated recipe names")
    r.add_argument("--set", default="v2", choices=sorted(tr.SETS), help="which recipe table")
    r.add_argument("--no-bf16", action="store_true", help="float32 even where bf16 is fast")
    q = sub.add_parser(
        "report", help="score the runs, write the document", formatter_class=cli.HelpFormatter
    )
    q.add_argument("--out", required=True, help="the runs' folder")
    q.add_argument("--doc", default=DOC, help="the document")
    q.add_argument("--every", type=int, default=4, help="score every N-th epoch's checkpoint")
    q.add_argument("--set", default="v2", choices=sorted(tr.SETS), help="which recipe table")
    q.add_argument("--overwrite", action="store_true", help="replace an existing document")
    w = sub.add_parser(
        "render",
        help="rewrite the document from results.json (no scoring)",
        formatter_class=cli.HelpFormatter,
    )
    w.add_argument("--doc", default=DOC, help="the document")
    c = sub.add_parser(
        "config", help="write one recipe's training config", formatter_class=cli.HelpFormatter
    )
    c.add_argument("name", help="a recipe of either table (v2 or v3)")
    c.add_argument("--out", required=True, help="the config file (JSON) to write")
    c.add_argument("--no-bf16", action="store_true", help="float32 even where bf16 is fast")
    c.add_argument("--overwrite", action="store_true", help="replace an existing file")
    for s in (q, w):
        s.add_argument("--parallel", type=int, default=2, help="as the runs were made (doc)")
        s.add_argument("--minutes-label", default="20 minutes of wall time", help="for the doc")
        s.add_argument("--verdict", action="append", default=[], help="a verdict line (repeat)")
    return p


def recipes(args) -> None:
    """Runs the subcommand: train, score and report, or re-render."""
    if args.command == "run":
        from keras_pggan.cpu import bf16_supported

        names = args.only.split(",") if args.only else list(tr.SETS[args.set])
        bf16 = bf16_supported() and not args.no_bf16
        tr.run_recipes(args.out, names, args.minutes, args.parallel, bf16)
        return
    if args.command == "config":
        from keras_pggan.cpu import bf16_supported
        from keras_pggan.io_utils import check_writable

        known = [name for table in tr.SETS.values() for name in table]
        if args.name not in known:
            raise UserError(f"unknown recipe {args.name!r}; known: {', '.join(known)}")
        check_writable(args.out, overwrite=args.overwrite, what="--out")
        cfg = tr.recipe_config(args.name, bf16_supported() and not args.no_bf16)
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(cfg.to_json() + "\n")
        print(f"wrote {args.out} ({cfg.name})")
        return
    text = {
        "minutes_label": args.minutes_label,
        "parallel": args.parallel,
        "verdict": tuple(args.verdict),
    }
    if args.command == "render":
        tr.rerender(args.doc, **text)
        return
    if os.path.exists(args.doc) and not args.overwrite:
        raise UserError(f"{args.doc} exists; pass --overwrite to replace it")
    results, baselines = tr.score_recipes(args.out, tr.SETS[args.set], args.every)
    png = tr.write_report(args.doc, results, baselines, **text)
    print(f"wrote {args.doc}, {png}")


def main(argv=None) -> int:
    return cli.run(recipes, build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
