"""Mask files in every encoding a user may hand us, each with the holes it must mean.

Used by the mask-agreement test: every entry point (numpy reader, in-graph decoder, inpaint CLI,
both SavedModel signatures, serving clients) must read each file to exactly ``holes``. The
expected holes are written down here from the file convention (see ``keras_pggan.data.imageio``),
not computed by the code under test.
"""

from __future__ import annotations

import dataclasses
import io
import os

import numpy as np

SIZE = (24, 32)  # H, W: not square, so a transposed reading cannot pass


@dataclasses.dataclass(frozen=True)
class MaskFile:
    """One mask file: where it is and the bool [H,W] holes it means (True = hole)."""

    name: str
    path: str
    holes: np.ndarray


def _holes(h: int, w: int) -> np.ndarray:
    """A block-aligned pattern (JPEG-safe): two 8×8 squares and one 8×16 bar."""
    holes = np.zeros((h, w), bool)
    holes[0:8, 0:8] = True
    holes[8:16, 16:32] = True
    holes[16:24, 8:16] = True
    return holes


def _save(image, fmt: str = "PNG", **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _cases(holes: np.ndarray) -> dict[str, tuple[bytes, np.ndarray]]:
    """name -> (file bytes, expected holes)."""
    from PIL import Image

    h, w = holes.shape
    white = np.where(holes, 255, 0).astype(np.uint8)
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    square = np.zeros((h, w), bool)
    square[4:8, 4:8] = True
    cases = {
        "grey_png": (_save(Image.fromarray(white, "L")), holes),
        "rgb_png": (_save(Image.fromarray(np.repeat(white[..., None], 3, -1), "RGB")), holes),
        # Transparent pixels are the holes, whatever their colour.
        "rgba_transparent": (
            _save(Image.fromarray(np.dstack([colour, np.where(holes, 0, 255)]).astype(np.uint8))),
            holes,
        ),
        # Partial alpha: holes 0..127, known 128..255, colours random.
        "rgba_partial_alpha": (
            _save(
                Image.fromarray(
                    np.dstack(
                        [
                            colour,
                            np.where(
                                holes,
                                rng.integers(0, 128, (h, w)),
                                128 + rng.integers(0, 128, (h, w)),
                            ),
                        ]
                    ).astype(np.uint8)
                )
            ),
            holes,
        ),
        # Alpha 200 everywhere (nothing transparent): the white 4×4 square on black is the hole.
        "rgba_alpha200_white_square": (
            _save(
                Image.fromarray(
                    np.dstack(
                        [
                            np.repeat(np.where(square, 255, 0)[..., None], 3, -1),
                            np.full((h, w), 200),
                        ]
                    ).astype(np.uint8)
                )
            ),
            square,
        ),
        # Fully opaque RGBA: read by luma.
        "rgba_opaque": (
            _save(
                Image.fromarray(
                    np.dstack([np.repeat(white[..., None], 3, -1), np.full((h, w), 255)]).astype(
                        np.uint8
                    )
                )
            ),
            holes,
        ),
        "grey_alpha_png": (
            _save(
                Image.fromarray(
                    np.dstack([np.full((h, w), 90), np.where(holes, 10, 250)]).astype(np.uint8),
                    "LA",
                )
            ),
            holes,
        ),
        # Luma either side of 128 where the channel mean is not: (127,128,127) -> 128 (hole),
        # (128,127,128) -> 127 (known), with (19595·R + 38470·G + 7471·B + 2^15) >> 16.
        "rgb_luma_threshold": (
            _save(
                Image.fromarray(
                    np.where(holes[..., None], [127, 128, 127], [128, 127, 128]).astype(np.uint8)
                )
            ),
            holes,
        ),
    }
    # 0/1 masks (saved as 0/1 values, not 0/255): 1 = hole. RGB: luma of 255·(R,G,B); grey+alpha
    # with an opaque alpha: the alpha (255) is left out of the "maximum is 1" test.
    ones = holes.astype(np.uint8)
    cases["grey_01_png"] = (_save(Image.fromarray(ones, "L")), holes)
    cases["rgb_01_png"] = (_save(Image.fromarray(np.repeat(ones[..., None], 3, -1), "RGB")), holes)
    cases["grey_alpha_opaque_01_png"] = (
        _save(Image.fromarray(np.dstack([ones, np.full((h, w), 255, np.uint8)]), "LA")),
        holes,
    )
    palette = Image.fromarray(np.where(holes, 1, 0).astype(np.uint8), "P")
    palette.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    cases["palette_png"] = (_save(palette), holes)
    # A palette whose index 2 is transparent: the holes; white known pixels (index 1) are not.
    known_white = np.zeros((h, w), bool)
    known_white[16:24, 24:32] = True
    transparent = Image.fromarray(np.where(holes, 2, known_white).astype(np.uint8), "P")
    transparent.putpalette([0, 0, 0, 255, 255, 255, 0, 0, 0] + [0] * 759)
    cases["palette_transparency"] = (_save(transparent, transparency=2), holes)
    # 16-bit grey: high byte >= 128 is a hole (0x8000 is, 0x7FFF is not).
    grey16 = np.where(holes, 0x8000, 0x7FFF).astype(np.uint16)
    cases["grey16_png"] = (_save(Image.fromarray(grey16)), holes)
    cases["grey_jpeg"] = (_save(Image.fromarray(white, "L"), "JPEG", quality=95), holes)
    cases["rgb_jpeg"] = (
        _save(Image.fromarray(np.repeat(white[..., None], 3, -1), "RGB"), "JPEG", quality=95),
        holes,
    )
    return cases


CASES = tuple(_cases(_holes(*SIZE)))


def write_mask_files(folder: str) -> dict[str, MaskFile]:
    """Writes every case into ``folder`` (created) and returns ``{name: MaskFile}``."""
    os.makedirs(folder, exist_ok=True)
    out = {}
    for name, (data, holes) in _cases(_holes(*SIZE)).items():
        ext = ".jpg" if name.endswith("jpeg") else ".png"
        path = os.path.join(folder, name + ext)
        with open(path, "wb") as f:
            f.write(data)
        out[name] = MaskFile(name, path, holes)
    return out
