"""Write the project's fixed split of the shared photo collection as list files.

Example:
    python -m keras_pggan.splits ../shared/data/train scripts/configs/splits --overwrite

Writes ``train.txt``, ``val_cmp_facade.txt`` and ``val_imagenet.txt`` (paths relative to the
list file) into OUT_DIR (:func:`keras_pggan.data.splits.write_split`); existing list files are
replaced only with ``--overwrite``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from keras_pggan import cli
from keras_pggan.data.splits import write_split


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m keras_pggan.splits`` argument parser."""
    p = argparse.ArgumentParser(
        prog=cli.prog("keras_pggan.splits"),
        description="The project's fixed split of the shared photo collection into training "
        "and validation (V).",
    )
    p.add_argument("root", help="the photo collection (e.g. ../shared/data/train)")
    p.add_argument("out_dir", help="folder for train.txt, val_cmp_facade.txt, val_imagenet.txt")
    p.add_argument("--overwrite", action="store_true", help="replace existing list files")
    return p


def _split(args: argparse.Namespace) -> None:
    paths = write_split(args.root, args.out_dir, args.overwrite)
    for part, path in paths.items():
        with open(path, encoding="utf-8") as f:
            n = sum(1 for line in f if line.strip() and not line.startswith("#"))
        print(f"{part}: {n} files -> {path}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m keras_pggan.splits``; returns the exit status."""
    return cli.run(_split, build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
