"""Top ops of a profiled training step by self time (TensorFlow profiler + xprof's op statistics).

Example:
    python -m bench.profile_step                          # pggan-dres, 128², batch 8
    python -m bench.profile_step --preset pggan-res --size 256
    python -m bench.profile_step --quick                  # tiny preset, 64²

Runs ``fit`` on cached tensors (warm-up steps first), traces ``--steps`` steps with
``tf.profiler.experimental``, converts the trace with xprof's ``framework_op_stats`` tool
(TensorBoard's *Profile → framework_op_stats* page) and lists ops by total self time, grouped by op
type and by op name. The trace is kept in ``--logdir`` for ``tensorboard --logdir``. Writes
``<out>/<name>.md`` and ``.json`` (a fresh temporary folder unless ``--out DIR``;
``--write-results`` refreshes bench/results/).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import tempfile

from bench.common import add_output_args, report_prefix_or_none


def op_stats(xplane_path: str) -> list[dict]:
    """Rows of xprof's ``framework_op_stats`` for one ``.xplane.pb`` trace (IDLE dropped)."""
    from xprof.convert import raw_to_tool_data

    data, _ = raw_to_tool_data.xspace_to_tool_data([xplane_path], "framework_op_stats", {})
    if data is None:
        raise RuntimeError(f"{xplane_path}: xprof could not convert the trace")
    tables = json.loads(data)
    table = tables[0] if isinstance(tables, list) else tables
    cols = [c["id"] for c in table["cols"]]
    rows = []
    for r in table["rows"]:
        row = dict(zip(cols, [c.get("v") for c in r["c"]], strict=False))
        if row.get("type") != "IDLE":
            rows.append(row)
    return rows


def summarise(rows: list[dict], steps: int, top: int = 12) -> dict:
    """Self time per op type and the top op names, in ms per step and % of the profiled time."""
    total = sum(r["total_self_time"] for r in rows) or 1.0
    by_type: dict[str, float] = {}
    for r in rows:
        by_type[r["type"]] = by_type.get(r["type"], 0.0) + r["total_self_time"]
    types = sorted(by_type.items(), key=lambda kv: -kv[1])
    names = sorted(rows, key=lambda r: -r["total_self_time"])
    return {
        "busy_ms_per_step": total / 1e3 / steps,
        "types": [
            {"type": t, "ms_per_step": us / 1e3 / steps, "percent": 100 * us / total}
            for t, us in types[:top]
        ],
        "ops": [
            {
                "type": r["type"],
                "name": r["operation"],
                "ms_per_step": r["total_self_time"] / 1e3 / steps,
                "percent": 100 * r["total_self_time"] / total,
            }
            for r in names[:top]
        ],
    }


def profile_training(preset: str, size: int, batch: int, steps: int, logdir: str) -> dict:
    """Profiles ``steps`` fit steps of ``preset`` and returns :func:`summarise` of the trace."""
    import tensorflow as tf

    from keras_pggan.config import get_preset
    from keras_pggan.training.build import build_gan, compile_gan

    cfg = get_preset(preset).replace(data={"image_size": size}, train={"global_batch_size": batch})
    gan = build_gan(cfg)
    compile_gan(gan, cfg)
    from bench.common import random_batch

    data = random_batch(batch, size)
    ds = tf.data.Dataset.from_tensors(data).repeat()
    gan.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)
    tf.profiler.experimental.start(logdir)
    try:
        gan.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    finally:
        tf.profiler.experimental.stop()
    traces = sorted(
        glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")),
        key=os.path.getmtime,
    )
    if not traces:
        raise RuntimeError(f"{logdir}: the profiler wrote no .xplane.pb trace")
    out = summarise(op_stats(traces[-1]), steps)
    out["trace"] = traces[-1]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="pggan-dres")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--steps", type=int, default=2, help="profiled steps")
    p.add_argument("--logdir", default=None, help="keep the trace here (default: a temp dir)")
    p.add_argument("--quick", action="store_true", help="tiny preset, 64²")
    add_output_args(p, "profile")
    args = p.parse_args(argv)
    if args.quick:
        args.preset, args.size = "tiny", 64
    prefix = report_prefix_or_none(args)  # before any measuring: a refusal comes first
    if prefix is None:
        return 2
    logdir = args.logdir or tempfile.mkdtemp(prefix="bench_profile_")

    from bench.common import machine_facts, write_report

    s = profile_training(args.preset, args.size, args.batch_size, args.steps, logdir)
    rows = [
        ["type", t["type"], f"{t['ms_per_step']:.1f}", f"{t['percent']:.1f}"] for t in s["types"]
    ]
    rows += [
        [
            "op",
            f"{o['type']}: `{o['name'].split('/', 1)[-1]}`",
            f"{o['ms_per_step']:.1f}",
            f"{o['percent']:.1f}",
        ]
        for o in s["ops"]
    ]
    write_report(
        prefix,
        f"Profiled training step: {args.preset}, {args.size}², batch {args.batch_size}",
        ["group", "op", "self ms / step", "% of busy time"],
        rows,
        machine_facts(),
        notes=[
            f"{args.steps} steps traced after 2 warm-up steps; busy time (sum of op self times, "
            f"both cores' threads) {s['busy_ms_per_step']:.0f} ms per step.",
            f"Trace: `{s['trace']}`; open it with `tensorboard --logdir {logdir}` → Profile "
            "(trace_viewer, framework_op_stats).",
        ],
        extra=s,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
