"""Synthetic batches for tests, importable from child processes (``python -c`` scripts).

``tests/conftest.py`` re-exports :func:`make_batch`; a test's child process imports it from here
rather than from ``tests/`` (which is not on its import path).

Example:
    >>> from keras_pggan.testing.fixtures import make_batch
    >>> batch = make_batch(n=2, size=32)
    >>> batch["image"].shape, batch["mask"].shape
    ((2, 32, 32, 3), (2, 32, 32, 1))
"""

from __future__ import annotations

import numpy as np


def make_batch(n: int = 4, size: int = 32, seed: int = 0, width: int | None = None) -> dict:
    """A batch of the data contract with random images and rectangle holes.

    Args:
        n: batch size.
        size: height (and width unless ``width``).
        seed: seeds the images and the holes.
        width: a width other than ``size``.

    Returns:
        ``{"image": float32 [n,H,W,3] in [0, 1], "mask": float32 [n,H,W,1], 1 = hole}``.
    """
    rng = np.random.default_rng(seed)
    h, w = size, width or size
    images = rng.uniform(size=(n, h, w, 3)).astype("float32")
    masks = np.zeros((n, h, w, 1), "float32")
    for i in range(n):
        y, x = rng.integers(0, h // 2), rng.integers(0, w // 2)
        masks[i, y : y + h // 3, x : x + w // 3] = 1.0
    return {"image": images, "mask": masks}
