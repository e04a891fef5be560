"""Inpaint real photos of any size with a trained generator (Keras, SavedModel or TFLite).

Example:
    python -m keras_pggan.inpaint --model runs/x/generator.keras photo.jpg --mask m.png -o out.png
    python -m keras_pggan.inpaint --model saved_models/pggan_dres photo_rgba.png -o out.png
    python -m keras_pggan.inpaint --model g-fp32.tflite --input-dir photos --output-dir filled

Masks: white (>= 128) = hole in a grey or RGB mask file (a 0/1 file: 1 = hole), or the input's own
transparent pixels when no mask file is given (``--invert-mask`` for black = hole masks). The
command warns about a mask that is mostly hole (inverted?) or has no hole, and refuses one that
looks like a photo (image and mask swapped?) unless ``--force``. Folder mode walks
``--input-dir`` and its sub-folders (mirrored in ``--output-dir``, PNG output by default); the
mask of ``photo.jpg`` is ``photo_mask.png`` next to it, or the file named ``photo.*`` /
``photo_mask.*`` in the same sub-folder of ``--mask-dir`` (:mod:`keras_pggan.inference.files`).
``--dilate PX`` grows the holes before filling. For millions of photos on a cluster, see
``python -m keras_pggan.batch`` (Apache Beam).
Images larger than ``--working-size`` are filled crop by crop around the holes
(:class:`keras_pggan.inference.inpainter.Inpainter`); every known pixel stays the input's.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from keras_pggan import cli
from keras_pggan.data.imageio import check_image_file
from keras_pggan.errors import UserError
from keras_pggan.inference.files import FOLDER_EXT, check_output, inpaint_file, inpaint_folder
from keras_pggan.inference.inpainter import Inpainter, default_model_path
from keras_pggan.inference.regions import add_region_arguments
from keras_pggan.models.shipped import preset_names, resolve


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m keras_pggan.inpaint`` argument parser."""
    p = argparse.ArgumentParser(
        prog=cli.prog("keras_pggan.inpaint"),
        description=__doc__.split("\n\n")[0],
        epilog="Example: python -m keras_pggan.inpaint --model g.keras photo.jpg --mask m.png "
        "-o out.png",
    )
    p.add_argument(
        "--model",
        default=None,
        help=".keras file, run dir, SavedModel dir, .tflite file or a shipped model's name ("
        + ", ".join(preset_names() or ["pggan_dres"])
        + "; default: pggan_dres)",
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
    p.add_argument(
        "--dilate",
        type=int,
        default=0,
        metavar="PX",
        help="grow every hole by PX pixels before filling, so an object's edge pixels that the "
        "mask missed do not leak its colour into the fill",
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
    add_region_arguments(p)
    p.add_argument("--num-threads", type=int, help="TFLite CPU threads")
    p.add_argument("--overwrite", action="store_true", help="allow replacing existing files")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _report(error: Exception) -> None:
    print(f"error: {error}", file=sys.stderr)


def _check_args(args: argparse.Namespace) -> None:
    """The mode's flags, and in single-image mode the files, before the model loads."""
    if args.dilate < 0:
        raise UserError(f"--dilate must be >= 0 pixels, got {args.dilate}")
    folder_mode = args.input_dir is not None
    if folder_mode == (args.image is not None):
        raise UserError("give either IMAGE (with -o) or --input-dir (with --output-dir)")
    if folder_mode and not args.output_dir:
        raise UserError("--input-dir needs --output-dir")
    if folder_mode:
        return
    if not args.output:
        raise UserError(f"{args.image}: -o/--output is required")
    check_output(args.output, [args.image, args.mask], args.overwrite)
    for path in (args.image, args.mask):
        if path and not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such file")
        if path:
            check_image_file(path, mask=path == args.mask)


def _model_path(args: argparse.Namespace) -> str:
    """``--model`` (a path or a shipped model's name) or the shipped default, checked before
    TensorFlow loads (a typo then fails at once, not after the import)."""
    return resolve(args.model) if args.model else default_model_path()


def _inpaint(args: argparse.Namespace) -> int:
    _check_args(args)
    inpainter = Inpainter.from_path(
        _model_path(args),
        working_size=args.working_size or None,
        context=args.context,
        num_threads=args.num_threads,
    )
    options = {
        "invert_mask": args.invert_mask,
        "force": args.force,
        "dilate": args.dilate,
        "on_warning": _warn,
    }
    if args.input_dir is not None:
        count, failures = inpaint_folder(
            inpainter, args.input_dir, args.output_dir, args.mask_dir, args.ext or FOLDER_EXT,
            args.overwrite, progress=not args.quiet, on_error=_report, **options,
        )  # fmt: skip
        print(f"inpainted {count - failures} of {count} images into {args.output_dir}")
        return 2 if failures else 0
    info = inpaint_file(inpainter, args.image, args.output, args.mask, args.overwrite, **options)
    h, w = info["size"]
    print(
        f"{info['output']}: {w}x{h}, {info['holes']} hole pixels, {info['regions']} network run(s)"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m keras_pggan.inpaint``; returns the exit status."""
    return cli.run(_inpaint, build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
