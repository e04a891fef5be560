"""The paper's discriminator ablation (Fig. 6) at equal budget: PGGAN, G-GAN only, PatchGAN only.

Example (run from the repository root). The table in docs/ablation.md was made at half the
evaluation scale, the three arms trained at once in three processes (``--train-only --methods X``
each), then scored by the same command without ``--train-only``/``--methods``:

    python scripts/ablation.py --steps 500 --size 64 --resize-to 128 --eval-size 128 \
        --out runs/ablation64

With ``scripts/paper_table.py``'s defaults (``--size 128 --resize-to 256 --eval-size 256``) and the
same ``--out`` and ``--steps``, the PGGAN arm is the paper table's PGGAN-DRes run.

Trains PGGAN-DRes three times with the same generator, data, masks, seed, batch and steps, changing
only the discriminator: both heads (PGGAN, the paper's), the G-GAN head alone (one logit per image)
or the PatchGAN head alone (a logit map). Each run uses ``scripts/paper_table.py``'s setup and run
folder (``--out``), so the PGGAN arm is the paper table's PGGAN-DRes run when it exists. Scores all
three and the Telea reference with ``keras_pggan.evaluate`` on the fixed centre (a square of half
the side) and free-form mask sets of ``cmp_facade_val``, and writes ``docs/ablation.md`` with
sample sheets in ``docs/ablation/``. ``--train-only`` trains the missing arms and stops.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import paper_table as pt  # noqa: E402

ARMS = ("pggan-dres", "pggan-dres-global", "pggan-dres-patch")
LABELS = {
    "pggan-dres": "PGGAN (G-GAN + PatchGAN heads)",
    "pggan-dres-global": "G-GAN head only",
    "pggan-dres-patch": "PatchGAN head only",
}


def build_parser():
    p = pt.build_parser()
    p.prog = "python scripts/ablation.py"
    p.description = __doc__.splitlines()[0]
    p.set_defaults(
        methods=",".join(ARMS),
        doc=os.path.join(pt.REPO, "docs", "ablation.md"),
    )
    p.add_argument("--note", action="append", default=[], help="a setup line for the document")
    return p


def render(args, runs, evals, sheets, meta) -> str:
    lines = ["# Discriminator ablation at equal budget (paper Fig. 6)", ""]
    if args.steps < pt.SMOKE_STEPS:
        lines += [
            f"> **Smoke run ({args.steps} steps per arm): these numbers only show that the "
            "pipeline runs end to end.**",
            "",
        ]
    lines += [
        "PGGAN-DRes trained three times with the same generator, data, masks, seed, batch and "
        "steps; only the discriminator differs: both heads on shared early layers (PGGAN), the "
        "G-GAN head alone (one logit per image) or the PatchGAN head alone (a logit map). Each "
        "arm keeps its head's adversarial weight (0.0025) and the L1 weight (0.995), so the "
        "single-head arms have half PGGAN's total adversarial weight.",
        "",
        "Regenerate:",
        "",
        "```bash",
        meta["command"],
        "```",
        "",
        f"- Training: {args.steps} steps per arm, global batch {args.batch_size}, {args.size}² "
        f"crops of photos with their short side at {args.resize_to} px, masks `{args.mask}`, "
        f"seed {args.seed}; data: " + ", ".join(f"`{pt._show(d)}`" for d in args.data) + ".",
        f"- Evaluation: the first {meta['images']} images of `{pt._show(args.val_data)}` (held "
        f"out) at {args.eval_size}², the fixed *centre* ({args.eval_size // 2} px square) and "
        "*free-form* mask sets, scored on the composited image (PSNR dB, SSIM, L1 %), as "
        "`python -m keras_pggan.evaluate` reports them.",
        f"- Machine: {meta['machine']}; {meta['versions']}; {meta['date']}. *train min* is each "
        "run's wall time.",
        *[f"- {note}" for note in args.note],
        "",
        "## Results",
        "",
    ]
    head = ["discriminator"]
    for label, _ in pt.MASK_SETS:
        head += [f"{label} PSNR", f"{label} SSIM", f"{label} L1 %"]
    head += ["train min", "last val hole L1"]
    lines += ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for arm in args.methods:
        cells = [LABELS.get(arm, arm)]
        for label, _ in pt.MASK_SETS:
            o = evals[label]["methods"][arm]["overall"]
            cells += [
                pt._f(o["psnr"], "{:.2f}"),
                pt._f(o["ssim"], "{:.4f}"),
                pt._f(o["l1"], "{:.2f}"),
            ]
        run = runs[arm]
        cells += [
            f"{run['seconds'] / 60:.0f}",
            pt._f(run["last_epoch"].get("val_hole_l1"), "{:.4f}"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    first = evals[pt.MASK_SETS[0][0]]["methods"]
    for name, info in first.items():
        if info["kind"] != "baseline":
            continue
        cells = [f"{info['title']} (classical reference)"]
        for label, _ in pt.MASK_SETS:
            o = evals[label]["methods"][name]["overall"]
            cells += [
                pt._f(o["psnr"], "{:.2f}"),
                pt._f(o["ssim"], "{:.4f}"),
                pt._f(o["l1"], "{:.2f}"),
            ]
        lines.append("| " + " | ".join(cells + ["–", "–"]) + " |")
    lines += [
        "",
        "Per-image rows and the masks' sha256: "
        + ", ".join(
            f"`{pt._show(os.path.join(args.out, 'eval', k, 'report.md'))}`" for _, k in pt.MASK_SETS
        )
        + ". Short runs on CPU: differences of a few tenths of a dB are within what another seed "
        "could give; read the ordering with that in mind.",
        "",
    ]
    columns = [LABELS.get(a, a) for a in args.methods]
    return "\n".join(lines + pt.sheet_section(args, columns, first, sheets))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.sheets_dir is None:
        args.sheets_dir = os.path.join(os.path.dirname(os.path.abspath(args.doc)), "ablation")
    try:
        pt._check_args(args)
        from keras_pggan.io_utils import write_text_atomic

        start = time.time()
        runs = {m: pt.train_method(m, args) for m in args.methods}
        if args.train_only:
            print(f"trained {', '.join(args.methods)} in {time.time() - start:.0f} s")
            return 0
        # Evaluated in a folder of its own so the paper table's evaluation is not overwritten.
        out = args.out
        args.out = os.path.join(out, "ablation")
        for m in runs:
            runs[m] = dict(runs[m])
        evals = pt.evaluate_all(runs, args)
        sheets = pt.copy_sheets(evals, args)
        meta = pt._meta(args, argv, evals[pt.MASK_SETS[0][0]]["images"]["count"])
        meta["command"] = "python scripts/ablation.py " + shlex.join(argv)
        write_text_atomic(args.doc, render(args, runs, evals, sheets, meta) + "\n")
        results = {
            "meta": meta,
            "runs": runs,
            "metrics": {
                label: {m: e["methods"][m]["overall"] for m in e["methods"]}
                for label, e in evals.items()
            },
        }
        write_text_atomic(
            os.path.join(args.sheets_dir, "results.json"), json.dumps(results, indent=2) + "\n"
        )
    except (pt.UserError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.doc} in {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
