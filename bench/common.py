"""Shared helpers for the benchmarks: machine facts, where a report goes, and report writing.

Where a report goes (every benchmark, ``--quick`` or not): ``--out DIR`` if given, else a fresh
temporary folder (printed). The committed ``bench/results/`` is written only when asked for:
``--write-results`` (= ``--out bench/results --overwrite``: refresh the published numbers) or
``--out bench/results``. An existing report file is replaced only with ``--overwrite``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time

SPEED_ENV = ("TF_ENABLE_ONEDNN_OPTS", "KERAS_PGGAN_NATIVE_DILATION")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
# Tracked folders a benchmark never writes into unless told to (--out there, or --write-results).
DOCS = os.path.join(ROOT, "docs")


def add_output_args(p: argparse.ArgumentParser, name: str) -> None:
    """Adds ``--name``, ``--out``, ``--write-results`` and ``--overwrite`` to a bench parser.

    Args:
        p: the benchmark's parser.
        name: the default report name (``<out>/<name>.md`` and ``.json``).
    """
    p.add_argument("--name", default=name, help=f"report file name (default: {name})")
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="folder for <name>.md and .json (default: a fresh temporary folder, printed)",
    )
    p.add_argument(
        "--write-results",
        action="store_true",
        help="write into the committed bench/results/, replacing its report (refreshes the "
        "published numbers)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing report in --out")


def report_prefix(args: argparse.Namespace) -> str:
    """Where this run's report goes: ``<folder>/<name>`` (without ``.md``/``.json``), checked.

    Call it first thing after parsing, so a refusal comes before minutes of measuring.

    Args:
        args: parsed flags of :func:`add_output_args`.

    Returns:
        The report path prefix; its folder exists.

    Raises:
        keras_pggan.errors.UserError: ``--out`` and ``--write-results`` disagree, the report
            would land in the tracked ``bench/results/`` or ``docs/`` without being asked to, or
            a report file exists and ``--overwrite`` is not given.
    """
    from keras_pggan.errors import UserError
    from keras_pggan.io_utils import check_writable, is_inside

    overwrite = args.overwrite
    if args.write_results:
        if args.out and os.path.realpath(args.out) != os.path.realpath(RESULTS):
            raise UserError(f"--out {args.out} and --write-results ({RESULTS}): give one")
        folder, overwrite = RESULTS, True
    elif args.out:
        folder = args.out
    else:
        folder = tempfile.mkdtemp(prefix=f"bench_{os.path.basename(args.name)}_")
        print(f"[bench] writing the report to {folder} (--out DIR to choose)", flush=True)
    prefix = os.path.join(folder, args.name)
    for tracked in (RESULTS, DOCS):
        asked = args.write_results or (args.out and is_inside(args.out, tracked))
        if is_inside(prefix, tracked) and not asked:
            raise UserError(
                f"--name: {prefix} is in the tracked {tracked}; write elsewhere (--out DIR) or "
                "pass --write-results to refresh the committed results"
            )
    for ext in (".md", ".json"):
        check_writable(prefix + ext, overwrite, "--out")
    os.makedirs(os.path.dirname(prefix) or ".", exist_ok=True)
    return prefix


def report_prefix_or_none(args: argparse.Namespace) -> str | None:
    """:func:`report_prefix`, or ``None`` after printing the refusal as one ``error:`` line."""
    from keras_pggan.errors import UserError

    try:
        return report_prefix(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return None


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


def gpu_facts() -> str:
    """The GPUs TensorFlow sees, e.g. ``"1× NVIDIA H200 (compute 9.0)"``, or ``"none"``."""
    import tensorflow as tf

    names = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        cc = details.get("compute_capability")
        cc = f" (compute {cc[0]}.{cc[1]})" if cc else ""
        names.append(details.get("device_name", gpu.name) + cc)
    if not names:
        return "none"
    return ", ".join(f"{names.count(n)}× {n}" for n in dict.fromkeys(names))


def machine_facts() -> dict:
    """CPU model, core count, flags of interest, GPUs, Python/TF/Keras versions."""
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
        "gpu": gpu_facts(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        # The opt-in speed settings (README, "Dependency notes") this process ran with.
        "env": " ".join(f"{k}={os.environ.get(k, 'unset')}" for k in SPEED_ENV),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def write_report(
    prefix: str,
    title: str,
    header: list[str],
    rows: list[list],
    facts: dict,
    notes: list[str] | None = None,
    extra: dict | None = None,
    echo: bool = True,
) -> str:
    """Writes ``<prefix>.md`` (a table) and ``<prefix>.json``; returns the md path.

    ``prefix`` comes from :func:`report_prefix` (which checked both files may be written).
    ``echo=False`` skips printing the table (a partial report rewritten after each case).
    """
    os.makedirs(os.path.dirname(prefix) or ".", exist_ok=True)
    lines = [f"# {title}", "", "Machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()), ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        lines.append("| " + " | ".join(str(x) for x in row) + " |")
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    md = f"{prefix}.md"
    with open(md, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(f"{prefix}.json", "w", encoding="utf-8") as f:
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
    if echo:
        print("\n".join(lines))
        print(f"wrote {md} and .json", flush=True)
    return md
