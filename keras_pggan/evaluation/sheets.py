"""Comparison sheets: labelled rows of tiles (masked input | methods | truth) for reports."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from keras_pggan.inference.fill import masked_view


def _tile(image: np.ndarray, side: int) -> np.ndarray:
    from PIL import Image

    if image.shape[0] == side:
        return image
    return np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.NEAREST))


def comparison_sheet(columns: Sequence[tuple[str, np.ndarray]], min_side: int = 128) -> np.ndarray:
    """One labelled row of tiles, e.g. masked input | models | baselines | truth.

    Args:
        columns: ``(label, uint8 [S,S,3])`` pairs; small tiles are enlarged (nearest) to
            ``min_side``.

    Returns:
        uint8 [H, W, 3] sheet.
    """
    from PIL import Image, ImageDraw

    side = max(min_side, columns[0][1].shape[0])
    gap, header = 4, 14
    sheet = Image.new("RGB", (len(columns) * (side + gap) + gap, side + header + gap), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, image) in enumerate(columns):
        x = gap + i * (side + gap)
        text = label
        while text and draw.textlength(text) > side:
            text = text[:-1]
        draw.text((x, 1), text, fill="black")
        sheet.paste(Image.fromarray(_tile(image, side)), (x, header))
    return np.asarray(sheet)


def masked_input(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The network's view for a sheet: holes painted white (any mask value above 0 is a hole).

    :func:`keras_pggan.inference.fill.masked_view`, the sample grids' masked column too.
    """
    return masked_view(image, np.asarray(mask) > 0)
