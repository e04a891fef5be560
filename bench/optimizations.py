"""Measured before/after of the changes the training profile suggests (bench/profile_step.py).

Example:
    python -m bench.optimizations                    # pggan-dres, 128², batch 8
    python -m bench.optimizations --quick            # tiny preset, 64², three variants

The profile of a pggan-dres step is ~95 % convolutions and their gradients; the dilated ones run
as SpaceToBatch → Conv2D → BatchToSpace (TensorFlow's CPU kernels have no dilated backprop). Each
variant runs in its own process (thread pools and oneDNN are fixed when TensorFlow starts), from the
same seed, data and initial weights:

- ``baseline``: TensorFlow's defaults on this CPU;
- ``onednn``: ``TF_ENABLE_ONEDNN_OPTS=1`` (oneDNN convolution kernels; TensorFlow turns them on by
  default only on CPUs with AVX-512);
- ``onednn+native-dilation``: oneDNN plus dilated convolutions as one dilated ``Conv2D`` (oneDNN
  has the dilated backprop kernels), no SpaceToBatch round trip
  (``keras_pggan.models.layers.DilatedConv2D``, switched by ``KERAS_PGGAN_NATIVE_DILATION``);
- ``threads``: ``inter_op=1`` (one op at a time, each using every core) on top of the best so far;
- ``xla``: ``jit_compile=True`` on the training step.

Reports s/step (median of the timed steps) and the change in results: the largest difference of the
generator's output after the timed steps, and of the first step's losses, vs the baseline. A change
is kept if it is ≥ 5 % faster and within tolerance (losses 1e-3 relative, outputs 0.05 in [-1, 1]).
Writes ``<out>/optimizations.md`` and ``.json`` (a fresh temporary folder unless ``--out DIR``;
``--write-results`` refreshes bench/results/).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from bench.common import add_output_args, report_prefix_or_none

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NATIVE = "KERAS_PGGAN_NATIVE_DILATION"  # keras_pggan.models.layers.DilatedConv2D's switch
LOSS_TOL = 1e-3
OUT_TOL = 0.05
MIN_GAIN = 0.05

# name -> (what it is measured against, the change). "best" = the fastest kept variant so far.
# An env value of None means "unset" (TensorFlow's own default for this CPU).
VARIANTS = {
    "baseline": (None, {"env": {"TF_ENABLE_ONEDNN_OPTS": None, NATIVE: "0"}}),
    "onednn-off": ("baseline", {"env": {"TF_ENABLE_ONEDNN_OPTS": "0"}}),
    "onednn": ("baseline", {"env": {"TF_ENABLE_ONEDNN_OPTS": "1"}}),
    "onednn+native-dilation": ("onednn", {"env": {NATIVE: "1"}}),
    "threads": ("best", {"inter_op": 1}),
    "xla": ("best", {"jit_compile": True}),
    # Diagnostic, never kept: the CPU split into 2 logical devices (what bench/train_step.py
    # does for its Mirrored cases), the step still on one device.
    "2-logical-cpus": ("best", {"logical_cpus": 2}),
    # Judged by validation quality at equal steps (docs/training_recipe.md), not by the
    # float32 tolerance: bfloat16 rounds every activation to 8 mantissa bits.
    "bf16": ("best", {"precision": "mixed_bfloat16"}),
}
DIAGNOSTIC = ("2-logical-cpus",)
# --quick: a variant of each kind (an environment change, a spec change measured against the
# best so far); each variant is a process of its own that traces its own step.
QUICK_VARIANTS = ("baseline", "onednn", "threads")
QUALITY_JUDGED = ("bf16",)


def _child(spec: dict) -> dict:
    """Runs in the variant's process: builds, times and fingerprints one training run."""
    import numpy as np
    import tensorflow as tf

    if spec.get("inter_op"):
        tf.config.threading.set_inter_op_parallelism_threads(spec["inter_op"])
    if spec.get("logical_cpus"):
        from keras_pggan.training.run import configure_cpu_replicas

        configure_cpu_replicas(spec["logical_cpus"])
    import keras

    from keras_pggan.config import ExperimentConfig, get_preset
    from keras_pggan.inference.fill import to_model_range
    from keras_pggan.training.build import build_gan, compile_gan

    size, batch = spec["size"], spec["batch"]
    base = (
        ExperimentConfig.load(spec["config"]) if spec.get("config") else get_preset(spec["preset"])
    )
    cfg = base.replace(
        data={"image_size": size},
        train={"global_batch_size": batch, "precision": spec.get("precision", "float32")},
    )
    gan = build_gan(cfg)
    compile_gan(gan, cfg)
    if spec.get("jit_compile"):
        gan.jit_compile = True
        gan.make_train_function(force=True)
    from bench.common import random_batch

    data = random_batch(batch, size)
    ds = tf.data.Dataset.from_tensors(data).repeat()
    first = gan.fit(ds, steps_per_epoch=1, epochs=1, verbose=0).history
    times = []

    class Timer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.t0 = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            times.append(time.perf_counter() - self.t0)

    gan.fit(ds, steps_per_epoch=spec["steps"], epochs=1, verbose=0, callbacks=[Timer()])
    probe = gan.generator(
        {"image": to_model_range(data["image"][:1]), "mask": data["mask"][:1]}, training=False
    )
    return {
        "seconds_per_step": float(np.median(times)),
        "step_times": times,
        "first_losses": {k: float(v[-1]) for k, v in first.items()},
        "output": np.asarray(probe).ravel()[::97].tolist(),
    }


def run_variant(name: str, spec: dict) -> dict:
    env = dict(os.environ)
    for key, value in spec.get("env", {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    proc = subprocess.run(
        [sys.executable, "-m", "bench.optimizations", "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        err = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        return {"error": err[-1] if err else f"exit code {proc.returncode}"}
    return json.loads(lines[-1][len("RESULT ") :])


def compare(result: dict, base: dict) -> dict:
    import numpy as np

    rel = max(
        abs(result["first_losses"][k] - v) / max(abs(v), 1e-8)
        for k, v in base["first_losses"].items()
    )
    out = float(np.max(np.abs(np.array(result["output"]) - np.array(base["output"]))))
    return {
        "loss_rel_diff": rel,
        "output_max_diff": out,
        "within_tolerance": rel <= LOSS_TOL and out <= OUT_TOL,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--preset", default="pggan-dres")
    p.add_argument("--config", default=None, help="ExperimentConfig JSON (overrides --preset)")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--steps", type=int, default=3, help="timed steps per variant")
    p.add_argument("--variants", default=None, help="comma list (default: all of them)")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"tiny preset, 64², 2 steps; variants {','.join(QUICK_VARIANTS)} unless --variants",
    )
    add_output_args(p, "optimizations")
    args = p.parse_args(argv)
    if args.child:
        print("RESULT " + json.dumps(_child(json.loads(args.child))), flush=True)
        return 0
    if args.quick:
        args.preset, args.size, args.steps = "tiny", 64, 2
    if args.variants is None:
        args.variants = ",".join(QUICK_VARIANTS if args.quick else VARIANTS)
    prefix = report_prefix_or_none(args)  # before any measuring: a refusal comes first
    if prefix is None:
        return 2

    from bench.common import machine_facts, write_report
    from keras_pggan.cpu import bf16_supported

    common = {
        "preset": args.preset,
        "config": args.config,
        "size": args.size,
        "batch": args.batch_size,
        "steps": args.steps,
    }
    results, rows, kept = {}, [], []
    best = "baseline"
    names = args.variants.split(",")
    if "bf16" in names and not bf16_supported():
        names.remove("bf16")
        print("[bf16] skipped: this CPU has no AVX512_BF16/AMX", flush=True)
    for name in names:
        before, change = VARIANTS[name]
        before = best if before == "best" else before
        # A variant is what it is measured against plus its own change.
        spec = dict(results[before]["spec"]) if before else dict(common)
        spec.update({k: v for k, v in change.items() if k != "env"})
        spec["env"] = {**spec.get("env", {}), **change.get("env", {})}
        print(f"[{name}] running (vs {before})", flush=True)
        res = run_variant(name, spec)
        res["spec"], res["before"] = spec, before
        results[name] = res
        if "error" in res:
            rows.append([name, before or "–", "failed", "–", "–", "–", "–", res["error"]])
            continue
        base = results["baseline"]
        cmp_ = compare(res, base)
        res.update(cmp_)
        res["speedup_vs_baseline"] = base["seconds_per_step"] / res["seconds_per_step"]
        res["speedup"] = (
            results[before]["seconds_per_step"] / res["seconds_per_step"] if before else 1.0
        )
        keep = bool(before) and res["speedup"] >= 1 + MIN_GAIN and cmp_["within_tolerance"]
        keep = keep and name not in DIAGNOSTIC + QUALITY_JUDGED
        if keep:
            kept.append(name)
            if res["seconds_per_step"] < results[best]["seconds_per_step"]:
                best = name
        verdict = "–" if not before else ("**helps**" if keep else "rejected")
        if name in DIAGNOSTIC:
            verdict = "diagnostic"
        elif name in QUALITY_JUDGED:
            verdict = "faster; quality run decides" if res["speedup"] > 1 else "slower"
        rows.append(
            [
                name,
                before or "–",
                f"{res['seconds_per_step']:.2f}",
                f"{res['speedup']:.2f}×",
                f"{res['speedup_vs_baseline']:.2f}×",
                f"{cmp_['loss_rel_diff']:.1e}",
                f"{cmp_['output_max_diff']:.1e}",
                verdict,
            ]
        )
        print(rows[-1], flush=True)
    write_report(
        prefix,
        f"Optimizations, measured: {os.path.basename(args.config or args.preset)} training "
        f"step, {args.size}², batch "
        f"{args.batch_size}",
        [
            "variant",
            "before",
            "s/step",
            "speed-up vs before",
            "vs baseline",
            "first-step loss rel. diff vs baseline",
            f"G output max diff after {args.steps + 1} steps",
            "verdict",
        ],
        rows,
        machine_facts(),
        notes=[
            f"Median of {args.steps} timed steps after 1 untimed step, each variant in a fresh "
            "process from the same seed, data and initial weights.",
            f"Kept if ≥ {MIN_GAIN:.0%} faster and within tolerance (losses {LOSS_TOL:g} relative, "
            f"generator output {OUT_TOL} in [-1, 1]).",
            "bf16 (mixed_bfloat16) is measured only on CPUs with AVX512_BF16/AMX and judged by "
            "validation quality at equal steps (docs/training_recipe.md), not by these "
            "tolerances; 2-logical-cpus is a diagnostic (the CPU split as bench/train_step.py "
            "does), never kept.",
            f"Model: {args.config or args.preset}.",
        ],
        extra={"variants": results, "kept": kept, "best": best},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
