"""Exports a trained generator as a TF Serving SavedModel (``<out>/<version>/``).

Example:
    python export/saved_model.py --model runs/x/generator.keras --out runs/x/pggan_dres \\
        [--version 1] [--overwrite]

The SavedModel has the signatures ``serving_default`` (float ``image``/``mask`` → ``inpainted``)
and ``serving_bytes`` (PNG/JPEG ``image_bytes``/``mask_bytes`` → ``inpainted_png_bytes``); see
docs/serving.md. Without ``--version`` the next free version number is used. The export is
written to a temporary folder and renamed into place; an existing version is only replaced with
``--overwrite``, and the repository's shipped ``saved_models/`` is refused without it. Serve it
with ``python -m keras_pggan.serving serve --model-base-path <out>`` or the
``tensorflow/serving`` image (export/models.config is a config-file template).
"""

from __future__ import annotations

import argparse
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
# This folder would shadow top-level modules named like its scripts (tflite, saved_model).
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:5]),
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
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.version is not None and args.version <= 0:
        print(f"error: --version: must be a positive integer, got {args.version}", file=sys.stderr)
        return 2
    model_path = args.model
    if os.path.isdir(model_path):
        model_path = os.path.join(model_path, "generator.keras")
    if not os.path.isfile(model_path):
        print(f"error: --model: {model_path}: no such file", file=sys.stderr)
        return 2
    from keras_pggan.errors import UserError
    from keras_pggan.io_utils import refuse_shipped

    try:
        refuse_shipped(args.out, args.overwrite, "--out")
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.version is not None:
        target = os.path.join(args.out, str(args.version))
        if os.path.exists(target) and not args.overwrite:
            print(f"error: --out: {target} exists; pass --overwrite to replace it", file=sys.stderr)
            return 2

    from keras_pggan.export.saved_model import SavedModelCheckError, export_saved_model
    from keras_pggan.models.generator import load_generator

    try:
        generator = load_generator(model_path)
    except (OSError, ValueError) as e:
        print(f"error: --model: {model_path}: {e}", file=sys.stderr)
        return 2
    try:
        report = export_saved_model(
            generator,
            args.out,
            version=args.version,
            overwrite=args.overwrite,
            warmup=not args.no_warmup,
        )
    except SavedModelCheckError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except FileExistsError as e:
        print(f"error: --out: {e} (use --overwrite)", file=sys.stderr)
        return 2
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"error: --model: {model_path}: {e}", file=sys.stderr)
        return 2
    print(
        f"{report['path']}: {report['params']:,} parameters, variables "
        f"{report['variables_data_bytes']:,} bytes ({report['size_ratio']:.3f}x params x 4), "
        f"pad multiple {report['pad_multiple']}, {report['seconds']:.1f} s"
    )
    for name, sig in report["signatures"].items():
        inputs = ", ".join(f"{k} {d}{s}" for k, (d, s) in sig["inputs"].items())
        outputs = ", ".join(f"{k} {d}{s}" for k, (d, s) in sig["outputs"].items())
        print(f"  {name}: {inputs} -> {outputs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
