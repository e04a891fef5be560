"""Shared helpers for the benchmarks: machine facts and report writing."""

from __future__ import annotations

import json
import os
import platform
import time

SPEED_ENV = ("TF_ENABLE_ONEDNN_OPTS", "KERAS_PGGAN_NATIVE_DILATION")
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def median_ms(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` in ms over ``repeats`` calls, after one warm-up call."""
    import numpy as np

    fn()  # warm-up: tracing, allocation, delegate set-up, weight packing
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


def random_batch(batch: int, size: int, seed: int = 0) -> dict:
    """A cached batch of the data contract: uniform images, ~30 % scattered holes."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return {
        "image": rng.uniform(size=(batch, size, size, 3)).astype("float32"),
        "mask": (rng.uniform(size=(batch, size, size, 1)) > 0.7).astype("float32"),
    }


def machine_facts() -> dict:
    """CPU model, core count, flags of interest, Python/TF/Keras versions."""
    import keras
    import tensorflow as tf

    cpu, flags = platform.processor() or "unknown", []
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name") and cpu in ("unknown", "", platform.machine()):
                    cpu = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    flags = sorted(
                        have
                        & {
                            "avx2",
                            "avx512f",
                            "avx512_bf16",
                            "amx_bf16",
                            "amx_int8",
                            "avx512_vnni",
                            "fma",
                        }
                    )
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "flags": flags,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        # The opt-in speed settings (README, "Dependency notes") this process ran with.
        "env": " ".join(f"{k}={os.environ.get(k, 'unset')}" for k in SPEED_ENV),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def write_report(
    name: str,
    title: str,
    header: list[str],
    rows: list[list],
    facts: dict,
    notes: list[str] | None = None,
    extra: dict | None = None,
) -> str:
    """Writes ``results/<name>.md`` (a table) and ``results/<name>.json``; returns the md path."""
    os.makedirs(RESULTS, exist_ok=True)
    lines = [f"# {title}", "", "Machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()), ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        lines.append("| " + " | ".join(str(x) for x in row) + " |")
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    md = os.path.join(RESULTS, f"{name}.md")
    with open(md, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(RESULTS, f"{name}.json"), "w", encoding="utf-8") as f:
        json.dump(
            {
                "machine": facts,
                "header": header,
                "rows": rows,
                "notes": notes or [],
                **(extra or {}),
            },
            f,
            indent=2,
        )
    print("\n".join(lines))
    return md
