"""Converts a trained generator to checked TFLite builds and writes their model-card sections.

Example:
    python export/tflite.py --model runs/x/generator.keras --out runs/x/pggan_dres \\
        --modes fp32,dynamic,fp16,int8 [--calibration-data DIR] [--overwrite]

Writes ``<out>-<mode>.tflite`` per mode (``<out>-int8-uint8.tflite`` with ``--io uint8``), a
markdown model-card section per build in ``<out>-tflite.md`` and the build reports in
``<out>-tflite.json`` (sections of earlier builds under the same prefix are kept). An existing
``.tflite`` file is only replaced with ``--overwrite``, and the repository's shipped
``saved_models/`` is refused without it (both checked before anything is converted). Each build
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
from typing import Any

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


def model_card_section(report: dict[str, Any], title: str | None = None) -> str:
    """A markdown model-card section for one build from an ``export_tflite`` report.

    Args:
        report: the dict ``keras_pggan.export.tflite.export_tflite`` returns.
        title: the section title (default: the file name).

    Returns:
        The section as markdown, ending with a newline.
    """
    from keras_pggan.export.tflite import BYTES_PER_PARAM, METADATA_NAME
    from keras_pggan.signatures import DEFAULT_SIGNATURE, OUTPUT

    name = os.path.basename(report["path"])
    inputs = report["inputs"]
    mode, io = report["mode"], report["io"]
    size = report["fixed_size"]
    shape = f"{size[0]}×{size[1]}" if size else "H×W (dynamic)"
    what = {
        "fp32": "float32 weights and activations",
        "dynamic": "dynamic-range quantization: int8 weights, float activations",
        "fp16": "float16 weights (dequantized to float32 at load), float32 activations",
        "int8": "full-integer quantization: int8 weights and activations, calibrated on "
        f"{(report['calibration'] or {}).get('num_samples')} photo crops with "
        "generated masks",
    }[mode]
    if io == "uint8":
        image_in = "uint8 [1,H,W,3], 0–255"
        mask_in = "uint8 [1,H,W,1], 255 = hole, 0 = known"
        out = "uint8 [1,H,W,3], 0–255"
        arrays = "image uint8 [1,H,W,3], mask uint8 [1,H,W,1] (255 = hole)"
    else:
        arrays = "image float32 [1,H,W,3] in [0,1], mask float32 [1,H,W,1] (1 = hole)"
        image_in = "float32 [1,H,W,3] in [0,1]"
        mask_in = "float32 [1,H,W,1], 1 = hole, 0 = known"
        out = "float32 [1,H,W,3] in [0,1]"
    if report["pad_inside"]:
        padding = "any H, W: the model mirror-pads inside and crops back"
        hw = "any H, W"
    elif size:
        padding = f"inputs must be exactly {shape}; pad smaller images (symmetric) first"
        hw = f"H×W = {shape}"
    else:
        padding = (
            f"H and W must be multiples of {report['pad_multiple']}: pad the image and "
            "the mask together (symmetric) at the bottom/right, crop the output back"
        )
        hw = f"H, W multiples of {report['pad_multiple']}"
    quant = "; ".join(
        f"`{k}` scale {v['quantization'][0]:.6g}, zero point {v['quantization'][1]}"
        for k, v in [*inputs.items(), *report["outputs"].items()]
        if v["dtype"] == "uint8"
    )
    lines = [
        f"### {title or name}",
        "",
        f"- File: `{name}`, {report['bytes'] / 1e6:.2f} MB ({report['size_ratio']:.2f}× the "
        f"{BYTES_PER_PARAM[mode]} byte(s) × {report['params']:,} parameters its weights need)",
        f"- Build: {what}; builtin ops only: {', '.join(report['ops'])}",
        f"- Signature `{DEFAULT_SIGNATURE}`, inputs by name: `image` {image_in}; `mask` {mask_in}. "
        f"Positional order (`get_input_details()`): {', '.join(report['input_order'])}",
        f"- Output `{OUTPUT}` {out}: composited inside the graph "
        f"({report['metadata']['compositing']}), so known pixels are the input's",
        f"- Size: {shape}; {padding}",
    ]
    if quant:
        lines.append(f"- uint8 quantization: {quant}")
    lines += [
        f"- Metadata: JSON in the `{METADATA_NAME}` metadata buffer (pad multiple, I/O contract)",
        "",
        "```python",
        "from keras_pggan.inference.backends import run_tflite",
        "",
        "# out: [H,W,3] float in [0,1]",
        f'out = run_tflite("{name}", image01, mask, num_threads=2)',
        "",
        "# or with the LiteRT interpreter directly",
        "import numpy as np",
        "from ai_edge_litert.interpreter import Interpreter",
        "",
        f'it = Interpreter(model_path="{name}", num_threads=2)',
        f'runner = it.get_signature_runner("{DEFAULT_SIGNATURE}")',
        f"# {arrays}; {hw}",
    ]
    if io == "uint8":
        image_expr, mask_expr = "np.round(image01 * 255).astype(np.uint8)", "mask * 255"
        dtype = "np.uint8"
    else:
        image_expr, mask_expr, dtype = "image01", "mask", "np.float32"
    if report["pad_inside"] or size:
        # Any H, W (pad_inside), or the one fixed size: no host-side padding to show.
        lines += [
            f"image = {image_expr}[None].astype({dtype})",
            f"holes = ({mask_expr})[None, :, :, None].astype({dtype})",
            f'out = runner(image=image, mask=holes)["{OUTPUT}"][0]  # resizes the inputs itself',
        ]
    else:
        m = report["pad_multiple"]
        lines += [
            "# pad both at the bottom/right (symmetric), then crop the output back",
            "h, w = mask.shape",
            f"pad = [(0, 0), (0, -h % {m}), (0, -w % {m}), (0, 0)]",
            f'image = np.pad({image_expr}[None].astype({dtype}), pad, "symmetric")',
            f'holes = np.pad(({mask_expr})[None, :, :, None].astype({dtype}), pad, "symmetric")',
            f'out = runner(image=image, mask=holes)["{OUTPUT}"][0, :h, :w]'
            "  # resizes the inputs itself",
        ]
    lines += ["```", ""]
    return "\n".join(lines)


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
        "--overwrite",
        action="store_true",
        help="replace existing .tflite files; allow writing into the shipped saved_models/",
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

    from keras_pggan.errors import UserError
    from keras_pggan.export.tflite import TFLiteCheckError, export_tflite, make_readable
    from keras_pggan.io_utils import check_writable, refuse_shipped, write_text_atomic
    from keras_pggan.models.generator import load_generator

    paths = {}
    for mode in modes:
        io = args.io if mode == "int8" else "float"
        paths[mode] = (
            f"{args.out}-{mode}-uint8.tflite" if io == "uint8" else f"{args.out}-{mode}.tflite"
        )
    try:
        for path in paths.values():
            refuse_shipped(path, args.overwrite, "--out")
            check_writable(path, args.overwrite, "--out")
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        generator = load_generator(model_path)
    except (OSError, ValueError) as e:
        print(f"error: --model: {model_path}: {e}", file=sys.stderr)
        return 2
    name = os.path.basename(os.path.normpath(args.out))
    reports = []
    for mode, path in paths.items():
        io = args.io if mode == "int8" else "float"
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
