"""The project's fixed split of the shared photo collection into training and validation (V).

V is never trained on: ``cmp_facade_val/`` (37 facades) plus every 10th file of
``imagenet_samples/`` in sorted order (indices 0, 10, …, 990: 100 photos, one per 10 classes).
Everything else under the root is training data. The split is a pure function of the file names,
so it is the same on every machine; ``scripts/configs/splits/`` holds it as list files (paths
relative to the list file) that configs name as ``--data`` / ``--val-data`` sources.

Example:
    python -m keras_pggan.splits ../shared/data/train scripts/configs/splits --overwrite

    >>> s = split_files(["a/x.jpg", "cmp_facade_val/v.jpg"])
    >>> s.train, s.val["cmp_facade_val"]
    (('a/x.jpg',), ('cmp_facade_val/v.jpg',))
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

VAL_FOLDERS = ("cmp_facade_val",)
# folder -> k: every k-th file (sorted, starting with the first) of the folder is held out.
HOLDOUT_EVERY = {"imagenet_samples": 10}
LIST_NAMES = {"train": "train.txt", "cmp_facade_val": "val_cmp_facade.txt"}
LIST_NAMES["imagenet_samples"] = "val_imagenet.txt"


@dataclasses.dataclass(frozen=True)
class PhotoSplit:
    """Relative paths (``folder/file``), sorted.

    Attributes:
        train: every file that is not held out.
        val: the held-out parts of V by folder: ``cmp_facade_val`` and ``imagenet_samples``.
    """

    train: tuple[str, ...]
    val: dict[str, tuple[str, ...]]

    @property
    def val_all(self) -> tuple[str, ...]:
        """All of V, sorted."""
        return tuple(sorted(f for part in self.val.values() for f in part))


def split_files(relative_paths: Sequence[str]) -> PhotoSplit:
    """Splits paths relative to the collection root (first component = folder).

    Args:
        relative_paths: e.g. ``["bsds432/2092.jpg", "imagenet_samples/n01_x.jpg", ...]``.

    Returns:
        The :class:`PhotoSplit`.
    """
    by_folder: dict[str, list[str]] = {}
    for path in sorted(set(relative_paths)):
        folder = path.replace(os.sep, "/").split("/", 1)[0]
        by_folder.setdefault(folder, []).append(path)
    val: dict[str, tuple[str, ...]] = {f: () for f in (*VAL_FOLDERS, *HOLDOUT_EVERY)}
    train: list[str] = []
    for folder, files in by_folder.items():
        if folder in VAL_FOLDERS:
            val[folder] = tuple(files)
        elif folder in HOLDOUT_EVERY:
            k = HOLDOUT_EVERY[folder]
            val[folder] = tuple(files[::k])
            train += [f for i, f in enumerate(files) if i % k]
        else:
            train += files
    return PhotoSplit(tuple(sorted(train)), val)


def split_photos(root: str) -> PhotoSplit:
    """Splits the image files under ``root`` (recursive; the extensions of ``keras_pggan.data``).

    Raises:
        FileNotFoundError: when ``root`` is not a folder or holds no images.
    """
    from keras_pggan.data.pipeline import list_image_files

    if not os.path.isdir(root):
        raise FileNotFoundError(f"{root}: no such folder")
    files = [os.path.relpath(p, root) for p in list_image_files(root)]
    if not files:
        raise FileNotFoundError(f"{root}: folder holds no images")
    return split_files(files)


def write_split(root: str, out_dir: str, overwrite: bool = False) -> dict[str, str]:
    """Writes the split as list files in ``out_dir`` with paths relative to ``out_dir``.

    Returns:
        ``{part: list file path}`` for ``train`` and each part of V.

    Raises:
        FileExistsError: when a list file exists and ``overwrite`` is false (nothing written).
    """
    from keras_pggan.io_utils import write_text_atomic

    split = split_photos(root)
    parts = {"train": split.train, **split.val}
    paths = {part: os.path.join(out_dir, LIST_NAMES[part]) for part in parts}
    existing = [p for p in paths.values() if os.path.exists(p)]
    if existing and not overwrite:
        raise FileExistsError(f"{existing[0]}: exists; pass --overwrite to replace the split")
    os.makedirs(out_dir, exist_ok=True)
    prefix = os.path.relpath(os.path.abspath(root), os.path.abspath(out_dir))
    for part, files in parts.items():
        lines = [f"# {part}: {len(files)} files of {root} (python -m keras_pggan.splits)"]
        lines += [os.path.join(prefix, f).replace(os.sep, "/") for f in files]
        write_text_atomic(paths[part], "\n".join(lines) + "\n")
    return paths
