"""The model card of a generator's TFLite builds: ``<out>-tflite.md`` and ``<out>-tflite.json``.

One markdown section per build (:func:`tflite_section`) says what the file holds, how to call it
(inputs by name, value ranges, the mask convention, padding) and shows the Python to run it;
:func:`write_tflite_card` writes the sections of every build under one prefix, keeping those of
earlier runs (e.g. a later ``--io uint8`` build), and the builds' reports as JSON.

Example:
    >>> report = export_tflite(generator, "runs/x/pggan_dres-fp32.tflite")  # doctest: +SKIP
    >>> print(tflite_section(report))  # doctest: +SKIP
    ### pggan_dres-fp32.tflite
    ...
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from typing import Any

from keras_pggan.io_utils import write_text_atomic
from keras_pggan.signatures import DEFAULT_SIGNATURE, OUTPUT

_WHAT = {
    "fp32": "float32 weights and activations",
    "dynamic": "dynamic-range quantization: int8 weights, float activations",
    "fp16": "float16 weights (dequantized to float32 at load), float32 activations",
    "int8": "full-integer quantization: int8 weights and activations, calibrated on "
    "{num_samples} photo crops with generated masks",
}
# (image input, mask input, output, the arrays the example builds) per I/O type.
_IO = {
    "uint8": (
        "uint8 [1,H,W,3], 0–255",
        "uint8 [1,H,W,1], 255 = hole, 0 = known",
        "uint8 [1,H,W,3], 0–255",
        "image uint8 [1,H,W,3], mask uint8 [1,H,W,1] (255 = hole)",
    ),
    "float": (
        "float32 [1,H,W,3] in [0,1]",
        "float32 [1,H,W,1], 1 = hole, 0 = known",
        "float32 [1,H,W,3] in [0,1]",
        "image float32 [1,H,W,3] in [0,1], mask float32 [1,H,W,1] (1 = hole)",
    ),
}


def _shape(report: dict[str, Any]) -> tuple[str, str, str]:
    """(the input size, what it means for padding, the sizes the example accepts)."""
    size = report["fixed_size"]
    shape = f"{size[0]}×{size[1]}" if size else "H×W (dynamic)"
    if report["pad_inside"]:
        return shape, "any H, W: the model mirror-pads inside and crops back", "any H, W"
    if size:
        padding = f"inputs must be exactly {shape}; pad smaller images (symmetric) first"
        return shape, padding, f"H×W = {shape}"
    m = report["pad_multiple"]
    padding = (
        f"H and W must be multiples of {m}: pad the image and the mask together (symmetric) at "
        "the bottom/right, crop the output back"
    )
    return shape, padding, f"H, W multiples of {m}"


def _contract_lines(report: dict[str, Any], name: str) -> list[str]:
    """The file, its build, its signature and its size contract."""
    from keras_pggan.export.tflite import BYTES_PER_PARAM, METADATA_NAME

    mode = report["mode"]
    what = _WHAT[mode].format(num_samples=(report["calibration"] or {}).get("num_samples"))
    image_in, mask_in, out, _ = _IO[report["io"]]
    shape, padding, _ = _shape(report)
    quant = "; ".join(
        f"`{k}` scale {v['quantization'][0]:.6g}, zero point {v['quantization'][1]}"
        for k, v in [*report["inputs"].items(), *report["outputs"].items()]
        if v["dtype"] == "uint8"
    )
    lines = [
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
    lines.append(
        f"- Metadata: JSON in the `{METADATA_NAME}` metadata buffer (pad multiple, I/O contract)"
    )
    return lines


def _example_lines(report: dict[str, Any], name: str) -> list[str]:
    """A Python block that runs the build, through the project and with LiteRT directly."""
    arrays, (_, _, hw) = _IO[report["io"]][3], _shape(report)
    lines = [
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
    if report["io"] == "uint8":
        image, mask, dtype = "np.round(image01 * 255).astype(np.uint8)", "mask * 255", "np.uint8"
    else:
        image, mask, dtype = "image01", "mask", "np.float32"
    if report["pad_inside"] or report["fixed_size"]:
        # Any H, W (pad_inside), or the one fixed size: no host-side padding to show.
        lines += [
            f"image = {image}[None].astype({dtype})",
            f"holes = ({mask})[None, :, :, None].astype({dtype})",
            f'out = runner(image=image, mask=holes)["{OUTPUT}"][0]  # resizes the inputs itself',
        ]
    else:
        m = report["pad_multiple"]
        lines += [
            "# pad both at the bottom/right (symmetric), then crop the output back",
            "h, w = mask.shape",
            f"pad = [(0, 0), (0, -h % {m}), (0, -w % {m}), (0, 0)]",
            f'image = np.pad({image}[None].astype({dtype}), pad, "symmetric")',
            f'holes = np.pad(({mask})[None, :, :, None].astype({dtype}), pad, "symmetric")',
            f'out = runner(image=image, mask=holes)["{OUTPUT}"][0, :h, :w]'
            "  # resizes the inputs itself",
        ]
    return [*lines, "```", ""]


def tflite_section(report: dict[str, Any], title: str | None = None) -> str:
    """A markdown model-card section for one build from an ``export_tflite`` report.

    Args:
        report: the dict :func:`keras_pggan.export.tflite.export_tflite` returns.
        title: the section title (default: the file name).

    Returns:
        The section as markdown, ending with a newline.
    """
    name = os.path.basename(report["path"])
    lines = [f"### {title or name}", "", *_contract_lines(report, name), ""]
    return "\n".join(lines + _example_lines(report, name))


def _with_earlier_builds(out: str, reports: Sequence[dict]) -> list[dict]:
    """``reports`` and the builds an earlier run wrote under ``out`` that still exist, in mode
    order."""
    from keras_pggan.export.tflite import MODES

    previous = []
    with contextlib.suppress(OSError, ValueError):
        with open(f"{out}-tflite.json", encoding="utf-8") as f:
            previous = json.load(f)
    fresh = {r["path"] for r in reports}
    kept = [
        r
        for r in previous
        if isinstance(r, dict) and r.get("path") not in fresh and os.path.exists(r.get("path", ""))
    ]
    return sorted([*kept, *reports], key=lambda r: (MODES.index(r["mode"]), r["path"]))


def write_tflite_card(out: str, model: str, reports: Sequence[dict]) -> list[str]:
    """Writes ``<out>-tflite.md`` (a section per build) and ``<out>-tflite.json`` (the reports).

    The sections of earlier builds under the same prefix whose files still exist are kept.

    Args:
        out: the builds' prefix (``<out>-<mode>.tflite``).
        model: the generator file they were converted from (named in the card).
        reports: the new builds' ``export_tflite`` reports (at least one).

    Returns:
        The two paths written.
    """
    from keras_pggan.export.tflite import make_readable

    reports = _with_earlier_builds(out, reports)
    name = os.path.basename(os.path.normpath(out))
    lines = [
        f"## TFLite builds of `{name}`",
        "",
        f"Converted from `{model}` ({reports[0]['params']:,} generator parameters) with "
        "`python -m keras_pggan.export tflite`. Every build: signature `serving_default`, inputs "
        "`image` and `mask` (address them by name), output `inpainted` (composited: known pixels "
        "are the input's). Quality and latency: `bench/results/tflite.md`; details: "
        "`docs/tflite.md`.",
        "",
        *(tflite_section(r) for r in reports),
    ]
    written = []
    for suffix, text in (("md", "\n".join(lines)), ("json", json.dumps(reports, indent=2) + "\n")):
        path = f"{out}-tflite.{suffix}"
        write_text_atomic(path, text)
        make_readable(path)
        written.append(path)
    return written
