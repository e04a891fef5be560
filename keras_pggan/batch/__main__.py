"""Inpaint millions of photos with Apache Beam: DirectRunner here; Flink, Spark, Dataflow at scale.

Example:
    python -m keras_pggan.batch --input photos --output filled --model pggan_dres-int8
    python -m keras_pggan.batch --input 'photos/**/*.jpg' --mask-dir masks --output filled \\
        --direct_num_workers=4 --direct_running_mode=multi_processing
    python -m keras_pggan.batch --input gs://b/photos --output gs://b/filled \\
        --model gs://b/models/pggan_dres-int8.tflite --runner=DataflowRunner ...  # docs/batch.md

Inputs are files, folders (with their sub-folders, mirrored under ``--output``) and globs; masks
pair as in ``inpaint --input-dir``: ``<stem>_mask.png`` beside the image, ``<stem>.*`` or
``<stem>_mask.*`` in the mirrored sub-folder of ``--mask-dir``, one ``--mask`` for all, else the
image's transparent pixels. Outputs that exist are skipped (a re-run resumes) unless
``--overwrite``. Files that fail (undecodable, no mask, a mask of another size, ...) are listed in
a dead-letter file, one JSON line each, and the job goes on; it ends by printing its counters and
exits with 2 when any file failed. Flags this command does not know are Apache Beam's
(``--runner``, ``--direct_num_workers``, ``--project``, ...). Needs ``pip install
'keras_pggan[beam]'``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from keras_pggan import cli
from keras_pggan.batch.config import DEFAULT_MAX_BATCH, BatchConfig, BeamFlagsParser, is_remote
from keras_pggan.inference.files import FOLDER_EXT
from keras_pggan.inference.regions import add_region_arguments
from keras_pggan.models.shipped import preset_names, resolve

SHOWN_FAILURES = 5  # dead letters printed at the end (all are in the file)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m keras_pggan.batch`` argument parser (Beam's flags pass through)."""
    p = BeamFlagsParser(
        prog=cli.prog("keras_pggan.batch"),
        description=__doc__.split("\n\n")[0],
        epilog="Any other --flag is Apache Beam's, e.g. --runner=DataflowRunner, "
        "--direct_num_workers=4 --direct_running_mode=multi_processing (docs/batch.md).",
        formatter_class=cli.HelpFormatter,
    )
    p.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="PATH",
        help="an image file, a folder (with sub-folders) or a glob ('**' crosses folders); "
        "repeat for more; local or remote (gs://, s3:// with Beam's extras)",
    )
    p.add_argument("--input-list", metavar="FILE", help="a text file of inputs, one a line")
    p.add_argument("--output", required=True, metavar="PREFIX", help="output folder or prefix")
    p.add_argument(
        "--model",
        default=None,
        help=".keras file, SavedModel folder, .tflite file (local or remote) or a shipped model's "
        "name (" + ", ".join(preset_names() or ["pggan_dres"]) + "; default: pggan_dres)",
    )
    p.add_argument("--mask", help="one mask file for every image (white = hole)")
    p.add_argument(
        "--mask-dir",
        help="masks named <stem>.* or <stem>_mask.*, sub-folders mirrored (default: "
        "<stem>_mask.png beside each image, else its transparency)",
    )
    p.add_argument("--invert-mask", action="store_true", help="masks are black = hole")
    p.add_argument("--force", action="store_true", help="use masks that look like photos")
    p.add_argument(
        "--dilate",
        type=int,
        default=0,
        metavar="PX",
        help="grow every hole by PX pixels before filling (an object's edge pixels that the mask "
        "missed would leak its colour into the fill)",
    )
    p.add_argument("--ext", default=FOLDER_EXT, help="output extension (lossless PNG keeps pixels)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="fill again images whose output exists (default: skip them, so a re-run resumes)",
    )
    p.add_argument(
        "--dead-letter",
        metavar="FILE",
        help="the failures' JSON lines (default: <output>/dead_letter-<UTC time>.jsonl)",
    )
    add_region_arguments(p)
    p.add_argument("--num-threads", type=int, help="TFLite CPU threads per worker")
    p.add_argument(
        "--max-batch-size",
        type=int,
        default=DEFAULT_MAX_BATCH,
        help="images per RunInference batch (their same-size crops run as one network batch)",
    )
    return p


def _batch(args: argparse.Namespace) -> int:
    model = args.model or "pggan_dres"
    config = BatchConfig(
        inputs=tuple(args.input),
        output=args.output,
        model=model if is_remote(model) else resolve(model),
        input_list=args.input_list,
        mask=args.mask,
        mask_dir=args.mask_dir,
        invert_mask=args.invert_mask,
        force=args.force,
        dilate=args.dilate,
        ext=args.ext,
        overwrite=args.overwrite,
        dead_letter=args.dead_letter,
        working_size=args.working_size or None,
        context=args.context,
        num_threads=args.num_threads,
        max_batch_size=args.max_batch_size,
    )
    from keras_pggan.batch.pipeline import run_batch  # Beam loads after the flags are checked

    result = run_batch(config, args.pipeline_args)
    c = result.counters
    print(
        f"batch {result.state}: {c['images']} images, {c['inpainted']} inpainted, "
        f"{c['skipped']} skipped (output exists), {c['failed']} failed, "
        f"{c['hole_pixels']} hole pixels filled"
    )
    if c["failed"]:
        print(f"dead letters: {result.dead_letter}", file=sys.stderr)
        _show_failures(result.dead_letter)
    return 2 if c["failed"] else 0


def _show_failures(path: str) -> None:
    if is_remote(path):
        return
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for line in lines[:SHOWN_FAILURES]:
        print(f"  {line}", file=sys.stderr)
    if len(lines) > SHOWN_FAILURES:
        print(f"  ... and {len(lines) - SHOWN_FAILURES} more", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m keras_pggan.batch``; returns the exit status."""
    return cli.run(_batch, build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
