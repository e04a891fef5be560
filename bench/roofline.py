"""Roofline: this machine's measured convolution peak vs the GFLOP/s a full training step achieves.

Example:
    python -m bench.roofline                     # pggan-dres and pggan-res, 256², batch 8
    python -m bench.roofline --quick             # tiny preset, 64², a few steps

Peak: the best GFLOP/s that TensorFlow reaches on this CPU for the generator's own convolution
shapes (3×3 at the residual trunk's resolution and width, dilation rates 1, 2, 4, 8, batch 1 and the
training batch), forward pass, median of repeated calls. Achieved: the FLOPs of one training step
(counted from the traced ``train_step`` graph with TensorFlow's profiler, which registers FLOPs for
``Conv2D``, ``Conv2DBackpropInput``, ``Conv2DBackpropFilter`` and ``MatMul``; one multiply-add = 2
FLOPs) divided by the measured step time of ``fit`` on cached tensors. Writes ``<out>/roofline.md``
and ``.json`` (a fresh temporary folder unless ``--out DIR``; ``--write-results`` refreshes
bench/results/).
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.common import add_output_args, report_prefix_or_none

GOAL = 0.5  # training step GFLOP/s ≥ GOAL × measured conv peak (issue 8)


def graph_flops(graph) -> int:
    """FLOPs of the ops with a registered ``flops`` statistic in ``graph`` (static shapes)."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    opts = option_builder.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    return int(model_analyzer.profile(graph, options=opts).total_float_ops)


def train_step_flops(gan, batch: int, size: int) -> int:
    """FLOPs of one ``gan.train_step`` on a ``batch``×``size``² batch, from the traced graph.

    Counts forward and backward convolutions and matrix products of both updates (D on real and
    fake, G through the updated D). Element-wise ops (activations, normalisation, the optimizer)
    are not counted, so this is a lower bound.
    """
    import tensorflow as tf

    spec = {
        "image": tf.TensorSpec([batch, size, size, 3], tf.float32),
        "mask": tf.TensorSpec([batch, size, size, 1], tf.float32),
    }
    concrete = tf.function(gan.train_step).get_concrete_function(spec)
    return graph_flops(concrete.graph)


def conv_peak(shapes, repeats: int = 5) -> list[dict]:
    """Forward GFLOP/s of single 3×3 convolutions; ``shapes`` = (batch, side, channels, rate)."""
    import numpy as np
    import tensorflow as tf

    rows = []
    for batch, side, ch, rate in shapes:
        x = tf.random.stateless_normal([batch, side, side, ch], seed=[0, 1])
        w = tf.random.stateless_normal([3, 3, ch, ch], seed=[0, 2]) * 0.05
        fn = tf.function(
            lambda x, w=w, r=rate: tf.nn.conv2d(x, w, 1, "SAME", dilations=r)  # noqa: B023
        )
        for _ in range(2):
            fn(x).numpy()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn(x).numpy()
            times.append(time.perf_counter() - t0)
        t = float(np.median(times))
        flops = 2 * 9 * ch * ch * side * side * batch
        rows.append(
            {
                "shape": f"[{batch},{side},{side},{ch}] 3×3 rate {rate}",
                "ms": 1000 * t,
                "gflops": flops / t / 1e9,
            }
        )
        print(rows[-1], flush=True)
    return rows


def measure_step(gan, batch: int, size: int, steps: int, warmup: int) -> float:
    """Seconds per ``fit`` step on one cached random batch (the model, not the input pipeline)."""
    import tensorflow as tf

    from bench.common import random_batch

    data = random_batch(batch, size)
    ds = tf.data.Dataset.from_tensors(data).repeat()
    gan.fit(ds, steps_per_epoch=warmup, epochs=1, verbose=0)
    t0 = time.perf_counter()
    gan.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    return (time.perf_counter() - t0) / steps


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", default="pggan-dres,pggan-res")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--steps", type=int, default=3, help="timed training steps")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="tiny preset, 64², 2 steps")
    add_output_args(p, "roofline")
    args = p.parse_args(argv)
    if args.quick:
        args.presets, args.size, args.steps = "tiny", 64, 2
    prefix = report_prefix_or_none(args)  # before any measuring: a refusal comes first
    if prefix is None:
        return 2

    import keras

    from bench.common import machine_facts, write_report
    from keras_pggan.config import get_preset
    from keras_pggan.training.build import build_gan, compile_gan

    results, rows = {"peak": [], "steps": {}}, []
    for preset in args.presets.split(","):
        cfg = get_preset(preset).replace(
            data={"image_size": args.size}, train={"global_batch_size": args.batch_size}
        )
        g = cfg.generator
        trunk = args.size // 2**g.num_downsamplings
        width = min(g.base_filters * 2**g.num_downsamplings, g.max_filters)
        rates = sorted(set(g.dilation_rates))
        shapes = [(1, trunk, width, r) for r in rates] + [(args.batch_size, trunk, width, 1)]
        shapes = [
            s
            for s in shapes
            if f"[{s[0]},{s[1]},{s[1]},{s[2]}] 3×3 rate {s[3]}"
            not in {r["shape"] for r in results["peak"]}
        ]
        results["peak"] += conv_peak(shapes)
        keras.backend.clear_session()
        gan = build_gan(cfg)
        compile_gan(gan, cfg)
        flops = train_step_flops(gan, args.batch_size, args.size)
        step = measure_step(gan, args.batch_size, args.size, args.steps, args.warmup)
        results["steps"][preset] = {"flops": flops, "seconds": step, "gflops": flops / step / 1e9}
        print(preset, results["steps"][preset], flush=True)
    peak = max(r["gflops"] for r in results["peak"])
    results["peak_gflops"] = peak
    for r in results["peak"]:
        rows.append(
            [
                "conv peak probe",
                r["shape"],
                "–",
                f"{r['ms']:.1f} ms",
                f"{r['gflops']:.1f}",
                f"{r['gflops'] / peak:.2f}",
            ]
        )
    for preset, s in results["steps"].items():
        s["ratio"] = s["gflops"] / peak
        rows.append(
            [
                f"train step {preset}",
                f"[{args.batch_size},{args.size},{args.size},3]",
                f"{s['flops'] / 1e9:.1f}",
                f"{s['seconds']:.2f} s",
                f"{s['gflops']:.1f}",
                f"**{s['ratio']:.2f}**",
            ]
        )
    write_report(
        prefix,
        "Roofline: training step vs this machine's convolution peak",
        ["what", "shape", "GFLOP", "time", "GFLOP/s", "× peak"],
        rows,
        machine_facts(),
        notes=[
            f"Peak = best forward GFLOP/s over the probes: {peak:.1f} GFLOP/s. Goal: training step "
            f"≥ {GOAL} × peak.",
            "Training-step FLOPs are counted from the traced train_step graph by TensorFlow's "
            "profiler (Conv2D, Conv2DBackpropInput/Filter, MatMul; multiply-add = 2); element-wise "
            "work is not counted, so the achieved GFLOP/s is a lower bound.",
            f"Step time: {args.warmup} warm-up + {args.steps} timed fit steps on cached tensors.",
        ],
        extra=results,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
