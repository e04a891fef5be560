"""Where the shipped model's colour goes wrong (issue 35): probes on V, model beside Telea.

Writes ``colour_diagnosis.json`` and ``colour_diagnosis.md`` under ``--out`` (a new temporary
folder unless given; an existing file there is kept unless ``--overwrite``).

Example:
    python -m scripts.colour_diagnosis --model saved_models/pggan_dres.keras \\
        --out docs/colour_diagnosis
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import numpy as np

VAL_LISTS = {
    "cmp_facade_val": os.path.join("scripts", "configs", "splits", "val_cmp_facade.txt"),
    "imagenet_holdout": os.path.join("scripts", "configs", "splits", "val_imagenet.txt"),
}


def _parts(limit: int | None):
    from keras_pggan.data.pipeline import resolve_sources

    return {p: resolve_sources([f])[0][:limit] for p, f in VAL_LISTS.items()}


def _large_photo_probe(inpainter, files, long_side=3000, small=768):
    """The working-size path at 3000 px against the same photo inpainted whole at 768 px."""
    from keras_pggan.data.imageio import load_rgb
    from keras_pggan.evaluation import metrics as M
    from keras_pggan.inference.inpainter import Inpainter
    from keras_pggan.reports import colour

    whole = Inpainter(inpainter.backend, working_size=None)
    rows = {"tiled_3000_at_512": [], "whole_768": []}
    for f in files:
        image = load_rgb(f)
        h, w = image.shape[:2]
        s = long_side / max(h, w)
        big = colour.resize_uint8(image, (round(h * s), round(w * s)))
        bh, bw = big.shape[:2]
        yy, xx = np.mgrid[:bh, :bw]
        r = 0.18 * min(bh, bw)  # an object-sized hole: a centred ellipse, ~10 % of the photo
        holes = ((yy - bh / 2) / r) ** 2 + ((xx - bw / 2) / (1.3 * r)) ** 2 <= 1.0
        t = small / max(bh, bw)
        size = (round(bh * t), round(bw * t))
        truth_small = colour.resize_uint8(big, size)
        holes_small = colour.resize_uint8(holes, size)
        tiled = colour.resize_uint8(inpainter(big, holes), size)
        direct = whole(truth_small, holes_small)
        for key, out in (("tiled_3000_at_512", tiled), ("whole_768", direct)):
            rows[key].append(M.image_metrics(out, truth_small, holes_small))
    return {k: colour.mean_rows(v) for k, v in rows.items()}


def diagnose(model: str, limit: int | None, large: int) -> dict:
    from keras_pggan.data.masks import make_eval_masks
    from keras_pggan.evaluation.classical import get_baseline
    from keras_pggan.evaluation.evaluate import load_eval_image
    from keras_pggan.inference.inpainter import Inpainter
    from keras_pggan.reports import colour

    inpainter = Inpainter.from_path(model)
    fills = {"model": inpainter, "telea": get_baseline("telea")}
    result: dict = {"model": model, "parts": {}}
    for part, files in _parts(limit).items():
        imgs256 = [load_eval_image(f, 256) for f in files]
        imgs128 = [colour.resize_uint8(x, (128, 128)) for x in imgs256]
        entry = {}
        for kind in ("center", "freeform"):
            masks = make_eval_masks(kind, 256, len(files), 0)
            rows = colour.per_image_rows(fills, imgs256, masks)
            entry[kind] = {k: colour.mean_rows(v) for k, v in rows.items()}
            entry[kind]["chroma_gap_ci"] = colour.bootstrap_difference(
                [r["hole_chroma"] for r in rows["model"]], [r["hole_chroma"] for r in rows["telea"]]
            )
            entry[kind]["by_distance"] = colour.chroma_by_distance(fills, imgs256, masks)
        # The scale gap: the same photos and relative hole at the training scale (128², 64 hole)
        # and a 64-px hole at the evaluation scale (256²).
        m128 = make_eval_masks("center", 128, len(files), 0)
        m64 = np.zeros((len(files), 256, 256), bool)
        m64[:, 96:160, 96:160] = True
        for key, imgs, masks in (
            ("center64_at_128", imgs128, m128),
            ("center64_at_256", imgs256, m64),
        ):
            rows = colour.per_image_rows(fills, imgs, masks)
            entry[key] = {k: colour.mean_rows(v) for k, v in rows.items() if k in fills}
        result["parts"][part] = entry
        print(f"[{part}] done ({len(files)} photos)", flush=True)
    if large:
        result["large_photo"] = _large_photo_probe(
            inpainter, _parts(None)["imagenet_holdout"][:: max(1, 100 // large)][:large]
        )
    return result


def render(result: dict) -> str:
    lines = [
        "# Colour diagnosis (issue 35)",
        "",
        f"Model: `{result['model']}`. V at 256², the card's seeded masks; Telea = OpenCV Telea. "
        "Chroma: mean |ΔCb|,|ΔCr| over hole pixels (BT.601, 8-bit levels); blotch: % of hole "
        "pixels whose chroma is > 12 levels off. Made by `python -m scripts.colour_diagnosis`.",
        "",
        "| part, holes | model PSNR / chroma / blotch | Telea PSNR / chroma / blotch | model "
        "chroma − Telea (95 % CI) | model, chroma blurred σ=8 | model luma + Telea chroma PSNR |",
        "|---|---|---|---|---|---|",
    ]
    for part, e in result["parts"].items():
        for kind in ("center", "freeform"):
            r = e[kind]
            m, t, b, s = r["model"], r["telea"], r["blur8"], r.get("swap", {})
            d, lo, hi = r["chroma_gap_ci"]
            lines.append(
                f"| {part}, {kind} | {m['psnr']:.2f} / {m['hole_chroma']:.2f} / "
                f"{m['hole_blotch']:.1f} | {t['psnr']:.2f} / {t['hole_chroma']:.2f} / "
                f"{t['hole_blotch']:.1f} | {d:+.2f} ({lo:+.2f}, {hi:+.2f}) | "
                f"{b['hole_chroma']:.2f} | {s.get('psnr', float('nan')):.2f} |"
            )
    lines += ["", "Chroma error by distance from the hole's edge (px), centre-128 holes:", ""]
    bands = next(iter(result["parts"].values()))["center"]["by_distance"]["model"]
    lines.append("| part | fill | " + " | ".join(b["band"] for b in bands) + " |")
    lines.append("|---|---|" + "---:|" * len(bands))
    for part, e in result["parts"].items():
        for label, row in e["center"]["by_distance"].items():
            cells = " | ".join(f"{b['chroma']:.2f}" for b in row)
            lines.append(f"| {part} | {label} | {cells} |")
    lines += ["", "Scale: centre holes at the training scale and at the evaluation scale:", ""]
    lines.append("| part | holes | model PSNR / chroma | Telea PSNR / chroma |")
    lines.append("|---|---|---|---|")
    for part, e in result["parts"].items():
        for key in ("center64_at_128", "center64_at_256"):
            m, t = e[key]["model"], e[key]["telea"]
            lines.append(
                f"| {part} | {key} | {m['psnr']:.2f} / {m['hole_chroma']:.2f} | "
                f"{t['psnr']:.2f} / {t['hole_chroma']:.2f} |"
            )
    if "large_photo" in result:
        lp = result["large_photo"]
        lines += ["", "Large photos (ImageNet V photos scaled to 3000 px, a centred ellipse):", ""]
        lines.append("| path | PSNR at 768 | chroma | blotch |")
        lines.append("|---|---|---|---|")
        for k, v in lp.items():
            lines.append(
                f"| {k} | {v['psnr']:.2f} | {v['hole_chroma']:.2f} | {v['hole_blotch']:.1f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=os.path.join("saved_models", "pggan_dres.keras"))
    p.add_argument("--out", default=None, help="folder for the JSON and markdown (default: temp)")
    p.add_argument("--limit", type=int, default=None, help="photos per part (default: all)")
    p.add_argument("--large", type=int, default=8, help="large-photo probes (0: none)")
    p.add_argument("--overwrite", action="store_true")
    args = p.parse_args(argv)
    out = args.out or tempfile.mkdtemp(prefix="colour_diagnosis_")
    paths = [os.path.join(out, f"colour_diagnosis.{e}") for e in ("json", "md")]
    existing = [q for q in paths if os.path.exists(q)]
    if existing and not args.overwrite:
        print(f"error: {existing[0]} exists; pass --overwrite to replace it", file=sys.stderr)
        return 2
    result = diagnose(args.model, args.limit, args.large)
    os.makedirs(out, exist_ok=True)
    with open(paths[0], "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    with open(paths[1], "w", encoding="utf-8") as f:
        f.write(render(result))
    print(f"wrote {paths[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
