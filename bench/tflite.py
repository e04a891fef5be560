"""TFLite builds against the TF SavedModel: size, LiteRT latency, fidelity and quality on photos.

Example:
    python -m bench.tflite --model runs/x/generator.keras      # a trained generator
    python -m bench.tflite --quick                             # untrained demo model, 256² only
    python -m bench.tflite --preset pggan-dres --name tflite_pggan_dres --write-results

Per build (fp32, dynamic, fp16, int8, plus fp32 with Keras's SpaceToBatch dilated convolutions and a
fixed-size fp32 build): file size, LiteRT latency at 256² and 512² with 1 and 2 threads (median of
--repeats after a warm-up), PSNR of the build's output against the Keras generator, and PSNR/SSIM
against the ground truth with a centre square hole (side = half the image) on real photos (default
../shared/data/train/cmp_facade_val, centre 256² crops). The reference is the fp32 SavedModel run by
TensorFlow on all cores. Without --model a freshly initialised preset model is used: its quality
numbers are then meaningless, only size, latency and fidelity count. Writes ``<out>/<name>.md`` and
``.json`` (a fresh temporary folder unless ``--out DIR``; ``--write-results`` refreshes
bench/results/).
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
import time

from bench.common import add_output_args, report_prefix_or_none

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DEFAULT_DATA = os.path.join(ROOT, "..", "shared", "data", "train", "cmp_facade_val")
# Goals for the int8 build (issue 7).
GOAL_LATENCY = 0.33  # × fp32 SavedModel (TF) latency
GOAL_PSNR_DROP = 0.5  # dB vs ground truth, relative to fp32
GOAL_SIZE = 0.27  # × fp32 file size


def _load_photos(folder: str, n: int, size: int):
    import numpy as np
    from PIL import Image

    from keras_pggan.data.pipeline import IMAGE_EXTENSIONS

    files = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTENSIONS))
    photos = []
    for name in files:
        try:
            with Image.open(os.path.join(folder, name)) as im:
                im = im.convert("RGB")
                scale = size / min(im.size)
                im = im.resize(
                    (max(size, round(im.width * scale)), max(size, round(im.height * scale))),
                    Image.BICUBIC,
                )
                left, top = (im.width - size) // 2, (im.height - size) // 2
                photos.append(
                    np.asarray(im.crop((left, top, left + size, top + size)), np.float32) / 255.0
                )
        except OSError:
            continue
        if len(photos) == n:
            break
    return photos


def _centre_mask(size: int):
    import numpy as np

    m = np.zeros((size, size), np.float32)
    s = size // 2
    m[(size - s) // 2 : (size - s) // 2 + s, (size - s) // 2 : (size - s) // 2 + s] = 1.0
    return m


def _psnr(a, b) -> float:
    import numpy as np

    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def _fmt_db(v) -> str:
    return "identical" if v is None or v == float("inf") else f"{v:.2f}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:6]),
    )
    p.add_argument("--model", help="generator.keras (default: an untrained --preset model)")
    p.add_argument("--preset", default="demo", help="preset of the untrained fallback model")
    p.add_argument("--data", default=DEFAULT_DATA, help="folder of test photos")
    p.add_argument("--num-images", type=int, default=8)
    p.add_argument("--sizes", default="256,512", help="latency sizes (quality uses the first)")
    p.add_argument("--threads", default="1,2", help="LiteRT thread counts")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per case")
    p.add_argument("--modes", default="fp32,dynamic,fp16,int8")
    p.add_argument(
        "--calibration-data",
        default=None,
        help="int8 calibration photos (default: the embedded scikit-image photos)",
    )
    p.add_argument("--num-calibration", type=int, default=32)
    add_output_args(p, "tflite")
    p.add_argument(
        "--quick",
        action="store_true",
        help="256² only, 4 images, 3 repeats, 16 calibration samples",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.num_images, args.repeats = "256", 4, 3
        args.num_calibration = min(args.num_calibration, 16)
    prefix = report_prefix_or_none(args)  # before any measuring: a refusal comes first
    if prefix is None:
        return 2
    sizes = [int(s) for s in args.sizes.split(",")]
    threads = [int(t) for t in args.threads.split(",")]
    if args.model and not os.path.exists(args.model):
        print(f"error: --model: {args.model}: no such file", file=sys.stderr)
        return 2
    if not os.path.isdir(args.data):
        print(f"error: --data: {args.data}: not a directory", file=sys.stderr)
        return 2

    import keras
    import numpy as np
    import tensorflow as tf
    from skimage.metrics import structural_similarity

    from bench.common import machine_facts, median_ms, write_report
    from keras_pggan.config import get_preset
    from keras_pggan.export.tflite import export_tflite
    from keras_pggan.inference.backends import TFLiteInpainter
    from keras_pggan.inference.fill import fill_holes
    from keras_pggan.models.generator import build_generator
    from keras_pggan.models.saved import load_generator

    start = time.perf_counter()
    if args.model:
        generator, model_note = load_generator(args.model), f"trained generator `{args.model}`"
    else:
        keras.utils.set_random_seed(0)
        generator = build_generator(get_preset(args.preset).generator)
        model_note = (
            f"UNTRAINED `{args.preset}` preset generator (random weights, no --model): "
            "PSNR/SSIM against the ground truth are meaningless; size, latency and "
            "fidelity to Keras are what this run measures"
        )
    q = sizes[0]
    photos = _load_photos(args.data, args.num_images, q)
    if not photos:
        print(f"error: --data: no readable images in {args.data}", file=sys.stderr)
        return 2
    mask = _centre_mask(q)
    print(
        f"{len(photos)} photos at {q}², model {generator.name} "
        f"({generator.count_params():,} params)",
        flush=True,
    )

    keras_out = [fill_holes(generator, x[None], mask[None, ..., None]).numpy()[0] for x in photos]
    work = tempfile.mkdtemp(prefix="bench_tflite_")
    atexit.register(shutil.rmtree, work, True)  # builds and SavedModels: up to ~200 MB
    modes = [m for m in args.modes.split(",") if m]
    specs = [(m, m, {}) for m in modes]
    if "fp32" in modes:
        specs += [
            ("fp32 SpaceToBatch dilations", "fp32", {"dilated_conv": "space_to_batch"}),
            (f"fp32 fixed {q}²", "fp32", {"fixed_size": q}),
        ]
    reports = {}
    for label, mode, extra in specs:
        keep = os.path.join(work, "sm_" + label.replace(" ", "_").replace("²", ""))
        reports[label] = export_tflite(
            generator,
            os.path.join(work, f"{label.replace(' ', '_')}.tflite"),
            mode=mode,
            calibration_data=args.calibration_data,
            num_calibration=args.num_calibration,
            calibration_size=q,
            saved_model_dir=keep,
            **extra,
        )
        print(
            f"built {label}: {reports[label]['bytes'] / 1e6:.2f} MB in "
            f"{reports[label]['convert_seconds']:.1f} s",
            flush=True,
        )

    # The reference: the fp32 SavedModel with Keras's own lowering (what model.export gives),
    # run by TensorFlow on all cores.
    tf_label = "fp32 SpaceToBatch dilations" if "fp32" in modes else None
    results = {}
    rng = np.random.default_rng(0)
    if tf_label:
        serve = tf.saved_model.load(
            os.path.join(work, "sm_" + tf_label.replace(" ", "_"))
        ).signatures["serving_default"]
        tf_lat = {}
        for s in sizes:
            x = tf.constant(rng.uniform(size=(1, s, s, 3)).astype(np.float32))
            m = tf.constant(_centre_mask(s)[None, ..., None])
            tf_lat[s] = median_ms(
                lambda x=x, m=m: serve(image=x, mask=m)["inpainted"].numpy(), args.repeats
            )
        outs = [
            serve(image=tf.constant(x[None]), mask=tf.constant(mask[None, ..., None]))[
                "inpainted"
            ].numpy()[0]
            for x in photos
        ]
        results["TF SavedModel fp32 (reference)"] = {
            "latency_ms": {f"{s}/tf": tf_lat[s] for s in sizes},
            "outputs": outs,
        }
        print(f"TF SavedModel latency: {tf_lat}", flush=True)

    for label, report in reports.items():
        lat = {}
        fixed = report["fixed_size"]
        for t in threads:
            runner = TFLiteInpainter(report["path"], num_threads=t)
            for s in sizes:
                if fixed and fixed != [s, s]:
                    continue
                x = rng.uniform(size=(1, s, s, 3)).astype(np.float32)
                m = _centre_mask(s)[None, ..., None]
                lat[f"{s}/{t}"] = median_ms(
                    lambda r=runner, x=x, m=m: r.run_padded(x, m), args.repeats
                )
        runner = TFLiteInpainter(report["path"], num_threads=max(threads))
        outs = [runner(x, mask) for x in photos]
        results[label] = {"latency_ms": lat, "outputs": outs}
        print(f"{label}: {lat}", flush=True)

    rows, summary = [], {}
    fp32_bytes = reports["fp32"]["bytes"] if "fp32" in reports else None
    tf_ref = results.get("TF SavedModel fp32 (reference)", {}).get("latency_ms", {})
    for label, res in results.items():
        outs = res["outputs"]
        vs_keras = [_psnr(o, k) for o, k in zip(outs, keras_out, strict=True)]
        psnr_gt = [_psnr(o, x) for o, x in zip(outs, photos, strict=True)]
        ssim_gt = [
            structural_similarity(o, x, channel_axis=-1, data_range=1.0)
            for o, x in zip(outs, photos, strict=True)
        ]
        hole_mae = float(
            np.mean([np.abs(o - k)[mask > 0].mean() for o, k in zip(outs, keras_out, strict=True)])
        )
        report = reports.get(label)
        lat = res["latency_ms"]
        row = {
            "bytes": report["bytes"] if report else None,
            "size_vs_fp32": round(report["bytes"] / fp32_bytes, 3)
            if report and fp32_bytes
            else None,
            "latency_ms": {k: round(v, 2) for k, v in lat.items()},
            "psnr_vs_keras": None if min(vs_keras) == float("inf") else float(np.mean(vs_keras)),
            "hole_mae_vs_keras": hole_mae,
            "psnr_gt": float(np.mean(psnr_gt)),
            "ssim_gt": float(np.mean(ssim_gt)),
            "ops": report["op_counts"] if report else None,
        }
        summary[label] = row

        def cell(s, t, lat=lat, label=label):
            key = f"{s}/{t}"
            if label.startswith("TF"):
                key = f"{s}/tf" if t == max(threads) else None
            return f"{lat[key]:.1f}" if key in lat else "—"

        ratio_key = f"{q}/{max(threads)}"
        ratio = (lat[ratio_key] / tf_ref[f"{q}/tf"]) if ratio_key in lat and tf_ref else None
        rows.append(
            [
                label,
                f"{report['bytes'] / 1e6:.2f}" if report else "—",
                f"{row['size_vs_fp32']:.2f}" if row["size_vs_fp32"] else "—",
                *[cell(s, t) for s in sizes for t in threads],
                f"{ratio:.2f}" if ratio else ("1.00" if label.startswith("TF") else "—"),
                _fmt_db(row["psnr_vs_keras"]),
                f"{hole_mae:.4f}",
                f"{row['psnr_gt']:.2f}",
                f"{row['ssim_gt']:.4f}",
                str(sum(report["op_counts"].values())) if report else "—",
            ]
        )

    notes = [
        f"Model: {model_note}.",
        f"Quality: {len(photos)} photos from `{os.path.relpath(args.data, ROOT)}`, centre "
        f"{q}² crops, centre square hole of side {q // 2}; PSNR/SSIM over the whole "
        "composited image, mean over photos. PSNR vs Keras compares each build with "
        "`keras_pggan.models.generator.fill_holes`; hole MAE is the mean |build − Keras| "
        "in the hole.",
        f"Latency: median of {args.repeats} runs after a warm-up, one image per size, "
        "LiteRT `Interpreter(num_threads=T)` with its default XNNPACK delegate "
        "(invoke only, no host padding). The TF row runs the fp32 SavedModel (Keras's own "
        "SpaceToBatch lowering, as `model.export` gives) with TensorFlow on all "
        f"{os.cpu_count()} cores; `vs TF` = build latency at {q}², "
        f"{max(threads)} threads / TF latency.",
    ]
    if "int8" in summary and "fp32" in summary and tf_ref:
        i8, f32 = summary["int8"], summary["fp32"]
        lat_ratio = i8["latency_ms"][f"{q}/{max(threads)}"] / tf_ref[f"{q}/tf"]
        drop = f32["psnr_gt"] - i8["psnr_gt"]
        size_ratio = i8["bytes"] / f32["bytes"]
        goals = {
            "latency_vs_tf_fp32": [round(lat_ratio, 3), GOAL_LATENCY, lat_ratio <= GOAL_LATENCY],
            "psnr_drop_db": [round(drop, 3), GOAL_PSNR_DROP, drop <= GOAL_PSNR_DROP],
            "size_vs_fp32": [round(size_ratio, 3), GOAL_SIZE, size_ratio <= GOAL_SIZE],
        }
        summary["goals"] = goals
        verdict = {k: "PASS" if v[2] else "FAIL" for k, v in goals.items()}
        notes.append(
            f"int8 goals: latency {lat_ratio:.2f}× TF fp32 (goal ≤ {GOAL_LATENCY}): "
            f"{verdict['latency_vs_tf_fp32']}; PSNR drop vs ground truth {drop:+.2f} dB relative "
            f"to fp32 (goal ≤ {GOAL_PSNR_DROP}): {verdict['psnr_drop_db']}; size "
            f"{size_ratio:.2f}× fp32 (goal ≤ {GOAL_SIZE}): {verdict['size_vs_fp32']}."
        )
    if "fp32 SpaceToBatch dilations" in summary and "fp32" in summary:
        a, b = summary["fp32"], summary["fp32 SpaceToBatch dilations"]
        keys = [k for k in a["latency_ms"] if k in b["latency_ms"]]
        speed = np.mean([b["latency_ms"][k] / a["latency_ms"][k] for k in keys])
        diff = max(
            float(np.abs(x - y).max())
            for x, y in zip(
                results["fp32"]["outputs"],
                results["fp32 SpaceToBatch dilations"]["outputs"],
                strict=True,
            )
        )
        summary["dilated_conv"] = {
            "space_to_batch_over_native_latency": round(float(speed), 3),
            "max_abs_diff": diff,
        }
        notes.append(
            f"Dilated convolutions: Keras lowers them to SpaceToBatchND/Conv/BatchToSpaceND, which "
            f"the converter folds back into dilated CONV_2D only at a fixed size; with dynamic "
            f"H, W it keeps them ({b['ops']['SPACE_TO_BATCH_ND']} SpaceToBatch + shape ops, "
            f"{sum(b['ops'].values())} ops vs {sum(a['ops'].values())}). The default `native` "
            f"export emits dilated CONV_2D directly: SpaceToBatch build takes {speed:.2f}× its "
            f"latency (mean over cases), max |difference| {diff:.1e}."
        )
    notes.append(f"Total bench time {time.perf_counter() - start:.0f} s.")
    header = [
        "build",
        "MB",
        "size vs fp32",
        *[f"{s}² {t}T ms" for s in sizes for t in threads],
        f"vs TF ({q}², {max(threads)}T)",
        "PSNR vs Keras dB",
        "hole MAE vs Keras",
        "PSNR vs GT dB",
        "SSIM vs GT",
        "ops",
    ]
    write_report(
        prefix,
        f"TFLite builds vs TF SavedModel ({generator.name})",
        header,
        rows,
        machine_facts(),
        notes=notes,
        extra={
            "summary": summary,
            "model": model_note,
            "params": int(generator.count_params()),
            "reports": {
                k: {kk: vv for kk, vv in r.items() if kk != "path"} for k, r in reports.items()
            },
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
