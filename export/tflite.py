"""Converts a trained generator to checked TFLite builds and writes their model-card sections.

Example:
    python export/tflite.py --model runs/x/generator.keras --out saved_models/pggan_dres \\
        --modes fp32,dynamic,fp16,int8 [--calibration-data DIR]

Writes ``<out>-<mode>.tflite`` per mode (``<out>-int8-uint8.tflite`` with ``--io uint8``), a
markdown model-card section per build in ``<out>-tflite.md`` and the build reports in
``<out>-tflite.json`` (sections of earlier builds under the same prefix are kept). Each build
has builtin ops only and is checked against the size its weights need; a failed check prints one
``error:`` line and exits 1. int8 builds are calibrated on photo crops with generated masks
(default: the embedded photos shipped by scikit-image).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
# This folder would shadow top-level modules named like its scripts (tflite, saved_model).
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

MODES = ("fp32", "dynamic", "fp16", "int8")


def _fixed_size(text: str | None):
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:5]),
    )
    p.add_argument(
        "--model", required=True, help="generator.keras file (or a run directory holding one)"
    )
    p.add_argument(
        "--out",
        required=True,
        help="output prefix: writes <out>-<mode>.tflite, <out>-tflite.md, .json",
    )
    p.add_argument(
        "--modes",
        default="fp32,dynamic,fp16,int8",
        help=f"comma-separated subset of {','.join(MODES)} (default: all)",
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
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if not modes or bad:
        print(
            f"error: --modes: unknown mode(s) {bad or modes}; choose from {MODES}", file=sys.stderr
        )
        return 2
    model_path = args.model
    if os.path.isdir(model_path):
        model_path = os.path.join(model_path, "generator.keras")
    if not os.path.isfile(model_path):
        print(f"error: --model: {model_path}: no such file", file=sys.stderr)
        return 2
    if args.calibration_data and not os.path.isdir(args.calibration_data):
        print(
            f"error: --calibration-data: {args.calibration_data}: not a directory", file=sys.stderr
        )
        return 2
    if args.num_calibration <= 0 or args.calibration_size <= 0:
        print("error: --num-calibration and --calibration-size must be positive", file=sys.stderr)
        return 2

    from keras_pggan.io_utils import write_text_atomic
    from keras_pggan.tflite import (
        TFLiteCheckError,
        export_tflite,
        load_generator,
        make_readable,
        model_card_section,
    )

    try:
        generator = load_generator(model_path)
    except (OSError, ValueError) as e:
        print(f"error: --model: {model_path}: {e}", file=sys.stderr)
        return 2
    name = os.path.basename(os.path.normpath(args.out))
    reports = []
    for mode in modes:
        io = args.io if mode == "int8" else "float"
        suffix = f"{mode}-uint8" if io == "uint8" else mode
        path = f"{args.out}-{suffix}.tflite"
        try:
            report = export_tflite(
                generator,
                path,
                mode=mode,
                calibration_data=args.calibration_data,
                num_calibration=args.num_calibration,
                io=io,
                fixed_size=args.fixed_size,
                pad_inside=args.pad_inside,
                dilated_conv=args.dilated_conv,
                calibration_size=args.calibration_size,
            )
        except TFLiteCheckError as e:
            print(f"error: {path}: {e}", file=sys.stderr)
            return 1
        except ValueError as e:
            print(f"error: {path}: {e}", file=sys.stderr)
            return 2
        reports.append(report)
        print(
            f"{path}: {report['bytes'] / 1e6:.2f} MB ({report['size_ratio']:.2f}x expected), "
            f"{len(report['ops'])} builtin op types, {report['convert_seconds']:.1f} s",
            flush=True,
        )

    # Keep the sections of earlier builds under the same prefix (e.g. a later --io uint8 run).
    previous = []
    with contextlib.suppress(OSError, ValueError):
        with open(f"{args.out}-tflite.json", encoding="utf-8") as f:
            previous = json.load(f)
    fresh = {r["path"] for r in reports}
    kept = [
        r
        for r in previous
        if isinstance(r, dict) and r.get("path") not in fresh and os.path.exists(r.get("path", ""))
    ]
    reports = sorted(kept + reports, key=lambda r: (MODES.index(r["mode"]), r["path"]))
    lines = [
        f"## TFLite builds of `{name}`",
        "",
        f"Converted from `{args.model}` ({reports[0]['params']:,} generator parameters) with "
        "`python export/tflite.py`. Every build: signature `serving_default`, inputs `image` and "
        "`mask` (address them by name), output `inpainted` (composited: known pixels are the "
        "input's). Quality and latency: `bench/results/tflite.md`; details: `docs/tflite.md`.",
        "",
    ]
    lines += [model_card_section(r) for r in reports]
    for suffix, text in (("md", "\n".join(lines)), ("json", json.dumps(reports, indent=2) + "\n")):
        write_text_atomic(f"{args.out}-tflite.{suffix}", text)
        make_readable(f"{args.out}-tflite.{suffix}")
    print(f"{args.out}-tflite.md, {args.out}-tflite.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
