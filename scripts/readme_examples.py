"""Regenerates the README's before/after images with the shipped model.

Example:
    python scripts/readme_examples.py               # into a fresh temporary folder (printed)
    python scripts/readme_examples.py --write-docs  # refresh docs/images/example*.png (tracked)

Uses photos that scikit-image ships (so anyone can re-run it), a fixed free-form mask and a
centred square, and the ``python -m keras_pggan.inpaint`` command with no ``--model`` (the
shipped ``saved_models/pggan_dres.keras``), exactly as a user would run it. Writes into ``--out
DIR`` (existing files only with ``--overwrite``), by default a fresh temporary folder; only
``--write-docs`` (= ``--out docs/images --overwrite``) replaces the images the README shows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "docs", "images")  # the tracked images the README shows
PHOTOS = (("chelsea.png", "freeform"), ("coffee.png", "center"))
SHEET = "examples.png"


def _square_crop(rgb: np.ndarray, size: int = 256) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    im = Image.fromarray(rgb[top : top + s, left : left + s]).resize((size, size), Image.BILINEAR)
    return np.asarray(im)


def output_files(folder: str) -> list[str]:
    """Every file a run writes into ``folder`` (inputs, masks, outputs, the sheet)."""
    stems = [os.path.join(folder, f"example_{os.path.splitext(n)[0]}") for n, _ in PHOTOS]
    parts = ("_input.png", "_mask.png", "_output.png")
    return [stem + part for stem in stems for part in parts] + [os.path.join(folder, SHEET)]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--out", metavar="DIR", help="output folder (default: a fresh temporary folder, printed)"
    )
    p.add_argument(
        "--write-docs",
        action="store_true",
        help="write into the tracked docs/images/, replacing the README's images",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing files in --out")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from keras_pggan.errors import UserError
    from keras_pggan.io_utils import check_writable, docs_or_scratch_folder

    try:
        out, overwrite = docs_or_scratch_folder(
            args.out, args.write_docs, OUT, "readme_examples_", args.overwrite
        )
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        for path in output_files(out):
            check_writable(path, overwrite, "--out")
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    from keras_pggan.data import masks as masks_lib
    from keras_pggan.data.imageio import load_rgb
    from keras_pggan.data.pipeline import default_photo_paths

    os.makedirs(out, exist_ok=True)
    paths = {os.path.basename(p): p for p in default_photo_paths()}
    sheet = []
    for i, (name, kind) in enumerate(PHOTOS):
        photo = _square_crop(load_rgb(paths[name]))
        mask = masks_lib.make_eval_masks(kind, 256, 1, seed=7 + i)[0]
        stem = os.path.join(out, f"example_{os.path.splitext(name)[0]}")
        Image.fromarray(photo).save(stem + "_input.png")
        Image.fromarray(mask * 255).save(stem + "_mask.png")
        # --overwrite: the files were checked above (this run's own output may be replaced).
        cmd = [
            sys.executable, "-m", "keras_pggan.inpaint", stem + "_input.png",
            "--mask", stem + "_mask.png", "-o", stem + "_output.png", "--overwrite",
        ]  # fmt: skip
        subprocess.run(cmd, check=True, cwd=ROOT)
        result = np.asarray(Image.open(stem + "_output.png").convert("RGB"))
        masked = photo.copy()
        masked[mask.astype(bool)] = 255
        sheet.append(np.concatenate([masked, result, photo], axis=1))
    Image.fromarray(np.concatenate(sheet, axis=0)).save(os.path.join(out, SHEET))
    print(f"wrote {os.path.join(out, SHEET)} (rows: masked input | shipped model | original)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
