"""Recipe search at equal wall time: which training settings give the best V after N minutes.

Every recipe is the v2 base config (``scripts/configs/pggan_dres_v2.json``: PGGAN-DRes 32–128,
the fixed train split, 128² crops of 256-scale photos) with one change. Each trains for the same
wall time from the same seed on the same data; all checkpoints are kept and scored on a fixed
subset of V (every 3rd photo of V: 46 of 137) at 256² with the fixed centre-128 and free-form
sets, giving V hole L1 against wall time; the final generator is scored on all of V.

Example (the commands behind docs/training_recipe.md):

    python scripts/training_recipe.py run --out ~/.cache/keras_pggan/runs/recipes --minutes 20
    python scripts/training_recipe.py report --out ~/.cache/keras_pggan/runs/recipes \\
        --doc docs/training_recipe.md
    python scripts/training_recipe.py render --doc docs/training_recipe.md --verdict "..."

``run`` trains ``--parallel`` recipes at a time (default 2 on 2 cores), each with one inter- and
one intra-op thread, so every recipe sees the same machine; a recipe whose run directory holds
``history.json`` is done and skipped. ``report`` writes the markdown table, the curve
(``docs/training_recipe/v_hole_l1.png``) and ``results.json``; an existing document is replaced
only with ``--overwrite``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

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
    "v3-stage256": (
        "256² crops with evaluation-sized holes (centre-128 and free-form)",
        {
            "data": {"image_size": 256, "resize_to": 256},
            "mask": {"spec": "center:0.4,freeform:0.6", "max_hole_ratio": 0.5},
            "train": {"global_batch_size": 4},
        },
    ),
}
SETS = {"v2": RECIPES, "v3": RECIPES_V3}


def recipe_config(name: str, bf16: bool):
    """The ExperimentConfig of recipe ``name`` (precision: bf16 where asked and supported)."""
    from keras_pggan.config import ExperimentConfig

    if name in RECIPES_V3:
        base = ExperimentConfig.load(os.path.join(ROOT, V3_BASE_CONFIG))
        cfg = base.replace(name=f"recipe-{name}", **V3_LR).replace(**RECIPES_V3[name][1])
        return cfg.replace(train={"validation_steps": max(1, 136 // cfg.train.global_batch_size)})
    base = ExperimentConfig.load(os.path.join(ROOT, BASE_CONFIG))
    precision = BF16 if bf16 else "float32"
    cfg = base.replace(name=f"recipe-{name}", train={"precision": precision})
    _, overrides = RECIPES[name]
    cfg = cfg.replace(**overrides)
    # The same 136 validation images (17 batches of 8) whatever the batch size.
    return cfg.replace(train={"validation_steps": max(1, 136 // cfg.train.global_batch_size)})


def run(args) -> int:
    from keras_pggan.cpu import bf16_supported

    bf16 = bf16_supported() and not args.no_bf16
    names = args.only.split(",") if args.only else list(SETS[args.set])
    os.makedirs(args.out, exist_ok=True)
    queue = []
    for name in names:
        run_dir = os.path.join(args.out, name)
        if os.path.exists(os.path.join(run_dir, "history.json")):
            print(f"[{name}] done already: {run_dir}")
            continue
        if os.path.exists(run_dir):
            print(f"error: {run_dir} holds an unfinished run; remove it to rerun", file=sys.stderr)
            return 2
        cfg_path = os.path.join(args.out, f"{name}.json")
        with open(cfg_path, "w", encoding="utf-8") as f:
            f.write(recipe_config(name, bf16).to_json() + "\n")
        queue.append((name, cfg_path, run_dir))
    env = dict(os.environ)
    if args.parallel > 1:
        env.update(KERAS_PGGAN_INTER_OP_THREADS="1", KERAS_PGGAN_INTRA_OP_THREADS="1")
    running: list[tuple[str, subprocess.Popen]] = []
    while queue or running:
        while queue and len(running) < args.parallel:
            name, cfg_path, run_dir = queue.pop(0)
            log = open(os.path.join(args.out, f"{name}.log"), "w", encoding="utf-8")  # noqa: SIM115
            cmd = [
                sys.executable, "-m", "keras_pggan.train", "--config", cfg_path,
                "--run-dir", run_dir, "--time-limit", str(args.minutes),
                "--keep-checkpoints", "0", "--verbose", "2",
            ] + (["--init-from", V3_INIT] if name in RECIPES_V3 else [])  # fmt: skip
            print(f"[{name}] {time.strftime('%H:%M:%S')} started: {' '.join(cmd)}", flush=True)
            running.append((name, subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)))
        time.sleep(5)
        for item in list(running):
            name, proc = item
            if proc.poll() is not None:
                print(f"[{name}] {time.strftime('%H:%M:%S')} exit {proc.returncode}", flush=True)
                running.remove(item)
    return 0


def _val_files() -> tuple[list[str], list[str]]:
    from keras_pggan.data.pipeline import resolve_sources

    cmp_files, _ = resolve_sources([os.path.join(ROOT, VAL_LISTS[0])])
    imagenet, _ = resolve_sources([os.path.join(ROOT, VAL_LISTS[1])])
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


def report(args) -> int:
    from plotting import line_plot

    from keras_pggan.evaluation.evaluate import score_methods

    doc = args.doc
    if os.path.exists(doc) and not args.overwrite:
        print(f"error: {doc} exists; pass --overwrite to replace it", file=sys.stderr)
        return 2
    cmp_files, imagenet = _val_files()
    v_all = cmp_files + imagenet
    subset = v_all[::3]
    cache: dict = {}
    results = {}
    recipes = SETS[args.set]
    for name in recipes:
        run_dir = os.path.join(args.out, name)
        if not os.path.exists(os.path.join(run_dir, "history.json")):
            print(f"[{name}] not finished; left out")
            continue
        print(f"[{name}] scoring", flush=True)
        with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
        final = {}
        for part, files in (("cmp_facade_val", cmp_files), ("imagenet_holdout", imagenet)):
            final[part] = score_methods({"m": os.path.join(run_dir, "generator.keras")}, files,
                                        images=cache)["m"]  # fmt: skip
        points = curve(run_dir, subset, args.every, cache)
        results[name] = {
            "what": recipes[name][0],
            "precision": cfg["train"]["precision"],
            "steps": points[-1]["step"] if points else 0,
            "wall_s": points[-1]["wall_s"] if points else 0,
            "s_per_step": seconds_per_step(run_dir),
            "final": final,
            "curve": points,
        }
    baselines = {}
    for part, files in (("cmp_facade_val", cmp_files), ("imagenet_holdout", imagenet)):
        baselines[part] = score_methods(
            {"OpenCV Telea": "baseline:telea", "OpenCV Navier–Stokes": "baseline:ns",
             "mean fill": "baseline:mean"}, files, images=cache)  # fmt: skip
    figures = os.path.join(os.path.dirname(doc), "training_recipe")
    os.makedirs(figures, exist_ok=True)
    png = line_plot(
        [
            (n, [p["wall_s"] / 60 for p in r["curve"]], [p["hole_l1"] for p in r["curve"]])
            for n, r in results.items()
        ],  # fmt: skip
        os.path.join(figures, "v_hole_l1.png"),
        "V subset (46 photos, 256²): hole L1 %, mean of centre-128 and free-form",
        "wall time (min)",
        "hole L1 %",
    )
    with open(os.path.join(figures, "results.json"), "w", encoding="utf-8") as f:
        json.dump({"recipes": results, "baselines": baselines}, f, indent=1)
    with open(doc, "w", encoding="utf-8") as f:
        f.write(render(results, baselines, os.path.relpath(png, os.path.dirname(doc)), args))
    print(f"wrote {doc}, {png}")
    return 0


def render(results: dict, baselines: dict, png: str, args) -> str:
    lines = [
        "# Training recipe: equal wall time",
        "",
        f"Each recipe trained {args.minutes_label} from seed 0 on the fixed train split "
        "(`scripts/configs/splits/train.txt`, 2,330 photos; V never trained on), "
        f"{args.parallel} at a time on this machine's 2 cores (one thread each), then was scored "
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
    if args.verdict:
        lines += ["## Verdict", "", *args.verdict, ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train the recipes")
    r.add_argument("--out", required=True, help="folder for the runs (outside the work tree)")
    r.add_argument("--minutes", type=float, default=20.0)
    r.add_argument("--parallel", type=int, default=2)
    r.add_argument("--only", default=None, help="comma-separated recipe names")
    r.add_argument("--set", default="v2", choices=sorted(SETS), help="which recipe table")
    r.add_argument("--no-bf16", action="store_true", help="float32 even where bf16 is fast")
    q = sub.add_parser("report", help="score the runs, write the document")
    q.add_argument("--out", required=True)
    q.add_argument("--doc", default=os.path.join(ROOT, "docs", "training_recipe.md"))
    q.add_argument("--every", type=int, default=4, help="score every N-th epoch's checkpoint")
    q.add_argument("--set", default="v2", choices=sorted(SETS), help="which recipe table")
    q.add_argument("--parallel", type=int, default=2, help="as the runs were made (for the doc)")
    q.add_argument("--minutes-label", default="20 minutes of wall time")
    q.add_argument("--verdict", action="append", default=[], help="a verdict line (repeatable)")
    q.add_argument("--overwrite", action="store_true")
    w = sub.add_parser("render", help="rewrite the document from results.json (no scoring)")
    w.add_argument("--doc", default=os.path.join(ROOT, "docs", "training_recipe.md"))
    w.add_argument("--parallel", type=int, default=2)
    w.add_argument("--minutes-label", default="20 minutes of wall time")
    w.add_argument("--verdict", action="append", default=[])
    args = p.parse_args(argv)
    if args.command == "run":
        return run(args)
    if args.command == "render":
        figures = os.path.join(os.path.dirname(args.doc), "training_recipe")
        with open(os.path.join(figures, "results.json"), encoding="utf-8") as f:
            data = json.load(f)
        with open(args.doc, "w", encoding="utf-8") as f:
            f.write(
                render(data["recipes"], data["baselines"], "training_recipe/v_hole_l1.png", args)
            )
        return 0
    return report(args)


if __name__ == "__main__":
    sys.exit(main())
