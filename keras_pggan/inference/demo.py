"""The first thing a new user sees: the shipped model repairing an embedded photo.

``python -m keras_pggan.train`` with no flags trains the ``demo`` preset, a smoke test whose
64-px model is not meant to fill well; it then runs :func:`scratch_demo`, so the first command
of the quick start ends with something worth looking at: a photo that scikit-image ships with
thin scratches (what the shipped model is best at, see the model card) and its repair.

Example:
    >>> paths = scratch_demo("runs/demo/shipped_model_demo")   # doctest: +SKIP
    >>> paths["before_after"]                                 # doctest: +SKIP
    'runs/demo/shipped_model_demo/before_after.png'
"""

from __future__ import annotations

import os

import numpy as np

from keras_pggan.data.imageio import save_image
from keras_pggan.inference.fill import masked_view
from keras_pggan.io_utils import check_writable

SCRATCHES = 7
SCRATCH_WIDTH = 5


def scratch_mask(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Seeded thin scratches (polylines of :data:`SCRATCH_WIDTH` px): bool [H,W], True = hole."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(SCRATCHES):
        points = [tuple(rng.uniform((0, 0), (width, height)))]
        for _ in range(3):
            step = rng.normal(0.0, 0.15 * min(height, width), size=2)
            points.append(tuple(np.clip(np.add(points[-1], step), 0, (width - 1, height - 1))))
        draw.line(points, fill=255, width=SCRATCH_WIDTH, joint="curve")
    return np.asarray(canvas) >= 128


def scratch_demo(out_dir: str, model: str | None = None, overwrite: bool = False) -> dict:
    """Scratches an embedded photo (scikit-image's astronaut, 512²), repairs it, saves both.

    Args:
        out_dir: folder for ``scratched.png``, ``mask.png``, ``repaired.png`` and
            ``before_after.png`` (created; existing files only with ``overwrite``).
        model: a model path or shipped model's name (default: the shipped ``pggan_dres``).
        overwrite: replace files a previous demo wrote.

    Returns:
        ``{"scratched", "mask", "repaired", "before_after": paths, "hole_pixels": int}``.

    Raises:
        FileNotFoundError: no shipped model (a package installed without ``saved_models/``).
    """
    import skimage.data

    from keras_pggan.inference.inpainter import Inpainter
    from keras_pggan.models.shipped import DEFAULT, resolve

    photo = skimage.data.astronaut()
    holes = scratch_mask(*photo.shape[:2])
    paths = {
        k: os.path.join(out_dir, f"{k}.png")
        for k in ("scratched", "mask", "repaired", "before_after")
    }
    for path in paths.values():
        check_writable(path, overwrite)
    inpainter = Inpainter.from_path(resolve(model or DEFAULT))
    scratched = masked_view(photo, holes)
    repaired = inpainter(photo, holes)
    os.makedirs(out_dir, exist_ok=True)
    save_image(scratched, paths["scratched"])
    save_image((holes * 255).astype(np.uint8), paths["mask"])
    save_image(repaired, paths["repaired"])
    gap = np.full((photo.shape[0], 8, 3), 255, np.uint8)
    save_image(np.concatenate([scratched, gap, repaired], axis=1), paths["before_after"])
    return {**paths, "hole_pixels": int(holes.sum())}


def after_demo_lines(run_dir: str, preset: str, python: str = "python") -> list[str]:
    """What ``python -m keras_pggan.train`` prints after the quick start's smoke-test run: what
    that run was, the shipped model repairing a photo (:func:`scratch_demo`, written under
    ``run_dir/shipped_model_demo/``) and the commands to try next.

    Args:
        run_dir: the smoke test's run directory.
        preset: the preset it trained.
        python: how the printed commands start Python (:func:`keras_pggan.cli.python_command`).
    """
    lines = [
        "",
        f"That was a smoke test: the '{preset}' preset trains a 64-px model for a few minutes "
        "to check the install; its fills are not meant to be good.",
    ]
    try:
        demo = scratch_demo(os.path.join(run_dir, "shipped_model_demo"))
    except (FileNotFoundError, ImportError) as e:
        lines.append(f"(no shipped-model demo: {e})")
    else:
        lines.append(
            "The shipped model (saved_models/pggan_dres.keras) repairing a scratched photo "
            f"({demo['hole_pixels']:,} hole pixels): {demo['before_after']}"
        )
    return lines + [
        "Next:",
        f"  {python} -m keras_pggan.inpaint photo.jpg --mask mask.png -o filled.png   # your photo",
        f"  {python} -m keras_pggan.studio   # paint over an object in the browser "
        '(needs pip install -e ".[studio,opencv]")',
        f"  {python} -m keras_pggan.train --preset pggan-dres --data /your/photos "
        "--run-dir runs/mine",
    ]
