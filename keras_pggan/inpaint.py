"""Inpaint real photos of any size with a trained generator (Keras, SavedModel or TFLite).

Example:
    python -m keras_pggan.inpaint --model runs/x/generator.keras photo.jpg --mask m.png -o out.png
    python -m keras_pggan.inpaint --model saved_models/pggan_dres photo_rgba.png -o out.png
    python -m keras_pggan.inpaint --model g-fp32.tflite --input-dir photos --output-dir filled

Masks: white (>= 128) = hole in a grey or RGB mask file, or the input's own transparent pixels
when no mask file is given. In folder mode the mask of ``photo.jpg`` is ``photo_mask.png`` next to
it, or the file named ``photo.*`` / ``photo_mask.*`` in ``--mask-dir``.

Any size works: the image is mirror-padded to the network's multiple. Images larger than the working
resolution (``--working-size``, 512 px) are not run whole: each cluster of holes is cut out with
context around it, run at no more than the working resolution (downscaled if the crop is still
larger), and the fill is pasted back only inside the holes at full resolution, so every known pixel
is byte-identical to the input. See docs/inpaint.md for the strategy and its limits.

Library use::

    inpainter = Inpainter.from_path("runs/x/generator.keras")    # or a SavedModel dir, a .tflite
    out = inpainter(image_uint8, mask_bool)                      # [H,W,3] uint8, any H, W
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from collections.abc import Sequence

import numpy as np

DEFAULT_WORKING_SIZE = 512
DEFAULT_CONTEXT = 0.5
MIN_CONTEXT_PX = 32
DEFAULT_BATCH_SIZE = 8
# Backends agree on uint8 outputs within this many levels (tested): fp32 arithmetic differs by
# ~1e-5 between Keras, the SavedModel and LiteRT, which can flip a rounding by one level.
BACKEND_TOLERANCE_U8 = 1
MASK_SUFFIX = "_mask"
JPEG_QUALITY = 95
PNG_COMPRESS_LEVEL = 3


# -- arrays ------------------------------------------------------------------------------------


SHIPPED_MODELS_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "saved_models"
)


def as_hole_mask(mask) -> np.ndarray:
    """Returns a bool [H,W] hole mask (see :func:`keras_pggan.masks.as_hole_mask`)."""
    from keras_pggan.masks import as_hole_mask as _as_hole_mask

    return _as_hole_mask(mask)


def as_uint8_image(image) -> np.ndarray:
    """Returns ``image`` as uint8 [H,W,3] (float input in [0,1] is rounded; grey is repeated)."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] != 3:
        raise ValueError(f"image must be [H,W,3], got shape {a.shape}")
    if a.dtype == np.uint8:
        return a
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"image must be uint8 or float in [0,1], got dtype {a.dtype}")
    if not np.isfinite(a).all():
        raise ValueError("image has NaN or Inf values")
    return to_uint8(a)


def to_uint8(x) -> np.ndarray:
    """Float [0,1] → uint8 with rounding."""
    return np.round(np.clip(np.asarray(x, np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)


def _pad_to_multiple(image01: np.ndarray, mask01: np.ndarray, multiple: int):
    """Mirror-pads [B,H,W,C] arrays at the bottom/right; image and mask together."""
    h, w = image01.shape[1:3]
    ph, pw = (-h) % multiple, (-w) % multiple
    if not ph and not pw:
        return image01, mask01
    pad = ((0, 0), (0, ph), (0, pw), (0, 0))
    # "symmetric" (edge pixel repeated) is TF's SYMMETRIC MirrorPad, which the exported SavedModel
    # and TFLite builds use inside the graph: every backend sees the same padded input.
    return np.pad(image01, pad, mode="symmetric"), np.pad(mask01, pad, mode="symmetric")


# -- backends ----------------------------------------------------------------------------------


class KerasBackend:
    """Runs a Keras generator; pads on the host to its pad multiple.

    Args:
        generator: a model from ``keras_pggan.generator.build_generator`` (dict inputs).
    """

    name = "keras"

    def __init__(self, generator):
        import tensorflow as tf

        from keras_pggan.generator import inpaint
        from keras_pggan.tflite import pad_multiple_of

        self.generator = generator
        self.pad_multiple = pad_multiple_of(generator)
        self._fn = tf.function(lambda x, m: inpaint(generator, x, m), reduce_retracing=True)

    def run(self, image01: np.ndarray, mask01: np.ndarray) -> np.ndarray:
        """float32 [B,H,W,3] in [0,1] and [B,H,W,1] → composited float32 [B,H,W,3]."""
        h, w = image01.shape[1:3]
        x, m = _pad_to_multiple(image01, mask01, self.pad_multiple)
        return np.asarray(self._fn(x, m))[:, :h, :w]


class SavedModelBackend:
    """Runs the ``serving_default`` signature of an exported SavedModel (it pads inside).

    Args:
        path: the SavedModel directory.
    """

    name = "saved_model"
    pad_multiple = 1

    def __init__(self, path: str):
        import tensorflow as tf

        self.path = path
        self._loaded = tf.saved_model.load(path)
        if "serving_default" not in self._loaded.signatures:
            raise ValueError(f"{path}: SavedModel has no 'serving_default' signature")
        self._fn = self._loaded.signatures["serving_default"]

    def run(self, image01: np.ndarray, mask01: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        out = self._fn(image=tf.constant(image01), mask=tf.constant(mask01))
        if "inpainted" not in out:
            raise ValueError(f"{self.path}: serving_default returned {sorted(out)}, no 'inpainted'")
        return out["inpainted"].numpy()


class TFLiteBackend:
    """Runs a ``.tflite`` build through :class:`keras_pggan.tflite.TFLiteInpainter` (batch 1).

    Args:
        path: the ``.tflite`` file.
        num_threads: LiteRT CPU threads.
    """

    name = "tflite"

    def __init__(self, path: str, num_threads: int | None = None):
        from keras_pggan.tflite import TFLiteInpainter

        self.path = path
        self.runner = TFLiteInpainter(path, num_threads=num_threads)
        self.pad_multiple = int(self.runner.pad_multiple)

    def run(self, image01: np.ndarray, mask01: np.ndarray) -> np.ndarray:
        return np.stack([self.runner(x, m[..., 0]) for x, m in zip(image01, mask01)])


def _find_saved_model(path: str) -> str | None:
    """``path`` itself, or its highest numeric version sub-directory (TF Serving layout)."""
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        return path
    versions = [
        d
        for d in os.listdir(path)
        if d.isdigit() and os.path.exists(os.path.join(path, d, "saved_model.pb"))
    ]
    return os.path.join(path, max(versions, key=int)) if versions else None


def load_backend(path: str, num_threads: int | None = None):
    """Picks the backend for ``path``: ``.keras`` file or run directory, SavedModel, ``.tflite``.

    Raises:
        FileNotFoundError: nothing at ``path``.
        ValueError: ``path`` is none of the supported kinds.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or directory")
    if os.path.isdir(path):
        saved_model = _find_saved_model(path)
        if saved_model:
            return SavedModelBackend(saved_model)
        if os.path.exists(os.path.join(path, "generator.keras")):
            path = os.path.join(path, "generator.keras")
        else:
            raise ValueError(
                f"{path}: directory holds neither a SavedModel (saved_model.pb) nor generator.keras"
            )
    if path.endswith(".tflite"):
        return TFLiteBackend(path, num_threads=num_threads)
    if path.endswith(".keras"):
        from keras_pggan.tflite import load_generator

        try:
            return KerasBackend(load_generator(path))
        except (OSError, ValueError, TypeError, KeyError) as e:
            raise ValueError(f"{path}: cannot load the Keras model ({e})") from None
    raise ValueError(f"{path}: expected a .keras file, a SavedModel directory or a .tflite file")


# -- the any-size strategy ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Region:
    """One network run: a crop of the image, its scale, and the hole clusters it fills.

    Attributes:
        top: first row of the crop.
        left: first column of the crop.
        height: crop height in full-resolution pixels.
        width: crop width in full-resolution pixels.
        scale: the crop is resized by this factor (<= 1) before the network.
        clusters: ids of the hole clusters whose pixels this run fills (``()``: every hole).
    """

    top: int
    left: int
    height: int
    width: int
    scale: float = 1.0
    clusters: tuple[int, ...] = ()

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)

    @property
    def network_size(self) -> tuple[int, int]:
        """(H, W) the network sees before padding to its multiple."""
        return _scaled(self.height, self.scale), _scaled(self.width, self.scale)


def _scaled(n: int, scale: float) -> int:
    return n if scale >= 1 else max(1, int(round(n * scale)))


def _grow(start: int, stop: int, target: int, limit: int) -> tuple[int, int]:
    """Grows [start, stop) to ``target`` (at most ``limit``) about its centre, inside [0, limit)."""
    length = min(target, limit)
    if stop - start >= length:
        return start, stop
    # A window of ``length`` centred on the box contains it; clamping keeps it inside the image.
    start = min(max(0, (start + stop) // 2 - length // 2), limit - length)
    return start, start + length


def hole_clusters(holes: np.ndarray, block: int = MIN_CONTEXT_PX) -> tuple[np.ndarray, int]:
    """Labels clusters of holes on a ``block``-pixel grid (holes in touching blocks merge).

    Returns:
        (int32 labels of the blocks [ceil(H/block), ceil(W/block)], number of clusters). Labelling
        blocks instead of pixels keeps the cluster count small for speckled masks.
    """
    from scipy import ndimage

    h, w = holes.shape
    gh, gw = -(-h // block), -(-w // block)
    padded = np.zeros((gh * block, gw * block), bool)
    padded[:h, :w] = holes
    grid = padded.reshape(gh, block, gw, block).any(axis=(1, 3))
    labels, n = ndimage.label(grid, structure=np.ones((3, 3), bool))
    return labels.astype(np.int32), int(n)


def _pixel_clusters(block_labels: np.ndarray, region: Region, block: int) -> np.ndarray:
    rows = np.arange(region.top, region.top + region.height) // block
    cols = np.arange(region.left, region.left + region.width) // block
    return block_labels[np.ix_(rows, cols)]


def plan_regions(
    holes: np.ndarray,
    working_size: int | None = DEFAULT_WORKING_SIZE,
    context: float = DEFAULT_CONTEXT,
    min_context: int = MIN_CONTEXT_PX,
) -> list[Region]:
    """Plans the network runs for one image.

    The whole image is one run when its long side is at most ``working_size`` (or
    ``working_size`` is None). Otherwise holes are grouped into clusters (holes within one
    ``min_context``-pixel block of each other), each cluster's bounding box is extended by
    ``max(min_context, context × its long side)`` on every side, boxes that overlap merge, each box
    grows to the working size where the image allows (free context: the run costs the same), and
    boxes still longer than ``working_size`` are downscaled to it.

    Args:
        holes: bool [H,W], True = hole.
        working_size: long side (px) the network runs at, at most; None disables cropping.
        context: margin around a cluster as a fraction of its bounding box's long side.
        min_context: smallest margin in pixels (also the clustering block size).

    Returns:
        Regions in raster order of their first cluster; ``[]`` when there is no hole.
    """
    return _plan(holes, working_size, context, min_context)[0]


def _plan(holes, working_size, context, min_context):
    """:func:`plan_regions` plus the block labels of the clusters (None: one whole-image run)."""
    h, w = holes.shape
    if not holes.any():
        return [], None
    if working_size is None or max(h, w) <= working_size:
        return [Region(0, 0, h, w)], None
    block = max(1, int(min_context))
    block_labels, n = hole_clusters(holes, block)
    from scipy import ndimage

    boxes = []
    for cluster, sl in enumerate(ndimage.find_objects(block_labels), start=1):
        # Tight pixel bounding box of this cluster's holes.
        y0, x0 = sl[0].start * block, sl[1].start * block
        cells = np.repeat(np.repeat(block_labels[sl] == cluster, block, 0), block, 1)
        sub = holes[y0 : sl[0].stop * block, x0 : sl[1].stop * block]
        sub = sub & cells[: sub.shape[0], : sub.shape[1]]
        ys, xs = np.nonzero(sub.any(axis=1))[0], np.nonzero(sub.any(axis=0))[0]
        top, bottom = y0 + ys[0], y0 + ys[-1] + 1
        left, right = x0 + xs[0], x0 + xs[-1] + 1
        margin = max(min_context, int(math.ceil(context * max(bottom - top, right - left))))
        boxes.append(
            [
                max(0, top - margin),
                max(0, left - margin),
                min(h, bottom + margin),
                min(w, right + margin),
                {cluster},
            ]
        )
    merged = True
    while merged:
        merged = False
        out: list[list] = []
        for box in boxes:
            for other in out:
                if (
                    box[0] < other[2]
                    and other[0] < box[2]
                    and box[1] < other[3]
                    and other[1] < box[3]
                ):
                    other[0], other[1] = min(other[0], box[0]), min(other[1], box[1])
                    other[2], other[3] = max(other[2], box[2]), max(other[3], box[3])
                    other[4] |= box[4]
                    merged = True
                    break
            else:
                out.append(box)
        boxes = out
    regions = []
    for top, left, bottom, right, clusters in boxes:
        top, bottom = _grow(top, bottom, working_size, h)
        left, right = _grow(left, right, working_size, w)
        long_side = max(bottom - top, right - left)
        scale = min(1.0, working_size / long_side)
        regions.append(
            Region(
                int(top),
                int(left),
                int(bottom - top),
                int(right - left),
                float(scale),
                tuple(int(c) for c in sorted(clusters)),
            )
        )
    assert n == sum(len(r.clusters) for r in regions)
    return sorted(regions, key=lambda r: r.clusters[0]), block_labels


def _resize_u8(image: np.ndarray, height: int, width: int) -> np.ndarray:
    from PIL import Image

    down = height < image.shape[0]
    resample = Image.Resampling.BOX if down else Image.Resampling.BICUBIC
    return np.asarray(Image.fromarray(image).resize((width, height), resample))


def _shrink_holes(holes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Downscales a hole mask so every low-resolution pixel touching a hole is a hole."""
    from PIL import Image

    cover = Image.fromarray(holes.astype(np.float32), mode="F").resize(
        (width, height), Image.Resampling.BOX
    )
    return np.asarray(cover) > 1e-6


# -- the inpainter -----------------------------------------------------------------------------


class Inpainter:
    """One call signature over every backend, for images of any size.

    Args:
        generator: a Keras generator (``keras.Model`` from ``build_generator``) or a backend
            object (:class:`KerasBackend`, :class:`SavedModelBackend`, :class:`TFLiteBackend`).
        working_size: long side (px) above which :meth:`__call__` runs crops around the holes
            instead of the whole image (None: always the whole image).
        context: margin around each hole cluster, as a fraction of its long side.
        batch_size: images per network call in :meth:`predict_batch`.

    Example:
        >>> inpainter = Inpainter.from_path("runs/x/generator.keras")   # doctest: +SKIP
        >>> out = inpainter(image, mask)  # uint8 [H,W,3], known pixels kept  # doctest: +SKIP
    """

    def __init__(
        self,
        generator,
        working_size: int | None = DEFAULT_WORKING_SIZE,
        context: float = DEFAULT_CONTEXT,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ):
        if working_size is not None and working_size < 16:
            raise ValueError(f"working_size must be >= 16 or None, got {working_size}")
        if context < 0:
            raise ValueError(f"context must be >= 0, got {context}")
        self.backend = generator if hasattr(generator, "run") else KerasBackend(generator)
        self.working_size = working_size
        self.context = float(context)
        self.batch_size = int(batch_size)

    @classmethod
    def from_path(
        cls,
        path: str,
        working_size: int | None = DEFAULT_WORKING_SIZE,
        context: float = DEFAULT_CONTEXT,
        batch_size: int = DEFAULT_BATCH_SIZE,
        num_threads: int | None = None,
    ) -> Inpainter:
        """Loads a ``.keras`` generator (or a run directory holding ``generator.keras``), a
        SavedModel directory (its ``serving_default``; a TF Serving ``<name>/<version>/`` folder
        picks the highest version) or a ``.tflite`` build.

        Raises:
            FileNotFoundError: nothing at ``path``.
            ValueError: an unsupported or unloadable model.
        """
        return cls(load_backend(path, num_threads), working_size, context, batch_size)

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def predict_batch(self, images, masks) -> np.ndarray:
        """Inpaints a batch at its own size (no cropping; padded to the network multiple).

        Args:
            images: uint8 [B,H,W,3] (float in [0,1] is rounded to uint8 first).
            masks: [B,H,W] or [B,H,W,1], bool or {0,1} (8-bit: >= 128), 1 = hole.

        Returns:
            uint8 [B,H,W,3]: the network's fill inside the holes, the input's bytes elsewhere
            (an empty batch gives an empty batch).

        Raises:
            ValueError: as :meth:`__call__`.
        """
        images = np.asarray(images)
        if images.ndim != 4:
            raise ValueError(f"images must be [B,H,W,3], got shape {images.shape}")
        if not len(images):  # an empty batch gives an empty batch
            return np.zeros((0, *images.shape[1:3], 3), np.uint8)
        images = np.stack([as_uint8_image(x) for x in images])
        holes = np.stack([as_hole_mask(m) for m in np.asarray(masks)])
        if holes.shape != images.shape[:3]:
            raise ValueError(f"masks {holes.shape} do not match images {images.shape[:3]}")
        out = images.copy()
        for i in range(0, len(images), self.batch_size):
            x = images[i : i + self.batch_size].astype(np.float32) / 255.0
            m = holes[i : i + self.batch_size, ..., None].astype(np.float32)
            if not m.any():
                continue
            fill = to_uint8(self.backend.run(x, m))
            out[i : i + self.batch_size] = np.where(m > 0.5, fill, images[i : i + self.batch_size])
        return out

    def plan(self, mask) -> list[Region]:
        """The network runs :meth:`__call__` would make for ``mask`` (see :func:`plan_regions`)."""
        return plan_regions(as_hole_mask(mask), self.working_size, self.context)

    def __call__(self, image, mask) -> np.ndarray:
        """Inpaints one image of any size.

        Args:
            image: uint8 [H,W,3] (float in [0,1] is rounded to uint8 first).
            mask: [H,W] (or [H,W,1]) bool or {0,1} (8-bit: >= 128), 1 = hole.

        Returns:
            uint8 [H,W,3]; every known pixel is byte-identical to the input.

        Raises:
            ValueError: bad shapes or mask size, a dtype other than uint8 / float (image) or
                bool / integer / float (mask), NaN or Inf values.
        """
        image = as_uint8_image(image)
        holes = as_hole_mask(mask)
        if holes.shape != image.shape[:2]:
            raise ValueError(
                f"mask is {holes.shape[1]}x{holes.shape[0]} (WxH) but the image is "
                f"{image.shape[1]}x{image.shape[0]}"
            )
        out = image.copy()
        regions, block_labels = _plan(holes, self.working_size, self.context, MIN_CONTEXT_PX)
        for region in regions:
            rows, cols = region.slices
            crop, crop_holes = image[rows, cols], holes[rows, cols]
            nh, nw = region.network_size
            if region.scale < 1:
                x, m = _resize_u8(crop, nh, nw), _shrink_holes(crop_holes, nh, nw)
            else:
                x, m = crop, crop_holes
            fill = self.predict_batch(x[None], m[None])[0]
            if region.scale < 1:
                fill = _resize_u8(fill, region.height, region.width)
            own = crop_holes
            if block_labels is not None:
                own = crop_holes & np.isin(
                    _pixel_clusters(block_labels, region, MIN_CONTEXT_PX), region.clusters
                )
            out[rows, cols][own] = fill[own]
        return out


# -- files -------------------------------------------------------------------------------------


def _lazy_masks():
    from keras_pggan import masks

    return masks


def has_transparency(path: str) -> bool:
    """True when the image file has an alpha channel with some pixel below full opacity.

    An all-opaque alpha channel does not count: ``masks.load_mask_file`` would then read the
    photo's brightness as the mask.
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.mode not in ("RGBA", "LA", "PA", "RGBa", "La") and not (
                im.mode == "P" and "transparency" in im.info
            ):
                return False
            alpha = im.convert("RGBA").getchannel("A")
            return alpha.getextrema()[0] < 255
    except OSError:
        return False


def _size_error(mask_path: str, mask_shape, image_path: str, image_shape) -> ValueError:
    mh, mw = mask_shape[:2]
    ih, iw = image_shape[:2]
    hint = ""
    if (mh, mw) == (iw, ih):
        hint = " (transposed: masks must match the image as displayed, after EXIF orientation)"
    return ValueError(
        f"mask {mask_path} is {mw}x{mh} (WxH) but image {image_path} is {iw}x{ih}{hint}"
    )


def load_image_and_mask(image_path: str, mask_path: str | None = None):
    """Reads an image (EXIF orientation applied) and its hole mask.

    Args:
        image_path: any image file Pillow decodes.
        mask_path: a mask file (white >= 128 = hole; RGBA: transparent = hole); None to use the
            image's own transparent pixels.

    Returns:
        (uint8 [H,W,3], bool [H,W]).

    Raises:
        FileNotFoundError: a missing file.
        ValueError: an undecodable file, a mask of the wrong size (both files and sizes named), or
            no mask and no transparency.
    """
    from keras_pggan.data import load_rgb

    if not os.path.isfile(image_path):
        raise FileNotFoundError(f"{image_path}: no such file")
    image = load_rgb(image_path)
    masks = _lazy_masks()
    if mask_path is None:
        if not has_transparency(image_path):
            raise ValueError(
                f"{image_path}: no mask given and the image has no transparent pixels "
                "(pass --mask, white = hole)"
            )
        holes = masks.load_mask_file(image_path)
        source = image_path
    else:
        if not os.path.isfile(mask_path):
            raise FileNotFoundError(f"{mask_path}: no such file")
        holes = masks.load_mask_file(mask_path)
        source = mask_path
    holes = _oriented_like(source, np.asarray(holes, bool))
    if holes.shape != image.shape[:2]:
        raise _size_error(source, holes.shape, image_path, image.shape)
    return image, holes


_EXIF_ORIENTATION = 0x0112


def _oriented_like(path: str, holes: np.ndarray) -> np.ndarray:
    """Applies ``path``'s EXIF orientation to a mask read from it (as ``load_rgb`` does to images).

    ``masks.load_mask_file`` returns the stored pixel grid; images are shown (and read by
    ``data.load_rgb``) after their EXIF rotation, so a mask taken from a rotated file must turn too.
    """
    from PIL import Image

    with Image.open(path) as im:
        orientation = im.getexif().get(_EXIF_ORIENTATION, 1)
    t = Image.Transpose
    method = {
        2: t.FLIP_LEFT_RIGHT,
        3: t.ROTATE_180,
        4: t.FLIP_TOP_BOTTOM,
        5: t.TRANSPOSE,
        6: t.ROTATE_270,
        7: t.TRANSVERSE,
        8: t.ROTATE_90,
    }.get(orientation)
    if method is None:
        return holes
    return np.asarray(Image.fromarray(holes.astype(np.uint8) * 255).transpose(method)) >= 128


def _format_for(path: str) -> str:
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

    fmt = _format_for(path)
    kwargs = {"quality": JPEG_QUALITY} if fmt in ("JPEG", "WEBP") else {}
    if fmt == "PNG":
        # zlib level 3: a 12 MP photo encodes in ~2 s instead of ~7 s (level 6), 13 % larger.
        kwargs = {"compress_level": PNG_COMPRESS_LEVEL}
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format=fmt, **kwargs)


def _same_file(a: str, b: str) -> bool:
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.abspath(a) == os.path.abspath(b)


def _check_output(out_path: str, inputs: Sequence[str], overwrite: bool) -> None:
    _format_for(out_path)
    if overwrite:
        return
    for p in inputs:
        if p and _same_file(out_path, p):
            raise ValueError(f"{out_path}: output is the input file {p}; pass --overwrite")
    if os.path.exists(out_path):
        raise ValueError(f"{out_path}: output exists; pass --overwrite to replace it")


def find_mask(image_path: str, mask_dir: str | None = None) -> str | None:
    """The mask file of ``image_path`` in folder mode, or None.

    Without ``mask_dir``: ``<stem>_mask.png`` next to the image. With it: the file in ``mask_dir``
    whose stem is ``<stem>`` or ``<stem>_mask`` (any image extension).

    Raises:
        ValueError: several candidate masks.
    """
    from keras_pggan.data import IMAGE_EXTENSIONS

    stem = os.path.splitext(os.path.basename(image_path))[0]
    if mask_dir is None:
        candidate = os.path.join(os.path.dirname(image_path), stem + MASK_SUFFIX + ".png")
        return candidate if os.path.isfile(candidate) else None
    found = sorted(
        os.path.join(mask_dir, f)
        for f in os.listdir(mask_dir)
        if os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS
        and os.path.splitext(f)[0] in (stem, stem + MASK_SUFFIX)
    )
    if len(found) > 1:
        raise ValueError(f"{image_path}: several masks match in {mask_dir}: {found}")
    return found[0] if found else None


def folder_images(input_dir: str) -> list[str]:
    """Image files directly in ``input_dir`` (sorted), leaving out ``*_mask.*`` files."""
    from keras_pggan.data import IMAGE_EXTENSIONS

    return sorted(
        os.path.join(input_dir, f)
        for f in os.listdir(input_dir)
        if os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS
        and not os.path.splitext(f)[0].endswith(MASK_SUFFIX)
        and os.path.isfile(os.path.join(input_dir, f))
    )


def inpaint_file(
    inpainter: Inpainter,
    image_path: str,
    out_path: str,
    mask_path: str | None = None,
    overwrite: bool = False,
) -> dict:
    """Inpaints one file into ``out_path`` (never over the input or an existing file unless
    ``overwrite``).

    Returns:
        ``{"image", "mask", "output", "size": [H, W], "holes": count, "regions": n}``.
    """
    _check_output(out_path, [image_path, mask_path], overwrite)
    image, holes = load_image_and_mask(image_path, mask_path)
    out = inpainter(image, holes)
    save_image(out, out_path)
    return {
        "image": image_path,
        "mask": mask_path or f"{image_path} (alpha)",
        "output": out_path,
        "size": list(image.shape[:2]),
        "holes": int(holes.sum()),
        "regions": len(inpainter.plan(holes)),
    }


def default_model_path() -> str:
    """The shipped model (``saved_models/pggan_dres.keras`` in the source tree).

    Raises:
        FileNotFoundError: when the package was installed without the repository's
            ``saved_models/`` folder.
    """
    path = os.path.join(SHIPPED_MODELS_DIR, "pggan_dres.keras")
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{path}: no shipped model here (install from a clone of the repository with "
            f"`pip install -e .`, or pass --model)"
        )
    return path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m keras_pggan.inpaint",
        description=__doc__.split("\n\n")[0],
        epilog="Example: python -m keras_pggan.inpaint --model g.keras photo.jpg --mask m.png "
        "-o out.png",
    )
    p.add_argument(
        "--model",
        default=None,
        help=".keras file, SavedModel dir or .tflite file (default: the shipped model, "
        "saved_models/pggan_dres.keras)",
    )
    p.add_argument("image", nargs="?", help="input image (single-image mode)")
    p.add_argument("--mask", help="mask file, white = hole (default: the image's transparency)")
    p.add_argument("-o", "--output", help="output file; its extension picks the format")
    p.add_argument("--input-dir", help="folder mode: inpaint every image in this folder")
    p.add_argument("--output-dir", help="folder mode: write results here")
    p.add_argument("--mask-dir", help="folder mode: masks named <stem>.* or <stem>_mask.*")
    p.add_argument("--ext", help="folder mode: output extension (default: the input's)")
    p.add_argument(
        "--working-size",
        type=int,
        default=DEFAULT_WORKING_SIZE,
        help="long side (px) the network runs at, at most; 0 = always the whole image",
    )
    p.add_argument(
        "--context",
        type=float,
        default=DEFAULT_CONTEXT,
        help="margin around each hole cluster as a fraction of its size",
    )
    p.add_argument("--num-threads", type=int, help="TFLite CPU threads")
    p.add_argument("--overwrite", action="store_true", help="allow replacing existing files")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _run_folder(args, inpainter: Inpainter) -> int:
    from tqdm import tqdm

    for name in ("input_dir", "mask_dir"):
        folder = getattr(args, name)
        if folder and not os.path.isdir(folder):
            raise FileNotFoundError(f"{folder}: no such directory (--{name.replace('_', '-')})")
    images = folder_images(args.input_dir)
    if not images:
        raise ValueError(f"{args.input_dir}: no images found")
    ext = args.ext if not args.ext or args.ext.startswith(".") else "." + args.ext
    failures = 0
    for path in tqdm(images, desc="inpaint", unit="img", disable=args.quiet):
        stem, own_ext = os.path.splitext(os.path.basename(path))
        out_path = os.path.join(args.output_dir, stem + (ext or own_ext))
        try:
            mask = find_mask(path, args.mask_dir)
            inpaint_file(inpainter, path, out_path, mask, args.overwrite)
        except (OSError, ValueError) as e:
            failures += 1
            print(f"error: {e}", file=sys.stderr)
    print(f"inpainted {len(images) - failures} of {len(images)} images into {args.output_dir}")
    return 2 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    folder_mode = args.input_dir is not None
    try:
        if folder_mode == (args.image is not None):
            raise ValueError("give either IMAGE (with -o) or --input-dir (with --output-dir)")
        if folder_mode and not args.output_dir:
            raise ValueError("--input-dir needs --output-dir")
        if not folder_mode and not args.output:
            raise ValueError(f"{args.image}: -o/--output is required")
        if not folder_mode:
            _check_output(args.output, [args.image, args.mask], args.overwrite)
            for path in (args.image, args.mask):
                if path and not os.path.isfile(path):
                    raise FileNotFoundError(f"{path}: no such file")
        inpainter = Inpainter.from_path(
            args.model or default_model_path(),
            working_size=args.working_size or None,
            context=args.context,
            num_threads=args.num_threads,
        )
        if folder_mode:
            return _run_folder(args, inpainter)
        info = inpaint_file(inpainter, args.image, args.output, args.mask, args.overwrite)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    h, w = info["size"]
    print(
        f"{info['output']}: {w}x{h}, {info['holes']} hole pixels, {info['regions']} network run(s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
