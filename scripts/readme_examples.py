"""Regenerates the README's before/after images with the shipped model.

Example:
    python scripts/readme_examples.py            # writes docs/images/example_*.png

Uses photos that scikit-image ships (so anyone can re-run it), a fixed free-form mask and a
centred square, and the ``python -m keras_pggan.inpaint`` command with no ``--model`` (the
shipped ``saved_models/pggan_dres.keras``), exactly as a user would run it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "docs", "images")
PHOTOS = (("chelsea.png", "freeform"), ("coffee.png", "center"))


def _square_crop(rgb: np.ndarray, size: int = 256) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    im = Image.fromarray(rgb[top : top + s, left : left + s]).resize((size, size), Image.BILINEAR)
    return np.asarray(im)


def main(argv=None) -> int:
    sys.path.insert(0, ROOT)
    from keras_pggan import masks as masks_lib
    from keras_pggan.data import default_photo_paths
    from keras_pggan.imageio import load_rgb

    os.makedirs(OUT, exist_ok=True)
    paths = {os.path.basename(p): p for p in default_photo_paths()}
    sheet = []
    for i, (name, kind) in enumerate(PHOTOS):
        photo = _square_crop(load_rgb(paths[name]))
        mask = masks_lib.make_eval_masks(kind, 256, 1, seed=7 + i)[0]
        stem = os.path.join(OUT, f"example_{os.path.splitext(name)[0]}")
        Image.fromarray(photo).save(stem + "_input.png")
        Image.fromarray(mask * 255).save(stem + "_mask.png")
        cmd = [
            sys.executable, "-m", "keras_pggan.inpaint", stem + "_input.png",
            "--mask", stem + "_mask.png", "-o", stem + "_output.png", "--overwrite",
        ]  # fmt: skip
        subprocess.run(cmd, check=True, cwd=ROOT)
        out = np.asarray(Image.open(stem + "_output.png").convert("RGB"))
        masked = photo.copy()
        masked[mask.astype(bool)] = 255
        sheet.append(np.concatenate([masked, out, photo], axis=1))
    Image.fromarray(np.concatenate(sheet, axis=0)).save(os.path.join(OUT, "examples.png"))
    print(f"wrote {OUT}/examples.png (rows: masked input | shipped model | original)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
