"""Export a trained generator: a TF Serving SavedModel, checked TFLite builds, or a web build.

Example:
    python -m keras_pggan.export saved-model --model runs/x/generator.keras \\
        --out runs/x/pggan_dres [--version 1] [--overwrite]
    python -m keras_pggan.export tflite --model runs/x/generator.keras --out runs/x/pggan_dres \\
        --modes fp32,dynamic,fp16,int8 [--calibration-data DIR] [--overwrite]
    python -m keras_pggan.export web OUT/ [--model pggan_dres] [--mode int8] [--size 512]

``saved-model`` writes ``<out>/<version>/`` (the next free version without ``--version``) with the
signatures ``serving_default`` (float ``image``/``mask`` → ``inpainted``) and ``serving_bytes``
(PNG/JPEG → PNG), written to a temporary folder and renamed into place; serve it with
``python -m keras_pggan.serving serve --model-base-path <out>`` or the ``tensorflow/serving``
image (``keras_pggan/serving/models.config`` is a config-file template). See docs/serving.md.

``tflite`` writes ``<out>-<mode>.tflite`` per mode (``<out>-int8-uint8.tflite`` with ``--io
uint8``), a model-card section per build in ``<out>-tflite.md`` and the build reports in
``<out>-tflite.json`` (sections of earlier builds under the same prefix are kept). Each build
has builtin ops only and is checked against the size its weights need. int8 builds are
calibrated on photo crops with generated masks (default: the embedded photos shipped by
scikit-image). See docs/tflite.md.

Existing versions and builds are replaced only with ``--overwrite``, and the repository's shipped
``saved_models/`` is refused without it, both checked before anything is converted. Exit status:
0 done, 1 an export failed its check, 2 a user error (one ``error:`` line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from keras_pggan import cli
from keras_pggan.export.builds import export_saved_model_file, export_tflite_files


def _fixed_size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    parts = text.lower().split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or HxW, got {text!r}") from None
    if len(values) not in (1, 2) or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected N or HxW with positive sizes, got {text!r}")
    return (values[0], values[-1])


def _add_saved_model(sub) -> None:
    p = sub.add_parser(
        "saved-model",
        help="a TF Serving SavedModel <out>/<version>/",
        description="Export a generator as a TF Serving SavedModel (<out>/<version>/).",
        formatter_class=cli.HelpFormatter,
    )
    p.add_argument(
        "--model", required=True, help="generator.keras file (or a run directory holding one)"
    )
    p.add_argument("--out", required=True, help="model base path, e.g. runs/x/pggan_dres")
    p.add_argument(
        "--version", type=int, default=None, help="version number (default: highest + 1)"
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing version; allow exporting into the shipped saved_models/",
    )
    p.add_argument(
        "--no-warmup",
        action="store_true",
        help="do not write TF Serving warm-up requests to assets.extra/",
    )
    p.set_defaults(run=_saved_model)


def _add_tflite(sub) -> None:
    p = sub.add_parser(
        "tflite",
        help="checked TFLite builds <out>-<mode>.tflite and their model card",
        description="Convert a generator to checked TFLite builds and their model-card sections.",
        formatter_class=cli.HelpFormatter,
    )
    p.add_argument(
        "--model", required=True, help="generator.keras file (or a run directory holding one)"
    )
    p.add_argument(
        "--out", required=True, help="output prefix: writes <out>-<mode>.tflite, <out>-tflite.md"
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing .tflite files; allow writing into the shipped saved_models/",
    )
    p.add_argument(
        "--modes",
        default="fp32,dynamic,fp16,int8",
        help="comma-separated subset of fp32, dynamic, fp16, int8",
    )
    p.add_argument(
        "--calibration-data",
        default=None,
        metavar="DIR",
        help="int8 calibration photos (default: the embedded scikit-image photos)",
    )
    p.add_argument(
        "--num-calibration",
        type=int,
        default=32,
        help="int8 calibration samples (photo crops with generated masks)",
    )
    p.add_argument(
        "--calibration-size",
        type=int,
        default=256,
        help="side of the calibration crops for dynamic-size builds",
    )
    p.add_argument(
        "--io",
        choices=("float", "uint8"),
        default="float",
        help="int8 build's input/output type (float builds are always float)",
    )
    p.add_argument(
        "--fixed-size",
        type=_fixed_size,
        default=None,
        metavar="N|HxW",
        help="static input size instead of dynamic H, W",
    )
    p.add_argument(
        "--pad-inside",
        action="store_true",
        help="pad to the network multiple inside the graph (any H, W)",
    )
    p.add_argument(
        "--dilated-conv",
        choices=("native", "space_to_batch"),
        default="native",
        help="lowering of dilated convolutions (native: dilated CONV_2D, faster)",
    )
    p.set_defaults(run=_tflite)


def _add_web(sub) -> None:
    from keras_pggan.export import web

    p = sub.add_parser(
        "web",
        help="a static folder that inpaints in the browser with LiteRT.js (no server)",
        description="Write a self-contained static folder (index.html, the page, the LiteRT.js "
        "runtime copied from node_modules, a fixed-size .tflite, manifest.json) that inpaints "
        "in the browser; serve it with any static server (python -m http.server -d OUT). "
        f"Set up the runtime first with `{web.SETUP_COMMAND}` in the repository. "
        "See docs/studio.md.",
        formatter_class=cli.HelpFormatter,
    )
    p.add_argument("out", metavar="OUT", help="the folder to write (new or empty)")
    p.add_argument(
        "--model",
        default="pggan_dres",
        help="generator.keras file, run directory, or shipped model name",
    )
    p.add_argument(
        "--mode",
        choices=web.MODES,
        default=web.DEFAULT_MODE,
        help="TFLite build (int8: full integer with float inputs/outputs)",
    )
    p.add_argument(
        "--size", type=int, default=web.DEFAULT_SIZE, help="the model's fixed input side (px)"
    )
    p.add_argument(
        "--node-modules",
        default=None,
        metavar="DIR",
        help="where `npm ci` installed @litertjs/core (default: the repository's node_modules)",
    )
    p.add_argument(
        "--calibration-data",
        default=None,
        metavar="DIR",
        help="int8 calibration photos (default: the embedded scikit-image photos)",
    )
    p.add_argument("--num-calibration", type=int, default=32, help="int8 calibration samples")
    p.add_argument("--overwrite", action="store_true", help="write into a folder with files")
    p.set_defaults(run=_web)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m keras_pggan.export`` argument parser (``saved-model``, ``tflite``)."""
    parser = argparse.ArgumentParser(
        prog=cli.prog("keras_pggan.export"),
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:8]),
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_saved_model(sub)
    _add_tflite(sub)
    _add_web(sub)
    return parser


def _saved_model(args: argparse.Namespace) -> None:
    report = export_saved_model_file(
        args.model, args.out, args.version, args.overwrite, warmup=not args.no_warmup
    )
    print(
        f"{report['path']}: {report['params']:,} parameters, variables "
        f"{report['variables_data_bytes']:,} bytes ({report['size_ratio']:.3f}x params x 4), "
        f"pad multiple {report['pad_multiple']}, {report['seconds']:.1f} s"
    )
    for name, sig in report["signatures"].items():
        inputs = ", ".join(f"{k} {d}{s}" for k, (d, s) in sig["inputs"].items())
        outputs = ", ".join(f"{k} {d}{s}" for k, (d, s) in sig["outputs"].items())
        print(f"  {name}: {inputs} -> {outputs}")


def _built(report: dict) -> None:
    print(
        f"{report['path']}: {report['bytes'] / 1e6:.2f} MB ({report['size_ratio']:.2f}x "
        f"expected), {len(report['ops'])} builtin op types, {report['convert_seconds']:.1f} s",
        flush=True,
    )


def _tflite(args: argparse.Namespace) -> None:
    export_tflite_files(
        args.model,
        args.out,
        [m.strip() for m in args.modes.split(",") if m.strip()],
        io=args.io,
        overwrite=args.overwrite,
        calibration_data=args.calibration_data,
        num_calibration=args.num_calibration,
        calibration_size=args.calibration_size,
        fixed_size=args.fixed_size,
        pad_inside=args.pad_inside,
        dilated_conv=args.dilated_conv,
        on_build=_built,
    )
    print(f"{args.out}-tflite.md, {args.out}-tflite.json")


def _web(args: argparse.Namespace) -> None:
    from keras_pggan.export.web import export_web

    manifest = export_web(
        args.model,
        args.out,
        mode=args.mode,
        size=args.size,
        node_modules=args.node_modules,
        overwrite=args.overwrite,
        calibration_data=args.calibration_data,
        num_calibration=args.num_calibration,
        on_model=_built,
    )
    downloads = manifest["downloads"]
    print(
        f"{args.out}: {len(manifest['files'])} files; a browser downloads "
        f"{downloads['single_thread'] / 1e6:.1f} MB ({downloads['threaded'] / 1e6:.1f} MB "
        f"threaded). Serve it: python -m http.server -d {args.out} 8000, then open "
        "http://127.0.0.1:8000/"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m keras_pggan.export``; returns the exit status."""
    return cli.run(lambda args: args.run(args), build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
