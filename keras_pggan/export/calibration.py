"""int8 calibration data for the TFLite builds: real photo crops with generated hole masks.

Example:
    >>> samples = calibration_samples(None, num_samples=4, size=(64, 64))
    >>> samples[0]["image"].shape, samples[0]["mask"].shape
    ((1, 64, 64, 3), (1, 64, 64, 1))

Photos are read with :mod:`keras_pggan.data.imageio` (any colour mode, EXIF orientation applied),
like
every other image the project reads. Samples are keyed by the endpoint's input names.
"""

from __future__ import annotations

import os

import numpy as np

from keras_pggan.data.imageio import as_float01, load_rgb
from keras_pggan.data.pipeline import default_photo_paths, list_image_files
from keras_pggan.signatures import IMAGE, MASK


def _read_rgb01(path: str) -> np.ndarray | None:
    """A photo as float32 [H,W,3] in [0,1], or ``None`` when it cannot be read."""
    try:
        return as_float01(load_rgb(path))
    except (OSError, ValueError):
        return None


def _random_crop(image: np.ndarray, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``h``×``w`` crop after scaling ``image`` so that it covers the crop."""
    from PIL import Image

    scale = max(h / image.shape[0], w / image.shape[1])
    if scale != 1.0:
        size = (max(w, round(image.shape[1] * scale)), max(h, round(image.shape[0] * scale)))
        pil = Image.fromarray(np.round(image * 255).astype(np.uint8)).resize(size, Image.BICUBIC)
        image = np.asarray(pil, np.float32) / 255.0
    y = int(rng.integers(0, image.shape[0] - h + 1))
    x = int(rng.integers(0, image.shape[1] - w + 1))
    return image[y : y + h, x : x + w]


def calibration_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """One generated hole mask [h,w] float32 (1 = hole): centre square, rectangles or strokes."""
    m = np.zeros((h, w), np.float32)
    kind = int(rng.integers(3))
    if kind == 0:
        s = int(rng.integers(max(1, min(h, w) // 4), max(2, min(h, w) // 2 + 1)))
        y, x = (h - s) // 2, (w - s) // 2
        m[y : y + s, x : x + s] = 1.0
    elif kind == 1:
        for _ in range(int(rng.integers(1, 4))):
            rh = int(rng.integers(max(1, h // 8), max(2, h // 2)))
            rw = int(rng.integers(max(1, w // 8), max(2, w // 2)))
            y, x = int(rng.integers(0, h - rh + 1)), int(rng.integers(0, w - rw + 1))
            m[y : y + rh, x : x + rw] = 1.0
    else:
        yy, xx = np.mgrid[:h, :w]
        for _ in range(int(rng.integers(1, 4))):
            y, x = rng.uniform(0, h), rng.uniform(0, w)
            radius = rng.uniform(1, max(2.0, min(h, w) / 16))
            for _ in range(int(rng.integers(4, 10))):
                angle, step = rng.uniform(0, 2 * np.pi), rng.uniform(2, max(3.0, min(h, w) / 6))
                for t in np.linspace(0, 1, 6):
                    cy, cx = y + t * step * np.sin(angle), x + t * step * np.cos(angle)
                    m[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2] = 1.0
                y = float(np.clip(y + step * np.sin(angle), 0, h - 1))
                x = float(np.clip(x + step * np.cos(angle), 0, w - 1))
    return m


def calibration_samples(
    calibration_data=None,
    num_samples: int = 32,
    size: tuple[int, int] = (256, 256),
    seed: int = 0,
) -> list[dict[str, np.ndarray]]:
    """Real photos with generated masks, in the endpoint's input format.

    Args:
        calibration_data: ``None`` (the embedded default photos,
            ``keras_pggan.data.pipeline.default_photo_paths``), a folder of images (searched
            recursively), a sequence of image paths, or a sequence of [H,W,3] arrays (uint8, or
            float in [0,1]).
        num_samples: samples to return; photos are reused with different crops and masks.
        size: ``(H, W)`` of the crops.
        seed: seeds crops and masks.

    Returns:
        A list of ``{"image": [1,H,W,3] float32, "mask": [1,H,W,1] float32}`` (the keys are
        :data:`keras_pggan.signatures.IMAGE` and ``MASK``).

    Raises:
        ValueError: no readable image was found.
    """
    if calibration_data is None:
        sources, where = default_photo_paths(), "the default photos"
    elif isinstance(calibration_data, (str, os.PathLike)):
        where = os.fspath(calibration_data)
        if not os.path.isdir(where):
            raise ValueError(f"calibration_data: {where} is not a directory")
        sources = list_image_files(where)
    else:
        sources, where = list(calibration_data), "calibration_data"
    photos = []
    for s in sources:
        if isinstance(s, (str, os.PathLike)):
            img = _read_rgb01(os.fspath(s))
            if img is not None:
                photos.append(img)
        else:
            photos.append(as_float01(s))
    if not photos:
        raise ValueError(f"calibration_data: no readable images in {where}")
    rng = np.random.default_rng(seed)
    h, w = size
    samples = []
    for i in range(num_samples):
        image = _random_crop(photos[i % len(photos)], h, w, rng)
        mask = calibration_mask(rng, h, w)
        samples.append({IMAGE: image[None].astype(np.float32), MASK: mask[None, ..., None]})
    return samples
