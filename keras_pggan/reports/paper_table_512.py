"""Table 2 of the paper at 512²: CE, GLGAN, PGGAN-Res, PGGAN-DRes fine-tuned at 512², and Telea.

Every method starts from its base run (``--out/<method>``: ``--steps`` steps of ``--size``²
crops, the paper table's setup, :mod:`keras_pggan.reports.paper_table`) and is fine-tuned by
:func:`keras_pggan.training.run.run_training` (``init_from``: the base run's generator) with the
same photos, mask mixture, seed, batch (``--finetune-batch-size``) and steps
(``--finetune-steps``) on ``--finetune-size``² crops of photos whose short side is
``--finetune-resize-to`` (default: the fine-tune size). Context Encoder computes at its fixed
size whatever the input, so its fine-tuning crops are its fixed size, of photos scaled like its
512² evaluation inputs (the paper table's rule). Only the generators are warm-started: every
discriminator is built for one image size, so each starts anew (:func:`warm`). GLGAN's
reconstruction-only warm-up is not repeated. Each fine-tuned model is scored at
``--finetune-size``² on the held-out ``cmp_facade_val`` photos with a centred square hole of half
the side (a quarter of the area) and free-form strokes, next to OpenCV Telea and to PGGAN-DRes
before fine-tuning, and timed at that size. The result is the section "Table 2 at 512²" of
docs/paper_table.md (:data:`SECTION`); ``scripts/paper_table_512.py`` is the driver.
"""

from __future__ import annotations

import copy
import os

from keras_pggan.reports import paper_table as pt
from keras_pggan.reports.document import fmt, show

DOC = pt.DOC


SECTION = "512"
BEFORE = "pggan-dres-before"  # PGGAN-DRes before fine-tuning, scored at the fine-tune size
QUICK = {
    **pt.QUICK,
    "finetune_size": 64,
    "finetune_steps": 1,
    "finetune_batch_size": 1,
    "timing_repeats": 1,
}


def finetune_args(args):
    """``args`` as :func:`keras_pggan.reports.paper_table.train_method` needs them for the
    fine-tuning runs."""
    ft = copy.copy(args)
    ft.steps = args.finetune_steps
    ft.steps_per_epoch = args.finetune_steps
    return ft


def finetune_config(method: str, args):
    """The base run's config with the fine-tuning data and budget (same photos, masks, seed)."""
    base = pt.method_config(method, args)
    size, resize_to = args.finetune_size, args.finetune_resize_to
    data = {"image_size": size, "resize_to": resize_to}
    if method == "ce":  # its fixed size; photos scaled like its evaluation inputs at `size`
        data = {
            "image_size": args.size,
            "resize_to": max(args.size, round(resize_to * args.size / size)),
        }
    loss = {"warmup_steps": 0} if method == "glgan" else {}
    return base.replace(
        name=f"{base.name}-finetune{size}",
        data=data,
        loss=loss,
        train={
            "global_batch_size": args.finetune_batch_size,
            "steps_per_epoch": args.finetune_steps,
            "epochs": 1,
            "validation_steps": 1,
        },
    )


def warm(method: str, base: dict) -> str:
    """What a method's fine-tuning starts from: its base run's generator, and a new discriminator.

    Every discriminator here is built for one image size: PGGAN's G-GAN head and CE's end in a
    dense layer over the flattened map (and PGGAN's drops the instance norm of a 1×1 map),
    GLGAN's stacks stride-2 convolutions until the map is at most 4×4. At 512² each is another
    network, so every method's discriminator starts anew (the same rule for all).
    """
    return base[method]["generator_path"]


def finetune_all(args) -> tuple[dict, dict]:
    """Trains the missing base runs, then fine-tunes each method; returns (base, fine-tuned)."""
    base = {m: pt.train_method(m, args) for m in args.methods}
    ft_args = finetune_args(args)
    tuned = {}
    for m in args.methods:
        name = f"{m}-finetune{args.finetune_size}"
        tuned[m] = pt.train_method(name, ft_args, finetune_config(m, args), init_from=warm(m, base))
    return base, tuned


def evaluate_at_size(base: dict, tuned: dict, args) -> tuple[dict, dict, dict]:
    """Scores the fine-tuned models (and PGGAN-DRes before fine-tuning) at the fine-tune size."""
    ev = copy.copy(args)
    ev.eval_size = args.finetune_size
    ev.timing_sizes = [args.finetune_size]
    ev.out = os.path.join(args.out, f"table2-{args.finetune_size}")
    runs = dict(tuned)
    ev.methods = list(args.methods)
    if "pggan-dres" in base:
        runs[BEFORE] = base["pggan-dres"]
        ev.methods.append(BEFORE)
    evals = pt.evaluate_all(runs, ev)
    nets = pt.describe_networks({m: tuned[m] for m in args.methods}, _only(ev, args.methods))
    return evals, nets, ev


def _only(ev, methods):
    out = copy.copy(ev)
    out.methods = list(methods)
    return out


# -- the document -------------------------------------------------------------------------------
def _short(method: str) -> str:
    if method == BEFORE:
        return "PGGAN-DRes before fine-tuning"
    return pt.TITLES[method].split(" (")[0]


def _wins(metrics: dict, a: str, b: str) -> tuple[int, int]:
    better = worse = 0
    for label, _ in pt.MASK_SETS:
        for key, higher in (("psnr", True), ("ssim", True), ("l1", False)):
            x, y = metrics[label][a].get(key), metrics[label][b].get(key)
            if x is None or y is None or x == y:
                continue
            if (x > y) == higher:
                better += 1
            else:
                worse += 1
    return better, worse


def claim_lines(metrics: dict, methods: list[str]) -> list[str]:
    """The paper's Table 2 claim and Table 1's ordering, each checked against ``metrics``.

    The paper presents both PGGAN variants ahead of CE and GLGAN at 512² as at 256²; this
    project's Table 1 (256²) has PGGAN-DRes ahead of PGGAN-Res, checked here as well (an
    ordering of ours, not a claim of the paper's).
    """
    total = len(pt.MASK_SETS) * 3
    lines = [
        "The paper's claim at 512² (both PGGAN variants ahead of CE and GLGAN), checked on these "
        f"numbers ({total} scores: 2 mask sets × PSNR, SSIM, L1):",
        "",
    ]
    pairs = [(p, o) for p in ("pggan-dres", "pggan-res") for o in ("ce", "glgan")]
    pairs.append(("pggan-dres", "pggan-res"))
    for a, b in pairs:
        if a not in methods or b not in methods:
            lines.append(f"- {_short(a)} ahead of {_short(b)}: not tested (both are needed).")
            continue
        better, worse = _wins(metrics, a, b)
        whose = "Table 1 (256²)" if b == "pggan-res" else "the paper"
        verdict = (
            f"agrees with {whose}"
            if better > total / 2
            else f"does not agree with {whose}"
            if worse > total / 2
            else "mixed: neither agrees nor disagrees"
        )
        lines.append(
            f"- {_short(a)} ahead of {_short(b)}: better on {better} of {total} scores, worse on "
            f"{worse}: {verdict}."
        )
    return lines


def telea_lines(metrics: dict, methods: list[str], first: dict) -> list[str]:
    """How the best trained method of each mask set compares with the classical reference."""
    lines = []
    for name, info in first.items():
        if info["kind"] != "baseline":
            continue
        parts = []
        for label, _ in pt.MASK_SETS:
            scored = [m for m in methods if metrics[label][m].get("psnr") is not None]
            ref = metrics[label][name].get("psnr")
            if not scored or ref is None:
                continue
            best = max(scored, key=lambda m: metrics[label][m]["psnr"])
            gap = metrics[label][best]["psnr"] - ref
            parts.append(f"{label} {gap:+.2f} dB ({_short(best)})")
        if parts:
            lines.append(
                f"- Best trained method's PSNR minus {info['title']}'s: " + ", ".join(parts) + "."
            )
    return lines


def render(args, ev, base, tuned, evals, nets, sheets, meta) -> str:
    """The section "Table 2 at <size>²": setup, the table, the claims, notes and sheets.

    Args:
        args: the run's settings; ``ev``: the evaluation's (:func:`evaluate_at_size`).
        base, tuned: :func:`finetune_all`.
        evals, nets: :func:`evaluate_at_size`.
        sheets: :func:`keras_pggan.reports.paper_table.copy_sheets`.
        meta: :func:`keras_pggan.reports.document.run_meta`.
    """
    s = args.finetune_size
    smoke = args.steps < pt.SMOKE_STEPS
    first = evals[pt.MASK_SETS[0][0]]["methods"]
    lines = [f"## Table 2 at {s}²", ""]
    if smoke:
        lines += [
            f"> **Smoke run ({args.steps} + {args.finetune_steps} steps per method): these "
            "numbers only show that the pipeline runs end to end.**",
            "",
        ]
    ft_images = args.finetune_steps * args.finetune_batch_size
    ce_ft = tuned.get("ce", {}).get("config", {}).get("data", {})
    lines += [
        f"The paper's second table compares the methods at {s}². Here every method of Table 1 "
        f"is fine-tuned at {s}² at equal budget from its base run and scored at {s}² on the same "
        "held-out photos.",
        "",
        f"Regenerate: `{meta['command']}`",
        "",
        "### Setup",
        "",
        f"- Base runs: {args.steps} steps per method, global batch {args.batch_size}, "
        f"{args.size}² crops of photos with their short side at {args.resize_to} px "
        "(`scripts/paper_table.py`'s setup; data: "
        + ", ".join(f"`{show(d)}`" for d in args.data)
        + f"; masks `{args.mask}`; seed {args.seed}).",
        f"- **Fine-tuning budget, the same for every method:** {args.finetune_steps} steps of "
        f"global batch {args.finetune_batch_size} ({ft_images} crops of {s}², "
        f"{ft_images * s * s / 1e6:.1f} M pixels) of photos with their short side at "
        f"{args.finetune_resize_to} px, the generator warm-started from the base run (fresh Adam "
        "moments), the discriminator new (every method's is built for one image size: at "
        f"{s}² it is another network), the same photos, masks and seed"
        + (
            f"; Context Encoder at its fixed {ce_ft.get('image_size')}² on photos scaled to "
            f"{ce_ft.get('resize_to')} px (it computes at that size whatever the input)"
            if ce_ft
            else ""
        )
        + "; GLGAN's reconstruction-only warm-up is not repeated.",
        f"- Evaluation: the first {meta['images']} images of `{show(args.val_data)}` (held "
        f"out), short side resized to {s} px and centre-cropped; *centre* = a centred square of "
        f"half the side ({s // 2} px, a quarter of the area), *free-form* = brush strokes, the "
        f"same fixed masks for every method (seed {args.seed}); scores as in Table 1.",
        f"- Machine: {meta['machine']}; {meta['versions']}; {meta['date']}.",
        *[f"- {note}" for note in args.note],
        "",
        "### Results",
        "",
    ]
    head = ["method", f"GFLOPs {s}²"]
    for label, _ in pt.MASK_SETS:
        head += [f"{label} PSNR", f"{label} SSIM", f"{label} L1 %"]
    head += [f"ms {s}²", "fine-tune s/step"]
    lines += ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]

    def scores(name):
        cells = []
        for label, _ in pt.MASK_SETS:
            o = evals[label]["methods"][name]["overall"]
            cells += [fmt(o["psnr"], "{:.2f}"), fmt(o["ssim"], "{:.4f}")]
            cells.append(fmt(o["l1"], "{:.2f}"))
        return cells

    for m in args.methods:
        n = nets[m]
        cells = [f"{pt.TITLES[m]}, fine-tuned", f"{n['gflops']:.1f}", *scores(m)]
        cells += [fmt(n["ms"].get(s), "{:.0f}"), f"{tuned[m]['seconds_per_step']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    if BEFORE in first:
        cells = [f"PGGAN-DRes before fine-tuning (base run, {args.size}² training)", "–"]
        lines.append("| " + " | ".join([*cells, *scores(BEFORE), "–", "–"]) + " |")
    for name, info in first.items():
        if info["kind"] == "baseline":
            cells = [f"{info['title']} (classical reference)", "–", *scores(name), "–", "–"]
            lines.append("| " + " | ".join(cells) + " |")
    metrics = {
        label: {m: e["methods"][m]["overall"] for m in e["methods"]} for label, e in evals.items()
    }
    load = nets["_load"]
    lines += ["", "Ordering of the fine-tuned methods, best first:", ""]
    lines += pt.ranking(metrics, list(args.methods))
    lines += ["", *claim_lines(metrics, list(args.methods))]
    if BEFORE in first and "pggan-dres" in args.methods:
        better, worse = _wins(metrics, "pggan-dres", BEFORE)
        lines.append(
            f"- Fine-tuning at {s}² vs none (PGGAN-DRes): better on {better} of 6 scores, worse "
            f"on {worse}."
        )
    lines += telea_lines(metrics, list(args.methods), first)
    lines += [
        "",
        "### Notes",
        "",
        f"- ms {s}²: median of {args.timing_repeats} calls (`tf.function`, batch 1, after two "
        f"warm-up calls) on this machine's CPU, load average {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} when timed. The paper timed GPUs.",
        "- fine-tune s/step: wall time per step, including other jobs sharing the 2 cores "
        "(compare ratios only between methods trained at the same time).",
        "- Per-image rows and the masks' sha256: "
        + ", ".join(
            f"`{show(os.path.join(ev.out, 'eval', k, 'report.md'))}`" for _, k in pt.MASK_SETS
        )
        + ".",
        "",
    ]
    columns = [*args.methods] + ([BEFORE] if BEFORE in first else [])
    legend = [_short(c) for c in columns]
    title = f"### Sample sheets at {s}²"
    return "\n".join(lines + pt.sheet_section(ev, legend, first, sheets, title))
