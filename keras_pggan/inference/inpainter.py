"""Inpaint real photos of any size with a trained generator (Keras, SavedModel or TFLite).

Example:
    python -m keras_pggan.inpaint --model runs/x/generator.keras photo.jpg --mask m.png -o out.png
    python -m keras_pggan.inpaint --model saved_models/pggan_dres photo_rgba.png -o out.png
    python -m keras_pggan.inpaint --model g-fp32.tflite --input-dir photos --output-dir filled

Masks: white (>= 128) = hole in a grey or RGB mask file (a 0/1 file: 1 = hole), or the input's own
transparent pixels when no mask file is given (``--invert-mask`` for black = hole masks). The CLI
warns about a mask that is mostly hole (inverted?) or has no hole, and refuses one that looks like
a photo (image and mask swapped?) unless ``--force``
(:func:`keras_pggan.data.imageio.mask_problems`).
Folder mode walks ``--input-dir`` and its sub-folders (mirrored in ``--output-dir``, PNG output by
default); the mask of ``photo.jpg`` is ``photo_mask.png`` next to it, or the file named
``photo.*`` / ``photo_mask.*`` in the same sub-folder of ``--mask-dir``.

Any size works: the image is mirror-padded to the network's multiple. Images larger than the working
resolution (``--working-size``, 512 px) are not run whole: each cluster of holes is cut out with
context around it, run at no more than the working resolution (downscaled if the crop is still
larger), and the fill is pasted back only inside the holes at full resolution, so every known pixel
is byte-identical to the input (:mod:`keras_pggan.inference.regions`; docs/inpaint.md). The backends
(Keras, SavedModel, TFLite) are in :mod:`keras_pggan.inference.backends`.

Library use::

    inpainter = Inpainter.from_path("runs/x/generator.keras")    # or a SavedModel dir, a .tflite
    out = inpainter(image_uint8, mask_bool)                      # [H,W,3] uint8, any H, W
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

import numpy as np

from keras_pggan import cli
from keras_pggan.data.imageio import (
    MaskProblem,
    as_hole_mask,
    as_uint8_image,
    has_transparency,
    hole_from_array,
    image_format,
    load_mask_image,
    load_rgb,
    mask_problems,
    save_image,
    to_uint8,
)
from keras_pggan.errors import UserError
from keras_pggan.inference.regions import (
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
from keras_pggan.io_utils import SHIPPED_MODELS_DIR

# The backends import TensorFlow: on first use, not at import (``--help`` stays fast).
_BACKENDS = ("KerasBackend", "load_backend")


def __getattr__(name: str):
    if name in _BACKENDS:
        from keras_pggan.inference import backends

        return getattr(backends, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


DEFAULT_BATCH_SIZE = 8
MASK_SUFFIX = "_mask"
FOLDER_EXT = ".png"  # folder mode's default output: lossless, known pixels stay exact on disk


# -- the inpainter -----------------------------------------------------------------------------


class Inpainter:
    """One call signature over every backend, for images of any size.

    Args:
        generator: a Keras generator (``keras.Model`` from ``build_generator``) or a backend
            object from :mod:`keras_pggan.inference.backends` (``KerasBackend``,
            ``SavedModelBackend``,
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
        from keras_pggan.inference.backends import KerasBackend

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
            path: the model (see :func:`keras_pggan.inference.backends.load_backend`).
            num_threads: LiteRT CPU threads (``.tflite`` only).
            **options: ``working_size``, ``context``, ``batch_size``: as for the class.

        Raises:
            FileNotFoundError: nothing at ``path``.
            ValueError: an unsupported or unloadable model.
        """
        from keras_pggan.inference.backends import load_backend

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


class MaskLooksWrong(ValueError):
    """A mask that looks like a photo (image and mask swapped?): refused unless ``force``."""


def read_inputs(
    image_path: str, mask_path: str | None = None, invert_mask: bool = False
) -> tuple[np.ndarray, np.ndarray, list[MaskProblem]]:
    """Reads an image (EXIF orientation applied), its hole mask and the mask's likely mistakes.

    Args:
        image_path: any image file Pillow decodes.
        mask_path: a mask file (white >= 128 = hole, a 0/1 file: 1 = hole; RGBA: transparent =
            hole); None to use the image's own transparent pixels.
        invert_mask: invert the holes (for black = hole masks).

    Returns:
        (uint8 [H,W,3], bool [H,W], :func:`keras_pggan.data.imageio.mask_problems` of the mask with
        these holes). Nothing is printed.

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
    mask_image = load_mask_image(source)
    holes = hole_from_array(mask_image)
    if holes.shape != image.shape[:2]:
        raise _size_error(source, holes.shape, image_path, image.shape)
    if invert_mask:
        holes = ~holes
    return image, holes, mask_problems(mask_image, holes)


def load_image_and_mask(image_path: str, mask_path: str | None = None, invert_mask=False):
    """Reads an image (EXIF orientation applied) and its hole mask: :func:`read_inputs` without
    the mask's problems.

    Returns:
        (uint8 [H,W,3], bool [H,W]).
    """
    image, holes, _ = read_inputs(image_path, mask_path, invert_mask)
    return image, holes


def mask_messages(
    problems: Sequence[MaskProblem],
    image_path: str,
    mask_path: str | None = None,
    invert_mask: bool = False,
    force: bool = False,
) -> tuple[list[str], str | None]:
    """The CLI's words for a mask's problems: (warnings, the reason to refuse it or None).

    A mask that looks like a photo is refused (with ``force``: a warning); a mask that is mostly
    hole or has no hole is a warning. Every message names the mask file.
    """
    mask = mask_path or f"{image_path} (its transparent pixels)"
    after = " after --invert-mask" if invert_mask else ""
    warnings, refusal = [], None
    for p in problems:
        if p.kind == "photo" and force:
            warnings.append(
                f"mask {mask} looks like a photo, not a mask ({p.detail}); used anyway (--force)"
            )
        elif p.kind == "photo":
            refusal = (
                f"mask {mask} looks like a photo, not a mask ({p.detail}): are --mask and the "
                f"image {image_path} swapped? A mask is white = hole on black, or transparent = "
                "hole; pass --force to use it anyway"
            )
        elif p.kind == "no_hole":
            warnings.append(
                f"mask {mask} has no hole pixels{after}: the output equals the input "
                "(white = hole, 1 = hole in a 0/1 file, or transparent = hole)"
            )
        elif p.kind == "mostly_hole":
            cause = (
                "is the mask white = hole already? then drop --invert-mask"
                if invert_mask
                else "white = hole; is your mask inverted? black = hole masks need inverting: "
                "pass --invert-mask"
            )
            warnings.append(
                f"mask {mask}: {p.hole_ratio:.0%} of the image is hole{after}, so nearly all of "
                f"it is filled ({cause})"
            )
    return warnings, refusal


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


def _mask_folder(image_path: str, mask_dir: str, input_dir: str | None) -> str:
    """The folder of ``mask_dir`` that mirrors the image's sub-folder of ``input_dir``."""
    if input_dir is None:
        return mask_dir
    sub = os.path.relpath(os.path.dirname(os.path.abspath(image_path)), os.path.abspath(input_dir))
    return mask_dir if sub == os.curdir else os.path.join(mask_dir, sub)


def find_mask(
    image_path: str, mask_dir: str | None = None, input_dir: str | None = None
) -> str | None:
    """The mask file of ``image_path`` in folder mode, or None.

    Without ``mask_dir``: ``<stem>_mask.png`` next to the image. With it: the file in ``mask_dir``
    whose stem is ``<stem>`` or ``<stem>_mask`` (any image extension); with ``input_dir`` too,
    in the sub-folder of ``mask_dir`` that mirrors the image's sub-folder of ``input_dir``.

    Raises:
        ValueError: several candidate masks.
    """
    from keras_pggan.data.pipeline import IMAGE_EXTENSIONS

    stem = os.path.splitext(os.path.basename(image_path))[0]
    if mask_dir is None:
        candidate = os.path.join(os.path.dirname(image_path), stem + MASK_SUFFIX + ".png")
        return candidate if os.path.isfile(candidate) else None
    folder = _mask_folder(image_path, mask_dir, input_dir)
    if not os.path.isdir(folder):
        return None
    found = sorted(
        os.path.join(folder, f)
        for f in os.listdir(folder)
        if os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS
        and os.path.splitext(f)[0] in (stem, stem + MASK_SUFFIX)
    )
    if len(found) > 1:
        raise ValueError(f"{image_path}: several masks match in {folder}: {found}")
    return found[0] if found else None


def _no_mask_error(image_path: str, mask_dir: str | None, input_dir: str | None) -> ValueError:
    """Folder mode's message for an image without a mask: the rules it was looked for by."""
    stem = os.path.splitext(os.path.basename(image_path))[0]
    if mask_dir is None:
        where = (
            f"{os.path.join(os.path.dirname(image_path), stem + MASK_SUFFIX + '.png')} beside it "
            f"(or --mask-dir DIR holding {stem}.* or {stem}{MASK_SUFFIX}.*)"
        )
    else:
        folder = _mask_folder(image_path, mask_dir, input_dir)
        where = f"{os.path.join(folder, stem)}.* or {stem}{MASK_SUFFIX}.* there (--mask-dir)"
    return ValueError(
        f"{image_path}: no mask: expected {where}, or transparent pixels in the image "
        "(white = hole)"
    )


def folder_images(input_dir: str, exclude: Sequence[str | None] = ()) -> list[str]:
    """Image files in ``input_dir`` and its sub-folders (sorted), leaving out ``*_mask.*`` files
    and the folders in ``exclude`` (e.g. an output or mask folder inside ``input_dir``)."""
    from keras_pggan.data.pipeline import IMAGE_EXTENSIONS

    skip = {os.path.realpath(d) for d in exclude if d and os.path.isdir(d)}
    found = []
    for root, dirs, files in os.walk(input_dir):
        dirs[:] = [d for d in dirs if os.path.realpath(os.path.join(root, d)) not in skip]
        found += [
            os.path.join(root, f)
            for f in files
            if os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS
            and not os.path.splitext(f)[0].endswith(MASK_SUFFIX)
            and os.path.isfile(os.path.join(root, f))
        ]
    return sorted(found)


def inpaint_file(
    inpainter: Inpainter,
    image_path: str,
    out_path: str,
    mask_path: str | None = None,
    overwrite: bool = False,
    *,
    invert_mask: bool = False,
    force: bool = False,
    on_warning: Callable[[str], None] | None = None,
) -> dict:
    """Inpaints one file into ``out_path`` (never over the input or an existing file unless
    ``overwrite``).

    Args:
        invert_mask: black = hole masks (the holes are inverted).
        force: run with a mask that looks like a photo instead of raising.
        on_warning: called with each warning (:func:`mask_messages`) before the run.

    Returns:
        ``{"image", "mask", "output", "size": [H, W], "holes": count, "regions": n,
        "warnings": [str]}``.

    Raises:
        MaskLooksWrong: the mask looks like a photo (image and mask swapped?) and not ``force``.
    """
    _check_output(out_path, [image_path, mask_path], overwrite)
    image, holes, problems = read_inputs(image_path, mask_path, invert_mask)
    warnings, refusal = mask_messages(problems, image_path, mask_path, invert_mask, force)
    if refusal:
        raise MaskLooksWrong(refusal)
    for w in warnings:
        if on_warning is not None:
            on_warning(w)
    out = inpainter(image, holes)
    save_image(out, out_path)
    return {
        "image": image_path,
        "mask": mask_path or f"{image_path} (alpha)",
        "output": out_path,
        "size": list(image.shape[:2]),
        "holes": int(holes.sum()),
        "regions": len(inpainter.plan(holes)),
        "warnings": warnings,
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
        prog=cli.prog("keras_pggan.inpaint"),
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
    p.add_argument(
        "--mask",
        help="mask file, white = hole (a 0/1 file: 1 = hole; default: the image's transparency)",
    )
    p.add_argument(
        "--invert-mask",
        action="store_true",
        help="the mask is black = hole (or opaque = hole): invert it",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="use a mask that looks like a photo (refused by default: image and mask swapped?)",
    )
    p.add_argument("-o", "--output", help="output file; its extension picks the format")
    p.add_argument(
        "--input-dir",
        help="folder mode: inpaint every image in this folder and its sub-folders (files named "
        "<stem>_mask.* are masks, not inputs)",
    )
    p.add_argument(
        "--output-dir",
        help="folder mode: write results here, sub-folders mirrored (skipped as input when it "
        "lies inside --input-dir)",
    )
    p.add_argument(
        "--mask-dir",
        help="folder mode: masks named <stem>.* or <stem>_mask.*, sub-folders mirrored "
        "(default: <stem>_mask.png beside each image, else its transparency)",
    )
    p.add_argument(
        "--ext",
        help=f"folder mode: output extension (default: {FOLDER_EXT}, lossless, so known pixels "
        "stay exact; .jpg re-encodes the whole picture lossily)",
    )
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


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _run_folder(args, inpainter: Inpainter) -> int:
    from tqdm import tqdm

    for name in ("input_dir", "mask_dir"):
        folder = getattr(args, name)
        if folder and not os.path.isdir(folder):
            raise FileNotFoundError(f"{folder}: no such directory (--{name.replace('_', '-')})")
    images = folder_images(args.input_dir, exclude=[args.output_dir, args.mask_dir])
    if not images:
        raise ValueError(f"{args.input_dir}: no images found")
    ext = args.ext or FOLDER_EXT
    ext = ext if ext.startswith(".") else "." + ext
    failures, outputs = 0, {}
    for path in tqdm(images, desc="inpaint", unit="img", disable=args.quiet):
        rel = os.path.relpath(path, args.input_dir)
        out_path = os.path.join(args.output_dir, os.path.splitext(rel)[0] + ext)
        key = os.path.normcase(os.path.abspath(out_path))
        try:
            if key in outputs:  # photo.jpg and photo.png both → photo.png
                raise ValueError(
                    f"{path}: its output {out_path} is also the output of {outputs[key]} "
                    "(same name, another extension): rename one"
                )
            outputs[key] = path
            mask = find_mask(path, args.mask_dir, args.input_dir)
            if mask is None and not has_transparency(path):
                raise _no_mask_error(path, args.mask_dir, args.input_dir)
            inpaint_file(
                inpainter,
                path,
                out_path,
                mask,
                args.overwrite,
                invert_mask=args.invert_mask,
                force=args.force,
                on_warning=_warn,
            )
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
        info = inpaint_file(
            inpainter,
            args.image,
            args.output,
            args.mask,
            args.overwrite,
            invert_mask=args.invert_mask,
            force=args.force,
            on_warning=_warn,
        )
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
