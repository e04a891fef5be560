"""Per-image outputs of an evaluation run, one folder per method: the perceptual study's input.

Example:
    python -m keras_pggan.evaluate --compare pggan=runs/a/generator.keras --data photos/val \\
        --mask-kind center --size 256 --out eval/x --save-outputs
    python -m keras_pggan.studio study --images eval/x/outputs

``evaluate --save-outputs`` writes, under ``OUT/outputs/``::

    original/<id>.png     the truth crop (the real photo: a method of the study like any other)
    masked/<id>.png       the masked input (holes white; not part of a study by default)
    <method>/<id>.png     each model's and each baseline's composited output

``<id>`` is the image's index in the run, five digits (``00000``, ...), the same in every folder
and the ``index`` column of ``per_image.csv`` (which names the source file). Method folders take
the run's labels, so a label must be a plain folder name and must not be ``original`` or
``masked``: :func:`prepare` says so before anything is scored.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

import numpy as np

OUTPUTS_DIR = "outputs"
ORIGINAL = "original"
MASKED = "masked"
RESERVED = (ORIGINAL, MASKED)
_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def image_id(index: int) -> str:
    """The file stem of image ``index`` in every method folder (``7`` → ``"00007"``)."""
    return f"{int(index):05d}"


def outputs_dir(out_dir: str) -> str:
    """The folder of the per-method outputs inside an evaluation's ``--out``."""
    return os.path.join(out_dir, OUTPUTS_DIR)


def check_method_names(names: Sequence[str]) -> None:
    """Refuses method labels that cannot be (or would clash with) an output folder.

    Raises:
        ValueError: a label is ``original`` / ``masked``, or not a plain folder name.
    """
    for name in names:
        if name in RESERVED:
            raise ValueError(
                f"--save-outputs: the method label {name!r} is reserved for the "
                f"{'truth crops' if name == ORIGINAL else 'masked inputs'}; rename it "
                "(--compare LABEL=PATH)"
            )
        if not _LABEL_RE.match(name):
            raise ValueError(
                f"--save-outputs: the method label {name!r} cannot be a folder name; use letters, "
                "digits and _ . + - (--compare LABEL=PATH)"
            )


def prepare(out_dir: str, methods: Sequence[str]) -> str:
    """Checks the method labels and creates the output folders.

    Args:
        out_dir: the evaluation's ``--out``.
        methods: the labels of the models and baselines that will be saved.

    Returns:
        The ``outputs`` folder.

    Raises:
        ValueError: see :func:`check_method_names`.
    """
    check_method_names(methods)
    root = outputs_dir(out_dir)
    for name in (*RESERVED, *methods):
        os.makedirs(os.path.join(root, name), exist_ok=True)
    return root


def save_batch(
    out_dir: str,
    indices: Sequence[int],
    truth: np.ndarray,
    masks: np.ndarray,
    outputs: Mapping[str, np.ndarray],
) -> None:
    """Writes one batch: the truth crops, the masked inputs and every method's outputs.

    Args:
        out_dir: the evaluation's ``--out`` (after :func:`prepare`).
        indices: the images' indices in the run (their ids).
        truth: uint8 [B,S,S,3] truth crops.
        masks: [B,S,S] masks (non-zero = hole).
        outputs: ``{method: uint8 [B,S,S,3]}``.

    Example:
        >>> save_batch("eval/x", [0, 1], truth, masks, {"pggan": out})  # doctest: +SKIP
    """
    from keras_pggan.data.imageio import save_image
    from keras_pggan.evaluation.sheets import masked_input

    root = outputs_dir(out_dir)
    for j, index in enumerate(indices):
        name = f"{image_id(index)}.png"
        save_image(truth[j], os.path.join(root, ORIGINAL, name))
        save_image(masked_input(truth[j], masks[j]), os.path.join(root, MASKED, name))
        for method, images in outputs.items():
            save_image(np.asarray(images[j]), os.path.join(root, method, name))
