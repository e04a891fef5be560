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
is byte-identical to the input (:mod:`keras_pggan.regions`; docs/inpaint.md). The backends
(Keras, SavedModel, TFLite) are in :mod:`keras_pggan.backends`.

Library use::

    inpainter = Inpainter.from_path("runs/x/generator.keras")    # or a SavedModel dir, a .tflite
    out = inpainter(image_uint8, mask_bool)                      # [H,W,3] uint8, any H, W
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import numpy as np

from keras_pggan.backends import KerasBackend, load_backend
from keras_pggan.errors import UserError
from keras_pggan.imageio import (
    as_hole_mask,
    as_uint8_image,
    has_transparency,
    image_format,
    load_mask_file,
    load_rgb,
    save_image,
    to_uint8,
)
from keras_pggan.regions import (
    DEFAULT_CONTEXT,
    DEFAULT_WORKING_SIZE,
    MIN_CONTEXT_PX,
    Region,
    owned_holes,
    plan_regions,
    plan_with_labels,
    resize_u8,
    shrink_holes,
)

DEFAULT_BATCH_SIZE = 8
MASK_SUFFIX = "_mask"
SHIPPED_MODELS_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "saved_models"
)


# -- the inpainter -----------------------------------------------------------------------------


class Inpainter:
    """One call signature over every backend, for images of any size.

    Args:
        generator: a Keras generator (``keras.Model`` from ``build_generator``) or a backend
            object from :mod:`keras_pggan.backends` (``KerasBackend``, ``SavedModelBackend``,
            ``TFLiteBackend``).
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
    def from_path(cls, path: str, *, num_threads: int | None = None, **options) -> Inpainter:
        """Loads a ``.keras`` generator (or a run directory holding ``generator.keras``), a
        SavedModel directory (its ``serving_default``; a TF Serving ``<name>/<version>/`` folder
        picks the highest version) or a ``.tflite`` build.

        Args:
            path: the model (see :func:`keras_pggan.backends.load_backend`).
            num_threads: LiteRT CPU threads (``.tflite`` only).
            **options: ``working_size``, ``context``, ``batch_size``: as for the class.

        Raises:
            FileNotFoundError: nothing at ``path``.
            ValueError: an unsupported or unloadable model.
        """
        return cls(load_backend(path, num_threads), **options)

    @property
    def backend_name(self) -> str:
        """The backend's name: ``"keras"``, ``"saved_model"`` or ``"tflite"``."""
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
        regions, block_labels = plan_with_labels(
            holes, self.working_size, self.context, MIN_CONTEXT_PX
        )
        for region in regions:
            rows, cols = region.slices
            crop, crop_holes = image[rows, cols], holes[rows, cols]
            nh, nw = region.network_size
            if region.scale < 1:
                x, m = resize_u8(crop, nh, nw), shrink_holes(crop_holes, nh, nw)
            else:
                x, m = crop, crop_holes
            fill = self.predict_batch(x[None], m[None])[0]
            if region.scale < 1:
                fill = resize_u8(fill, region.height, region.width)
            own = owned_holes(region, crop_holes, block_labels, MIN_CONTEXT_PX)
            out[rows, cols][own] = fill[own]
        return out


# -- files ---------------------------------------------------------------------------------------


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
    if not os.path.isfile(image_path):
        raise FileNotFoundError(f"{image_path}: no such file")
    image = load_rgb(image_path)
    if mask_path is None:
        if not has_transparency(image_path):
            raise ValueError(
                f"{image_path}: no mask given and the image has no transparent pixels "
                "(pass --mask, white = hole)"
            )
        source = image_path
    else:
        if not os.path.isfile(mask_path):
            raise FileNotFoundError(f"{mask_path}: no such file")
        source = mask_path
    # As displayed (EXIF orientation applied), like the image.
    holes = load_mask_file(source)
    if holes.shape != image.shape[:2]:
        raise _size_error(source, holes.shape, image_path, image.shape)
    return image, holes


def _same_file(a: str, b: str) -> bool:
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.abspath(a) == os.path.abspath(b)


def _check_output(out_path: str, inputs: Sequence[str], overwrite: bool) -> None:
    image_format(out_path)  # raises for an unknown or unwritable extension
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
            raise UserError("give either IMAGE (with -o) or --input-dir (with --output-dir)")
        if folder_mode and not args.output_dir:
            raise UserError("--input-dir needs --output-dir")
        if not folder_mode and not args.output:
            raise UserError(f"{args.image}: -o/--output is required")
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
    except (OSError, ValueError, UserError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    h, w = info["size"]
    print(
        f"{info['output']}: {w}x{h}, {info['holes']} hole pixels, {info['regions']} network run(s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
