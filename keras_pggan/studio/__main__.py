"""The inpainting studio: paint over what should go in a browser, see it filled.

Example:
    python -m keras_pggan.studio                                    # http://127.0.0.1:7860
    python -m keras_pggan.studio --model runs/x/generator.keras --port 0
    python -m keras_pggan.studio --web-build web_build    # also "Run in this browser"
    python -m keras_pggan.studio study --images eval/x/outputs      # the blind perceptual study
    python -m keras_pggan.studio report votes.db --out study_report

Without a sub-command it starts the editor (:mod:`keras_pggan.studio.app`) on the shipped model
(``--model`` takes any ``Inpainter`` path: ``.keras``, SavedModel, ``.tflite``), loaded once at
start. It binds 127.0.0.1 (this machine only) unless ``--host`` says otherwise. ``study`` serves
the blind perceptual study (:mod:`keras_pggan.studio.study`) until Ctrl+C and ``report`` writes
its results (:mod:`keras_pggan.studio.report`); ``--help`` after either. Needs the ``[studio]``
extra (FastAPI, uvicorn, python-multipart).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from keras_pggan import cli
from keras_pggan.errors import UserError
from keras_pggan.inference.regions import DEFAULT_WORKING_SIZE
from keras_pggan.studio import report as report_lib
from keras_pggan.studio import study as study_lib
from keras_pggan.studio import votes as votes_lib
from keras_pggan.studio import web
from keras_pggan.studio.web import (
    DEFAULT_HOST,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_UPLOAD_MB,
    DEFAULT_PORT,
)


def build_parser() -> argparse.ArgumentParser:
    """The editor's argument parser (``study`` and ``report`` have their own)."""
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
    _add_web_build(p)
    return p


def _add_web_build(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--web-build",
        default=None,
        metavar="DIR",
        help="an on-device build (python -m keras_pggan.export web DIR): the page offers "
        "'Run in this browser', where the photo is never uploaded",
    )


def build_study_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m keras_pggan.studio study``."""
    p = argparse.ArgumentParser(
        prog=f"{cli.prog('keras_pggan.studio')} study",
        description="Blind perceptual study: voters score real and inpainted photos 1-5.",
        epilog="Example: python -m keras_pggan.studio study --images eval/x/outputs "
        "--per-voter 40  (then: ... studio report votes.db)",
        formatter_class=cli.HelpFormatter,
    )
    p.add_argument(
        "--images",
        required=True,
        metavar="DIR",
        help="one folder per method with the same image ids (evaluate --save-outputs: OUT/outputs)",
    )
    p.add_argument(
        "--methods",
        metavar="A,B,...",
        help="comma list of method folders (default: all but 'masked'; original first)",
    )
    p.add_argument(
        "--votes",
        default="votes.db",
        metavar="PATH",
        help="SQLite file of the votes: created, or appended to when it exists",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="interface to bind; 127.0.0.1 = this machine only"
    )
    p.add_argument(
        "--port", type=int, default=study_lib.DEFAULT_PORT, help="TCP port (0: a free one)"
    )
    p.add_argument(
        "--per-voter", type=int, metavar="N", help="items per voter, a random subset (default all)"
    )
    p.add_argument(
        "--seed", type=int, metavar="N", help="seed of the voters' orders (default: random)"
    )
    return p


def build_report_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m keras_pggan.studio report``."""
    p = argparse.ArgumentParser(
        prog=f"{cli.prog('keras_pggan.studio')} report",
        description="Mean naturalness per method (95 % CI) from a perceptual study's votes.",
        epilog="Example: python -m keras_pggan.studio report votes.db --out study_report",
        formatter_class=cli.HelpFormatter,
    )
    p.add_argument("votes", help="the study's SQLite votes file (read only)")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="folder of report.md/.json and perceptual.png "
        "(default: <votes file>_report beside it)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing report files")
    p.add_argument(
        "--order",
        metavar="A,B,...",
        help="comma list: methods in this order first (default: original first, then sorted)",
    )
    return p


def _comma_list(text: str | None) -> list[str] | None:
    return [m.strip() for m in text.split(",") if m.strip()] if text else None


def _check_port(port: int) -> None:
    if not 0 <= port <= 65535:
        raise UserError(f"--port must be in 0..65535, got {port}")


def _require_web_stack() -> None:
    try:
        web.require_web_stack()
    except ImportError as e:  # the [studio] extra is missing: the message says how to add it
        raise UserError(str(e)) from e


def _serve(app, host: str, port: int, name: str) -> None:
    """Serves ``app`` until Ctrl+C, which ends the command normally."""
    try:
        web.serve(app, host, port, name=name)
    except KeyboardInterrupt:
        pass


def _editor(args: argparse.Namespace) -> None:
    if args.max_upload_mb <= 0 or args.max_pixels <= 0:
        raise UserError("--max-upload-mb and --max-pixels must be positive")
    _check_port(args.port)
    if args.web_build and not os.path.isfile(os.path.join(args.web_build, "manifest.json")):
        raise UserError(
            f"--web-build: {args.web_build} has no manifest.json; write the build with "
            f"python -m keras_pggan.export web {args.web_build}"
        )
    _require_web_stack()
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
        web_build=args.web_build,
    )
    _serve(app, args.host, args.port, "studio")


def _study(args: argparse.Namespace) -> None:
    _check_port(args.port)
    _require_web_stack()
    app = study_lib.create_study_app(
        args.images,
        methods=_comma_list(args.methods),
        votes_path=args.votes,
        per_voter=args.per_voter,
        seed=args.seed,
    )
    study = app.state.study
    kept = f"{study.votes_before} votes already there: appending" if study.votes_before else "new"
    print(
        f"study: {len(study.image_ids)} images x {len(study.methods)} methods "
        f"({', '.join(study.methods)}) = {len(study.items)} items, {study.total} per voter; "
        f"votes -> {args.votes} ({kept})"
    )
    _serve(app, args.host, args.port, "study")


def _report(args: argparse.Namespace) -> None:
    out = args.out or os.path.splitext(args.votes)[0] + "_report"
    votes = votes_lib.read_votes(args.votes)
    result = report_lib.build_result(votes, args.votes, _comma_list(args.order))
    written = report_lib.write_report(result, out, args.overwrite)
    print(f"{result['votes']} votes by {result['voters']} voters in {args.votes}")
    if result["methods"]:
        print(report_lib.render_table(result["methods"]))
    for path in written:
        print(f"wrote {path}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m keras_pggan.studio [study|report]``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "study":
        return cli.run(_study, build_study_parser(), argv[1:])
    if argv and argv[0] == "report":
        return cli.run(_report, build_report_parser(), argv[1:])
    return cli.run(_editor, build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
