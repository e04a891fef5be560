"""Pack image folders and list files into TFRecord shards for the training pipeline.

Example:
    python -m keras_pggan.data make-tfrecords photos/ shards/ --shards 8

Each record holds the file's original bytes and its name
(:func:`keras_pggan.data.pipeline.write_tfrecords`); undecodable files are skipped and listed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from keras_pggan import cli
from keras_pggan.data.pipeline import write_tfrecords


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m keras_pggan.data`` argument parser (``make-tfrecords``)."""
    p = argparse.ArgumentParser(
        prog=cli.prog("keras_pggan.data"),
        description="tf.data input pipelines: photo folders, file lists and TFRecord shards.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    mk = sub.add_parser("make-tfrecords", help="pack image folders/lists into TFRecord shards")
    mk.add_argument("sources", nargs="+", metavar="SRC", help="folder or list file")
    mk.add_argument("out", metavar="OUT", help="output folder for the shards")
    mk.add_argument("--shards", type=int, default=8)
    mk.add_argument("--prefix", default="images")
    return p


def _make_tfrecords(args: argparse.Namespace) -> None:
    report = write_tfrecords(args.sources, args.out, args.shards, args.prefix)
    print(
        f"wrote {report['written']} images into {len(report['shards'])} shards in {args.out}"
        + (f"; skipped {len(report['skipped'])}" if report["skipped"] else "")
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m keras_pggan.data``; returns the exit status."""
    return cli.run(_make_tfrecords, build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
