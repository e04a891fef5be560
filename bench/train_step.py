"""Train-step time and images/s for both paper presets: devices, precisions, XLA, batch sizes.

Example:
    python -m bench.train_step                 # 128² and 256², global batch 8, both presets
    python -m bench.train_step --quick         # tiny preset at 64², fewer steps
    python -m bench.train_step --sizes 256 --replicas 1 --batch-size 8,32 \
        --precision float32,mixed_float16 --jit-compile false,true      # a GPU: 16 cases

One case per (size, preset, global batch, replicas, precision, jit_compile), the comma lists
crossed. ``--jit-compile`` takes the values of ``TrainConfig.jit_compile``: ``auto`` (Keras's
rule: XLA on a GPU with no distribution strategy, off on CPU-only machines and under
``tf.distribute``), ``true`` or ``false``; the report says what each case resolved to and which
device ran it. On a GPU it adds the peak GPU memory of each case
(``tf.config.experimental.get_memory_info``).

Data are cached in-memory tensors, so this measures the model, not the input pipeline
(bench/input_pipeline.py measures that). Writes ``<out>/train_step.md`` and ``.json`` (a fresh
temporary folder unless ``--out DIR``; ``--write-results`` refreshes bench/results/), rewritten
after every case: a run stopped part-way (a ``timeout``) keeps the cases it finished.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

from bench.common import add_output_args, report_prefix_or_none

HEADER = [
    "preset",
    "size",
    "global batch",
    "replicas",
    "device",
    "precision",
    "XLA",
    "s/step",
    "img/s",
    "time ratio",
    "peak GPU MiB",
]


def _ints(text: str, flag: str) -> list[int]:
    try:
        values = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"{flag} takes comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise ValueError(f"{flag} takes integers >= 1, got {text!r}")
    return values


def _choices(text: str, flag: str, allowed) -> list[str]:
    values = [s.strip() for s in text.split(",") if s.strip()]
    bad = [v for v in values if v not in allowed]
    if not values or bad:
        raise ValueError(f"{flag}: {bad or text!r} not in {', '.join(allowed)}")
    return values


def device_label(strategy) -> str:
    """Where a strategy's replicas run: ``"GPU:0 (NVIDIA H200)"``, ``"2× CPU (logical)"``, ..."""
    import tensorflow as tf

    try:
        devices = list(strategy.extended.worker_devices)
    except RuntimeError:  # the default strategy has none: one device
        devices = ["/device:CPU:0"]
    gpus = tf.config.list_physical_devices("GPU")
    if not any("GPU" in d.upper() for d in devices):
        if gpus:  # the default strategy places ops on the first GPU
            devices = ["/device:GPU:0"]
        else:
            return "CPU" if len(devices) == 1 else f"{len(devices)}× CPU (logical)"
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    if len(devices) == 1:
        return f"GPU:0 ({name})"
    return f"{len(devices)}× GPU ({name})"


def _reset_peak() -> None:
    import tensorflow as tf

    try:
        tf.config.experimental.reset_memory_stats("GPU:0")
    except (ValueError, RuntimeError):  # an allocator without statistics: no peak column
        pass


def _peak_mib() -> float | None:
    """TensorFlow's allocator peak on GPU:0 since the last reset, in MiB (None if unknown)."""
    import tensorflow as tf

    try:
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    except (ValueError, RuntimeError):
        return None


def _seconds(step: float) -> str:
    return f"{step:.2f}" if step >= 1 else f"{step:.4f}"


def _time_case(gan, ds, warmup: int, steps: int, on_gpu: bool) -> float:
    """Seconds per step of ``gan.fit`` on ``ds`` after ``warmup`` steps.

    On a GPU a step takes milliseconds, so fit's fixed cost per call (an iterator, callbacks,
    the final sync) matters: there it is ``(fit(steps + 1) − fit(1)) / steps``, which cancels it.
    On a CPU a step takes seconds and the plain ``fit(steps) / steps`` is used.
    """
    gan.fit(ds, steps_per_epoch=warmup, epochs=1, verbose=0)
    fixed = 0.0
    if on_gpu:
        t0 = time.perf_counter()
        gan.fit(ds, steps_per_epoch=1, epochs=1, verbose=0)
        fixed = time.perf_counter() - t0
    t0 = time.perf_counter()
    gan.fit(ds, steps_per_epoch=steps + (1 if on_gpu else 0), epochs=1, verbose=0)
    return (time.perf_counter() - t0 - fixed) / steps


def _measure(cfg, strategy, data: dict, warmup: int, steps: int, on_gpu: bool) -> dict:
    """Builds and compiles the GAN of ``cfg`` under ``strategy`` and times its steps."""
    import tensorflow as tf

    from keras_pggan.training.build import build_gan, compile_gan

    n = cfg.train.global_batch_size
    if on_gpu:
        _reset_peak()
    with strategy.scope():
        gan = build_gan(cfg)
        compile_gan(gan, cfg)
    # Batched like the real pipeline (keras_pggan.data): tf.distribute splits each global
    # batch into one part per replica (checked: [4, ...] on each of 2).
    ds = tf.data.Dataset.from_tensor_slices(data).repeat().batch(n, drop_remainder=True)
    step = _time_case(gan, ds.prefetch(tf.data.AUTOTUNE), warmup, steps, on_gpu)
    return {
        "xla": bool(gan.jit_compile),  # as Keras resolved it ("auto": see the notes)
        "seconds_per_step": step,
        "images_per_second": n / step,
        "peak_gpu_mib": _peak_mib() if on_gpu else None,
    }


def _first_cause(e: Exception) -> str:
    """The line of an error that says what went wrong (TF errors end with node names)."""
    lines = [
        ln.strip()
        for ln in str(e).splitlines()
        if ln.strip() and not ln.strip().startswith(("[[", "File ", "Detected at"))
    ]
    return f"{type(e).__name__}: {lines[-1] if lines else ''}"[:300]


def _row(case: dict, base: dict) -> list:
    """The report row of a case; ``base`` maps (size, preset, batch) to the first step time."""
    head = [
        case["preset"],
        f"{case['size']}²",
        case["global_batch"],
        case["replicas"],
        case["device"],
        case["precision"],
    ]
    if "error" in case:
        return [*head, "?", "error", "–", "–", "–"]
    step, peak = case["seconds_per_step"], case["peak_gpu_mib"]
    first = base.setdefault((case["size"], case["preset"], case["global_batch"]), step)
    return [
        *head,
        "on" if case["xla"] else "off",
        _seconds(step),
        f"{case['global_batch'] / step:.2f}",
        f"{step / first:.2f}",
        f"{peak:.0f}" if peak is not None else "–",
    ]


def main(argv=None) -> int:
    from keras_pggan.config import JIT_COMPILE, PRECISIONS

    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sizes", default="128,256")
    p.add_argument(
        "--batch-size", default="8", help="global batch, or a comma list (e.g. 8,32; default 8)"
    )
    p.add_argument("--steps", type=int, default=3, help="timed steps per case")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first (tracing, XLA)")
    p.add_argument("--presets", default="pggan-dres,pggan-res")
    p.add_argument(
        "--replicas",
        default="1,2",
        help="comma list: 1 = the default strategy; N > 1 = MirroredStrategy over the GPUs, or "
        "over N logical CPU devices without a GPU (default 1,2)",
    )
    p.add_argument(
        "--precision",
        default="float32",
        help=f"comma list of {', '.join(PRECISIONS)} (default float32)",
    )
    p.add_argument(
        "--jit-compile",
        default="auto",
        help=f"comma list of {', '.join(JIT_COMPILE)} (default auto: Keras's rule)",
    )
    p.add_argument("--quick", action="store_true", help="tiny preset, 64², 2 timed steps")
    add_output_args(p, "train_step")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.presets, args.steps, args.warmup = "64", "tiny", 2, 1
    try:
        sizes = _ints(args.sizes, "--sizes")
        batches = _ints(args.batch_size, "--batch-size")
        replica_counts = _ints(args.replicas, "--replicas")
        precisions = _choices(args.precision, "--precision", PRECISIONS)
        jits = _choices(args.jit_compile, "--jit-compile", JIT_COMPILE)
        _ints(f"{args.steps},{args.warmup}", "--steps and --warmup")
    except ValueError as e:
        p.error(str(e))
    prefix = report_prefix_or_none(args)  # before any measuring: a refusal comes first
    if prefix is None:
        return 2

    import tensorflow as tf

    from keras_pggan.training.run import configure_cpu_replicas

    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    if not on_gpu and max(replica_counts) > 1:
        configure_cpu_replicas(max(replica_counts))
    import numpy as np

    from bench.common import machine_facts, write_report
    from keras_pggan.config import get_preset
    from keras_pggan.training.distribute import make_strategy

    rng = np.random.default_rng(0)
    rows, results, cases = [], {}, []
    grid = list(itertools.product(sizes, args.presets.split(","), batches, replica_counts))
    combos = list(itertools.product(precisions, jits))
    total, base = len(grid) * len(combos), {}
    facts = machine_facts()

    def report(partial: bool) -> None:
        notes = [
            f"{args.warmup} warm-up + {args.steps} timed steps per case; one D and one G "
            "update per step (G forward reused for both phases).",
            "s/step: fit(N)/N on a CPU; (fit(N+1) − fit(1))/N on a GPU, which cancels fit's "
            "fixed cost per call (iterator, callbacks, final sync).",
            "replicas N > 1 on a CPU = MirroredStrategy over N logical CPU devices of the same "
            "cores: the same FLOPs split in N, so a ratio near 1.0 means no distribution "
            "overhead (goal ≤ 1.10). On GPUs, MirroredStrategy over the GPUs present.",
            "time ratio: s/step ÷ that of the first case of the same preset, size and batch "
            "(the first replicas count, precision and jit_compile listed).",
            "XLA: jit_compile as the GAN resolved it (`auto` is off on CPU and under "
            "tf.distribute, on with a GPU and the default strategy).",
            f"oneDNN: TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')}.",
        ]
        if partial:
            notes.insert(0, f"PARTIAL: {len(rows)} of {total} cases so far.")
        notes += [
            f"error in {c['preset']} {c['size']}² batch {c['global_batch']} {c['precision']} "
            f"jit_compile {c['jit_compile']}: `{c['error']}`"
            for c in cases
            if "error" in c
        ]
        first = f"{precisions[0]}, jit_compile {jits[0]}"
        title = "Train step (cached tensors)"
        if len(batches) == 1 and len(combos) == 1:
            title = f"Train step, global batch {batches[0]} (cached tensors)"
        write_report(
            prefix,
            title,
            HEADER,
            rows,
            facts,
            notes=notes,
            # seconds_per_step: "preset/size/replicas" of the first batch, precision and
            # jit_compile (what bench/run_all.py's headline reads); cases: every case.
            extra={"seconds_per_step": results, "first_combo": first, "cases": cases},
            echo=not partial,
        )

    for size, preset, n, replicas in grid:
        data = {
            "image": rng.uniform(size=(n, size, size, 3)).astype("float32"),
            "mask": (rng.uniform(size=(n, size, size, 1)) > 0.7).astype("float32"),
        }
        if replicas == 1:
            strategy = make_strategy("default")
        else:
            strategy = make_strategy("mirrored", 0 if on_gpu else replicas)
        for precision, jit in combos:
            case = {
                "preset": preset,
                "size": size,
                "global_batch": n,
                "replicas": strategy.num_replicas_in_sync,
                "device": device_label(strategy),
                "precision": precision,
                "jit_compile": jit,
            }
            cfg = get_preset(preset).replace(
                data={"image_size": size},
                train={"global_batch_size": n, "precision": precision, "jit_compile": jit},
            )
            try:
                case.update(_measure(cfg, strategy, data, args.warmup, args.steps, on_gpu))
            except Exception as e:  # noqa: BLE001 - one broken case must not hide the others
                case.update(xla=None, error=_first_cause(e))
                print(f"case {case}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            cases.append(case)
            rows.append(_row(case, base))
            if "error" not in case and (n, precision, jit) == (batches[0], precisions[0], jits[0]):
                results[f"{preset}/{size}/{replicas}"] = case["seconds_per_step"]
            print(rows[-1], flush=True)
            report(partial=len(rows) < total)
    report(partial=False)
    return 1 if any("error" in c for c in cases) else 0


if __name__ == "__main__":
    sys.exit(main())
