"""Inference side by side: Keras, SavedModel, LiteRT fp32/dynamic/int8 and ONNX Runtime fp32.

Example:
    python -m bench.inference                       # the shipped model, 256², 512², 1024²
    python -m bench.inference --preset pggan-dres   # the full paper-size preset (random weights)
    python -m bench.inference --quick               # tiny preset, 64², 128², 2 repeats, RSS at 512²

Every path runs the same weights on the same input (a photo-like random image with a centred square
hole of half the side, batch 1) and returns the composited image in [0, 1]:

- Keras: the generator in a ``tf.function`` (``keras_pggan.models.generator.fill_holes``);
- SavedModel: ``serving_default`` of ``keras_pggan.export.saved_model.export_saved_model`` (what TF
Serving
  runs), loaded with ``tf.saved_model.load``;
- LiteRT fp32 / dynamic / int8: ``keras_pggan.export.tflite.export_tflite`` builds run by
  ``ai_edge_litert`` with 2 threads;
- ONNX Runtime fp32: the SavedModel's ``serving_default`` converted by ``tf2onnx`` (opset 17),
  run by ``onnxruntime`` with 2 intra-op threads; if conversion fails, the exact error is recorded.

Reports median latency per size (after one warm-up call), the growth ratio
latency(512²)/latency(256²) (goal ≤ 4.2: 4× the pixels), the largest output difference from Keras,
and the peak RSS of ``python -m keras_pggan.inpaint`` on a 4096² photo (goal < 6 GB). Writes
``<out>/inference.md`` and ``.json`` (a fresh temporary folder unless ``--out DIR``;
``--write-results`` refreshes bench/results/).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

from bench.common import add_output_args, report_prefix_or_none
from keras_pggan.export.onnx import convert_onnx
from keras_pggan.inference.regions import DEFAULT_WORKING_SIZE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SHIPPED = os.path.join(ROOT, "saved_models", "pggan_dres.keras")
GOAL_GROWTH = 4.2
GOAL_RSS_GB = 6.0
THREADS = 2


def _inputs(size: int):
    """A smooth photo-like image in [0, 1] and a centred square hole of half the side."""
    import numpy as np

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    rng = np.random.default_rng(size)
    image = np.stack(
        [0.5 + 0.4 * np.sin(6 * xx + c) * np.cos(4 * yy - c) for c in (0.0, 1.0, 2.0)], -1
    )
    image = np.clip(image + rng.normal(0, 0.03, image.shape), 0, 1).astype(np.float32)
    mask = np.zeros((size, size, 1), np.float32)
    s = size // 2
    mask[(size - s) // 2 : (size - s) // 2 + s, (size - s) // 2 : (size - s) // 2 + s] = 1.0
    return image[None], mask[None]


def inpaint_rss(model: str, side: int, work: str, working_size: int | None = None) -> dict:
    """Peak RSS (bytes) and wall time of ``python -m keras_pggan.inpaint`` on a ``side``² photo."""
    import numpy as np
    from PIL import Image
    from skimage import data as skdata

    photo = os.path.join(work, f"photo{side}.png")
    mask_path = os.path.join(work, f"mask{side}.png")
    Image.fromarray(skdata.astronaut()).resize((side, side), Image.BICUBIC).save(photo)
    m = np.zeros((side, side), np.uint8)
    m[side // 2 - side // 16 : side // 2 + side // 16, side // 3 : side // 3 + side // 8] = 255
    Image.fromarray(m).save(mask_path)
    out = os.path.join(work, f"out{side}.png")
    cmd = [
        sys.executable,
        "-m",
        "keras_pggan.inpaint",
        photo,
        "--mask",
        mask_path,
        "-o",
        out,
        "--model",
        model,
        "--overwrite",
        "--quiet",
    ]
    if working_size is not None:
        cmd += ["--working-size", str(working_size)]
    # Measured in a fresh child of a fresh child: RUSAGE_CHILDREN is the max over children.
    script = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, capture_output=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, *cmd], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if proc.returncode:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    kb, seconds = proc.stdout.split()
    return {
        "rss_bytes": int(kb) * 1024,
        "seconds": float(seconds),
        "side": side,
        "hole": "side/8 × side/8",
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="generator.keras (default: the shipped model)")
    p.add_argument("--preset", default=None, help="use an untrained preset generator instead")
    p.add_argument("--sizes", default="256,512,1024")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--paths", default="keras,savedmodel,fp32,dynamic,int8,onnx")
    p.add_argument("--rss-side", type=int, default=4096, help="0 skips the RSS run")
    p.add_argument(
        "--quick",
        action="store_true",
        help="the tiny preset (unless --model/--preset), 64² and 128², 2 repeats, RSS at 512²",
    )
    add_output_args(p, "inference")
    args = p.parse_args(argv)
    if args.quick:
        # A smoke run: every path and the RSS runs on a tiny network (the shipped one's int8
        # calibration and two 1024² inpaints were two thirds of `python -m bench --quick`).
        args.sizes, args.repeats, args.rss_side = "64,128", 2, 512
        if args.model is None and args.preset is None:
            args.preset = "tiny"
    prefix = report_prefix_or_none(args)  # before any measuring: a refusal comes first
    if prefix is None:
        return 2
    sizes = [int(s) for s in args.sizes.split(",")]
    paths = [s for s in args.paths.split(",") if s]

    import keras
    import numpy as np
    import tensorflow as tf

    from bench.common import machine_facts, median_ms, write_report
    from keras_pggan.config import get_preset
    from keras_pggan.export.saved_model import export_saved_model
    from keras_pggan.export.tflite import export_tflite
    from keras_pggan.inference.backends import TFLiteInpainter
    from keras_pggan.inference.fill import fill_holes
    from keras_pggan.models.generator import build_generator
    from keras_pggan.models.saved import load_generator

    work = tempfile.mkdtemp(prefix="bench_inference_")
    try:
        if args.preset:
            keras.utils.set_random_seed(0)
            generator = build_generator(get_preset(args.preset).generator)
            model_note = f"untrained `{args.preset}` preset (random weights, seed 0)"
            model_file = os.path.join(work, "generator.keras")
            generator.save(model_file)
        else:
            model_file = args.model or SHIPPED
            generator = load_generator(model_file)
            model_note = f"`{os.path.relpath(model_file, ROOT)}`"
        params = generator.count_params()
        print(f"model {model_note}: {params:,} params", flush=True)
        inputs = {s: _inputs(s) for s in sizes}
        runners, facts = {}, {}
        keras_fn = tf.function(lambda x, m: fill_holes(generator, x, m))
        runners["keras"] = lambda x, m: keras_fn(tf.constant(x), tf.constant(m)).numpy()
        if "savedmodel" in paths or "onnx" in paths:
            report = export_saved_model(
                generator, os.path.join(work, "sm"), version=1, warmup=False
            )
            sm_dir = report["path"]
            serve = tf.saved_model.load(sm_dir).signatures["serving_default"]
            runners["savedmodel"] = lambda x, m: serve(image=tf.constant(x), mask=tf.constant(m))[
                "inpainted"
            ].numpy()
        for mode in ("fp32", "dynamic", "int8"):
            if mode not in paths:
                continue
            rep = export_tflite(
                generator,
                os.path.join(work, f"g-{mode}.tflite"),
                mode=mode,
                num_calibration=16,
                calibration_size=min(256, sizes[0]),
            )
            facts[mode] = {"bytes": rep["bytes"]}
            runner = TFLiteInpainter(rep["path"], num_threads=THREADS)
            runners[mode] = lambda x, m, r=runner: r.run_padded(x, m)
        onnx_error = None
        if "onnx" in paths:
            onnx_path = os.path.join(work, "g.onnx")
            ok, msg = convert_onnx(sm_dir, onnx_path)
            if ok:
                import onnxruntime as ort

                so = ort.SessionOptions()
                so.intra_op_num_threads = THREADS
                sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
                names = {i.name.split(":")[0]: i.name for i in sess.get_inputs()}
                out_name = [o.name for o in sess.get_outputs() if "inpainted" in o.name][0]
                runners["onnx"] = lambda x, m, s=sess, n=names, o=out_name: s.run(
                    [o], {n["image"]: x, n["mask"]: m}
                )[0]
                facts["onnx"] = {"bytes": os.path.getsize(onnx_path), "converter": msg}
            else:
                onnx_error = msg
                print(f"ONNX conversion failed: {msg}", flush=True)
        order = [
            p
            for p in ("keras", "savedmodel", "fp32", "dynamic", "int8", "onnx")
            if p in runners and p in paths
        ]
        lat, diff = {p: {} for p in order}, {p: {} for p in order}
        for s in sizes:
            x, m = inputs[s]
            ref = runners["keras"](x, m)
            for path in order:
                out = np.asarray(runners[path](x, m)).reshape(ref.shape)
                diff[path][s] = float(np.abs(out - ref).max() * 255)
                lat[path][s] = median_ms(lambda r=runners[path], x=x, m=m: r(x, m), args.repeats)
                print(
                    f"{path} {s}²: {lat[path][s]:.1f} ms, max diff {diff[path][s]:.2f}", flush=True
                )
        rss, rss_whole = {}, {}
        if args.rss_side:
            rss = inpaint_rss(model_file, args.rss_side, work)
            print("rss", rss, flush=True)
            # The worst case: the network run on the whole image at once (the same run as the
            # first when the photo is no larger than the working size: not run twice).
            if args.rss_side > DEFAULT_WORKING_SIZE:
                rss_whole = inpaint_rss(model_file, args.rss_side, work, working_size=0)
                print("rss whole image", rss_whole, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    labels = {
        "keras": "Keras (tf.function)",
        "savedmodel": "TF SavedModel serving_default",
        "fp32": "LiteRT fp32",
        "dynamic": "LiteRT dynamic-range int8",
        "int8": "LiteRT full int8",
        "onnx": "ONNX Runtime fp32 (tf2onnx)",
    }
    growth_pair = (256, 512) if {256, 512} <= set(sizes) else (sizes[0], sizes[1])
    rows = []
    for path in order:
        a, b = growth_pair
        growth = lat[path][b] / lat[path][a]
        rows.append(
            [
                labels[path],
                *[f"{lat[path][s]:.1f}" for s in sizes],
                f"{growth:.2f}",
                f"{max(diff[path].values()):.1f}",
                f"{facts.get(path, {}).get('bytes', 0) / 1e6:.2f}" if path in facts else "–",
            ]
        )
    best = min(order, key=lambda p: lat[p][sizes[0]])
    notes = [
        f"Model: {model_note}, {params:,} parameters. Batch 1, centred square hole of half the "
        f"side; median of {args.repeats} calls after one warm-up; LiteRT and ONNX Runtime with "
        f"{THREADS} threads, TensorFlow with its default pools.",
        f"Growth = latency({growth_pair[1]}²)/latency({growth_pair[0]}²); goal ≤ {GOAL_GROWTH}.",
        "max |diff| = largest difference from the Keras output over all sizes, in uint8 levels.",
        f"Fastest at {sizes[0]}²: {labels[best]}.",
    ]
    if "onnx" in order:
        notes.append(
            f"ONNX Runtime vs best TF-family path at {sizes[0]}²: "
            f"{lat['onnx'][sizes[0]] / min(lat[p][sizes[0]] for p in order if p != 'onnx'):.2f}×."
        )
    if onnx_error:
        notes.append(f"ONNX conversion (tf2onnx) failed: `{onnx_error}`")
    if rss.get("rss_bytes"):
        notes.append(
            f"`python -m keras_pggan.inpaint` on a {args.rss_side}² photo (hole {rss['hole']}): "
            f"peak RSS {rss['rss_bytes'] / 2**30:.2f} GiB (goal < {GOAL_RSS_GB} GB), "
            f"{rss['seconds']:.1f} s wall including start-up."
        )
    elif rss:
        notes.append(f"RSS run failed: {rss['error']}")
    if rss_whole.get("rss_bytes"):
        notes.append(
            f"The same with `--working-size 0` (the network on the whole {args.rss_side}² image "
            f"at once): peak RSS {rss_whole['rss_bytes'] / 2**30:.2f} GiB, "
            f"{rss_whole['seconds']:.1f} s."
        )
    elif rss.get("rss_bytes") and args.rss_side <= DEFAULT_WORKING_SIZE:
        notes.append(
            f"`--working-size 0` (the network on the whole image at once) is that same run at "
            f"{args.rss_side}² (the default working size is {DEFAULT_WORKING_SIZE} px)."
        )
    elif rss_whole:
        notes.append(
            f"The same with `--working-size 0` (the network on the whole {args.rss_side}² image "
            f"at once) failed: {rss_whole['error']}"
        )
    write_report(
        prefix,
        "Inference latency (ms) by path and size",
        ["path", *[f"{s}²" for s in sizes], "growth", "max |diff| vs Keras", "file MB"],
        rows,
        machine_facts(),
        notes=notes,
        extra={
            "latency_ms": lat,
            "max_diff_levels": diff,
            "rss": rss,
            "rss_whole": rss_whole,
            "onnx_error": onnx_error,
            "growth_pair": list(growth_pair),
            "params": params,
            "files": facts,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
