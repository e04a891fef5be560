"""Pack image folders and list files into TFRecord shards for the training pipeline.

Example:
    python -m keras_pggan.data make-tfrecords photos/ shards/ --shards 8
    python -m keras_pggan.data make-tfrecords photos/ small/ --short-side 256 --quality 90

Each record holds the file's original bytes and its name
(:func:`keras_pggan.data.pipeline.write_tfrecords`); undecodable files are skipped and listed.
``--short-side`` / ``--quality`` re-encode every image as a JPEG with its short side at most
that (a small pack for training at ``--resize-to`` up to it, e.g. to carry to a GPU machine).
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
    mk.add_argument(
        "--short-side",
        type=int,
        default=None,
        help="re-encode as JPEG with the short side at most this many pixels (never enlarged)",
    )
    mk.add_argument(
        "--quality",
        type=int,
        default=None,
        help="re-encode as JPEG of this quality, 1-95 (90 when only --short-side is given)",
    )
    return p


def _make_tfrecords(args: argparse.Namespace) -> None:
    report = write_tfrecords(
        args.sources, args.out, args.shards, args.prefix, args.short_side, args.quality
    )
    print(
        f"wrote {report['written']} images ({report['bytes'] / 1e6:.1f} MB) into "
        f"{len(report['shards'])} shards in {args.out}"
        + (f"; skipped {len(report['skipped'])}" if report["skipped"] else "")
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m keras_pggan.data``; returns the exit status."""
    return cli.run(_make_tfrecords, build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
