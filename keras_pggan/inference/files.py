"""Inpaint image files, and folders of them, with an :class:`Inpainter`.

Masks: white (>= 128) = hole in a grey or RGB mask file (a 0/1 file: 1 = hole), or the input's own
transparent pixels when no mask file is given (``invert_mask`` for black = hole masks).
:func:`mask_messages` words a mask's likely mistakes
(:func:`keras_pggan.data.imageio.mask_problems`): a mask that is mostly hole (inverted?) or has
no hole is a warning, one that looks like a photo (image and mask swapped?) is refused unless
``force``. Folder mode (:func:`inpaint_folder`) walks a folder and its sub-folders (mirrored in
the output folder, PNG output by default); the mask of ``photo.jpg`` is ``photo_mask.png`` next
to it, or the file named ``photo.*`` / ``photo_mask.*`` in the same sub-folder of the mask folder
(:func:`find_mask`). Nothing is written over an input or an existing file unless ``overwrite``.

Example:
    >>> inpainter = Inpainter.from_path("runs/x/generator.keras")  # doctest: +SKIP
    >>> inpaint_file(inpainter, "photo.jpg", "out.png", "photo_mask.png")  # doctest: +SKIP
    {'image': 'photo.jpg', 'mask': 'photo_mask.png', 'output': 'out.png', ...}
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence

import numpy as np

from keras_pggan.data.imageio import (
    MaskProblem,
    decode_mask_image,
    decode_rgb,
    dilate_holes,
    has_transparency,
    hole_from_array,
    image_format,
    mask_problems,
    save_image,
)
from keras_pggan.inference.inpainter import Inpainter

MASK_SUFFIX = "_mask"
FOLDER_EXT = ".png"  # folder mode's default output: lossless, known pixels stay exact on disk


class MaskSizeError(ValueError):
    """A mask whose size is not its image's (both files and sizes named)."""


def _size_error(mask_path: str, mask_shape, image_path: str, image_shape) -> MaskSizeError:
    mh, mw = mask_shape[:2]
    ih, iw = image_shape[:2]
    hint = ""
    if (mh, mw) == (iw, ih):
        hint = " (transposed: masks must match the image as displayed, after EXIF orientation)"
    return MaskSizeError(
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
    for path in (image_path, mask_path):
        if path is not None and not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such file")
    with open(image_path, "rb") as f:
        image_data = f.read()
    mask_data = None
    if mask_path is not None:
        with open(mask_path, "rb") as f:
            mask_data = f.read()
    return decode_inputs(image_data, image_path, mask_data, mask_path, invert_mask)


def decode_inputs(
    image_data: bytes,
    image_name: str,
    mask_data: bytes | None = None,
    mask_name: str | None = None,
    invert_mask: bool = False,
) -> tuple[np.ndarray, np.ndarray, list[MaskProblem]]:
    """:func:`read_inputs` on bytes already read (the Beam pipeline reads through Beam's
    filesystems): the same decoding, checks and messages.

    Args:
        image_data: the image file's bytes.
        image_name: its name, for messages.
        mask_data: the mask file's bytes; None to use the image's transparent pixels.
        mask_name: the mask file's name, for messages.
        invert_mask: invert the holes (for black = hole masks).

    Returns:
        As :func:`read_inputs`.

    Raises:
        ValueError: an undecodable file, a mask of the wrong size, or no mask and no
            transparency.
    """
    image = decode_rgb(image_data, image_name)
    if mask_data is None:
        if not has_transparency(io.BytesIO(image_data)):
            raise ValueError(
                f"{image_name}: no mask given and the image has no transparent pixels "
                "(pass --mask, white = hole)"
            )
        mask_data, source = image_data, image_name
    else:
        source = mask_name or "<mask>"
    # As displayed (EXIF orientation applied), like the image.
    mask_image = decode_mask_image(mask_data, source)
    holes = hole_from_array(mask_image)
    if holes.shape != image.shape[:2]:
        raise _size_error(source, holes.shape, image_name, image.shape)
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


def check_output(out_path: str, inputs: Sequence[str], overwrite: bool) -> None:
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


def beside_mask_name(image_name: str) -> str:
    """The file name of an image's mask beside it: ``photo.jpg`` → ``photo_mask.png``."""
    return os.path.splitext(os.path.basename(image_name))[0] + MASK_SUFFIX + ".png"


def is_mask_name(name: str) -> bool:
    """Whether a file name is a mask's (``<stem>_mask.*``): never an input of folder mode."""
    return os.path.splitext(os.path.basename(name))[0].endswith(MASK_SUFFIX)


def is_image_name(name: str) -> bool:
    """Whether a file name has an image extension folder mode reads (any case)."""
    from keras_pggan.data.pipeline import IMAGE_EXTENSIONS

    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def mask_dir_stems(mask_name: str) -> tuple[str, ...]:
    """The image stems whose mask a file of the mask folder can be: ``a.png`` and
    ``a_mask.png`` are both the mask of ``a.*`` (``()`` for a file that is not an image).

    The rule :func:`find_mask` applies to one image, turned around so that the Beam pipeline
    (:mod:`keras_pggan.batch`) can pair a whole listing with one join.
    """
    if not is_image_name(mask_name):
        return ()
    stem = os.path.splitext(os.path.basename(mask_name))[0]
    return (stem, stem[: -len(MASK_SUFFIX)]) if stem.endswith(MASK_SUFFIX) else (stem,)


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
    stem = os.path.splitext(os.path.basename(image_path))[0]
    if mask_dir is None:
        candidate = os.path.join(os.path.dirname(image_path), beside_mask_name(image_path))
        return candidate if os.path.isfile(candidate) else None
    folder = _mask_folder(image_path, mask_dir, input_dir)
    if not os.path.isdir(folder):
        return None
    found = sorted(os.path.join(folder, f) for f in os.listdir(folder) if stem in mask_dir_stems(f))
    return check_one_mask(image_path, folder, found)


def check_one_mask(image_path: str, folder: str, found: Sequence[str]) -> str | None:
    """The one mask found for ``image_path`` in ``folder`` (None: none).

    Raises:
        ValueError: several candidates (they are listed, sorted).
    """
    if len(found) > 1:
        raise ValueError(f"{image_path}: several masks match in {folder}: {sorted(found)}")
    return found[0] if found else None


def no_mask_error(
    image_path: str, mask_dir: str | None, input_dir: str | None, folder: str | None = None
) -> ValueError:
    """Folder mode's message for an image without a mask: the rules it was looked for by.

    Args:
        folder: the sub-folder of ``mask_dir`` the mask was looked for in, when the caller has
            resolved it (remote paths); default: from ``input_dir`` as :func:`find_mask` does.
    """
    stem = os.path.splitext(os.path.basename(image_path))[0]
    if mask_dir is None:
        where = (
            f"{os.path.join(os.path.dirname(image_path), beside_mask_name(image_path))} beside "
            f"it (or --mask-dir DIR holding {stem}.* or {stem}{MASK_SUFFIX}.*)"
        )
    else:
        folder = folder or _mask_folder(image_path, mask_dir, input_dir)
        where = f"{os.path.join(folder, stem)}.* or {stem}{MASK_SUFFIX}.* there (--mask-dir)"
    return ValueError(
        f"{image_path}: no mask: expected {where}, or transparent pixels in the image "
        "(white = hole)"
    )


def folder_images(input_dir: str, exclude: Sequence[str | None] = ()) -> list[str]:
    """Image files in ``input_dir`` and its sub-folders (sorted), leaving out ``*_mask.*`` files
    and the folders in ``exclude`` (e.g. an output or mask folder inside ``input_dir``)."""
    skip = {os.path.realpath(d) for d in exclude if d and os.path.isdir(d)}
    found = []
    for root, dirs, files in os.walk(input_dir):
        dirs[:] = [d for d in dirs if os.path.realpath(os.path.join(root, d)) not in skip]
        found += [
            os.path.join(root, f)
            for f in files
            if is_image_name(f) and not is_mask_name(f) and os.path.isfile(os.path.join(root, f))
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
    dilate: int = 0,
    on_warning: Callable[[str], None] | None = None,
) -> dict:
    """Inpaints one file into ``out_path`` (never over the input or an existing file unless
    ``overwrite``).

    Args:
        invert_mask: black = hole masks (the holes are inverted).
        force: run with a mask that looks like a photo instead of raising.
        dilate: grow the holes by this many pixels before filling
            (:func:`keras_pggan.data.imageio.dilate_holes`; the mask's checks see the file's
            own holes).
        on_warning: called with each warning (:func:`mask_messages`) before the run.

    Returns:
        ``{"image", "mask", "output", "size": [H, W], "holes": count (after dilation),
        "regions": n, "warnings": [str]}``.

    Raises:
        MaskLooksWrong: the mask looks like a photo (image and mask swapped?) and not ``force``.
    """
    check_output(out_path, [image_path, mask_path], overwrite)
    image, holes, problems = read_inputs(image_path, mask_path, invert_mask)
    warnings, refusal = mask_messages(problems, image_path, mask_path, invert_mask, force)
    if refusal:
        raise MaskLooksWrong(refusal)
    for w in warnings:
        if on_warning is not None:
            on_warning(w)
    holes = dilate_holes(holes, dilate)
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


def _output_path(path: str, input_dir: str, output_dir: str, ext: str) -> str:
    rel = os.path.relpath(path, input_dir)
    return os.path.join(output_dir, os.path.splitext(rel)[0] + ext)


def inpaint_folder(
    inpainter: Inpainter,
    input_dir: str,
    output_dir: str,
    mask_dir: str | None = None,
    ext: str = FOLDER_EXT,
    overwrite: bool = False,
    *,
    invert_mask: bool = False,
    force: bool = False,
    dilate: int = 0,
    progress: bool = True,
    on_warning: Callable[[str], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
) -> tuple[int, int]:
    """Inpaints every image of ``input_dir`` and its sub-folders into ``output_dir``.

    A file that fails (no mask, unreadable, an existing output, ...) is passed to ``on_error``
    and the others go on.

    Args:
        mask_dir: the masks' folder (see :func:`find_mask`; default: beside each image).
        ext: the outputs' extension (default: PNG, so that known pixels stay exact).
        progress: show a progress bar.
        overwrite, invert_mask, force, dilate, on_warning: as for :func:`inpaint_file`.
        on_error: called with each file's error.

    Returns:
        (images found, images that failed).

    Raises:
        FileNotFoundError: ``input_dir`` or ``mask_dir`` is not a directory.
        ValueError: no images in ``input_dir``.
    """
    from tqdm import tqdm

    for flag, folder in (("--input-dir", input_dir), ("--mask-dir", mask_dir)):
        if folder and not os.path.isdir(folder):
            raise FileNotFoundError(f"{folder}: no such directory ({flag})")
    images = folder_images(input_dir, exclude=[output_dir, mask_dir])
    if not images:
        raise ValueError(f"{input_dir}: no images found")
    ext = ext if ext.startswith(".") else "." + ext
    failures, outputs = 0, {}
    for path in tqdm(images, desc="inpaint", unit="img", disable=not progress):
        out_path = _output_path(path, input_dir, output_dir, ext)
        key = os.path.normcase(os.path.abspath(out_path))
        try:
            if key in outputs:  # photo.jpg and photo.png both → photo.png
                raise ValueError(
                    f"{path}: its output {out_path} is also the output of {outputs[key]} "
                    "(same name, another extension): rename one"
                )
            outputs[key] = path
            mask = find_mask(path, mask_dir, input_dir)
            if mask is None and not has_transparency(path):
                raise no_mask_error(path, mask_dir, input_dir)
            inpaint_file(
                inpainter, path, out_path, mask, overwrite,
                invert_mask=invert_mask, force=force, dilate=dilate, on_warning=on_warning,
            )  # fmt: skip
        except (OSError, ValueError) as e:
            failures += 1
            if on_error is not None:
                on_error(e)
    return len(images), failures
