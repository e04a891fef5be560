"""The paper's ablations at equal budget: discriminator heads (Fig. 6), block types, up-sampling.

Every arm is PGGAN-DRes trained with the paper table's setup (the same data, masks, seed, batch
and steps; :mod:`keras_pggan.reports.paper_table`) and run folder, so the PGGAN-DRes arm of every
study is one run (the paper table's PGGAN-DRes run when it exists). The studies change one thing
each:

* ``discriminator`` (Fig. 6): both heads (PGGAN, the paper's), the G-GAN head alone (one logit
  per image) or the PatchGAN head alone (a logit map).
* ``blocks`` (Fig. 4): which of each residual block's two 3×3 convolutions is dilated
  (``GeneratorConfig.block_type``: both, the first, the second) or none (the standard block).
* ``upsample`` (Fig. 5): resize ×2 then convolve (bilinear or bicubic) or a transposed
  convolution (``GeneratorConfig.upsample``); its table adds the checkerboard score
  (:func:`keras_pggan.evaluation.metrics.checkerboard_score`) and zoomed crops of the fills.

Each study is a section of docs/ablation.md (:data:`SECTIONS`); ``scripts/ablation.py`` is the
driver.
"""

from __future__ import annotations

import dataclasses
import os

from keras_pggan.reports import paper_table as pt
from keras_pggan.reports.document import REPO, Sections, fmt, show

DOC = os.path.join(REPO, "docs", "ablation.md")


LABELS = {
    "pggan-dres": "PGGAN (G-GAN + PatchGAN heads)",
    "pggan-dres-global": "G-GAN head only",
    "pggan-dres-patch": "PatchGAN head only",
}
# The generator studies' arms: GeneratorConfig overrides of the PGGAN-DRes arm.
GENERATOR_ARMS = {
    "pggan-dres-standard": {"dilation_rates": [1] * 8},
    "pggan-dres-dilated-first": {"block_type": "dilated_first"},
    "pggan-dres-dilated-second": {"block_type": "dilated_second"},
    "pggan-dres-bicubic": {"upsample_interpolation": "bicubic"},
    "pggan-dres-transposed": {"upsample": "transposed"},
}
SCORES = (("psnr", "PSNR", True, "{:.2f}"), ("ssim", "SSIM", True, "{:.4f}"))
SCORES += (("l1", "L1 %", False, "{:.2f}"),)
QUICK = dict(pt.QUICK)
# --quick also narrows both networks (the tiny preset's widths): it only shows the pipeline runs.
QUICK_WIDTHS = {"base_filters": 8, "max_filters": 16}
ZOOM_CROP = 32  # px of the hole centre shown per arm, enlarged (nearest) to ZOOM_SIDE
ZOOM_SIDE = 128


@dataclasses.dataclass(frozen=True)
class Study:
    """One ablation: its section title, arms (``{arm: table label}``), short names for orderings
    and crops, the setup paragraph, and whether the table has the checkerboard column."""

    title: str
    arms: dict[str, str]
    short: dict[str, str]
    setup: str
    checkerboard: bool = False


STUDIES = {
    "discriminator": Study("Discriminator ablation at equal budget (paper Fig. 6)", LABELS, {}, ""),
    "blocks": Study(
        "Residual block types at equal budget (paper Fig. 4)",
        {
            "pggan-dres-standard": "standard block (no dilation)",
            "pggan-dres": "both convolutions dilated (ours, default)",
            "pggan-dres-dilated-first": "dilated convolution first",
            "pggan-dres-dilated-second": "dilated convolution second",
        },
        {
            "pggan-dres-standard": "standard",
            "pggan-dres": "both",
            "pggan-dres-dilated-first": "dilated first",
            "pggan-dres-dilated-second": "dilated second",
        },
        "PGGAN-DRes trained four times with the same data, masks, seed, batch and steps; only the "
        "residual blocks differ (`GeneratorConfig.block_type`). Each block is Conv 3×3 → ReLU → "
        "Conv 3×3 plus the identity (no normalisation layer: the preset's `norm` is `none`), and "
        "block *i* has dilation rate 1, 2, 4, 8, 1, 2, 4, 8 (the paper's doubling from 1): both "
        "convolutions dilated (our default), only the first, only the second (the paper's two "
        "dilated types), or neither (the standard block, every rate 1). Same layers and "
        "parameters in every arm.",
    ),
    "upsample": Study(
        "Interpolated vs transposed convolution at equal budget (paper Fig. 5)",
        {
            "pggan-dres": "resize-conv, bilinear (ours, default)",
            "pggan-dres-bicubic": "resize-conv, bicubic",
            "pggan-dres-transposed": "transposed conv 3×3, stride 2",
        },
        {
            "pggan-dres": "bilinear",
            "pggan-dres-bicubic": "bicubic",
            "pggan-dres-transposed": "transposed",
        },
        "PGGAN-DRes trained three times with the same data, masks, seed, batch and steps; only "
        "the decoder's two ×2 up-samplings differ (`GeneratorConfig.upsample`, "
        "`upsample_interpolation`): resize ×2 (bilinear or bicubic), then a 3×3 convolution, or "
        "one 3×3 stride-2 transposed convolution with the same filters and parameters (the kernel "
        "is our choice, the paper gives none; 3 is not a multiple of the stride, the classic "
        "checkerboard case).",
        checkerboard=True,
    ),
}


def arm_config(arm: str, args):
    """The arm's config: the paper table's (``pggan-dres``, its ablations) or a generator
    override; narrow networks for ``args.quick``."""
    if arm in GENERATOR_ARMS:
        cfg = pt.method_config("pggan-dres", args).replace(
            name=f"paper-table-{arm}", generator=GENERATOR_ARMS[arm]
        )
    else:
        cfg = pt.method_config(arm, args)
    if getattr(args, "quick", False):
        cfg = cfg.replace(generator=QUICK_WIDTHS, discriminator=QUICK_WIDTHS)
    return cfg


# -- the discriminator study's document (unchanged since it was first written) -------------------
def render(args, runs, evals, sheets, meta) -> str:
    """The discriminator study's document head (see :func:`render_study` for its arguments)."""
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
        *_setup_lines(args, meta),
        "",
        "## Results",
        "",
    ]
    head = ["discriminator"]
    for label, _ in pt.MASK_SETS:
        head += [f"{label} PSNR", f"{label} SSIM", f"{label} L1 %"]
    head += ["train min", "last val hole L1"]
    lines += ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    lines += _rows(args, runs, evals, LABELS, checkerboard=False)
    lines += ["", _per_image_line(args), ""]
    first = evals[pt.MASK_SETS[0][0]]["methods"]
    columns = [LABELS.get(a, a) for a in args.methods]
    return "\n".join(lines + pt.sheet_section(args, columns, first, sheets))


def _setup_lines(args, meta) -> list[str]:
    return [
        f"- Training: {args.steps} steps per arm, global batch {args.batch_size}, {args.size}² "
        f"crops of photos with their short side at {args.resize_to} px, masks `{args.mask}`, "
        f"seed {args.seed}; data: " + ", ".join(f"`{show(d)}`" for d in args.data) + ".",
        f"- Evaluation: the first {meta['images']} images of `{show(args.val_data)}` (held "
        f"out) at {args.eval_size}², the fixed *centre* ({args.eval_size // 2} px square) and "
        "*free-form* mask sets, scored on the composited image (PSNR dB, SSIM, L1 %), as "
        "`python -m keras_pggan.evaluate` reports them.",
        f"- Machine: {meta['machine']}; {meta['versions']}; {meta['date']}. *train min* is each "
        "run's wall time.",
        *[f"- {note}" for note in args.note],
    ]


def _rows(args, runs, evals, labels, checkerboard: bool) -> list[str]:
    """The table's rows: every arm, then the classical references."""

    def cells_of(name):
        cells = []
        for label, _ in pt.MASK_SETS:
            o = evals[label]["methods"][name]["overall"]
            cells += [fmt(o[key], spec) for key, _, _, spec in SCORES]
            if checkerboard:
                cells.append(fmt(o.get("checkerboard"), "{:.2f}"))
        return cells

    lines = []
    for arm in args.methods:
        run = runs[arm]
        cells = [labels.get(arm, arm), *cells_of(arm), f"{run['seconds'] / 60:.0f}"]
        cells.append(fmt(run["last_epoch"].get("val_hole_l1"), "{:.4f}"))
        lines.append("| " + " | ".join(cells) + " |")
    for name, info in evals[pt.MASK_SETS[0][0]]["methods"].items():
        if info["kind"] == "baseline":
            cells = [f"{info['title']} (classical reference)", *cells_of(name), "–", "–"]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _per_image_line(args) -> str:
    reports = [os.path.join(args.out, "eval", k, "report.md") for _, k in pt.MASK_SETS]
    return (
        "Per-image rows and the masks' sha256: "
        + ", ".join(f"`{show(r)}`" for r in reports)
        + ". Short runs on CPU: differences of a few tenths of a dB are within what another seed "
        "could give; read the ordering with that in mind."
    )


# -- the generator studies ------------------------------------------------------------------------
def _metrics(evals, arms) -> dict:
    return {label: {a: e["methods"][a]["overall"] for a in arms} for label, e in evals.items()}


def _wins(metrics: dict, arm: str, other: str) -> tuple[list[str], list[str]]:
    """The scores (``"centre PSNR"``, ...) on which ``arm`` beats ``other``, and loses to it."""
    better, worse = [], []
    for label, _ in pt.MASK_SETS:
        for key, name, higher, spec in SCORES:
            a, b = metrics[label][arm].get(key), metrics[label][other].get(key)
            if a is None or b is None or spec.format(a) == spec.format(b):
                continue  # a tie at the table's precision is neither
            (better if (a > b) == higher else worse).append(f"{label} {name}")
    return better, worse


def _verdict(better: list[str], worse: list[str], total: int) -> str:
    if len(better) > total / 2:
        return "agrees with the paper's claim"
    if len(worse) > total / 2:
        return "does not agree with the paper's claim"
    return "no clear ordering: neither agrees nor disagrees"


def claim_lines(study: str, metrics: dict, arms: list[str]) -> list[str]:
    """One sentence per ordering the paper claims, each computed from ``metrics``.

    Args:
        study: ``"blocks"`` (dilated blocks beat the standard block) or ``"upsample"``
            (interpolated convolution removes the checkerboard of transposed convolution).
        metrics: ``{mask set label: {arm: overall scores}}``.
        arms: the arms trained.

    Returns:
        Markdown list lines.
    """
    short = STUDIES[study].short
    total = len(pt.MASK_SETS) * len(SCORES)
    lines = []
    if study == "blocks":
        lines.append("The paper prefers dilated residual blocks to the standard block:")
        base = "pggan-dres-standard"
        dilated = [a for a in arms if a != base]
        if base not in arms or not dilated:
            return lines + ["- not tested: the standard and a dilated arm are both needed."]
        for arm in dilated:
            better, worse = _wins(metrics, arm, base)
            lines.append(
                f"- {short[arm]} vs standard: better on {len(better)} of {total} scores"
                + (f" ({', '.join(better)})" if better else "")
                + f", worse on {len(worse)}: {_verdict(better, worse, total)}."
            )
        return lines
    lines.append(
        "The paper says interpolated convolution removes the checkerboard artefacts of transposed "
        "convolution (checkerboard score: the fill's Nyquist energy over the truth's in the "
        "holes; 1 = as the truth, lower is smoother):"
    )
    base = "pggan-dres-transposed"
    resized = [a for a in arms if a != base]
    if base not in arms or not resized:
        return lines + ["- not tested: the transposed and an interpolated arm are both needed."]
    for arm in resized:
        parts, lower = [], 0
        for label, _ in pt.MASK_SETS:
            a = metrics[label][arm].get("checkerboard")
            b = metrics[label][base].get("checkerboard")
            if a is None or b is None:
                continue
            lower += a < b
            parts.append(f"{a:.2f} vs {b:.2f} ({label})")
        verdict = _verdict(["x"] * lower, ["x"] * (len(parts) - lower), len(parts))
        better, worse = _wins(metrics, arm, base)
        lines.append(
            f"- {short[arm]} vs transposed: checkerboard {', '.join(parts)}: lower on {lower} of "
            f"{len(parts)} mask sets: {verdict}. Quality scores (the claim is about artefacts): "
            f"better on {len(better)} of {total}, worse on {len(worse)}."
        )
    return lines


def ranking_lines(study: str, metrics: dict, arms: list[str]) -> list[str]:
    """Best-first orderings of the arms on each score of each mask set."""
    short = STUDIES[study].short
    keys = [(k, n, h) for k, n, h, _ in SCORES]
    if STUDIES[study].checkerboard:
        keys.append(("checkerboard", "checkerboard (least first)", False))
    lines = []
    for label, _ in pt.MASK_SETS:
        for key, name, higher in keys:
            scored = [a for a in arms if metrics[label][a].get(key) is not None]
            order = sorted(scored, key=lambda a: metrics[label][a][key], reverse=higher)
            if order:
                lines.append(f"- {label} {name}: " + " > ".join(short[a] for a in order))
    return lines


def zoom_crops(runs: dict, args) -> list[str]:
    """Sheets of the centre of each image's centre hole, enlarged: one column per arm + truth.

    A ``ZOOM_CROP`` px square (smaller when the hole is) around the hole's centre, enlarged
    ``ZOOM_SIDE / ZOOM_CROP`` times with nearest-neighbour, so 2-pixel patterns stay visible.
    """
    import numpy as np
    from PIL import Image

    from keras_pggan.data import masks as masks_lib
    from keras_pggan.data.pipeline import list_image_files
    from keras_pggan.evaluation.evaluate import load_eval_image
    from keras_pggan.evaluation.sheets import comparison_sheet
    from keras_pggan.inference.inpainter import Inpainter
    from keras_pggan.io_utils import atomic_path

    folder = os.path.join(args.out, "eval_masks", f"center{args.eval_size}")
    masks, _ = masks_lib.load_eval_set(folder)
    files = list_image_files(args.val_data)[: min(args.sheets, len(masks))]
    short = STUDIES[args.study].short
    runners = {
        a: Inpainter.from_path(runs[a]["generator_path"], working_size=None) for a in args.methods
    }
    paths = []
    os.makedirs(args.sheets_dir, exist_ok=True)
    for i, path in enumerate(files):
        image, hole = load_eval_image(path, args.eval_size), masks[i] > 0
        rows, cols = np.nonzero(hole)
        if not rows.size:
            continue
        side = min(ZOOM_CROP, rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)
        top = (rows.min() + rows.max() + 1 - side) // 2
        left = (cols.min() + cols.max() + 1 - side) // 2
        box = (slice(top, top + side), slice(left, left + side))
        columns = [(short[a], run(image, hole)[box]) for a, run in runners.items()]
        columns.append(("truth", image[box]))
        out = os.path.join(args.sheets_dir, f"zoom_{i:02d}.png")
        with atomic_path(out) as tmp:
            Image.fromarray(comparison_sheet(columns, min_side=ZOOM_SIDE)).save(tmp, format="PNG")
        paths.append(out)
    return paths


def render_study(args, runs, evals, sheets, zooms, meta) -> str:
    """The markdown section of a generator study (``blocks`` or ``upsample``).

    Args:
        args: the run's settings (:func:`keras_pggan.reports.paper_table.add_run_args`, the
            study's ``study``, ``methods`` (its arms) and ``note`` lines).
        runs: :func:`keras_pggan.reports.paper_table.train_method` per arm.
        evals: :func:`keras_pggan.reports.paper_table.evaluate_all`.
        sheets: :func:`keras_pggan.reports.paper_table.copy_sheets`.
        zooms: :func:`zoom_crops` (or none).
        meta: :func:`keras_pggan.reports.document.run_meta`.
    """
    study = STUDIES[args.study]
    lines = [f"## {study.title}", ""]
    if args.steps < pt.SMOKE_STEPS:
        lines += [
            f"> **Smoke run ({args.steps} steps per arm): these numbers only show that the "
            "pipeline runs end to end.**",
            "",
        ]
    lines += [study.setup, "", "Regenerate:", "", "```bash", meta["command"], "```", ""]
    lines += _setup_lines(args, meta)
    if study.checkerboard:
        lines.append(
            "- *checkerboard*: `keras_pggan.evaluation.metrics.checkerboard_score`, the "
            "fill's energy at "
            "the Nyquist frequencies (each row's and column's (−1)^x coefficient of the "
            "mean-removed luminance, squared and summed) over the truth's, in the holes, mean "
            "over images: 1 = as much as the truth, ≫ 1 = a 2-pixel checkerboard, < 1 = smoother "
            "than the truth."
        )
    lines.append("")
    lines += ["### Results", ""]
    head = ["arm"]
    for label, _ in pt.MASK_SETS:
        head += [f"{label} {name}" for _, name, _, _ in SCORES]
        head += [f"{label} checkerboard"] if study.checkerboard else []
    head += ["train min", "last val hole L1"]
    lines += ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    lines += _rows(args, runs, evals, study.arms, study.checkerboard)
    metrics = _metrics(evals, args.methods)
    lines += ["", *claim_lines(args.study, metrics, args.methods), ""]
    lines += ["Ordering of the arms, best first:", ""]
    lines += [*ranking_lines(args.study, metrics, args.methods), "", _per_image_line(args), ""]
    doc_dir = os.path.dirname(os.path.abspath(args.doc))
    first = evals[pt.MASK_SETS[0][0]]["methods"]
    baselines = [info["title"] for info in first.values() if info["kind"] == "baseline"]
    columns = [study.arms.get(a, a) for a in args.methods]
    lines += ["### Sample sheets", ""]
    lines += ["Columns: " + " | ".join(["masked input", *columns, *baselines, "truth"]) + ".", ""]
    for label, paths in sheets.items():
        lines += [f"#### {label}", ""]
        lines += [f"![{label} {i}]({os.path.relpath(p, doc_dir)})" for i, p in enumerate(paths)]
        lines.append("")
    if zooms:
        lines += [
            "### Zoomed crops",
            "",
            f"The centre of each centre hole ({ZOOM_CROP} px at most), enlarged "
            f"{ZOOM_SIDE // ZOOM_CROP}× or more with nearest-neighbour: "
            + " | ".join([*(study.short[a] for a in args.methods), "truth"])
            + ".",
            "",
        ]
        lines += [f"![zoom {i}]({os.path.relpath(p, doc_dir)})" for i, p in enumerate(zooms)]
        lines.append("")
    return "\n".join(lines)


# -- one document, one section per study -----------------------------------------------------------
# The discriminator study is the document's head (everything before the first marked section);
# the others sit between ``<!-- ablation:<study> -->`` markers, in STUDIES order.
SECTIONS = Sections("ablation", tuple(STUDIES), "discriminator")
