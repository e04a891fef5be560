"""The paper's comparison (Tables 1 and 2) at equal budget: training, scoring, timing, the table.

Every method is trained by :func:`keras_pggan.training.run.run_training` with the same training
images, mask mixture, seed, global batch and number of steps (``--size``² crops of photos whose
short side is ``--resize-to``); scored by :func:`keras_pggan.evaluation.evaluate.run_evaluation`
on the same ``cmp_facade_val`` images with the same fixed mask sets (the centred square of half
the side, 128 px at 256², and free-form strokes; :func:`keras_pggan.data.masks.make_eval_set`);
timed at 256² and 512²; and written to ``docs/paper_table.md`` with sample sheets in
``docs/paper_table/``. Runs are kept in ``--out``: re-running reuses finished runs with the same
config and resumes interrupted ones. ``scripts/paper_table.py`` is the driver;
:mod:`keras_pggan.reports.ablation` and :mod:`keras_pggan.reports.paper_table_512` reuse its
options, runs and scoring.

Context Encoder computes at its fixed size (``--size``): evaluation images are resized to it
inside the network. So that it trains at the scale it is evaluated at, its training photos are
scaled to a short side of ``resize_to · size / eval_size`` (128 px by default) instead of
``--resize-to``; the files, masks, seed, batch and steps are the same as for the others.

The functions take the run's settings as ``args``: the options :func:`add_run_args` defines,
checked by :func:`check_run_args`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time

from keras_pggan.errors import UserError
from keras_pggan.reports.document import REPO, Sections, fmt, show

DOC = os.path.join(REPO, "docs", "paper_table.md")
SHARED = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "train"))
METHODS = ("ce", "glgan", "pggan-res", "pggan-dres")
# The paper's discriminator ablation (Fig. 6): PGGAN-DRes with one head of its discriminator.
ABLATIONS = {"pggan-dres-global": "global", "pggan-dres-patch": "patch"}
TITLES = {
    "ce": "Context Encoder (Pathak et al. 2016)",
    "glgan": "GLGAN (Iizuka et al. 2017)",
    "pggan-res": "PGGAN-Res (Demir & Unal 2018)",
    "pggan-dres": "PGGAN-DRes (Demir & Unal 2018)",
    "pggan-dres-global": "PGGAN-DRes, G-GAN discriminator only",
    "pggan-dres-patch": "PGGAN-DRes, PatchGAN discriminator only",
}
# GLGAN trains the completion network alone for 90k of its 500k iterations.
GLGAN_WARMUP_FRACTION = 90_000 / 500_000
MASK_SETS = (("centre", "center"), ("free-form", "freeform"))
DEFAULT_MASK = "center:0.25,rect:0.25,freeform:0.5"
SMOKE_STEPS = 200
# docs/paper_table.md: Table 1 (scripts/paper_table.py) is the head, Table 2 at 512² a section.
TABLE1 = "256"
DOC_SECTIONS = Sections("paper_table", (TABLE1, "512"), TABLE1)
# Opt-in speed settings (README, "Dependency notes"); recorded per run since they may differ.
SPEED_ENV = ("TF_ENABLE_ONEDNN_OPTS", "KERAS_PGGAN_NATIVE_DILATION")


# -- the run's settings -------------------------------------------------------------------------
def add_run_args(p: argparse.ArgumentParser, helps: dict[str, str] | None = None) -> None:
    """Adds the options every table driver shares (data, budget, evaluation, outputs) to ``p``.

    Args:
        p: the driver's parser.
        helps: ``{dest: help}`` for the options whose meaning differs in the driver (its own
            defaults, set with ``p.set_defaults``).
    """
    p.add_argument(
        "--methods", default=",".join(METHODS), help="comma list of " + ", ".join(METHODS)
    )
    p.add_argument(
        "--data",
        action="append",
        default=None,
        help="training source, repeatable (default: ../shared/data/train/cmp_facade_train and "
        "bsds432; cmp_facade_val is held out)",
    )
    p.add_argument(
        "--val-data",
        default=os.path.join(SHARED, "cmp_facade_val"),
        help="evaluation images (also the validation data during training)",
    )
    p.add_argument("--steps", type=int, default=400, help="training steps per method")
    p.add_argument("--steps-per-epoch", type=int, default=100, help="steps between checkpoints")
    p.add_argument("--batch-size", type=int, default=8, help="global batch size")
    p.add_argument("--size", type=int, default=128, help="training crop side")
    p.add_argument("--resize-to", type=int, default=256, help="short side before cropping")
    p.add_argument("--mask", default=DEFAULT_MASK, help="training mask mixture (all methods)")
    p.add_argument("--seed", type=int, default=0, help="the one seed (weights, data, masks)")
    p.add_argument("--eval-size", type=int, default=256, help="side of the evaluation crops")
    p.add_argument("--count", type=int, default=None, help="evaluation images (default: all)")
    p.add_argument(
        "--baselines", default="telea", help="classical reference rows: telea, ns, mean or none"
    )
    p.add_argument("--timing-sizes", default="256,512", help="inference timing sides")
    p.add_argument("--timing-repeats", type=int, default=5, help="timed calls per size (median)")
    p.add_argument("--sheets", type=int, default=3, help="sample sheets per mask set")
    p.add_argument("--out", default=os.path.join("runs", "paper_table"), help="runs and eval")
    p.add_argument("--doc", default=DOC, help="the document")
    p.add_argument(
        "--sheets-dir", default=None, help="sample sheets (default: <doc dir>/paper_table)"
    )
    p.add_argument(
        "--train-only", action="store_true", help="train (or resume) the runs, do not evaluate"
    )
    for action in p._actions:
        if action.dest in (helps or {}):
            action.help = helps[action.dest]


def check_run_args(args) -> None:
    """Checks the options of :func:`add_run_args` and fills in their derived values.

    ``args.methods`` becomes a list, ``args.timing_sizes`` a list of ints, ``args.data`` and
    ``args.sheets_dir`` their defaults.

    Raises:
        UserError: naming the option that is wrong.
    """
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    known = (*METHODS, *ABLATIONS)
    unknown = sorted(set(methods) - set(known))
    if unknown or not methods:
        raise UserError(f"--methods: unknown {unknown or 'empty list'}; choose from {known}")
    args.methods = methods
    for name in ("steps", "steps_per_epoch", "batch_size", "size", "eval_size", "timing_repeats"):
        if getattr(args, name) <= 0:
            raise UserError(f"--{name.replace('_', '-')} must be positive")
    args.steps_per_epoch = min(args.steps_per_epoch, args.steps)
    if args.steps % args.steps_per_epoch:
        raise UserError(
            f"--steps {args.steps} is not a multiple of --steps-per-epoch {args.steps_per_epoch}"
        )
    if args.resize_to < args.size:
        raise UserError(f"--resize-to {args.resize_to} is smaller than --size {args.size}")
    try:
        args.timing_sizes = [int(s) for s in args.timing_sizes.split(",") if s.strip()]
    except ValueError:
        raise UserError(f"--timing-sizes must be integers, got {args.timing_sizes!r}") from None
    args.data = args.data or [
        os.path.join(SHARED, "cmp_facade_train"),
        os.path.join(SHARED, "bsds432"),
    ]
    for path in [*args.data, args.val_data]:
        if not os.path.exists(path):
            raise UserError(f"{path}: no such data folder")
    if any(os.path.abspath(d) == os.path.abspath(args.val_data) for d in args.data):
        raise UserError(f"{args.val_data}: the evaluation images must not be training data")
    args.sheets_dir = args.sheets_dir or os.path.join(
        os.path.dirname(os.path.abspath(args.doc)), "paper_table"
    )


# A --quick run's option values (a smoke run of the pipeline, seconds), shared by the runners
# built on this one (ablation, the 512² table).
QUICK = {
    "steps": 2,
    "steps_per_epoch": 1,
    "batch_size": 2,
    "size": 32,
    "resize_to": 40,
    "eval_size": 32,
    "count": 2,
    "sheets": 1,
}


def resolve_outputs(args, quick: dict, prefix: str, doc: str, default_name: str) -> None:
    """Sets ``args.out`` and ``args.doc`` from ``--quick``, ``--write-docs``, ``--out``, ``--doc``.

    ``--quick`` applies ``quick`` (a smoke run's option values) and defaults ``--out`` to a new
    temporary folder named ``prefix…``; it never writes docs/. ``--write-docs`` makes ``doc``
    (the committed document) the document, refused for a smoke run (fewer than
    :data:`SMOKE_STEPS` steps). Else the document is ``--doc`` or ``<out>/<default_name>``.

    Raises:
        UserError: ``--quick`` with ``--write-docs``, ``--doc`` with ``--write-docs``, or
            ``--write-docs`` for a smoke run.
    """
    import tempfile

    if args.quick:
        if args.write_docs:
            raise UserError("--quick never writes docs/: drop --write-docs")
        for name, value in quick.items():
            setattr(args, name, value)
        args.out = args.out or tempfile.mkdtemp(prefix=prefix)
    args.out = args.out or os.path.join("runs", "paper_table")
    if args.write_docs:
        if args.doc and os.path.abspath(args.doc) != doc:
            raise UserError(f"--doc {args.doc} and --write-docs ({doc}): give one")
        if args.steps < SMOKE_STEPS:
            raise UserError(
                f"--steps {args.steps} is a smoke run (< {SMOKE_STEPS}): it never writes docs/"
            )
        args.doc = doc
    args.doc = args.doc or os.path.join(args.out, default_name)


# -- training -----------------------------------------------------------------------------------
def method_config(method: str, args):
    """The preset of ``method`` with the shared budget, data, masks and seed.

    An ablation (``ABLATIONS``) is the PGGAN-DRes config with one discriminator head.
    """
    from keras_pggan.config import get_preset

    if method in ABLATIONS:
        return method_config("pggan-dres", args).replace(
            name=f"paper-table-{method}", discriminator={"variant": ABLATIONS[method]}
        )

    data = {
        "train": list(args.data),
        "val": [args.val_data],
        "image_size": args.size,
        "resize_to": args.resize_to,
    }
    generator, loss = {}, {}
    if method == "ce":
        generator["fixed_size"] = args.size
        data["resize_to"] = max(args.size, round(args.resize_to * args.size / args.eval_size))
    if method == "glgan":
        loss["warmup_steps"] = round(GLGAN_WARMUP_FRACTION * args.steps)
    return get_preset(method).replace(
        name=f"paper-table-{method}",
        data=data,
        mask={"spec": args.mask},
        generator=generator,
        loss=loss,
        train={
            "global_batch_size": args.batch_size,
            "steps_per_epoch": args.steps_per_epoch,
            "epochs": args.steps // args.steps_per_epoch,
            "seed": args.seed,
            "validation_steps": 2,
            "num_samples": 4,
        },
    )


def train_method(method: str, args, cfg=None, init_from: str | None = None) -> dict:
    """Trains (or reuses / resumes) one method; returns its run facts.

    ``cfg`` defaults to :func:`method_config` (:mod:`keras_pggan.reports.ablation` passes its
    arms' configs); ``init_from`` (a generator file or run directory) warm-starts a new run from
    it (:mod:`keras_pggan.reports.paper_table_512`'s fine-tuning).
    """
    import keras

    from keras_pggan.config import ExperimentConfig
    from keras_pggan.training.run import run_training

    cfg = cfg or method_config(method, args)
    run_dir = os.path.join(args.out, method)
    config_path = os.path.join(run_dir, "config.json")
    facts_path = os.path.join(run_dir, "paper_table_run.json")
    generator = os.path.join(run_dir, "generator.keras")
    resume = False
    if os.path.exists(config_path):
        if ExperimentConfig.load(config_path) != cfg:
            raise UserError(
                f"{run_dir}: holds a run with another config; remove it or choose another --out"
            )
        if os.path.exists(facts_path) and os.path.exists(generator):
            with open(facts_path, encoding="utf-8") as f:
                print(f"[{method}] reusing the finished run in {run_dir}", flush=True)
                return json.load(f)
        resume = os.path.isdir(os.path.join(run_dir, "backup"))
    print(f"[{method}] training {args.steps} steps into {run_dir}", flush=True)
    keras.backend.clear_session()
    result = run_training(
        cfg, run_dir, resume=resume, verbose=2, init_from=None if resume else init_from
    )
    steps_run = args.steps - result["initial_epoch"] * args.steps_per_epoch
    facts = {
        "method": method,
        "run_dir": run_dir,
        "generator_path": result["generator_path"],
        "steps": args.steps,
        "seconds": round(result["seconds"], 1),
        "seconds_per_step": round(result["seconds"] / max(steps_run, 1), 3),
        "resumed": resume,
        "init_from": init_from,
        "env": {k: os.environ.get(k) for k in SPEED_ENV},
        "last_epoch": {k: round(float(v[-1]), 5) for k, v in result["history"].items() if v},
        "config": cfg.to_dict(),
    }
    from keras_pggan.io_utils import write_text_atomic

    write_text_atomic(facts_path, json.dumps(facts, indent=2) + "\n")
    keras.backend.clear_session()
    return facts


# -- evaluation and timing ----------------------------------------------------------------------
def evaluate_all(runs: dict, args) -> dict:
    """Scores every method (and the classical reference) on both mask sets."""
    from keras_pggan.data import masks as masks_lib
    from keras_pggan.data.pipeline import list_image_files
    from keras_pggan.evaluation import classical as baselines_lib
    from keras_pggan.evaluation.evaluate import EvalConfig, run_evaluation

    n = len(list_image_files(args.val_data))
    if args.count:
        if args.count > n:
            raise UserError(f"--count {args.count}: {args.val_data} holds {n} images")
        n = args.count
    results = {}
    for label, kind in MASK_SETS:
        folder = os.path.join(args.out, "eval_masks", f"{kind}{args.eval_size}")
        masks_lib.make_eval_set(kind, args.eval_size, n, args.seed, folder, overwrite=True)
        cfg = EvalConfig(
            models=tuple((m, runs[m]["generator_path"]) for m in args.methods),
            data_dir=args.val_data,
            out_dir=os.path.join(args.out, "eval", kind),
            size=args.eval_size,
            masks_dir=folder,
            seed=args.seed,
            count=n,
            baselines=baselines_lib.parse_baselines(args.baselines),
            batch_size=4,
            num_sheets=args.sheets,
        )
        print(f"[eval] {label} masks, {n} images", flush=True)
        results[label] = run_evaluation(cfg, progress=False)
    return results


def describe_networks(runs: dict, args) -> dict:
    """Parameter counts, FLOPs at the evaluation size and median inference time per method."""
    import numpy as np
    import tensorflow as tf

    from keras_pggan.inference.fill import fill_holes, round_up
    from keras_pggan.models.flops import count_flops
    from keras_pggan.models.generator import pad_multiple_of
    from keras_pggan.models.saved import load_generator

    facts = {"_load": os.getloadavg()}
    for method in args.methods:
        g = load_generator(runs[method]["generator_path"])
        s = args.eval_size
        flops = count_flops(g, {"image": (1, s, s, 3), "mask": (1, s, s, 1)})
        fn = tf.function(lambda x, m, g=g: fill_holes(g, x, m))  # the one inference path
        ms = {}
        for size in args.timing_sizes:
            size = round_up(size, pad_multiple_of(g))
            x = tf.zeros([1, size, size, 3])
            m = np.zeros([1, size, size, 1], np.float32)
            m[:, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1.0
            m = tf.constant(m)
            for _ in range(2):  # trace and warm up
                fn(x, m).numpy()
            times = []
            for _ in range(args.timing_repeats):
                t0 = time.perf_counter()
                fn(x, m).numpy()
                times.append(1000 * (time.perf_counter() - t0))
            ms[size] = round(float(np.median(times)), 1)
        facts[method] = {"params": int(g.count_params()), "gflops": round(flops / 1e9, 2), "ms": ms}
        print(f"[time] {method}: {ms} ms", flush=True)
    return facts


# -- the document -------------------------------------------------------------------------------


def _env(run: dict) -> str:
    env = run.get("env")
    if env is None:
        return "not recorded (a run made before runs recorded it)"
    set_ = [f"`{k}={v}`" for k, v in env.items() if v is not None]
    return " ".join(set_) or "TensorFlow defaults"


def ranking(metrics: dict, methods: list[str]) -> list[str]:
    """Lines ordering the trained ``methods`` best to worst on each score of each mask set.

    Args:
        metrics: ``{mask set label: {method: overall scores}}`` (``psnr``, ``ssim``, ``l1``).
        methods: the trained methods to order (classical references are left out).
    """
    short = {m: TITLES[m].split(" (")[0] for m in methods}
    lines, wins = [], dict.fromkeys(methods, 0)
    for label, _ in MASK_SETS:
        for key, name, higher in (
            ("psnr", "PSNR", True),
            ("ssim", "SSIM", True),
            ("l1", "L1", False),
        ):
            scored = [m for m in methods if metrics[label][m].get(key) is not None]
            order = sorted(scored, key=lambda m: metrics[label][m][key], reverse=higher)
            if not order:
                continue
            wins[order[0]] += 1
            lines.append(f"- {label} {name}: " + " > ".join(short[m] for m in order))
    total = sum(wins.values())
    pggan = sum(v for m, v in wins.items() if m.startswith("pggan"))
    lines.append(
        f"- A PGGAN variant is best on {pggan} of {total} scores"
        + (
            "; "
            + ", ".join(
                f"{short[m]} on {v}" for m, v in wins.items() if v and not m.startswith("pggan")
            )
            if pggan < total
            else ""
        )
        + "."
    )
    return lines


def render(args, runs, evals, nets, sheets, meta) -> str:
    """Table 1's document: setup, the table, the orderings, notes and the sample sheets.

    Args:
        args: the run's settings.
        runs: :func:`train_method` per method.
        evals: :func:`evaluate_all`.
        nets: :func:`describe_networks`.
        sheets: :func:`copy_sheets`.
        meta: :func:`keras_pggan.reports.document.run_meta`.
    """
    sizes = args.timing_sizes
    smoke = args.steps < SMOKE_STEPS
    ce_scale = ""
    if "ce" in runs:
        ce_scale = f" (CE: {runs['ce']['config']['data']['resize_to']} px, see notes)"
    lines = ["# The paper's comparison at equal budget", ""]
    if smoke:
        lines += [
            f"> **Smoke run ({args.steps} steps per method): these numbers only show that the "
            "pipeline runs end to end. They say nothing about the methods.** Regenerate with the "
            "full command below.",
            "",
        ]
    lines += [
        "Reproduces the shape of Tables 1 and 2 of Demir & Unal (2018): PGGAN-Res and PGGAN-DRes "
        "against Context Encoder (CE) and GLGAN, here trained from scratch by this project's code "
        "on the same data, masks, seed and budget (no pretrained weights of the baselines can be "
        "obtained), and scored by the same evaluator. Architectures and what differs from the "
        "papers: [baselines.md](baselines.md).",
        "",
        f"Regenerate: `{meta['command']}`",
        "",
        "## Setup",
        "",
        f"- Training: {args.steps} steps per method, global batch {args.batch_size}, "
        f"{args.size}² crops of photos with their short side at {args.resize_to} px{ce_scale}, "
        f"masks `{args.mask}`, seed {args.seed}; data: "
        + ", ".join(f"`{show(d)}`" for d in args.data)
        + ".",
        f"- Evaluation: the first {meta['images']} images of `{show(args.val_data)}`"
        f" (held out), short side resized to {args.eval_size} px and centre-cropped; the same "
        f"fixed mask sets for every method (seed {args.seed}): *centre* = a centred square of "
        f"half the side ({args.eval_size // 2} px), *free-form* = brush strokes "
        "(`keras_pggan.masks`, kind `freeform`). Scores on the composited image in [0, 1] over "
        "the whole image (L1 in %, PSNR in dB, SSIM with an 11×11 Gaussian window), as "
        "`python -m keras_pggan.evaluate` reports them.",
        f"- Machine: {meta['machine']}; {meta['versions']}; {meta['date']}.",
        "",
        "## Results",
        "",
    ]
    head = ["method", "G params", f"GFLOPs {args.eval_size}²"]
    for label, _ in MASK_SETS:
        head += [f"{label} PSNR", f"{label} SSIM", f"{label} L1 %"]
    head += [f"ms {s}²" for s in sizes] + ["train s/step"]
    lines += ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for method in args.methods:
        n = nets[method]
        cells = [TITLES[method], f"{n['params'] / 1e6:.2f} M", f"{n['gflops']:.1f}"]
        for label, _ in MASK_SETS:
            o = evals[label]["methods"][method]["overall"]
            cells += [fmt(o["psnr"], "{:.2f}"), fmt(o["ssim"], "{:.4f}"), fmt(o["l1"], "{:.2f}")]
        cells += [fmt(n["ms"].get(s), "{:.0f}") for s in sizes]
        cells += [f"{runs[method]['seconds_per_step']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(
        "| Neural Patch Synthesis (Yang et al. 2017) | not reproduced: needs pretrained VGG-19 "
        "features, which cannot be obtained here (see baselines.md) |" + " |" * (len(head) - 2)
    )
    first = evals[MASK_SETS[0][0]]["methods"]
    for name, info in first.items():
        if info["kind"] != "baseline":
            continue
        cells = [f"{info['title']} (classical reference)", "–", "–"]
        for label, _ in MASK_SETS:
            o = evals[label]["methods"][name]["overall"]
            cells += [fmt(o["psnr"], "{:.2f}"), fmt(o["ssim"], "{:.4f}"), fmt(o["l1"], "{:.2f}")]
        cells += ["–"] * (len(sizes) + 1)
        lines.append("| " + " | ".join(cells) + " |")
    load = nets["_load"]
    metrics = {
        label: {m: e["methods"][m]["overall"] for m in args.methods} for label, e in evals.items()
    }
    lines += ["", "Ordering of the trained methods, best first:", ""]
    lines += ranking(metrics, list(args.methods))
    lines += [
        "",
        "## Notes",
        "",
        f"- Inference: median of {args.timing_repeats} calls of the Keras generator "
        "(`tf.function`, batch 1, after two warm-up calls) on this machine's CPU, load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} when timed (2 cores: other jobs inflate "
        "the times; compare ratios). The paper timed GPUs.",
        f"- CE computes at {args.size}² whatever the input (its fully connected bottleneck fixes "
        "the size): the 256² and 512² inputs are resized to it inside the network and the fill "
        "is resized back, which blurs it and makes its time nearly size-independent. It was "
        "trained on photos scaled like its evaluation inputs (see Setup).",
        "- GLGAN: the completion network trains on the reconstruction alone for the first "
        f"{runs['glgan']['config']['loss']['warmup_steps'] if 'glgan' in runs else 0} steps "
        "(the paper's 90k of 500k iterations, 18 %), the discriminators train throughout.",
        "- Training speed settings (README, dependency notes; they change the results only by "
        "float round-off, and the train s/step column is comparable only between runs with the "
        "same settings): "
        + "; ".join(f"{TITLES[m].split(' (')[0]}: {_env(runs[m])}" for m in args.methods)
        + ".",
        "- Every method uses its paper's losses and weights (PGGAN: L1 0.995 + 0.0025 + 0.0025; "
        "CE: L2 0.999 + adversarial 0.001; GLGAN: L2 + α 0.0004) and Adam(2e-4, β1 0.5).",
        "- The paper's own numbers (Paris Street View, ImageNet, Places) are not comparable with "
        "these: other data, resolution and training budget.",
        "- Per-image rows, hole-ratio buckets and the masks' sha256: "
        + ", ".join(
            f"`{show(os.path.join(args.out, 'eval', k, 'report.md'))}`" for _, k in MASK_SETS
        )
        + ".",
        "",
    ]
    return "\n".join(lines + sheet_section(args, list(args.methods), first, sheets))


def sheet_section(
    args, columns: list[str], first: dict, sheets: dict, title: str = "## Sample sheets"
) -> list[str]:
    """The document's "Sample sheets" section: column legend and the copied sheets.

    ``title`` is the section's heading line; each mask set is a heading one level below it.
    """
    baselines = [info["title"] for info in first.values() if info["kind"] == "baseline"]
    sub = "#" * (len(title) - len(title.lstrip("#")) + 1)
    lines = [
        title,
        "",
        "Columns: " + " | ".join(["masked input", *columns, *baselines, "truth"]) + ".",
        "",
    ]
    doc_dir = os.path.dirname(os.path.abspath(args.doc))
    for label, paths in sheets.items():
        lines += [f"{sub} {label}", ""]
        lines += [f"![{label} {i}]({os.path.relpath(p, doc_dir)})" for i, p in enumerate(paths)]
        lines.append("")
    return lines


def copy_sheets(evals: dict, args) -> dict:
    """Copies the first evaluation sheets of each mask set next to the document."""
    from keras_pggan.io_utils import atomic_path

    os.makedirs(args.sheets_dir, exist_ok=True)
    out = {}
    for label, kind in MASK_SETS:
        src_dir = os.path.join(args.out, "eval", kind, "sheets")
        names = sorted(os.listdir(src_dir))[: args.sheets] if os.path.isdir(src_dir) else []
        out[label] = []
        for i, name in enumerate(names):
            dst = os.path.join(args.sheets_dir, f"{kind}_{i:02d}.png")
            with atomic_path(dst) as tmp:
                shutil.copyfile(os.path.join(src_dir, name), tmp)
            out[label].append(dst)
    return out
