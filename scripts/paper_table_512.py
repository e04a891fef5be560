"""Table 2 of the paper at 512²: CE, GLGAN, PGGAN-Res, PGGAN-DRes fine-tuned at 512², and Telea.

Example (run from the repository root; the base runs are ``scripts/paper_table.py``'s, trained
here when missing, then every method is fine-tuned at 512² for the same steps and batch):

    python scripts/paper_table_512.py --steps 500 --size 64 --resize-to 128 --eval-size 128 \\
        --out runs/ablation64 --finetune-steps 30 --write-docs

Smoke test (minutes; a temporary folder, never docs/): ``python scripts/paper_table_512.py
--quick``.

Every method is fine-tuned from its base run at equal budget and scored at ``--finetune-size``²
on the held-out photos next to OpenCV Telea and PGGAN-DRes before fine-tuning
(:mod:`keras_pggan.reports.paper_table_512` says how). ``--write-docs`` writes the section
"Table 2 at 512²" of docs/paper_table.md (``scripts/paper_table.py`` keeps it when it rewrites
Table 1) with sheets in docs/paper_table/512/; else ``<out>/paper_table_512.md``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time

from keras_pggan import cli
from keras_pggan.errors import UserError
from keras_pggan.reports import paper_table as pt
from keras_pggan.reports import paper_table_512 as t2
from keras_pggan.reports.document import run_meta, write_document


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python scripts/paper_table_512.py",
        description=__doc__.splitlines()[0],
        formatter_class=cli.HelpFormatter,
    )
    pt.add_run_args(
        p,
        helps={  # the shared options whose meaning differs here
            "out": "base and fine-tune runs, evaluation (default: runs/paper_table)",
            "doc": "the document (default: <out>/paper_table_512.md)",
            "eval_size": "the base runs' evaluation size (CE's training scale; see paper_table)",
            "timing_sizes": "ignored: the models are timed at --finetune-size",
        },
    )
    p.set_defaults(doc=None, out=None, sheets=2)
    p.add_argument("--finetune-size", type=int, default=512, help="fine-tune crops, evaluation")
    p.add_argument("--finetune-resize-to", type=int, default=None, help="default: --finetune-size")
    p.add_argument("--finetune-steps", type=int, default=30, help="fine-tuning steps per method")
    p.add_argument("--finetune-batch-size", type=int, default=2, help="fine-tuning global batch")
    p.add_argument(
        "--write-docs",
        action="store_true",
        help="write the section into docs/paper_table.md (sheets in docs/paper_table/512/)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2 + 1 steps, 32² and 64², 2 images, a temporary folder (never docs/)",
    )
    p.add_argument("--note", action="append", default=[], help="a setup line for the document")
    return p


def check_args(args) -> None:
    """Checks the fine-tuning options and where the document goes, then the paper table's."""
    pt.resolve_outputs(args, t2.QUICK, "paper-table-512-quick-", t2.DOC, "paper_table_512.md")
    if args.sheets_dir is None:
        args.sheets_dir = os.path.join(os.path.dirname(os.path.abspath(args.doc)), "paper_table")
        args.sheets_dir = os.path.join(args.sheets_dir, t2.SECTION)
    for name in ("finetune_size", "finetune_steps", "finetune_batch_size"):
        if getattr(args, name) <= 0:
            raise UserError(f"--{name.replace('_', '-')} must be positive")
    args.finetune_resize_to = args.finetune_resize_to or args.finetune_size
    if args.finetune_resize_to < args.finetune_size:
        raise UserError(
            f"--finetune-resize-to {args.finetune_resize_to} is smaller than --finetune-size "
            f"{args.finetune_size}"
        )
    pt.check_run_args(args)
    if any(m in pt.ABLATIONS for m in args.methods):
        raise UserError(f"--methods: Table 2 compares {pt.METHODS}, not the ablations")


def table2(args, argv: list[str]) -> None:
    """Trains the missing base runs, fine-tunes every method, scores them, writes the section."""
    check_args(args)
    start = time.time()
    base, tuned = t2.finetune_all(args)
    if args.train_only:
        print(f"fine-tuned {', '.join(args.methods)} in {time.time() - start:.0f} s")
        return
    evals, nets, ev = t2.evaluate_at_size(base, tuned, args)
    ev.sheets_dir = args.sheets_dir
    ev.doc = args.doc
    sheets = pt.copy_sheets(evals, ev)
    images = evals[pt.MASK_SETS[0][0]]["images"]["count"]
    meta = run_meta("python scripts/paper_table_512.py " + shlex.join(argv), images)
    text = t2.render(args, ev, base, tuned, evals, nets, sheets, meta)
    results = {"meta": meta, "base_runs": base, "finetune_runs": tuned, "networks": nets}
    write_document(args.doc, t2.SECTION, text, pt.DOC_SECTIONS, args.sheets_dir, results, evals)
    hint = "" if args.write_docs else " (--write-docs writes docs/paper_table.md)"
    print(f"wrote the {t2.SECTION} section of {args.doc} in {time.time() - start:.0f} s{hint}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    return cli.run(lambda args: table2(args, argv), build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
