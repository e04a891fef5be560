"""Scores recipe runs' checkpoints on all of V with per-photo rows, for paired bootstrap CIs.

Each ``RUN_DIR:EPOCH`` (the moving-average checkpoint ``generator_ema-epochNNN.keras`` when the
run has one) is scored with the card's fixed centre-128 and free-form sets at 256²; rows are
cached in ``--out/<run>-e<epoch>.json`` so a later call only scores what is new. The table gives
each arm's mean PSNR, SSIM, hole chroma error and blotch share, and its difference from
``--reference`` with a 95 % bootstrap interval over V photos.

Example:
    python -m scripts.score_levers --out ~/.cache/keras_pggan/runs/recipes_v3/scores \\
        --reference v3-base ~/.cache/keras_pggan/runs/recipes_v3/v3-base:2 \\
        ~/.cache/keras_pggan/runs/recipes_v3/v3-ycbcr:2
"""

from __future__ import annotations

import argparse
import json
import os
import sys

KEYS = ("psnr", "ssim", "hole_l1", "hole_chroma", "hole_blotch")
PARTS = {
    "cmp_facade_val": os.path.join("scripts", "configs", "splits", "val_cmp_facade.txt"),
    "imagenet_holdout": os.path.join("scripts", "configs", "splits", "val_imagenet.txt"),
}


def _model_file(run_dir: str, epoch: int | None) -> str:
    from keras_pggan.models import saved

    if epoch is None:
        return saved.newest_generator(run_dir, ema=True) or run_dir
    for stem in (saved.GENERATOR_EMA, saved.GENERATOR):
        path = os.path.join(run_dir, saved.CHECKPOINTS_DIR, saved.checkpoint_name(stem, epoch))
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"{run_dir}: no checkpoint of epoch {epoch}")


def score(model: str, cache: dict) -> dict:
    """Per-photo metric rows ``{part: {kind: [row, ...]}}`` of ``model`` (a file or baseline:)."""
    import numpy as np

    from keras_pggan.data.masks import make_eval_masks
    from keras_pggan.data.pipeline import resolve_sources
    from keras_pggan.evaluation import metrics as M
    from keras_pggan.evaluation.classical import get_baseline
    from keras_pggan.evaluation.evaluate import load_eval_image
    from keras_pggan.inference.inpainter import Inpainter

    if model.startswith("baseline:"):
        fn = get_baseline(model.split(":", 1)[1])
    else:
        fn = Inpainter.from_path(model)
    out: dict = {}
    for part, listing in PARTS.items():
        files = resolve_sources([listing])[0]
        for f in files:
            if f not in cache:
                cache[f] = load_eval_image(f, 256)
        out[part] = {}
        for kind in ("center", "freeform"):
            masks = make_eval_masks(kind, 256, len(files), 0)
            rows = []
            for f, mask in zip(files, masks):
                holes = np.asarray(mask).astype(bool)
                row = M.image_metrics(fn(cache[f], holes), cache[f], holes)
                rows.append({k: row[k] for k in KEYS})
            out[part][kind] = rows
    return out


def table(results: dict, reference: str) -> str:
    import numpy as np

    from keras_pggan.reports.colour import bootstrap_difference

    lines = [
        "| arm | part, holes | PSNR | SSIM | chroma | blotch % | ΔPSNR vs ref (95 % CI) | "
        "Δchroma vs ref (95 % CI) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ref = results.get(reference)
    for name, res in results.items():
        for part, kinds in res["rows"].items():
            for kind, rows in kinds.items():
                mean = {k: float(np.nanmean([r[k] for r in rows])) for k in KEYS}
                cells = ["", ""]
                if ref is not None and name != reference:
                    base = ref["rows"][part][kind]
                    for i, k in enumerate(("psnr", "hole_chroma")):
                        d, lo, hi = bootstrap_difference([r[k] for r in rows], [r[k] for r in base])
                        cells[i] = f"{d:+.3f} ({lo:+.3f}, {hi:+.3f})"
                lines.append(
                    f"| {name} | {part}, {kind} | {mean['psnr']:.2f} | {mean['ssim']:.4f} | "
                    f"{mean['hole_chroma']:.2f} | {mean['hole_blotch']:.1f} | {cells[0]} | "
                    f"{cells[1]} |"
                )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("arms", nargs="+", help="RUN_DIR[:EPOCH], a .keras file or baseline:NAME")
    p.add_argument("--out", required=True, help="folder for the cached rows and table.md")
    p.add_argument("--reference", default=None, help="the arm the differences are taken from")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    cache: dict = {}
    results = {}
    for arm in args.arms:
        if arm.startswith("baseline:") or arm.endswith(".keras"):
            name, run_dir, epoch = os.path.basename(arm), None, None
        else:
            run_dir, _, epoch = arm.partition(":")
            name = os.path.basename(os.path.normpath(run_dir)) + (f":{epoch}" if epoch else "")
        path = os.path.join(args.out, name.replace(":", "-e") + ".json")
        if os.path.exists(path):  # scored before: the checkpoint itself may be gone by now
            with open(path, encoding="utf-8") as f:
                results[name] = json.load(f)
            continue
        model = arm if run_dir is None else _model_file(run_dir, int(epoch) if epoch else None)
        print(f"[{name}] scoring {model}", flush=True)
        results[name] = {"model": model, "rows": score(model, cache)}
        with open(path, "w", encoding="utf-8") as f:
            json.dump(results[name], f)
    text = table(results, args.reference or next(iter(results)))
    with open(os.path.join(args.out, "table.md"), "w", encoding="utf-8") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
