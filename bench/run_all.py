"""Runs every benchmark and writes summary.md (+ summary.json) into a results folder.

Example:
    python -m bench --write-results  # the full suite (~40 min on 2 idle cores) -> bench/results/
    python -m bench --quick          # tiny models and sizes, a few minutes (the smoke test)
    python -m bench --only roofline,inference --out runs/bench

The results folder is ``--out DIR`` (new or empty, else ``--overwrite``), or a fresh temporary
folder (printed) by default; only ``--write-results`` (or ``--out bench/results``) writes the
committed ``bench/results/``, and ``python -m bench --write-results`` is the command that refreshes
it.

Each benchmark runs in its own process (thread pools and oneDNN are fixed when TensorFlow starts)
with the environment it is given (TensorFlow's defaults unless set), writes its own
``<out>/<name>.md`` and ``.json``, and its log goes to ``<out>/logs/<name>.log``. The summary
gathers them with the headline ratios first, then pulls in the tables of the benchmarks that run
separately (input pipeline, serving, serving load, TFLite builds, batch, web) from
``bench/results`` where they exist, with their own dates.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from bench.common import RESULTS
from keras_pggan.errors import UserError
from keras_pggan.io_utils import check_writable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> (module of bench/, extra arguments for the full run)
BENCHES = {
    "roofline": ("roofline", []),
    "train_step": ("train_step", []),
    "inference": ("inference", []),
    "profile": ("profile_step", []),
    "optimizations": ("optimizations", []),
}
# Benchmarks that run on their own (long, or needing a server); the summary quotes their tables.
PULLED = {
    "input_pipeline": "Input pipeline",
    "serving": "Serving (gRPC/REST, local protocol server)",
    "serving_load": "Serving under load",
    "tflite_pggan_dres": "TFLite builds of the full pggan-dres preset",
    "batch": "Batch inpainting: Beam DirectRunner vs the inpaint loop",
    "web": "In-browser build (LiteRT.js in Chromium) vs LiteRT in Python",
}


def run_bench(name: str, quick: bool, out: str) -> dict:
    module, extra = BENCHES[name]
    # --overwrite: main() has checked the folder as a whole (new, empty, or --overwrite given).
    cmd = [
        sys.executable,
        "-m",
        f"bench.{module}",
        *("--out", out, "--name", name, "--overwrite"),
        *(["--quick"] if quick else extra),
    ]
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    log = os.path.join(out, "logs", f"{name}.log")
    print(f"[bench] {name}: {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    with open(log, "w", encoding="utf-8") as f:
        rc = subprocess.run(
            cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT, check=False
        ).returncode
    seconds = time.perf_counter() - t0
    print(f"[bench] {name}: exit {rc} in {seconds:.0f} s", flush=True)
    return {"returncode": rc, "seconds": seconds, "log": log}


def _load(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _table(result: dict) -> list[str]:
    lines = [
        "| " + " | ".join(result["header"]) + " |",
        "|" + "|".join("---" for _ in result["header"]) + "|",
    ]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in result["rows"]]
    return lines + [""] + [f"- {n}" for n in result.get("notes", [])]


def headline(results: dict) -> tuple[list[str], dict]:
    """The ratios the issue asks for, each with its goal."""
    lines, facts = [], {}
    roof = results.get("roofline")
    if roof:
        for preset, s in roof["steps"].items():
            facts[f"roofline/{preset}"] = s["ratio"]
            lines.append(
                f"- **Roofline** {preset}: training step {s['gflops']:.1f} GFLOP/s = "
                f"**{s['ratio']:.2f} × the measured conv peak** ({roof['peak_gflops']:.1f} "
                f"GFLOP/s); goal ≥ 0.5: {'met' if s['ratio'] >= 0.5 else 'NOT met'}."
            )
    train = results.get("train_step")
    if train:
        sps = train["seconds_per_step"]
        for key, one in sps.items():
            preset, size, replicas = key.split("/")
            if replicas != "1" or f"{preset}/{size}/2" not in sps:
                continue
            ratio = sps[f"{preset}/{size}/2"] / one
            facts[f"mirrored/{preset}/{size}"] = ratio
            lines.append(
                f"- **Mirrored** {preset} {size}²: 2 logical-CPU replicas take **{ratio:.2f}×** "
                f"the 1-device step time ({one:.2f} s); goal ≤ 1.10: "
                f"{'met' if ratio <= 1.10 else 'NOT met'}."
            )
    inf = results.get("inference")
    if inf:
        lat = inf["latency_ms"]
        a, b = (str(x) for x in inf["growth_pair"])
        first = a
        tf_paths = {p: v[first] for p, v in lat.items() if p != "onnx"}
        best = min(tf_paths, key=tf_paths.get)
        growth = {p: v[b] / v[a] for p, v in lat.items()}
        facts["growth"] = growth
        lines.append(
            f"- **Growth** latency({b}²)/latency({a}²): "
            + ", ".join(f"{p} {g:.2f}" for p, g in growth.items())
            + f"; goal ≤ 4.2: {'met' if max(growth.values()) <= 4.2 else 'NOT met by all'}."
        )
        if "onnx" in lat:
            r = lat["onnx"][first] / tf_paths[best]
            facts["onnx_vs_best"] = r
            lines.append(
                f"- **Best CPU inference path** at {first}²: {best} {tf_paths[best]:.1f} ms; "
                f"ONNX Runtime fp32 {lat['onnx'][first]:.1f} ms = **{r:.2f}×** that."
            )
        elif inf.get("onnx_error"):
            lines.append(f"- ONNX Runtime: conversion failed: `{inf['onnx_error']}`.")
        rss = inf.get("rss") or {}
        if rss.get("rss_bytes"):
            gb = rss["rss_bytes"] / 1e9
            facts["rss_gb"] = gb
            lines.append(
                f"- **Peak RSS** of `python -m keras_pggan.inpaint` on a {rss['side']}² photo: "
                f"**{gb:.2f} GB**; goal < 6 GB: {'met' if gb < 6 else 'NOT met'}."
                + (
                    f" Network on the whole image at once (`--working-size 0`): "
                    f"{inf['rss_whole']['rss_bytes'] / 1e9:.2f} GB."
                    if (inf.get("rss_whole") or {}).get("rss_bytes")
                    else " Network on the whole image at once (`--working-size 0`): failed "
                    "(see the inference notes)."
                    if (inf.get("rss_whole") or {}).get("error")
                    else ""
                )
            )
    opt = results.get("optimizations")
    if opt:
        kept = opt.get("kept", [])
        lines.append(
            "- **Optimizations** that help: "
            + (", ".join(kept) if kept else "none")
            + f" (best: {opt.get('best')}; measured before/after below). oneDNN and native "
            "dilation are the defaults of `python -m keras_pggan.train` on x86 CPUs "
            "(keras_pggan.cpu; README, dependency notes); every report's machine line records "
            "the settings it ran with."
        )
    return lines, facts


def write_summary(out: str, runs: dict, quick: bool) -> str:
    from bench.common import machine_facts

    results = {name: _load(os.path.join(out, f"{name}.json")) for name in BENCHES}
    results = {k: v for k, v in results.items() if v}
    facts = machine_facts()
    lines = ["# Benchmark summary", ""]
    if quick:
        lines += [
            "> **Quick run (`python -m bench --quick`): tiny models and sizes; the numbers "
            "only show that the suite runs.**",
            "",
        ]
    lines += [
        "Machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()),
        f"Load average when written: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}.",
        "",
        "## Headline",
        "",
    ]
    head, ratios = headline(results)
    lines += head or ["- (no results)"]
    titles = {
        "roofline": "Roofline",
        "train_step": "Training step",
        "inference": "Inference by path",
        "profile": "Profile: top ops by self time",
        "optimizations": "Optimizations, measured before/after",
    }
    for name in BENCHES:
        lines += ["", f"## {titles[name]}", ""]
        run = runs.get(name)
        if name in results:
            lines += _table(results[name])
            if run:
                log = os.path.relpath(run["log"], ROOT)
                lines.append(f"- Ran in {run['seconds']:.0f} s; log `{log}`.")
        elif run:
            lines.append(f"Failed (exit {run['returncode']}); see `{run['log']}`.")
        else:
            lines.append("Not run.")
    lines += ["", "## From the benchmarks that run on their own", ""]
    for name, title in PULLED.items():
        res = _load(os.path.join(RESULTS, f"{name}.json"))
        lines += [f"### {title} (`python -m bench.{name.split('_pggan')[0]}`)", ""]
        if res:
            when = res.get("machine", {}).get("date", "?")
            lines += [f"Measured {when} on {res.get('machine', {}).get('cpu', '?')}.", ""]
            lines += _table(res)
        else:
            lines.append("No results yet.")
        lines.append("")
    md = os.path.join(out, "summary.md")
    with open(md, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(
            {
                "machine": facts,
                "headline": ratios,
                "runs": runs,
                "quick": quick,
                "results": results,
            },
            f,
            indent=2,
        )
    return md


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny models and sizes (smoke test)")
    p.add_argument("--only", default=None, help="comma list of " + ", ".join(BENCHES))
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="results folder, new or empty (default: a fresh temporary folder, printed)",
    )
    p.add_argument(
        "--write-results",
        action="store_true",
        help="write into the committed bench/results/, replacing its files (refresh them)",
    )
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty --out")
    args = p.parse_args(argv)
    names = [n for n in (args.only or ",".join(BENCHES)).split(",") if n]
    unknown = sorted(set(names) - set(BENCHES))
    if unknown:
        print(f"error: --only: unknown {unknown}; choose from {list(BENCHES)}", file=sys.stderr)
        return 2
    try:
        out = results_folder(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    runs = {name: run_bench(name, args.quick, out) for name in names}
    md = write_summary(out, runs, args.quick)
    print(f"wrote {md}")
    failed = [n for n, r in runs.items() if r["returncode"]]
    if failed:
        print(f"failed: {', '.join(failed)} (see {out}/logs)", file=sys.stderr)
        return 1
    return 0


def results_folder(args: argparse.Namespace) -> str:
    """The suite's results folder from ``--out``/``--write-results``/``--overwrite``, checked.

    Returns:
        ``bench/results`` for ``--write-results``; ``--out`` when it is new, empty or
        ``--overwrite`` is given; else a fresh temporary folder (printed). The folder exists.

    Raises:
        UserError: ``--out`` has files in it and no ``--overwrite``, or ``--out`` and
            ``--write-results`` name different folders.
    """
    if args.write_results:
        if args.out and os.path.realpath(args.out) != os.path.realpath(RESULTS):
            raise UserError(f"--out {args.out} and --write-results ({RESULTS}): give one")
        out = RESULTS
    elif args.out:
        check_writable(args.out, args.overwrite, "--out")
        out = args.out
    else:
        out = tempfile.mkdtemp(prefix="bench_")
        print(f"[bench] writing the results to {out} (--out DIR to choose)", flush=True)
    os.makedirs(out, exist_ok=True)
    return out


if __name__ == "__main__":
    sys.exit(main())
