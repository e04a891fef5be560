"""Turns a training run into the shipped model: SavedModel, TFLite builds, .keras, MODEL_CARD.md.

Example (the command used for the shipped model; see saved_models/MODEL_CARD.md):

  python -m keras_pggan.ship --run-dir ~/.cache/keras_pggan/runs/ship_v2 --overwrite

When training went on past the shipped weights and was no better on V, ship them again with
the longer run, so that the card records what followed:

  python -m keras_pggan.ship --run-dir RUN --checkpoint saved_models/pggan_dres.keras --overwrite

Writes into ``--out`` (default ``saved_models/``; existing files are replaced only with
``--overwrite``): ``<name>/1/`` (SavedModel), ``<name>-fp32.tflite`` and ``<name>-int8.tflite``,
``<name>.keras``, and ``MODEL_CARD.md`` rendered from ``model_card.json`` (also written): data and
licences, steps, hours, commands, the V table, the training curve, sample sheets, the
flat-colour check and the verdict. Figures go to ``--figures`` (``docs/model_card/``). The
library is :func:`keras_pggan.reports.ship.ship`.
"""

from __future__ import annotations

import argparse
import sys

from keras_pggan import cli


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=cli.prog("keras_pggan.ship"),
        description=__doc__.splitlines()[0],
        formatter_class=cli.HelpFormatter,
    )
    p.add_argument("--run-dir", required=True, help="the training run to ship")
    p.add_argument("--out", default=None, help="output folder (default: the shipped saved_models/)")
    p.add_argument(
        "--figures", default=None, help="curve and sample sheets (default: docs/model_card/)"
    )
    p.add_argument("--name", default="pggan_dres", help="base name of the shipped files")
    p.add_argument("--calibration-data", default=None, help="photos for the int8 calibration")
    p.add_argument("--command", action="append", default=[], help="a training command (repeat)")
    p.add_argument("--machine", default="2 CPU cores", help="what trained it, for the card")
    p.add_argument("--finding", default="", help="the flat-colour finding, for the card")
    p.add_argument("--limit", action="append", default=[], help="an extra limits line (repeat)")
    p.add_argument(
        "--checkpoint",
        default=None,
        help="generator file to ship (default: the run's newest generator)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace the shipped files")
    return p


def _ship(args: argparse.Namespace) -> None:
    from keras_pggan.reports.model_card import render_model_card
    from keras_pggan.reports.ship import ship

    paths = {k: v for k, v in (("out", args.out), ("figures", args.figures)) if v}
    card = ship(
        args.run_dir,
        name=args.name,
        checkpoint=args.checkpoint,
        calibration_data=args.calibration_data,
        commands=tuple(args.command),
        machine=args.machine,
        finding=args.finding,
        limits=tuple(args.limit),
        overwrite=args.overwrite,
        **paths,
    )
    print(render_model_card(card))


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m keras_pggan.ship``; returns the exit code."""
    return cli.run(_ship, build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
