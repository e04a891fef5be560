"""Train-step time and images/s for both paper presets, 1 device vs 2 logical CPU replicas.

Example:
    python bench/train_step.py                 # 256², global batch 8, both presets
    python bench/train_step.py --quick         # 128², fewer steps

Data are cached in-memory tensors, so this measures the model, not the input pipeline
(bench/input_pipeline.py measures that). Writes bench/results/train_step.md and .json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=8, help="global batch")
    p.add_argument("--steps", type=int, default=4, help="timed steps per case")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--presets", default="pggan-dres,pggan-res")
    p.add_argument("--quick", action="store_true", help="128², 2 timed steps")
    args = p.parse_args(argv)
    if args.quick:
        args.size, args.steps, args.warmup = 128, 2, 1

    from keras_pggan.train import configure_cpu_replicas

    configure_cpu_replicas(2)
    import numpy as np
    import tensorflow as tf

    from bench.common import machine_facts, write_report
    from keras_pggan.config import get_preset
    from keras_pggan.train import build_pggan, compile_pggan, make_strategy

    rng = np.random.default_rng(0)
    n = args.batch_size
    data = {
        "image": rng.uniform(size=(n, args.size, args.size, 3)).astype("float32"),
        "mask": (rng.uniform(size=(n, args.size, args.size, 1)) > 0.7).astype("float32"),
    }
    rows, results = [], {}
    for preset in args.presets.split(","):
        cfg = get_preset(preset).replace(
            data={"image_size": args.size}, train={"global_batch_size": n}
        )
        base = None
        for replicas in (1, 2):
            strategy = make_strategy("default" if replicas == 1 else "mirrored", replicas)
            with strategy.scope():
                gan = build_pggan(cfg)
                compile_pggan(gan, cfg)
            ds = tf.data.Dataset.from_tensors(data).repeat()
            gan.fit(ds, steps_per_epoch=args.warmup, epochs=1, verbose=0)
            t0 = time.perf_counter()
            gan.fit(ds, steps_per_epoch=args.steps, epochs=1, verbose=0)
            step = (time.perf_counter() - t0) / args.steps
            base = base or step
            results[f"{preset}/{replicas}"] = step
            rows.append(
                [
                    preset,
                    f"{args.size}²",
                    n,
                    replicas,
                    f"{step:.2f}",
                    f"{n / step:.2f}",
                    f"{step / base:.2f}",
                ]
            )
            print(rows[-1], flush=True)
    write_report(
        "train_step",
        f"Train step, global batch {n}, {args.size}² (cached tensors)",
        ["preset", "size", "global batch", "replicas", "s/step", "img/s", "time vs 1 device"],
        rows,
        machine_facts(),
        notes=[
            f"{args.warmup} warm-up + {args.steps} timed steps per case; one D and one G "
            "update per step (G forward reused for both phases).",
            "2 replicas = MirroredStrategy over 2 logical CPU devices of the same 2 cores: "
            "the same FLOPs split in two, so a ratio near 1.0 means no distribution overhead.",
        ],
        extra={"seconds_per_step": results},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
