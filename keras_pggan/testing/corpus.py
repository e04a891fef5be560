"""The bad-input corpus of the reliability tests, generated into a folder (nothing downloaded).

Used by tests/reliability_*_test.py and by the serving load test (tests and bench/serving_load.py,
through :mod:`keras_pggan.testing.serving_load`); docs/reliability.md lists the cases and what
each entry point does with them. Every case is a small file (or tensor pair) that once broke, or
could break, an entry point:

* image files (:data:`IMAGE_CASES`): undecodable ones (truncated JPEG, 0-byte file, text named
  ``.png``, a PNG header claiming 30000×30000 pixels) and unusual but valid ones (16-bit grey,
  CMYK JPEG, palette with transparency, grey, RGBA, EXIF-rotated JPEG, 1×1, smaller than the
  training crop). Each valid case carries the uint8 RGB pixels a reader must produce.
* mask files (:data:`MASK_CASES`) for a :data:`SIZE` image: wrong size, all hole, no hole,
  anti-aliased (grey levels; >= 128 is a hole).
* tensors (:data:`TENSOR_CASES`): NaN/Inf values, a wrong dtype, an empty batch.

Example:
    >>> from keras_pggan.testing.corpus import write_corpus
    >>> corpus = write_corpus(tmp_path)                                # doctest: +SKIP
    >>> corpus.images["cmyk_jpeg"].path, corpus.images["cmyk_jpeg"].expected.shape  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image, ImageOps

# The good image every mask case belongs to: H x W (non-square, not a multiple of 4).
SIZE = (36, 44)
BOMB_SIDE = 30000
# Undecodable image cases → a word the error message must contain (lower case).
UNDECODABLE = {
    "truncated_jpeg": "truncated",
    "zero_bytes": "empty",
    "text_as_png": "not an image",
    "bomb_header": "bomb",
}
VALID_IMAGES = (
    "png_16bit",
    "cmyk_jpeg",
    "palette_transparency",
    "grey",
    "rgba",
    "exif_rotated",
    "one_pixel",
    "smaller_than_crop",
)
IMAGE_CASES = (*UNDECODABLE, *VALID_IMAGES)
MASK_CASES = ("mask_wrong_size", "mask_all_hole", "mask_no_hole", "mask_antialiased")
TENSOR_CASES = ("nan_inf", "wrong_dtype", "empty_batch")
ALL_CASES = (*IMAGE_CASES, *MASK_CASES, *TENSOR_CASES)


@dataclasses.dataclass(frozen=True)
class ImageCase:
    """One image file of the corpus.

    Attributes:
        name: the case name (a key of :data:`IMAGE_CASES`).
        path: the file.
        expected: uint8 [H,W,3] a reader must return (EXIF orientation applied), or ``None`` for
            an undecodable file.
        problem: for undecodable files, a word the error message must contain.
        holes: a bool [H,W] mask for the displayed image (a centred box), for valid cases.
        mask_path: that mask as a PNG file (white = hole), for valid cases.
    """

    name: str
    path: str
    expected: np.ndarray | None
    problem: str = ""
    holes: np.ndarray | None = None
    mask_path: str | None = None

    @property
    def data(self) -> bytes:
        with open(self.path, "rb") as f:
            return f.read()


@dataclasses.dataclass(frozen=True)
class MaskCase:
    """One mask file of the corpus, for the image :attr:`Corpus.image_path` (:data:`SIZE`).

    Attributes:
        name: the case name (a key of :data:`MASK_CASES`).
        path: the mask file (PNG).
        holes: bool [H,W] holes a reader must return (``None`` for the wrong-size mask).
    """

    name: str
    path: str
    holes: np.ndarray | None


@dataclasses.dataclass(frozen=True)
class Corpus:
    """Everything :func:`write_corpus` wrote.

    Attributes:
        folder: the root folder.
        image: the good image (uint8 [H,W,3], :data:`SIZE`) the mask cases belong to.
        image_path: it as a PNG file.
        mask_path: a good mask for it (:func:`box_holes`), white = hole.
        images: :data:`IMAGE_CASES` name → :class:`ImageCase`.
        masks: :data:`MASK_CASES` name → :class:`MaskCase`.
    """

    folder: str
    image: np.ndarray
    image_path: str
    mask_path: str
    images: dict[str, ImageCase]
    masks: dict[str, MaskCase]


# -- pixels ------------------------------------------------------------------------------------


def smooth_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth colour image (gradients plus a little noise) that survives JPEG well."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack(
        [
            128 + 100 * np.sin(x / max(w, 1) * 3.0 + seed),
            128 + 100 * np.cos(y / max(h, 1) * 2.5),
            128 + 60 * np.sin((x + y) / max(h + w, 1) * 4.0),
        ],
        axis=-1,
    )
    return np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)


def box_holes(h: int, w: int) -> np.ndarray:
    """A centred hole box covering about a quarter of the image (at least one pixel)."""
    holes = np.zeros((h, w), bool)
    holes[h // 4 : max(h // 4 + 1, 3 * h // 4), w // 4 : max(w // 4 + 1, 3 * w // 4)] = True
    return holes


def encode(array: np.ndarray, fmt: str = "PNG", **kwargs) -> bytes:
    """Encodes a uint8 array (or a PIL image) with Pillow."""
    im = array if isinstance(array, Image.Image) else Image.fromarray(array)
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def bomb_png(width: int = BOMB_SIDE, height: int = BOMB_SIDE) -> bytes:
    """A valid PNG header claiming ``width × height`` RGB pixels, with one empty IDAT (~60 B).

    A decoder that trusts the header allocates ``3·width·height`` bytes (2.7 GB for 30000²).
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b""))
        + _png_chunk(b"IEND", b"")
    )


def _decoded(data: bytes) -> np.ndarray:
    """Pillow's RGB decoding with the EXIF orientation applied (the reference for JPEGs)."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"), np.uint8)


# -- the cases ---------------------------------------------------------------------------------


def _image_case_bytes(name: str) -> tuple[bytes, np.ndarray | None]:
    """(file bytes, expected uint8 RGB or None) of one image case."""
    h, w = SIZE
    rgb = smooth_image(h, w, seed=1)
    if name == "truncated_jpeg":
        data = encode(rgb, "JPEG", quality=90)
        return data[: len(data) // 2], None
    if name == "zero_bytes":
        return b"", None
    if name == "text_as_png":
        return b"this is a text file, not a PNG\n" * 4, None
    if name == "bomb_header":
        return bomb_png(), None
    if name == "png_16bit":
        grey16 = (rgb[..., 0].astype(np.uint16) * 257).astype(np.uint16)  # 8-bit value v → v·257
        im = Image.fromarray(grey16)  # mode "I;16"
        assert im.mode == "I;16", im.mode
        return encode(im, "PNG"), np.repeat(rgb[..., :1], 3, axis=-1)
    if name == "cmyk_jpeg":
        data = encode(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95)
        return data, _decoded(data)
    if name == "palette_transparency":
        palette_rgb = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200], [250, 250, 250]])
        index = (np.add.outer(np.arange(h) // 6, np.arange(w) // 6) % 4).astype(np.uint8)
        im = Image.fromarray(index).convert("P")  # keeps the index values
        im.putpalette(palette_rgb.astype(np.uint8).ravel().tolist())
        im.info["transparency"] = 3  # palette entry 3 is fully transparent
        return encode(im, "PNG", transparency=3), palette_rgb.astype(np.uint8)[index]
    if name == "grey":
        grey = rgb[..., 1]
        return encode(grey, "PNG"), np.repeat(grey[..., None], 3, axis=-1)
    if name == "rgba":
        alpha = np.full((h, w), 255, np.uint8)
        alpha[: h // 3, : w // 3] = 0  # a transparent corner: the colour under it is kept
        return encode(np.dstack([rgb, alpha]), "PNG"), rgb
    if name == "exif_rotated":
        # Stored W×H = 44×36 with orientation 6 (rotate 90° clockwise to display): 36 wide.
        exif = Image.Exif()
        exif[0x0112] = 6
        data = encode(rgb, "JPEG", quality=95, exif=exif.tobytes())
        expected = _decoded(data)
        assert expected.shape == (w, h, 3), expected.shape
        return data, expected
    if name == "one_pixel":
        pixel = np.array([[[10, 200, 90]]], np.uint8)
        return encode(pixel, "PNG"), pixel
    if name == "smaller_than_crop":
        small = smooth_image(12, 20, seed=3)
        return encode(small, "PNG"), small
    raise KeyError(name)


def mask_image(name: str, h: int = SIZE[0], w: int = SIZE[1]) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 grey mask image, bool holes it means) of one mask case for an h×w image.

    The wrong-size case is 4 px taller and 4 px narrower than h×w.
    """
    if name == "mask_wrong_size":
        holes = box_holes(h + 4, w - 4)
        return np.where(holes, 255, 0).astype(np.uint8), holes
    if name == "mask_all_hole":
        return np.full((h, w), 255, np.uint8), np.ones((h, w), bool)
    if name == "mask_no_hole":
        return np.zeros((h, w), np.uint8), np.zeros((h, w), bool)
    if name == "mask_antialiased":
        # A soft-edged disc: 0..255 ramps; the convention says >= 128 is a hole.
        y, x = np.mgrid[0:h, 0:w]
        r = np.hypot(y - h / 2, x - w / 2)
        grey = np.clip((min(h, w) / 3.0 - r) * 40.0 + 128.0, 0, 255).astype(np.uint8)
        assert 0 < ((grey > 0) & (grey < 255)).sum(), "the mask must have grey levels"
        return grey, grey >= 128
    raise KeyError(name)


def write_corpus(folder) -> Corpus:
    """Writes every image and mask case under ``folder`` (``images/``, ``masks/``, ``good.png``).

    File names keep the usual extensions (``.jpg`` for JPEGs, ``.png`` otherwise, including the
    0-byte file and the text file), as a user's folder would.

    Returns:
        A :class:`Corpus`.
    """
    folder = os.fspath(folder)
    images_dir = os.path.join(folder, "images")
    masks_dir = os.path.join(folder, "masks")
    case_masks = os.path.join(folder, "case_masks")
    for d in (images_dir, masks_dir, case_masks):
        os.makedirs(d, exist_ok=True)
    good = smooth_image(*SIZE, seed=0)
    good_path = os.path.join(folder, "good.png")
    with open(good_path, "wb") as f:
        f.write(encode(good))
    images = {}
    for name in IMAGE_CASES:
        data, expected = _image_case_bytes(name)
        ext = ".jpg" if name.endswith("jpeg") or name == "exif_rotated" else ".png"
        path = os.path.join(images_dir, name + ext)
        with open(path, "wb") as f:
            f.write(data)
        holes = mask_path = None
        if expected is not None:
            holes = box_holes(*expected.shape[:2])
            mask_path = os.path.join(case_masks, name + "_mask.png")
            with open(mask_path, "wb") as f:
                f.write(encode(np.where(holes, 255, 0).astype(np.uint8)))
        images[name] = ImageCase(name, path, expected, UNDECODABLE.get(name, ""), holes, mask_path)
    masks = {}
    for name in MASK_CASES:
        pixels, holes = mask_image(name)
        path = os.path.join(masks_dir, name + ".png")
        with open(path, "wb") as f:
            f.write(encode(pixels))
        masks[name] = MaskCase(name, path, None if name == "mask_wrong_size" else holes)
    good_mask = os.path.join(folder, "good_mask.png")
    with open(good_mask, "wb") as f:
        f.write(encode(np.where(box_holes(*SIZE), 255, 0).astype(np.uint8)))
    return Corpus(folder, good, good_path, good_mask, images, masks)


def tensor_case(name: str, n: int = 2, h: int = SIZE[0], w: int = SIZE[1]):
    """``(image, mask, problem)`` float arrays [n,h,w,3] / [n,h,w,1] of one tensor case.

    ``problem`` is a word the error message must contain (``""`` when the input is valid).

    * ``nan_inf``: a NaN and an Inf pixel in the image (the mask is valid).
    * ``wrong_dtype``: the image as int32 0..255 (the contract is uint8, or float in [0,1]).
    * ``empty_batch``: zero images of size h×w (valid: the answer is an empty batch).
    """
    image = np.stack([smooth_image(h, w, seed=i) for i in range(n)]).astype(np.float32) / 255.0
    mask = np.broadcast_to(box_holes(h, w)[None, ..., None], (n, h, w, 1)).astype(np.float32)
    if name == "nan_inf":
        image = image.copy()
        image[0, 1, 2, 0] = np.nan
        image[-1, -2, -3, 2] = np.inf
        return image, mask, "nan"
    if name == "wrong_dtype":
        return np.round(image * 255).astype(np.int32), mask, "int32"
    if name == "empty_batch":
        return image[:0], mask[:0], ""
    raise KeyError(name)
