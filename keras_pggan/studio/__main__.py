"""The inpainting studio: paint over what should go in a browser, see it filled.

Example:
    python -m keras_pggan.studio                                    # http://127.0.0.1:7860
    python -m keras_pggan.studio --model runs/x/generator.keras --port 0
    python -m keras_pggan.studio study --images eval/x/outputs      # the blind perceptual study
    python -m keras_pggan.studio report votes.db --out study_report

Without a sub-command it starts the editor (:mod:`keras_pggan.studio.app`) on the shipped model
(``--model`` takes any ``Inpainter`` path: ``.keras``, SavedModel, ``.tflite``), loaded once at
start. It binds 127.0.0.1 (this machine only) unless ``--host`` says otherwise. ``study`` and
``report`` run :mod:`keras_pggan.studio.study` and :mod:`keras_pggan.studio.report`
(``--help`` after either). Needs the ``[studio]`` extra (FastAPI, uvicorn, python-multipart).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from keras_pggan import cli
from keras_pggan.inference.regions import DEFAULT_WORKING_SIZE
from keras_pggan.studio.web import (
    DEFAULT_HOST,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_UPLOAD_MB,
    DEFAULT_PORT,
)

SUBCOMMANDS = ("study", "report")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=cli.prog("keras_pggan.studio"),
        description=__doc__.split("\n\n")[0],
        formatter_class=cli.HelpFormatter,
        epilog="Sub-commands: `study --images DIR` (a blind perceptual study) and "
        "`report votes.db` (its results); `study --help`, `report --help` for theirs. "
        "Example: python -m keras_pggan.studio --model runs/x/generator.keras",
    )
    p.add_argument(
        "--model",
        default=None,
        help=".keras file, run directory, SavedModel dir or .tflite file (default: the shipped "
        "model, saved_models/pggan_dres.keras)",
    )
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="interface to listen on; 0.0.0.0 makes the studio reachable from other machines",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port; 0 = a free port")
    p.add_argument(
        "--max-upload-mb",
        type=float,
        default=DEFAULT_MAX_UPLOAD_MB,
        help="largest photo (or mask) file accepted, in MB",
    )
    p.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help="largest photo accepted, width × height",
    )
    p.add_argument(
        "--working-size",
        type=int,
        default=DEFAULT_WORKING_SIZE,
        help="long side (px) the network runs at, at most; larger photos are filled crop by "
        "crop around the holes; 0 = always the whole image",
    )
    p.add_argument(
        "--no-telea", action="store_true", help="do not offer the OpenCV Telea comparison"
    )
    return p


def _dispatch(command: str, rest: list[str]) -> int:
    if command == "study":
        from keras_pggan.studio import study

        return study.main(rest)
    from keras_pggan.studio import report

    return report.main(rest)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        return _dispatch(argv[0], argv[1:])
    args = _parser().parse_args(argv)
    try:
        if args.max_upload_mb <= 0 or args.max_pixels <= 0:
            raise ValueError("--max-upload-mb and --max-pixels must be positive")
        if not 0 <= args.port <= 65535:
            raise ValueError(f"--port must be in 0..65535, got {args.port}")
        from keras_pggan.studio import web

        web.require_web_stack()
        from keras_pggan.inference.inpainter import Inpainter, default_model_path
        from keras_pggan.studio.app import create_app

        model = args.model or default_model_path()
        print(f"studio: loading {model} …", file=sys.stderr, flush=True)
        inpainter = Inpainter.from_path(model, working_size=args.working_size or None)
        app = create_app(
            inpainter,
            telea=not args.no_telea,
            max_upload_bytes=int(args.max_upload_mb * 1_000_000),
            max_pixels=args.max_pixels,
            model_name=os.path.basename(os.path.normpath(model)),
        )
        web.serve(app, args.host, args.port, name="studio")
    except KeyboardInterrupt:
        return 0
    except (ImportError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
