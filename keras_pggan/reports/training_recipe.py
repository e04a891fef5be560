"""Recipe search at equal wall time: which training settings give the best V after N minutes.

Every recipe is the v2 base config (``scripts/configs/pggan_dres_v2.json``: PGGAN-DRes 32–128,
the fixed train split, 128² crops of 256-scale photos) with one change (:data:`RECIPES`), or, for
the ``v3`` set (issue 35: colour and scale levers, :data:`RECIPES_V3`), the shipped model's recipe
warm-started from the shipped weights. Each trains for the same wall time from the same seed on
the same data (:func:`run_recipes`); all checkpoints are kept and scored on a fixed subset of V
(every 3rd photo of V: 46 of 137) at 256² with the fixed centre-128 and free-form sets, giving V
hole L1 against wall time; the final generator is scored on all of V (:func:`score_recipes`).
``scripts/training_recipe.py`` is the driver; docs/training_recipe.md its document.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from keras_pggan.errors import UserError
from keras_pggan.reports.document import REPO

BASE_CONFIG = os.path.join("scripts", "configs", "pggan_dres_v2.json")
VAL_LISTS = (
    os.path.join("scripts", "configs", "splits", "val_cmp_facade.txt"),
    os.path.join("scripts", "configs", "splits", "val_imagenet.txt"),
)
BF16 = "mixed_bfloat16"

# name -> (what changes, overrides of the base config). "base" runs in bfloat16 where the CPU
# has it (the long run's precision if it holds up against "base-fp32" at equal steps).
RECIPES = {
    "base-fp32": ("base in float32", {"train": {"precision": "float32"}}),
    "base": ("32–128 filters, full L1, lr 2e-4, batch 8, 128² crops", {}),
    "wide": ("generator 64–256 filters", {"generator": {"base_filters": 64, "max_filters": 256}}),
    "hole-weighted": (
        "reconstruction weighted 6:1 hole:known",
        {"loss": {"reconstruction": "weighted", "hole_weight": 6.0}},
    ),
    "lr-5e-4": (
        "Adam lr 5e-4 (G and D)",
        {"train": {"g_learning_rate": 5e-4, "d_learning_rate": 5e-4}},
    ),
    "batch-16": ("global batch 16", {"train": {"global_batch_size": 16}}),
    "crop-256": ("256² crops (the evaluation's size)", {"data": {"image_size": 256}}),
    "hole-mean": (
        "holes enter as the known pixels' mean colour, not grey",
        {"generator": {"hole_fill": "mean"}},
    ),
    # Not a recipe: base again from another seed, the yardstick for "within noise".
    "base-seed1": ("base, seed 1 (noise yardstick)", {"train": {"seed": 1}}),
}


# v3 (issue 35): colour and scale levers, each a warm start from the shipped generator (a new
# discriminator) with the shipped model's recipe (hole-weighted L1, 128² crops of 256-scale
# photos) at its last learning rate, float32; "v3-base" and "v3-base-seed1" are the yardstick.
V3_BASE_CONFIG = os.path.join("scripts", "configs", "pggan_dres_ship_v2.json")
V3_INIT = os.path.join("saved_models", "pggan_dres.keras")
V3_LR = {"train": {"g_learning_rate": 5e-5, "d_learning_rate": 5e-5, "precision": "float32"}}
# The evaluation's scale: 256² crops of 256-scale photos with evaluation-sized holes, batch 4.
STAGE256 = {
    "data": {"image_size": 256, "resize_to": 256},
    "mask": {"spec": "center:0.4,freeform:0.6", "max_hole_ratio": 0.5},
    "train": {"global_batch_size": 4},
}
RECIPES_V3 = {
    "v3-base": ("the shipped recipe, warm-started from the shipped weights", {}),
    "v3-base-seed1": ("v3-base, seed 1 (noise yardstick)", {"train": {"seed": 1}}),
    "v3-ycbcr": (
        "L1 in BT.601 YCbCr, chroma weighted 3:1 against luma",
        {"loss": {"colour_space": "ycbcr", "chroma_weight": 3.0}},
    ),
    "v3-multiscale": (
        "multi-scale crops: short side 128–320 before the 128² crop",
        {"data": {"resize_to": 128, "resize_to_max": 320}},
    ),
    "v3-lowpass": (
        "+ low-frequency hole colour term (8×8-pooled Cb/Cr L1, weight 2)",
        {"loss": {"colour_lowpass_weight": 2.0}},
    ),
    "v3-stage256": ("256² crops with evaluation-sized holes (centre-128 and free-form)", STAGE256),
    # The long run's recipe (ship_v3): the picked colour lever (v3-ycbcr) at the evaluation
    # scale, because the colour diagnosis found the model's chroma error growing with distance
    # from the hole's edge past what 128² crops show it (a 128-px hole at 256² has pixels 64 px
    # from any edge; the 128² crops' holes, < 32 px mostly).
    "v3-ycbcr-256": (
        "v3-ycbcr with v3-stage256's crops and holes",
        {**STAGE256, "loss": {"colour_space": "ycbcr", "chroma_weight": 3.0}},
    ),
    # The long run's second recipe (ship_v3_lp256, warm-started from ship_v3_256 at 800 steps):
    # v3-ycbcr-256's chroma weights (1, 3, 3), normalised to mean 1, give luma 3/7 of its weight
    # and so 1/7 of the RGB L1's luma gradient; its centre PSNR fell from -0.33 to -0.68 dB by
    # 800 steps while the chroma error kept falling. RGB L1 keeps the luma term whole and the
    # low-pass term adds the hole's colour on top.
    "v3-lowpass-256": (
        "v3-lowpass with v3-stage256's crops and holes",
        {**STAGE256, "loss": {"colour_lowpass_weight": 2.0}},
    ),
    # The lever after the long run's V curve went flat (issue 35): the chroma error grows with
    # the distance from the hole's edge, and PSNR and the colour terms no longer move. Matching
    # the discriminator's shared-trunk activations of the fill to the real photo's is a learned
    # low-level perceptual term (no pretrained network exists offline). Weight 0.1: the term is
    # about 0.06-0.11 on V against the weighted L1's 0.10-0.15, so it adds about a tenth.
    "v3-fm-256": (
        "v3-lowpass-256 + feature matching on the discriminator's trunk (weight 0.1)",
        {**STAGE256, "loss": {"colour_lowpass_weight": 2.0, "feature_matching_weight": 0.1}},
    ),
    # At 0.1 the term moved nothing in 200 steps (-0.01 to -0.02 dB against the same-seed base):
    # the same lever ten times as strong.
    "v3-fm1-256": (
        "v3-lowpass-256 + feature matching on the discriminator's trunk (weight 1)",
        {**STAGE256, "loss": {"colour_lowpass_weight": 2.0, "feature_matching_weight": 1.0}},
    ),
    # The next lever (capacity at the bottleneck): feature matching moved nothing, and the
    # chroma error left is far from the hole's edge, where the fill comes from the residual
    # blocks alone. Their inner layer twice as wide (128 -> 256 filters; the blocks still pass
    # 128 maps on), warm-started function-preserving from the long run's weights
    # (keras_pggan.training.warm_start.widen_inner_layers): ~2x the generator's parameters.
    "v3-wide-256": (
        "v3-lowpass-256 with the residual blocks' inner layer twice as wide (256 filters)",
        {
            **STAGE256,
            "generator": {"residual_filters": 256},
            "loss": {"colour_lowpass_weight": 2.0},
        },
    ),
}
SETS = {"v2": RECIPES, "v3": RECIPES_V3}


def recipe_config(name: str, bf16: bool):
    """The ExperimentConfig of recipe ``name`` (precision: bf16 where asked and supported)."""
    from keras_pggan.config import ExperimentConfig

    if name in RECIPES_V3:
        base = ExperimentConfig.load(os.path.join(REPO, V3_BASE_CONFIG))
        cfg = base.replace(name=f"recipe-{name}", **V3_LR).replace(**RECIPES_V3[name][1])
        return cfg.replace(train={"validation_steps": max(1, 136 // cfg.train.global_batch_size)})
    base = ExperimentConfig.load(os.path.join(REPO, BASE_CONFIG))
    precision = BF16 if bf16 else "float32"
    cfg = base.replace(name=f"recipe-{name}", train={"precision": precision})
    _, overrides = RECIPES[name]
    cfg = cfg.replace(**overrides)
    # The same 136 validation images (17 batches of 8) whatever the batch size.
    return cfg.replace(train={"validation_steps": max(1, 136 // cfg.train.global_batch_size)})


def run_recipes(
    out: str, names: list[str], minutes: float, parallel: int = 2, bf16: bool = False
) -> None:
    """Trains the recipes ``names``, ``parallel`` at a time, each for ``minutes`` of wall time.

    Each recipe runs as ``python -m keras_pggan.train`` into ``out/<name>`` (config
    ``out/<name>.json``, log ``out/<name>.log``), with one inter- and one intra-op thread when
    several run at once, so every recipe sees the same machine. A recipe whose run directory
    holds ``history.json`` is done and skipped.

    Args:
        out: the folder of the runs (outside the work tree).
        names: recipes of :data:`RECIPES` or :data:`RECIPES_V3` (v3 ones warm-start from the
            shipped generator).
        minutes: wall time per recipe.
        parallel: recipes at a time.
        bf16: train in bfloat16 where the recipe's precision is not fixed.

    Raises:
        UserError: a run directory holds an unfinished run (nothing is started then).
    """
    os.makedirs(out, exist_ok=True)
    queue = []
    for name in names:
        run_dir = os.path.join(out, name)
        if os.path.exists(os.path.join(run_dir, "history.json")):
            print(f"[{name}] done already: {run_dir}")
            continue
        if os.path.exists(run_dir):
            raise UserError(f"{run_dir} holds an unfinished run; remove it to rerun")
        cfg_path = os.path.join(out, f"{name}.json")
        with open(cfg_path, "w", encoding="utf-8") as f:
            f.write(recipe_config(name, bf16).to_json() + "\n")
        queue.append((name, cfg_path, run_dir))
    env = dict(os.environ)
    if parallel > 1:
        env.update(KERAS_PGGAN_INTER_OP_THREADS="1", KERAS_PGGAN_INTRA_OP_THREADS="1")
    running: list[tuple[str, subprocess.Popen]] = []
    while queue or running:
        while queue and len(running) < parallel:
            name, cfg_path, run_dir = queue.pop(0)
            log = open(os.path.join(out, f"{name}.log"), "w", encoding="utf-8")  # noqa: SIM115
            cmd = [
                sys.executable, "-m", "keras_pggan.train", "--config", cfg_path,
                "--run-dir", run_dir, "--time-limit", str(minutes),
                "--keep-checkpoints", "0", "--verbose", "2",
            ] + (["--init-from", V3_INIT] if name in RECIPES_V3 else [])  # fmt: skip
            print(f"[{name}] {time.strftime('%H:%M:%S')} started: {' '.join(cmd)}", flush=True)
            running.append((name, subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=log)))
        time.sleep(5)
        for item in list(running):
            name, proc = item
            if proc.poll() is not None:
                print(f"[{name}] {time.strftime('%H:%M:%S')} exit {proc.returncode}", flush=True)
                running.remove(item)


def val_files() -> tuple[list[str], list[str]]:
    """V's two parts: the ``cmp_facade_val`` files and the ImageNet hold-out files."""
    from keras_pggan.data.pipeline import resolve_sources

    cmp_files, _ = resolve_sources([os.path.join(REPO, VAL_LISTS[0])])
    imagenet, _ = resolve_sources([os.path.join(REPO, VAL_LISTS[1])])
    return cmp_files, imagenet


def _mean_hole_l1(scores: dict) -> float:
    return sum(s["hole_l1"] for s in scores.values()) / len(scores)


def curve(run_dir: str, subset: list[str], every: int, cache: dict) -> list[dict]:
    """V-subset hole L1 (mean of centre and free-form) of the run's checkpoints vs wall time."""
    import glob

    from keras_pggan.evaluation.evaluate import score_methods
    from keras_pggan.training.callbacks import EpochLog

    rows = {r["epoch"]: r for r in EpochLog.read(os.path.join(run_dir, "epochs.jsonl"))}
    path = os.path.join(run_dir, "curve.json")
    done = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            done = {p["epoch"]: p for p in json.load(f)}
    ckpts = sorted(glob.glob(os.path.join(run_dir, "checkpoints", "generator-epoch*.keras")))
    epochs = [int(os.path.basename(c)[len("generator-epoch") : -len(".keras")]) for c in ckpts]
    last = max(epochs) if epochs else 0
    points = []
    for epoch, ckpt in zip(epochs, ckpts):
        if epoch % every and epoch != last and epoch != 1:
            continue
        if epoch not in done:
            scores = score_methods({"m": ckpt}, subset, images=cache)["m"]
            done[epoch] = {
                "epoch": epoch,
                "step": rows[epoch]["step"],
                "wall_s": rows[epoch]["wall_s"],
                "hole_l1": _mean_hole_l1(scores),
                "scores": scores,
            }
            with open(path, "w", encoding="utf-8") as f:
                json.dump(sorted(done.values(), key=lambda p: p["epoch"]), f, indent=1)
        points.append(done[epoch])
    return points


def seconds_per_step(run_dir: str) -> float:
    """Median training seconds per step from the epoch log (validation time included)."""
    import numpy as np

    from keras_pggan.training.callbacks import EpochLog

    rows = EpochLog.read(os.path.join(run_dir, "epochs.jsonl"))
    steps = [b["step"] - a["step"] for a, b in zip(rows, rows[1:])]
    secs = [b["wall_s"] - a["wall_s"] for a, b in zip(rows, rows[1:])]
    return float(np.median([s / n for s, n in zip(secs, steps)])) if steps else float("nan")


BASELINES = {
    "OpenCV Telea": "baseline:telea",
    "OpenCV Navier–Stokes": "baseline:ns",
    "mean fill": "baseline:mean",
}


def score_recipes(out: str, recipes: dict, every: int = 4) -> tuple[dict, dict]:
    """Scores the finished recipes' final generators on V and their checkpoints on the subset.

    Args:
        out: the runs' folder (:func:`run_recipes`).
        recipes: ``{name: (what changes, overrides)}`` (:data:`SETS`); unfinished ones are
            left out.
        every: score every ``every``-th epoch's checkpoint (and the first and last).

    Returns:
        ``(results, baselines)``: per recipe its change, precision, steps, wall time, s/step,
        ``final`` scores per V part and the subset ``curve``; the classical baselines' scores
        per V part.
    """
    from keras_pggan.evaluation.evaluate import score_methods

    cmp_files, imagenet = val_files()
    parts = (("cmp_facade_val", cmp_files), ("imagenet_holdout", imagenet))
    subset = (cmp_files + imagenet)[::3]
    cache: dict = {}
    results = {}
    for name in recipes:
        run_dir = os.path.join(out, name)
        if not os.path.exists(os.path.join(run_dir, "history.json")):
            print(f"[{name}] not finished; left out")
            continue
        print(f"[{name}] scoring", flush=True)
        with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
        final_model = {"m": os.path.join(run_dir, "generator.keras")}
        final = {
            part: score_methods(final_model, files, images=cache)["m"] for part, files in parts
        }
        points = curve(run_dir, subset, every, cache)
        results[name] = {
            "what": recipes[name][0],
            "precision": cfg["train"]["precision"],
            "steps": points[-1]["step"] if points else 0,
            "wall_s": points[-1]["wall_s"] if points else 0,
            "s_per_step": seconds_per_step(run_dir),
            "final": final,
            "curve": points,
        }
    baselines = {part: score_methods(BASELINES, files, images=cache) for part, files in parts}
    return results, baselines


def write_report(doc: str, results: dict, baselines: dict, **text) -> str:
    """Writes the curve, ``results.json`` (in ``<doc dir>/training_recipe/``) and the document.

    Args:
        doc: the document's path.
        results, baselines: :func:`score_recipes`.
        **text: :func:`render`'s keyword arguments.

    Returns:
        The curve's path.
    """
    from keras_pggan.io_utils import write_text_atomic
    from keras_pggan.reports.plotting import line_plot

    figures = os.path.join(os.path.dirname(doc), "training_recipe")
    os.makedirs(figures, exist_ok=True)
    png = line_plot(
        [
            (n, [p["wall_s"] / 60 for p in r["curve"]], [p["hole_l1"] for p in r["curve"]])
            for n, r in results.items()
        ],
        os.path.join(figures, "v_hole_l1.png"),
        "V subset (46 photos, 256²): hole L1 %, mean of centre-128 and free-form",
        "wall time (min)",
        "hole L1 %",
    )
    with open(os.path.join(figures, "results.json"), "w", encoding="utf-8") as f:
        json.dump({"recipes": results, "baselines": baselines}, f, indent=1)
    rel = os.path.relpath(png, os.path.dirname(doc))
    write_text_atomic(doc, render(results, baselines, rel, **text))
    return png


def rerender(doc: str, **text) -> None:
    """Rewrites the document from its ``results.json`` (no scoring); see :func:`render`."""
    from keras_pggan.io_utils import write_text_atomic

    figures = os.path.join(os.path.dirname(doc), "training_recipe")
    with open(os.path.join(figures, "results.json"), encoding="utf-8") as f:
        data = json.load(f)
    png = "training_recipe/v_hole_l1.png"
    write_text_atomic(doc, render(data["recipes"], data["baselines"], png, **text))


def render(
    results: dict,
    baselines: dict,
    png: str,
    *,
    minutes_label: str = "20 minutes of wall time",
    parallel: int = 2,
    verdict: tuple[str, ...] = (),
) -> str:
    """The document: the recipes' table, the classical baselines, the curve and the verdict.

    Args:
        results, baselines: :func:`score_recipes`.
        png: the curve, relative to the document.
        minutes_label: how long each recipe trained, in words.
        parallel: how many trained at a time.
        verdict: the verdict's lines (none: no verdict section).
    """
    lines = [
        "# Training recipe: equal wall time",
        "",
        f"Each recipe trained {minutes_label} from seed 0 on the fixed train split "
        "(`scripts/configs/splits/train.txt`, 2,330 photos; V never trained on), "
        f"{parallel} at a time on this machine's 2 cores (one thread each), then was scored "
        "on V at 256² with the fixed seeded mask sets. V = `cmp_facade_val` (37) + every 10th "
        "ImageNet sample (100). Made by `scripts/training_recipe.py` (commands in its docstring).",
        "",
        "| recipe | change vs base | precision | steps | s/step | V-cmp centre PSNR / SSIM / "
        "hole L1 % | V-ImageNet centre PSNR / SSIM / hole L1 % | V-cmp free-form PSNR / hole L1 % "
        "| V-ImageNet free-form PSNR / hole L1 % |",
        "|---|---|---|---:|---:|---|---|---|---|",
    ]

    def cell(s, full=True):
        if full:
            return f"{s['psnr']:.2f} / {s['ssim']:.4f} / {s['hole_l1']:.2f}"
        return f"{s['psnr']:.2f} / {s['hole_l1']:.2f}"

    for name, r in results.items():
        f = r["final"]
        lines.append(
            f"| {name} | {r['what']} | {r['precision']} | {r['steps']} | {r['s_per_step']:.2f} | "
            f"{cell(f['cmp_facade_val']['center'])} | {cell(f['imagenet_holdout']['center'])} | "
            f"{cell(f['cmp_facade_val']['freeform'], False)} | "
            f"{cell(f['imagenet_holdout']['freeform'], False)} |"
        )
    for label in baselines["cmp_facade_val"]:
        c, i = baselines["cmp_facade_val"][label], baselines["imagenet_holdout"][label]
        lines.append(
            f"| {label} | – | – | – | – | {cell(c['center'])} | {cell(i['center'])} | "
            f"{cell(c['freeform'], False)} | {cell(i['freeform'], False)} |"
        )
    lines += [
        "",
        "s/step: median of the epoch log's wall time per step (50 steps + 17 validation batches "
        "per epoch), one thread per run.",
        "",
        f"![V hole L1 against wall time]({png})",
        "",
    ]
    if verdict:
        lines += ["## Verdict", "", *verdict, ""]
    return "\n".join(lines)
