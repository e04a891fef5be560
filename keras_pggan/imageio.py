"""Image and mask I/O: the one implementation of the project's file and array conventions.

Every entry point (training data, the inpaint CLI, evaluation, the SavedModel's
``serving_bytes`` decoder, the serving clients, TFLite calibration) reads images and masks
through this module, so a file means the same thing everywhere.

Images: decoded with Pillow in any colour mode (grey, grey+alpha, palette, 16-bit, CMYK, RGBA:
alpha dropped) to uint8 RGB [H,W,3] **as displayed** (EXIF orientation applied). At public APIs
an image is uint8 or float in [0,1]; :func:`as_float01` and :func:`as_uint8_image` convert.

Masks (1 = hole) — the file convention:

- a pixel is a hole when its luma ``(19595·R + 38470·G + 7471·B + 2¹⁵) >> 16`` (PIL's integer
  ``convert("L")``; the grey value itself for grey files; 16-bit grey is taken as its high byte)
  is >= 128: **white = hole**;
- an image with an alpha channel that has **transparent pixels** (some alpha < 128) is read from
  its alpha channel instead: **transparent = hole**. An alpha channel with no transparent pixel
  (all opaque, or all >= 128) does not count and the luma rule applies.

:func:`hole_from_array` is the numpy side and :func:`hole_from_tensor` its in-graph twin (used
by the ``folder`` training masks and the SavedModel's ``serving_bytes`` signature); they agree
pixel for pixel (tested on a corpus of grey, palette, 16-bit, JPEG, RGBA and partial-alpha
files). In-memory masks (bool, {0,1} or 8-bit arrays) go through :func:`as_hole_mask`.

TensorFlow is imported only by the in-graph functions, so clients that never build a graph
(the serving clients) stay light.
"""

from __future__ import annotations

import io
import os

import numpy as np

# Refuse to decode images with more pixels than this (Pillow's bomb limit is ~89 MP; a 30000²
# header would need 2.7 GB). Our default.
MAX_IMAGE_PIXELS = 80_000_000
EXIF_ORIENTATION = 0x0112
JPEG_QUALITY = 95
PNG_COMPRESS_LEVEL = 3
# PIL's integer luma weights (``convert("L")``), 16-bit fixed point.
_LUMA = (19595, 38470, 7471)
_PALETTE_TRANSPARENT = "transparency"


# -- EXIF orientation ------------------------------------------------------------------------------
def exif_orientation(im) -> int:
    """The EXIF orientation tag of a PIL image (1 when absent or unreadable)."""
    try:
        return int(im.getexif().get(EXIF_ORIENTATION, 1))
    except Exception:  # noqa: BLE001 - a broken EXIF block: show the pixels as stored
        return 1


def upright(im):
    """``im`` as displayed: its EXIF orientation applied (the same image without one)."""
    from PIL import ImageOps

    return ImageOps.exif_transpose(im) if exif_orientation(im) != 1 else im


# -- images ----------------------------------------------------------------------------------------
def decode_rgb(data: bytes, name: str = "<bytes>", min_side: int | None = None) -> np.ndarray:
    """Decodes image bytes of any colour mode to uint8 RGB [H, W, 3], EXIF orientation applied.

    Args:
        data: encoded image (JPEG, PNG, BMP, GIF (first frame), WebP, ...).
        name: the file name, for error messages.
        min_side: when given, a JPEG may be decoded at a reduced DCT scale as long as its short
            side stays at least ``min_side`` (much faster for large photos).

    Raises:
        ValueError: naming ``name`` and the problem (empty, not an image, truncated, too large).
    """
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ValueError(f"{name}: empty file (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            if w * h > MAX_IMAGE_PIXELS:
                raise ValueError(
                    f"{name}: {w}x{h} image exceeds the {MAX_IMAGE_PIXELS} pixel limit "
                    f"(decompression bomb guard)"
                )
            if w < 1 or h < 1:
                raise ValueError(f"{name}: image has no pixels ({w}x{h})")
            if min_side and im.format == "JPEG" and im.mode in ("RGB", "L", "CMYK", "YCbCr"):
                scale = min(w, h) / float(min_side)
                if scale >= 2:
                    im.draft(im.mode, (int(np.ceil(w / scale)), int(np.ceil(h / scale))))
            im.load()
            rgb = _to_rgb(upright(im))
    except ValueError:
        raise
    except UnidentifiedImageError:
        raise ValueError(
            f"{name}: cannot decode image (not an image format Pillow knows)"
        ) from None
    except (OSError, SyntaxError, Image.DecompressionBombError, EOFError) as e:
        raise ValueError(f"{name}: cannot decode image ({e})") from None
    return rgb


def _to_rgb(im) -> np.ndarray:
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im, dtype=np.float64)
        top = 65535.0 if a.max() > 255 else 255.0
        a = np.clip(np.round(a / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(a[..., None], 3, axis=-1)
    if im.mode == "F":
        a = np.asarray(im, dtype=np.float64)
        a = np.clip(np.round(a * (255.0 if a.max() <= 1.0 else 1.0)), 0, 255).astype(np.uint8)
        return np.repeat(a[..., None], 3, axis=-1)
    if im.mode == "P" and _PALETTE_TRANSPARENT in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        im = im.convert("RGBA").convert("RGB")
    elif im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.uint8).copy()


def load_rgb(path: str, min_side: int | None = None) -> np.ndarray:
    """Reads an image file as uint8 RGB [H, W, 3] (any colour mode, EXIF orientation applied).

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: naming the file when it cannot be decoded.
    """
    with open(path, "rb") as f:
        data = f.read()
    return decode_rgb(data, path, min_side)


def as_float01(image) -> np.ndarray:
    """``image`` (uint8, or float in [0,1]; [H,W], [H,W,3] or [H,W,4]) as float32 [H,W,3].

    Grey is repeated to RGB, alpha dropped, float input clipped to [0,1].

    Raises:
        ValueError: a wrong shape, a dtype other than uint8/float, NaN or Inf values.
    """
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] not in (3, 4):
        raise ValueError(f"image must be [H,W,3], got shape {a.shape}")
    a = a[..., :3]
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"image must be uint8 or float in [0,1], got dtype {a.dtype}")
    if not np.isfinite(a).all():
        raise ValueError("image has NaN or Inf values")
    return np.clip(a.astype(np.float32), 0.0, 1.0)


def to_uint8(x) -> np.ndarray:
    """Float [0,1] → uint8 with rounding (values outside [0,1] are clipped)."""
    return np.round(np.clip(np.asarray(x, np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)


def as_uint8_image(image) -> np.ndarray:
    """``image`` as uint8 [H,W,3]: float input in [0,1] is rounded, grey repeated, alpha dropped.

    Raises:
        ValueError: as :func:`as_float01`.
    """
    a = np.asarray(image)
    if a.dtype == np.uint8 and a.ndim == 3 and a.shape[-1] == 3:
        return a
    return to_uint8(as_float01(a))


# -- masks -----------------------------------------------------------------------------------------
def _pil_channels(im) -> np.ndarray:
    """A decoded mask image as uint8 [H,W,C] with C = 1 (grey), 2 (grey+alpha), 3 or 4."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im, dtype=np.int64)
        if im.mode.startswith("I;16") or a.max() > 255:
            a = a >> 8  # 16-bit grey: its high byte, as TensorFlow's PNG decoder gives it
        return np.clip(a, 0, 255).astype(np.uint8)[..., None]
    if im.mode == "P":
        im = im.convert("RGBA" if _PALETTE_TRANSPARENT in im.info else "RGB")
    elif im.mode == "PA":
        im = im.convert("RGBA")
    elif im.mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGBA" if "A" in im.getbands() else "RGB")
    a = np.asarray(im, dtype=np.uint8)
    return a[..., None] if a.ndim == 2 else a


def hole_from_array(array: np.ndarray) -> np.ndarray:
    """Holes of a decoded mask image with the file convention (module docstring), bool [H,W].

    Args:
        array: uint8 [H,W] or [H,W,C], C in 1 (grey), 2 (grey+alpha), 3 (RGB), 4 (RGBA).

    Raises:
        ValueError: for any other shape.
    """
    a = np.asarray(array)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"mask image must be [H,W] or [H,W,1|2|3|4], got shape {a.shape}")
    a = a.astype(np.int64)
    if a.shape[-1] in (2, 4):
        transparent = a[..., -1] < 128
        if transparent.any():
            return transparent
    if a.shape[-1] >= 3:
        r, g, b = _LUMA
        return (a[..., 0] * r + a[..., 1] * g + a[..., 2] * b + 32768) >> 16 >= 128
    return a[..., 0] >= 128


def hole_from_tensor(image):
    """In-graph twin of :func:`hole_from_array`: uint8 [H,W,C] (C in 1..4) → bool [H,W]."""
    import tensorflow as tf

    x = tf.cast(image, tf.int32)
    c = tf.shape(x)[-1]
    r, g, b = _LUMA
    luma = tf.cond(
        c >= 3,
        lambda: (x[..., 0] * r + x[..., 1] * g + x[..., 2] * b + 32768) // 65536,
        lambda: x[..., 0],
    )
    transparent = x[..., c - 1] < 128
    use_alpha = ((c == 2) | (c == 4)) & tf.reduce_any(transparent)
    return tf.where(use_alpha, transparent, luma >= 128)


def decode_mask_tensor(data):
    """In-graph: encoded mask bytes (PNG, JPEG, BMP, GIF) → float32 [H,W,1], 1 = hole."""
    import tensorflow as tf

    raw = tf.io.decode_image(data, channels=0, dtype=tf.uint8, expand_animations=False)
    return tf.cast(hole_from_tensor(raw), tf.float32)[..., None]


def _nearest_index(n_in: int, n_out: int) -> np.ndarray:
    """Source index of each output pixel of a nearest resize (half-pixel centres)."""
    return ((2 * np.arange(n_out, dtype=np.int64) + 1) * n_in) // (2 * n_out)


def decode_mask(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decodes mask bytes to bool [H,W] (True = hole) as displayed (EXIF orientation applied).

    Raises:
        ValueError: naming ``name`` when the bytes are empty or not a decodable image.
    """
    from PIL import Image

    if not data:
        raise ValueError(f"{name}: cannot decode mask image (empty file, 0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return hole_from_array(_pil_channels(upright(im)))
    except Image.DecompressionBombError as e:
        raise ValueError(
            f"{name}: cannot decode mask image (decompression bomb guard: {e})"
        ) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"{name}: cannot decode mask image ({e})") from e


def load_mask_file(path: str, height: int | None = None, width: int | None = None) -> np.ndarray:
    """Reads a mask file with the file convention (module docstring), as displayed.

    Args:
        path: a PNG, JPEG, BMP, WebP, ... file Pillow can decode.
        height: optional output height (with ``width``): nearest-neighbour resize.
        width: optional output width.

    Returns:
        bool [H, W], True = hole.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: naming the file when it cannot be decoded, or for a lone height/width.

    Example:
        >>> hole = load_mask_file("masks/0001.png", 256, 256)  # doctest: +SKIP
    """
    if (height is None) != (width is None):
        raise ValueError(f"{path}: give both height and width, or neither")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such mask file")
    if not os.path.isfile(path):
        raise ValueError(f"{path}: cannot decode mask image (not a file)")
    with open(path, "rb") as f:
        hole = decode_mask(f.read(), path)
    if height is not None:
        if height <= 0 or width <= 0:
            raise ValueError(f"{path}: height and width must be positive, got {height}x{width}")
        hole = hole[_nearest_index(hole.shape[0], height)][:, _nearest_index(hole.shape[1], width)]
    return hole


def has_transparency(path: str) -> bool:
    """True when the image file has transparent pixels (alpha < 128): they are its holes."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            if "A" not in im.getbands() and not (
                im.mode == "P" and _PALETTE_TRANSPARENT in im.info
            ):
                return False
            alpha = im.convert("RGBA").getchannel("A")
            return alpha.getextrema()[0] < 128
    except OSError:
        return False


def as_hole_mask(mask) -> np.ndarray:
    """A bool [H,W] hole mask from bool, {0,1} or 8-bit (>= 128 = hole) [H,W] / [H,W,1].

    Raises:
        ValueError: wrong rank, a non-numeric dtype, or NaN/Inf values.
    """
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.ndim != 2:
        raise ValueError(f"mask must be [H,W] or [H,W,1], got shape {m.shape}")
    if m.dtype == np.bool_:
        return m
    if not (np.issubdtype(m.dtype, np.integer) or np.issubdtype(m.dtype, np.floating)):
        raise ValueError(f"mask must be bool, integer or float, got dtype {m.dtype}")
    if np.issubdtype(m.dtype, np.integer) and m.max(initial=0) > 1:
        return m >= 128  # 8-bit mask images: white = hole
    if not np.isfinite(m).all():
        raise ValueError("mask has NaN or Inf values")
    return m > 0.5


# -- writing ---------------------------------------------------------------------------------------
def encode_png(array: np.ndarray) -> bytes:
    """PNG bytes of a uint8 [H,W], [H,W,1], [H,W,3] or [H,W,4] array (bool: 255 = True)."""
    from PIL import Image

    a = np.asarray(array)
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    buf = io.BytesIO()
    Image.fromarray(a.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def image_format(path: str) -> str:
    """Pillow's format name for ``path``'s extension.

    Raises:
        ValueError: naming the file for an unknown or unwritable extension.
    """
    from PIL import Image

    ext = os.path.splitext(path)[1].lower()
    fmt = Image.registered_extensions().get(ext)
    if not ext or fmt is None or fmt not in Image.SAVE:
        raise ValueError(f"{path}: unknown or unwritable image format {ext or '(no extension)'!r}")
    return fmt


def save_image(image: np.ndarray, path: str) -> None:
    """Writes uint8 [H,W,3] atomically in the format of ``path``'s extension (JPEG quality 95).

    Lossy formats (JPEG, lossy WebP) change known pixels on disk: write PNG to keep them exact.
    """
    from PIL import Image

    from keras_pggan.io_utils import atomic_path

    fmt = image_format(path)
    kwargs = {"quality": JPEG_QUALITY} if fmt in ("JPEG", "WEBP") else {}
    if fmt == "PNG":
        # zlib level 3: a 12 MP photo encodes in ~2 s instead of ~7 s (level 6), 13 % larger.
        kwargs = {"compress_level": PNG_COMPRESS_LEVEL}
    with atomic_path(path) as tmp:
        Image.fromarray(as_uint8_image(image)).save(tmp, format=fmt, **kwargs)
