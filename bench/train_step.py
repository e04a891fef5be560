"""Train-step time and images/s for both paper presets, 1 device vs 2 logical CPU replicas.

Example:
    python bench/train_step.py                 # 128² and 256², global batch 8, both presets
    python bench/train_step.py --quick         # tiny preset at 64², fewer steps

Data are cached in-memory tensors, so this measures the model, not the input pipeline
(bench/input_pipeline.py measures that). Writes ``<out>/train_step.md`` and ``.json`` (a fresh
temporary folder unless ``--out DIR``; ``--write-results`` refreshes bench/results/).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import add_output_args, report_prefix_or_none  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="128,256")
    p.add_argument("--batch-size", type=int, default=8, help="global batch")
    p.add_argument("--steps", type=int, default=3, help="timed steps per case")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--presets", default="pggan-dres,pggan-res")
    p.add_argument("--quick", action="store_true", help="tiny preset, 64², 2 timed steps")
    add_output_args(p, "train_step")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.presets, args.steps, args.warmup = "64", "tiny", 2, 1
    prefix = report_prefix_or_none(args)  # before any measuring: a refusal comes first
    if prefix is None:
        return 2
    sizes = [int(s) for s in args.sizes.split(",")]

    from keras_pggan.train import configure_cpu_replicas

    configure_cpu_replicas(2)
    import numpy as np
    import tensorflow as tf

    from bench.common import machine_facts, write_report
    from keras_pggan.config import get_preset
    from keras_pggan.distribute import make_strategy
    from keras_pggan.models import build_gan, compile_gan

    rng = np.random.default_rng(0)
    n = args.batch_size
    rows, results = [], {}
    for size in sizes:
        data = {
            "image": rng.uniform(size=(n, size, size, 3)).astype("float32"),
            "mask": (rng.uniform(size=(n, size, size, 1)) > 0.7).astype("float32"),
        }
        for preset in args.presets.split(","):
            cfg = get_preset(preset).replace(
                data={"image_size": size}, train={"global_batch_size": n}
            )
            base = None
            for replicas in (1, 2):
                strategy = make_strategy("default" if replicas == 1 else "mirrored", replicas)
                with strategy.scope():
                    gan = build_gan(cfg)
                    compile_gan(gan, cfg)
                # Batched like the real pipeline (keras_pggan.data): tf.distribute splits each
                # global batch into one half per replica (checked: [4, ...] on each of 2).
                ds = tf.data.Dataset.from_tensor_slices(data).repeat().batch(n, drop_remainder=True)
                gan.fit(ds, steps_per_epoch=args.warmup, epochs=1, verbose=0)
                t0 = time.perf_counter()
                gan.fit(ds, steps_per_epoch=args.steps, epochs=1, verbose=0)
                step = (time.perf_counter() - t0) / args.steps
                base = base or step
                results[f"{preset}/{size}/{replicas}"] = step
                rows.append(
                    [
                        preset,
                        f"{size}²",
                        n,
                        replicas,
                        f"{step:.2f}",
                        f"{n / step:.2f}",
                        f"{step / base:.2f}",
                    ]
                )
                print(rows[-1], flush=True)
    write_report(
        prefix,
        f"Train step, global batch {n} (cached tensors)",
        ["preset", "size", "global batch", "replicas", "s/step", "img/s", "time vs 1 device"],
        rows,
        machine_facts(),
        notes=[
            f"{args.warmup} warm-up + {args.steps} timed steps per case; one D and one G "
            "update per step (G forward reused for both phases).",
            "2 replicas = MirroredStrategy over 2 logical CPU devices of the same 2 cores: "
            "the same FLOPs split in two, so a ratio near 1.0 means no distribution overhead "
            "(goal ≤ 1.10).",
            f"oneDNN: TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')}.",
        ],
        extra={"seconds_per_step": results},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
