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
- **0/1 masks**: a file whose colour (or grey) values are only 0 and 1 (its maximum is 1, alpha
  aside) is read as if 1 were 255: **1 = hole** (a mask saved as 0/1 values, not 0/255);
- an image with an alpha channel that has **transparent pixels** (some alpha < 128) is read from
  its alpha channel instead: **transparent = hole**. An alpha channel with no transparent pixel
  (all opaque, or all >= 128) does not count and the luma (and 0/1) rule applies.

:func:`hole_from_array` is the numpy side and :func:`hole_from_tensor` its in-graph twin (used
by the ``folder`` training masks and the SavedModel's ``serving_bytes`` signature); they agree
pixel for pixel (tested on a corpus of grey, palette, 16-bit, JPEG, RGBA, partial-alpha and 0/1
files). In-memory masks (bool, {0,1} or 8-bit arrays) go through :func:`as_hole_mask`.
:func:`mask_problems` spots the usual mistakes in a mask file (inverted, empty, a photo given as
the mask); the inpaint CLI warns or refuses with it.

TensorFlow is imported only by the in-graph functions, so clients that never build a graph
(the serving clients) stay light.
"""

from __future__ import annotations

import dataclasses
import io
import os

import numpy as np

# Refuse to decode images with more pixels than this (Pillow's bomb limit is ~89 MP; a 30000²
# header would need 2.7 GB). Our default, and the ceiling of every pixel limit in the project:
# the SavedModel's serving_bytes decoder uses it as it is; the serving server (per request) and
# the studio (per upload) set stricter policies as min(their budget, MAX_IMAGE_PIXELS), next to
# their own constants (keras_pggan.serving.server, keras_pggan.studio.web).
MAX_IMAGE_PIXELS = 80_000_000
EXIF_ORIENTATION = 0x0112
JPEG_QUALITY = 95
PNG_COMPRESS_LEVEL = 3
# PIL's integer luma weights (``convert("L")``), 16-bit fixed point: the mask file convention
# (kept exact; not the float BT.601 matrix below).
_LUMA = (19595, 38470, 7471)
# BT.601 RGB -> (Y, Cb, Cr) rows, without the offsets (for differences and chroma errors): the
# colour space of LossConfig.colour_space="ycbcr" (keras_pggan.training.losses) and of the
# colour scores (keras_pggan.evaluation.metrics).
YCBCR_601 = (
    (0.299, 0.587, 0.114),
    (-0.168736, -0.331264, 0.5),
    (0.5, -0.418688, -0.081312),
)
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


def image_header(data: bytes) -> tuple[str | None, int, int]:
    """``(format, width, height)`` read from an image's header, without decoding its pixels.

    The one header reader of the upload paths (studio uploads, serving requests): they check
    their pixel limits against it before anything is decoded.

    Raises:
        PIL.Image.DecompressionBombError: a header beyond Pillow's own bomb limit (~179 MP).
        PIL.UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError: not an image
            Pillow can read.
    """
    import warnings

    from PIL import Image

    with warnings.catch_warnings():
        # Pillow warns from ~89 MP; the callers refuse far smaller images by their own limit.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as im:
            return im.format, int(im.size[0]), int(im.size[1])


def check_image_file(path: str, mask: bool = False) -> tuple[str | None, int, int]:
    """Reads only the header of the image file ``path``: a command checks its inputs with it
    before TensorFlow loads, so a wrong file fails in a fraction of a second.

    Args:
        path: the file.
        mask: a mask file (its decoder's message names a mask image).

    Returns:
        ``(format, width, height)``.

    Raises:
        ValueError: naming the file, when it is not an image Pillow can read or is larger than
            :data:`MAX_IMAGE_PIXELS`.
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        fmt, w, h = image_header(data)
    except Exception:  # noqa: BLE001 - Pillow raises several types for a non-image
        # The decoder's own message (empty file, truncated, bomb, unknown format), as the
        # command would have said after loading the model.
        (decode_mask_image if mask else decode_rgb)(data, path)
        raise ValueError(f"{path}: not an image file") from None
    if w * h > MAX_IMAGE_PIXELS:
        raise ValueError(
            f"{path}: {w}x{h} is {w * h / 1e6:.0f} MP, above the limit of "
            f"{MAX_IMAGE_PIXELS / 1e6:.0f} MP"
        )
    return fmt, w, h


def uint8_to_float01(a, dtype=np.float32) -> np.ndarray:
    """uint8 levels of any shape → float in [0,1] (``/ 255``): the inverse of :func:`to_uint8`."""
    return np.asarray(a).astype(dtype) / 255.0


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
        return uint8_to_float01(a)
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"image must be uint8 or float in [0,1], got dtype {a.dtype}")
    if not np.isfinite(a).all():
        raise ValueError("image has NaN or Inf values")
    return np.clip(a.astype(np.float32), 0.0, 1.0)


def to_uint8(x) -> np.ndarray:
    """Float [0,1] → uint8 with rounding (values outside [0,1] are clipped)."""
    return np.round(np.clip(np.asarray(x, np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)


def to_uint8_tensor(x):
    """In-graph twin of :func:`to_uint8`: float [0,1] tensor → uint8 (clipped, rounded)."""
    import tensorflow as tf

    return tf.cast(tf.round(tf.clip_by_value(x, 0.0, 1.0) * 255.0), tf.uint8)


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


def _mask_planes(a: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """int64 [H,W,C] mask image → (its grey value [H,W] by the file convention, or None when
    the holes are its transparent pixels; the transparent pixels, or None)."""
    if a.shape[-1] in (2, 4):
        transparent = a[..., -1] < 128
        if transparent.any():
            return None, transparent
        a = a[..., :-1]
    if a.max(initial=0) == 1:
        a = a * 255  # a 0/1 mask: 1 = hole
    if a.shape[-1] >= 3:
        r, g, b = _LUMA
        return (a[..., 0] * r + a[..., 1] * g + a[..., 2] * b + 32768) >> 16, None
    return a[..., 0], None


def _as_mask_image(array) -> np.ndarray:
    a = np.asarray(array)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"mask image must be [H,W] or [H,W,1|2|3|4], got shape {a.shape}")
    return a.astype(np.int64)


def hole_from_array(array: np.ndarray) -> np.ndarray:
    """Holes of a decoded mask image with the file convention (module docstring), bool [H,W].

    Args:
        array: uint8 [H,W] or [H,W,C], C in 1 (grey), 2 (grey+alpha), 3 (RGB), 4 (RGBA).

    Raises:
        ValueError: for any other shape.
    """
    grey, transparent = _mask_planes(_as_mask_image(array))
    return transparent if grey is None else grey >= 128


def hole_from_tensor(image):
    """In-graph twin of :func:`hole_from_array`: uint8 [H,W,C] (C in 1..4) → bool [H,W]."""
    import tensorflow as tf

    x = tf.cast(image, tf.int32)
    c = tf.shape(x)[-1]
    has_alpha = (c == 2) | (c == 4)
    colour = x[..., : tf.where(has_alpha, c - 1, c)]
    colour = tf.where(tf.reduce_max(colour) == 1, colour * 255, colour)  # 0/1 mask: 1 = hole
    r, g, b = _LUMA
    luma = tf.cond(
        c >= 3,
        lambda: (colour[..., 0] * r + colour[..., 1] * g + colour[..., 2] * b + 32768) // 65536,
        lambda: colour[..., 0],
    )
    transparent = x[..., c - 1] < 128
    use_alpha = has_alpha & tf.reduce_any(transparent)
    return tf.where(use_alpha, transparent, luma >= 128)


def decode_image_tensor(data, channels: int = 3):
    """In-graph twin of :func:`decode_rgb`'s decoder: encoded bytes → uint8 [H,W,channels].

    JPEGs decode with libjpeg's accurate integer DCT, as Pillow does: TensorFlow's default
    (``INTEGER_FAST``) differs from Pillow on ~60 % of pixels by up to 7 levels, so a JPEG sent
    to the SavedModel's ``serving_bytes`` would not give the CLI's pixels. With
    ``INTEGER_ACCURATE`` the two agree exactly on 4:4:4 and 4:2:0 JPEGs (tests/imageio_test.py).
    EXIF orientation is not applied here (the host path applies it).

    Args:
        data: scalar string tensor (PNG, JPEG, BMP or GIF bytes).
        channels: 3 (RGB) or 0 (as stored).
    """
    import tensorflow as tf

    def jpeg():
        return tf.io.decode_jpeg(data, channels=channels, dct_method="INTEGER_ACCURATE")

    def other():
        return tf.io.decode_image(data, channels=channels, dtype=tf.uint8, expand_animations=False)

    image = tf.cond(tf.io.is_jpeg(data), jpeg, other)
    image.set_shape([None, None, channels or None])
    return image


def decode_mask_tensor(data):
    """In-graph: encoded mask bytes (PNG, JPEG, BMP, GIF) → float32 [H,W,1], 1 = hole."""
    import tensorflow as tf

    raw = decode_image_tensor(data, channels=0)
    return tf.cast(hole_from_tensor(raw), tf.float32)[..., None]


def _nearest_index(n_in: int, n_out: int) -> np.ndarray:
    """Source index of each output pixel of a nearest resize (half-pixel centres)."""
    return ((2 * np.arange(n_out, dtype=np.int64) + 1) * n_in) // (2 * n_out)


def decode_mask_image(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decodes mask bytes to their channels, uint8 [H,W,C] (C in 1..4), as displayed.

    What :func:`hole_from_array` and :func:`mask_problems` read.

    Raises:
        ValueError: naming ``name`` when the bytes are empty or not a decodable image.
    """
    from PIL import Image

    if not data:
        raise ValueError(f"{name}: cannot decode mask image (empty file, 0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return _pil_channels(upright(im))
    except Image.DecompressionBombError as e:
        raise ValueError(
            f"{name}: cannot decode mask image (decompression bomb guard: {e})"
        ) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"{name}: cannot decode mask image ({e})") from e


def decode_mask(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decodes mask bytes to bool [H,W] (True = hole) as displayed (EXIF orientation applied).

    Raises:
        ValueError: naming ``name`` when the bytes are empty or not a decodable image.
    """
    return hole_from_array(decode_mask_image(data, name))


def load_mask_image(path: str) -> np.ndarray:
    """Reads a mask file's channels, uint8 [H,W,C], as displayed (see :func:`decode_mask_image`).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: naming the file when it cannot be decoded.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such mask file")
    if not os.path.isfile(path):
        raise ValueError(f"{path}: cannot decode mask image (not a file)")
    with open(path, "rb") as f:
        return decode_mask_image(f.read(), path)


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
    hole = hole_from_array(load_mask_image(path))
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


def dilate_holes(holes, px: int) -> np.ndarray:
    """Grows the holes by ``px`` pixels: every pixel within Euclidean distance ``px`` of a hole
    becomes one (a disk of radius ``px`` around each hole pixel).

    A mask painted over an object usually stops a pixel or two short of its outline, and those
    edge pixels, kept as known, carry the object's colour into the fill; ``px`` of dilation
    (``--dilate`` of ``inpaint`` and ``batch``) takes them into the hole.

    Args:
        holes: a hole mask (see :func:`as_hole_mask`), [H,W] or [H,W,1].
        px: the growth in pixels, >= 0 (0: the holes as they are).

    Returns:
        bool [H,W].

    Raises:
        ValueError: a negative ``px``, or a mask :func:`as_hole_mask` refuses.

    Example:
        >>> one = np.zeros((5, 5), bool)
        >>> one[2, 2] = True
        >>> int(dilate_holes(one, 1).sum()), int(dilate_holes(one, 2).sum())
        (5, 13)
    """
    if px < 0:
        raise ValueError(f"dilation must be >= 0 pixels, got {px}")
    holes = as_hole_mask(holes)
    if not px or not holes.any():
        return holes.copy()
    from scipy import ndimage

    # Only the holes' bounding box grown by px can change: the distance transform runs there
    # (a few small holes in a 50 MP photo stay cheap).
    rows, cols = np.nonzero(holes.any(axis=1))[0], np.nonzero(holes.any(axis=0))[0]
    top, bottom = max(rows[0] - px, 0), min(rows[-1] + px + 1, holes.shape[0])
    left, right = max(cols[0] - px, 0), min(cols[-1] + px + 1, holes.shape[1])
    box = holes[top:bottom, left:right]
    out = holes.copy()
    if box.all():  # no known pixel in the box: nothing to grow into
        return out
    out[top:bottom, left:right] = ndimage.distance_transform_edt(~box) <= px
    return out


# -- likely mistakes in a mask file ---------------------------------------------------------------
MOSTLY_HOLE_RATIO = 0.70  # more holes than this: probably an inverted (black = hole) mask
PHOTO_FRACTION = 0.05  # more "photo" pixels than this: probably a photo, not a mask
_DARK, _BRIGHT = 16, 240  # grey levels strictly between these are mid-grey
_EDGE_RADIUS = 8  # px: mid-grey this close to both a black and a white pixel is a soft edge
_RAMP_TOLERANCE = 48  # grey levels: off a straight black-to-white ramp by at most this: an edge
_CHECK_PIXELS = 1_000_000  # larger masks are checked on a regular sample of about this many
_COLOUR_CHROMA = 64  # max(R,G,B) - min(R,G,B) above this: a coloured pixel
_FEW_LEVELS = 4  # when this many grey levels hold half the mid-grey pixels, they are flat paint


@dataclasses.dataclass(frozen=True)
class MaskProblem:
    """A likely mistake in a mask (see :func:`mask_problems`).

    Attributes:
        kind: ``"photo"`` (it looks like a photo, not a mask), ``"mostly_hole"`` (more than
            :data:`MOSTLY_HOLE_RATIO` of the pixels are holes: an inverted mask?) or
            ``"no_hole"``.
        detail: what was measured, e.g. ``"83% of its pixels are holes"``.
        hole_ratio: the fraction of hole pixels.
    """

    kind: str
    detail: str
    hole_ratio: float


def _soft_edge(g: np.ndarray) -> np.ndarray:
    """Mid-grey pixels of ``g`` (uint8 [H,W]) that are the soft edge of a black-and-white mask.

    A pixel is on a soft edge when a black (<= 16) and a white (>= 240) pixel are both within
    8 px (anti-aliasing, a light blur), or when its level is what a straight ramp between its
    nearest black and nearest white pixel gives there, within 48 levels (a wide blur, a mask
    upscaled from a small one): level ≈ 16 + 224 · d_black / (d_black + d_white).
    """
    from scipy import ndimage

    dark, bright = g <= _DARK, g >= _BRIGHT
    if not dark.any() or not bright.any():
        return np.zeros(g.shape, bool)
    size = 2 * _EDGE_RADIUS + 1
    near = ndimage.binary_dilation(dark, np.ones((size, size), bool)) & ndimage.binary_dilation(
        bright, np.ones((size, size), bool)
    )
    d_dark = ndimage.distance_transform_edt(~dark)
    d_bright = ndimage.distance_transform_edt(~bright)
    ramp = _DARK + (_BRIGHT - _DARK) * d_dark / np.maximum(d_dark + d_bright, 1e-9)
    return near | (np.abs(g - ramp) <= _RAMP_TOLERANCE)


def _photo_detail(a: np.ndarray, grey: np.ndarray) -> str | None:
    """Why the mask image ``a`` (int64 [H,W,C]) with grey values ``grey`` looks like a photo."""
    step = int(np.ceil(np.sqrt(a.shape[0] * a.shape[1] / _CHECK_PIXELS)))
    if step > 1:  # a regular sample of a large mask: the same fractions, bounded time
        a, grey = a[::step, ::step], grey[::step, ::step]
    if a.shape[-1] >= 3:
        rgb = a[..., :3]
        coloured = float(np.mean(rgb.max(-1) - rgb.min(-1) > _COLOUR_CHROMA))
        if coloured > PHOTO_FRACTION:
            return f"{coloured:.0%} of its pixels are coloured"
    g = np.clip(grey, 0, 255).astype(np.uint8)
    mid = (g > _DARK) & (g < _BRIGHT)
    if mid.mean() <= PHOTO_FRACTION:
        return None
    mid &= ~_soft_edge(g)
    fraction = float(mid.mean())
    if fraction <= PHOTO_FRACTION:
        return None
    levels = np.bincount(g[mid], minlength=256)
    if np.sort(levels)[-_FEW_LEVELS:].sum() >= 0.5 * mid.sum():
        return None  # a few flat greys (a mask painted grey), not a photo's many levels
    distinct = int((levels > 0).sum())
    return f"{fraction:.0%} of its pixels are mid-grey, in {distinct} levels, off any mask edge"


def mask_problems(image, holes=None) -> list[MaskProblem]:
    """The likely mistakes in a mask image: a photo given as the mask, an inverted mask, no hole.

    A mask looks like a **photo** when more than 5 % of its pixels are coloured (max − min of
    R, G, B above 64), or more than 5 % are mid-grey (strictly between 16 and 240) spread over
    many levels. Mid-grey within 8 px of both a black (<= 16) and a white (>= 240) pixel is the
    soft edge of an anti-aliased mask and does not count, nor do a few flat greys (the 4 most
    common mid-grey levels holding half of them). A mask read from its transparent pixels is
    never a photo. **Mostly hole**: more than :data:`MOSTLY_HOLE_RATIO` of the pixels are holes
    (white = hole: a black = hole mask reads so). **No hole**: the output would be the input.

    Args:
        image: the decoded mask file, uint8 [H,W] or [H,W,C] (:func:`load_mask_image`).
        holes: the holes the caller uses (e.g. inverted); default ``hole_from_array(image)``.

    Returns:
        The problems found (``[]`` when the mask looks right), a "photo" first.

    Raises:
        ValueError: a wrong shape (as :func:`hole_from_array`), or ``holes`` of another size.
    """
    a = _as_mask_image(image)
    grey, transparent = _mask_planes(a)
    holes = (transparent if grey is None else grey >= 128) if holes is None else holes
    holes = np.asarray(holes, bool)
    if holes.shape != a.shape[:2]:
        raise ValueError(f"holes {holes.shape} do not match the mask image {a.shape[:2]}")
    ratio = float(holes.mean()) if holes.size else 0.0
    problems = []
    photo = None if grey is None or not holes.size else _photo_detail(a, grey)
    if photo:
        problems.append(MaskProblem("photo", photo, ratio))
    if not holes.any():
        problems.append(MaskProblem("no_hole", "no hole pixels", ratio))
    elif ratio > MOSTLY_HOLE_RATIO:
        problems.append(MaskProblem("mostly_hole", f"{ratio:.0%} of its pixels are holes", ratio))
    return problems


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
