"""Turns a training run into the shipped model: SavedModel, TFLite builds, .keras, MODEL_CARD.md.

Example (the command used for the shipped model; see saved_models/MODEL_CARD.md):

    python scripts/ship_model.py --run-dir /work/runs/pggan_dres_shipped \\
        --val-data ../shared/data/train/cmp_facade_val

Writes into ``--out`` (default ``saved_models/``):

* ``<name>/1/``            SavedModel with ``serving_default`` and ``serving_bytes``;
* ``<name>-fp32.tflite``, ``<name>-int8.tflite``  TFLite builds (int8 calibrated on the embedded
  photos unless ``--calibration-data``);
* ``<name>.keras``         the Keras generator;
* ``MODEL_CARD.md``        data, steps, time, command, limits and the evaluation table, regenerated
  from ``model_card.json`` (also written) by :func:`render_model_card`.

The evaluation uses ``keras_pggan.evaluate`` on the held-out folder with two fixed, seeded mask sets
(centred 128² square at 256², and free-form at 256²) and scores Telea, Navier–Stokes and mean fill
on the same masks.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

EVAL_SETS = (("center", "centred 128² square"), ("freeform", "free-form strokes"))


def evaluate_shipped(
    model_paths: dict[str, str],
    val_data: str,
    work_dir: str,
    size: int = 256,
    count: int | None = None,
    seed: int = 0,
    baselines: tuple[str, ...] = ("telea", "ns", "mean"),
) -> dict:
    """Scores the models and the baselines on both fixed mask sets; returns ``{kind: metrics}``."""
    from keras_pggan import masks as masks_lib
    from keras_pggan.data import list_image_files
    from keras_pggan.evaluate import EvalConfig, run_evaluation

    n = count or len(list_image_files(val_data))
    results = {}
    for kind, _ in EVAL_SETS:
        mask_dir = os.path.join(work_dir, f"masks_{kind}{size}")
        if not os.path.exists(os.path.join(mask_dir, "manifest.json")):
            masks_lib.make_eval_set(kind, size, n, seed, mask_dir)
        cfg = EvalConfig(
            models=tuple(model_paths.items()),
            data_dir=val_data,
            out_dir=os.path.join(work_dir, f"eval_{kind}"),
            size=size,
            masks_dir=mask_dir,
            seed=seed,
            count=count,
            baselines=baselines,
            num_sheets=4,
        )
        results[kind] = run_evaluation(cfg, progress=False)
    return results


def regression_metrics(model_path: str, count: int = 4, size: int = 256) -> dict:
    """PSNR/SSIM/L1 of ``model_path`` on the first embedded photos with fixed masks.

    The embedded photos ship with scikit-image, so ``tests/shipped_model_test.py`` recomputes
    these numbers on any machine and compares them with ``model_card.json``: the card cannot
    drift from the shipped files unnoticed.
    """
    import numpy as np

    from keras_pggan import masks as masks_lib
    from keras_pggan import metrics as M
    from keras_pggan.data import default_photo_paths
    from keras_pggan.evaluate import load_eval_image
    from keras_pggan.inpaint import Inpainter

    inpainter = Inpainter.from_path(model_path)
    out = {}
    for kind, _ in EVAL_SETS:
        masks = masks_lib.make_eval_masks(kind, size, count, seed=0)
        rows = []
        for path, mask in zip(default_photo_paths()[:count], masks):
            truth = load_eval_image(path, size)
            pred = inpainter(truth, mask.astype(bool))
            rows.append(M.image_metrics(pred, truth, mask))
        out[kind] = {k: float(np.mean([r[k] for r in rows])) for k in ("psnr", "ssim", "l1")}
    return out


def _row(name: str, overall: dict) -> list[str]:
    return [
        name,
        f"{overall['psnr']:.2f}",
        f"{overall['ssim']:.4f}",
        f"{overall['l1']:.2f}",
        f"{overall['hole_psnr']:.2f}",
        f"{overall['hole_l1']:.2f}",
    ]


def render_model_card(card: dict) -> str:
    """The markdown model card from the ``model_card.json`` dict."""
    t = card["training"]
    lines = [
        f"# Model card: `{card['name']}` (PGGAN-DRes)",
        "",
        "Image inpainting generator, PGGAN-DRes (Demir & Unal 2018) as built by keras_pggan "
        "(layer widths and counts are our defaults; the paper's tables were not available). "
        f"This build: {card.get('architecture', 'see config.json')}.",
        "",
        "## Files",
        "",
        "| file | what | size |",
        "|---|---|---:|",
    ]
    for f in card["files"]:
        lines.append(f"| `{f['path']}` | {f['what']} | {f['bytes'] / 1e6:.1f} MB |")
    lines += [
        "",
        "## Training",
        "",
        f"- Data: {', '.join(t['data'])} (held out: {t['val_data']}).",
        f"- Crops {t['image_size']}² of photos resized to a {t['resize_to']}-px short side; "
        f"masks `{t['mask']}`; global batch {t['batch_size']}; seed {t['seed']}.",
        f"- Steps: {t['steps']} ({t['epochs']} epochs × {t['steps_per_epoch']}), wall time "
        f"{t['hours']:.2f} h on {t['machine']}.",
        f"- Losses: λ1·L1 + λ2·adv(G-GAN) + λ3·adv(PatchGAN) with λ = {t['loss_weights']} "
        "(the paper's weights), non-saturating BCE, Adam(2e-4, β1 = 0.5).",
        "- Final epoch: " + ", ".join(f"{k} {v}" for k, v in sorted(t["last_epoch"].items())) + ".",
        "",
        "Command:",
        "",
        "```bash",
        t["command"],
        "```",
        "",
        "## Evaluation",
        "",
        f"Held-out `{card['evaluation']['data']}` ({card['evaluation']['images']} photos), "
        f"{card['evaluation']['size']}² centre crops, fixed seeded mask sets (seed "
        f"{card['evaluation']['seed']}); composited outputs; PSNR/L1 over the whole image and "
        "over the hole only. Produced by `scripts/ship_model.py` with `keras_pggan.evaluate`.",
        "",
    ]
    for kind, title in EVAL_SETS:
        rows = card["evaluation"]["tables"].get(kind)
        if not rows:
            continue
        lines += [
            f"### {title}",
            "",
            "| method | PSNR (dB) | SSIM | L1 (%) | hole PSNR (dB) | hole L1 (%) |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines.append("")
    lines += ["## Verdict and limits", ""] + [f"- {x}" for x in card["limits"]] + [""]
    return "\n".join(lines)


def card_hours(meta: dict) -> str:
    hours = meta.get("hours")
    return f"{hours:.2f} h" if hours else "an unrecorded time"


def _verdict(tables: dict, name: str) -> list[str]:
    out = []
    telea = "OpenCV Telea"
    for kind, title in EVAL_SETS:
        psnr = {r[0]: float(r[1]) for r in tables.get(kind, [])}
        if name in psnr and telea in psnr:
            gap = psnr[name] - psnr[telea]
            goal = "meets" if gap >= 1.0 else "does NOT meet"
            out.append(
                f"{title}: PSNR {psnr[name]:.2f} dB vs Telea {psnr[telea]:.2f} dB "
                f"({gap:+.2f} dB)" + (f": {goal} the ≥ 1 dB goal." if kind == "center" else ".")
            )
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run-dir", required=True)
    p.add_argument("--val-data", required=True)
    p.add_argument("--out", default=os.path.join(ROOT, "saved_models"))
    p.add_argument("--name", default="pggan_dres")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--count", type=int, default=None)
    p.add_argument("--calibration-data", default=None)
    p.add_argument("--work-dir", default=None, help="evaluation outputs (default: RUN/ship)")
    p.add_argument("--command", default=None, help="the training command, for the card")
    p.add_argument("--skip-export", action="store_true", help="re-evaluate only")
    p.add_argument(
        "--checkpoint",
        default=None,
        help="generator file to ship (default: RUN/generator.keras; e.g. the latest "
        "RUN/checkpoints/generator-epochXXX.keras of a stopped run)",
    )
    args = p.parse_args(argv)

    from keras_pggan.export import export_saved_model
    from keras_pggan.tflite import export_tflite

    run = args.run_dir
    gen = args.checkpoint or os.path.join(run, "generator.keras")
    if not os.path.exists(gen):
        print(f"error: {gen}: no generator (is the run finished?)", file=sys.stderr)
        return 2
    out = args.out
    os.makedirs(out, exist_ok=True)
    work = args.work_dir or os.path.join(run, "ship")
    keras_path = os.path.join(out, f"{args.name}.keras")
    sm_base = os.path.join(out, args.name)
    tfl = {m: os.path.join(out, f"{args.name}-{m}.tflite") for m in ("fp32", "int8")}
    if not args.skip_export:
        shutil.copyfile(gen, keras_path)
        export_saved_model(keras_path, sm_base, version=1, overwrite=True)
        for mode, path in tfl.items():
            kw = {"calibration_data": args.calibration_data} if mode == "int8" else {}
            export_tflite(keras_path, path, mode=mode, **kw)

    models = {
        args.name: keras_path,
        f"{args.name}-int8": tfl["int8"],
    }
    results = evaluate_shipped(models, args.val_data, work, args.size, args.count)
    tables = {}
    from keras_pggan.evaluate import BASELINE_TITLES

    for kind, res in results.items():
        tables[kind] = [
            _row(BASELINE_TITLES.get(name, name) if m["kind"] != "model" else name, m["overall"])
            for name, m in res["methods"].items()
        ]

    cfg = json.load(open(os.path.join(run, "config.json"), encoding="utf-8"))
    hist_path = os.path.join(run, "history.json")
    hist = json.load(open(hist_path, encoding="utf-8")) if os.path.exists(hist_path) else {}
    meta_path = os.path.join(run, "ship_meta.json")
    meta = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
    epochs = len(hist.get("g_loss", [])) or int(meta.get("epochs", 0))
    tc, dc = cfg["train"], cfg["data"]
    files = []
    for path, what in [
        (os.path.join(sm_base, "1"), "SavedModel (TF Serving): serving_default, serving_bytes"),
        (tfl["fp32"], "TFLite fp32"),
        (tfl["int8"], "TFLite int8 (full integer, float I/O)"),
        (keras_path, "Keras generator"),
    ]:
        size = (
            sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
            if os.path.isdir(path)
            else os.path.getsize(path)
        )
        files.append({"path": os.path.relpath(path, out), "what": what, "bytes": size})
    gc = cfg["generator"]
    card = {
        "name": args.name,
        "architecture": f"{gc['num_downsamplings']} down-samplings, residual blocks with "
        f"dilation rates {tuple(gc['dilation_rates'])}, {gc['base_filters']}–"
        f"{gc['max_filters']} filters (narrower than the `pggan-dres` preset's 64–256 to fit "
        "the 60 MB repository budget and two CPU cores)",
        "files": files,
        "training": {
            "data": list(dc["train"]),
            "val_data": ", ".join(dc["val"]) or "none",
            "image_size": dc["image_size"],
            "resize_to": dc.get("resize_to") or dc["image_size"],
            "mask": cfg["mask"]["spec"],
            "batch_size": tc["global_batch_size"],
            "seed": tc["seed"],
            "steps": epochs * tc["steps_per_epoch"],
            "epochs": epochs,
            "steps_per_epoch": tc["steps_per_epoch"],
            "hours": meta.get("hours", float("nan")),
            "machine": meta.get("machine", "2 CPU cores"),
            "loss_weights": [
                cfg["loss"]["l1_weight"],
                cfg["loss"]["global_adv_weight"],
                cfg["loss"]["patch_adv_weight"],
            ],
            "last_epoch": meta.get("last_epoch")
            or {k: round(v[-1], 4) for k, v in hist.items() if v},
            "command": args.command or meta.get("command", "(see the run's config.json)"),
        },
        "evaluation": {
            "data": args.val_data,
            "images": next(iter(results.values()))["images"]["count"],
            "size": args.size,
            "seed": 0,
            "tables": tables,
        },
        "limits": _verdict(tables, args.name)
        + [
            f"Trained for {card_hours(meta)} on two shared CPU cores "
            f"({epochs * tc['steps_per_epoch']} steps of {tc['global_batch_size']} images): "
            "orders of magnitude less than the paper's training; expect "
            "blurry fills in large holes. Continue it with `--resume` for better results.",
            "Trained on facades and natural scenes at 256-px scale; other content and scales "
            "will do worse. Not for faces or for removing people in consequential settings.",
            "int8 build: see its row; quantisation error adds to the model's.",
        ],
        "regression": {
            "what": "first 4 embedded photos, 256² centre crops, eval masks seed 0",
            "keras": regression_metrics(keras_path),
        },
        "generated": time.strftime("%Y-%m-%d"),
    }
    with open(os.path.join(out, "model_card.json"), "w", encoding="utf-8") as f:
        json.dump(card, f, indent=2)
    with open(os.path.join(out, "MODEL_CARD.md"), "w", encoding="utf-8") as f:
        f.write(render_model_card(card))
    print(render_model_card(card))
    return 0


if __name__ == "__main__":
    sys.exit(main())
