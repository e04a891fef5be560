"""Where the shipped model's colour goes wrong (issue 35): probes on V, model beside Telea.

Writes ``colour_diagnosis.json`` and ``colour_diagnosis.md`` under ``--out`` (a new temporary
folder unless given; an existing file there is kept unless ``--overwrite``). The report's lines
are the model card's section "Where the colour goes wrong"
(:func:`keras_pggan.reports.colour.diagnosis_lines`); ``--write-card FOLDER --overwrite`` puts
the diagnosis into the card in FOLDER (``model_card.json`` keeps its other entries and
``MODEL_CARD.md`` is re-rendered) without shipping again, measured now or read back with
``--from-json``. The card must be of the diagnosed model (same file, by sha256 where the
diagnosis records it).

Example:
    python -m scripts.colour_diagnosis --model saved_models/pggan_dres.keras \\
        --out docs/colour_diagnosis
    python -m scripts.colour_diagnosis --from-json docs/colour_diagnosis/colour_diagnosis.json \\
        --write-card saved_models/ --overwrite
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import numpy as np

from keras_pggan import cli
from keras_pggan.errors import UserError
from keras_pggan.io_utils import check_writable

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
    result: dict = {"model": model, "model_sha256": colour.file_sha256(model), "parts": {}}
    result["counts"] = {}
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
        result["counts"][part] = len(files)
        print(f"[{part}] done ({len(files)} photos)", flush=True)
    if large:
        files = _parts(None)["imagenet_holdout"][:: max(1, 100 // large)][:large]
        result["large_photo"] = _large_photo_probe(inpainter, files)
        result["large_photos"] = len(files)
    return result


def render(result: dict) -> str:
    """The report ``colour_diagnosis.md``: the same lines as the model card's section."""
    from keras_pggan.reports import colour

    lines = ["# Colour diagnosis (issue 35)", "", *colour.diagnosis_lines(result)]
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m scripts.colour_diagnosis",
        description=__doc__.splitlines()[0],
        formatter_class=cli.HelpFormatter,
    )
    p.add_argument("--model", default=os.path.join("saved_models", "pggan_dres.keras"))
    p.add_argument("--out", default=None, help="folder for the JSON and markdown (default: temp)")
    p.add_argument("--limit", type=int, default=None, help="photos per part (default: all)")
    p.add_argument("--large", type=int, default=8, help="large-photo probes (0: none)")
    p.add_argument(
        "--from-json",
        default=None,
        metavar="FILE",
        help="a colour_diagnosis.json measured before: print its report (or put it into a card "
        "with --write-card) instead of measuring",
    )
    p.add_argument(
        "--write-card",
        default=None,
        metavar="FOLDER",
        help="put the diagnosis into the model card in FOLDER (its model_card.json gets "
        "'colour_diagnosis', MODEL_CARD.md is re-rendered); needs --overwrite",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the JSON and markdown in --out, and rewrite the --write-card card",
    )
    return p


def _run(args: argparse.Namespace) -> None:
    from keras_pggan.reports import colour, model_card

    # Refused before an hour of measuring: a card to amend needs --overwrite, and must be the
    # card of the model about to be diagnosed.
    card = model_card.card_to_amend(args.write_card, args.overwrite) if args.write_card else None
    if args.from_json:
        if args.out:
            raise UserError("--out: not with --from-json (nothing is measured)")
        result = _read_diagnosis(args.from_json)
        if card is None:
            print(render(result), end="")
    else:
        if card is not None:
            identity = {"model": args.model, "model_sha256": colour.file_sha256(args.model)}
            colour.check_diagnosed_model(identity, card, args.write_card)
        result = _measure(args)
    if card is not None:
        colour.check_diagnosed_model(result, card, args.write_card)
        paths = model_card.write_card(args.write_card, {**card, "colour_diagnosis": result})
        print(f"wrote {paths[0]} and {paths[1]}")


def _read_diagnosis(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            result = json.load(f)
        if not isinstance(result.get("parts"), dict) or "model" not in result:
            raise ValueError("no 'model' and 'parts'")
    except (OSError, ValueError, AttributeError) as e:
        raise UserError(f"--from-json: {path} is not a colour diagnosis ({e})") from e
    return result


def _measure(args: argparse.Namespace) -> dict:
    """Runs the diagnosis and writes ``colour_diagnosis.json`` and ``.md`` under ``--out``."""
    out = args.out or tempfile.mkdtemp(prefix="colour_diagnosis_")
    paths = [os.path.join(out, f"colour_diagnosis.{e}") for e in ("json", "md")]
    for path in paths:
        check_writable(path, args.overwrite, "--out")
    result = diagnose(args.model, args.limit, args.large)
    os.makedirs(out, exist_ok=True)
    with open(paths[0], "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    with open(paths[1], "w", encoding="utf-8") as f:
        f.write(render(result))
    print(f"wrote {paths[1]}")
    return result


def main(argv=None) -> int:
    return cli.run(_run, build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
