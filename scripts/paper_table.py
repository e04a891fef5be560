"""The paper's comparison (Tables 1 and 2) reproduced at equal budget: CE, GLGAN, PGGAN-Res/DRes.

Example (the full table, about an hour on 2 idle CPU cores, PGGAN-DRes ~25 min of it; run from
the repository root):

    python scripts/paper_table.py --steps 400

Smoke test (a few minutes; writes elsewhere so docs/ keeps the real table):

    python scripts/paper_table.py --steps 2 --size 64 --count 4 --out /tmp/pt \\
        --doc /tmp/pt/paper_table.md

Trains every method with the same data, masks, seed, batch and steps, scores them on the same
held-out images and fixed mask sets, times them at 256² and 512², and writes Table 1 of
docs/paper_table.md with sample sheets in docs/paper_table/ (the section "Table 2 at 512²",
written by scripts/paper_table_512.py, is kept). Runs are kept in ``--out``: re-running reuses
finished runs with the same config and resumes interrupted ones (how each step is done:
:mod:`keras_pggan.reports.paper_table`).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from keras_pggan import cli
from keras_pggan.reports import paper_table as pt
from keras_pggan.reports.document import run_meta, write_document


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python scripts/paper_table.py",
        description="Train CE, GLGAN, PGGAN-Res and PGGAN-DRes at equal budget, score them on "
        "the same images and masks, time them, and write docs/paper_table.md.",
        formatter_class=cli.HelpFormatter,
    )
    pt.add_run_args(p)
    return p


def table(args, argv: list[str]) -> None:
    """Trains (or reuses) the runs, then scores, times and writes Table 1."""
    pt.check_run_args(args)
    start = time.time()
    runs = {m: pt.train_method(m, args) for m in args.methods}
    if args.train_only:
        print(f"trained {', '.join(args.methods)} in {time.time() - start:.0f} s")
        return
    evals = pt.evaluate_all(runs, args)
    nets = pt.describe_networks(runs, args)
    sheets = pt.copy_sheets(evals, args)
    images = evals[pt.MASK_SETS[0][0]]["images"]["count"]
    meta = run_meta("python scripts/paper_table.py " + shlex.join(argv), images)
    doc = pt.render(args, runs, evals, nets, sheets, meta)
    results = {"meta": meta, "runs": runs, "networks": nets}
    # Keeps Table 2 at 512² (scripts/paper_table_512.py), a section of the same document.
    write_document(args.doc, pt.TABLE1, doc, pt.DOC_SECTIONS, args.sheets_dir, results, evals)
    print(f"wrote {args.doc} in {time.time() - start:.0f} s")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    return cli.run(lambda args: table(args, argv), build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
