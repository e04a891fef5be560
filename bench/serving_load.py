"""Serving under load: concurrent clients mix good and bad requests; answers and RSS checked.

Example:
    python -m bench.serving_load                          # tiny generator, 16 clients, 30 s
    python -m bench.serving_load --model runs/x/generator.keras --clients 16 --seconds 60

Exports the generator (default: the ``tiny`` preset, untrained, seeded) with
``keras_pggan.export.saved_model.export_saved_model``, starts ``python -m keras_pggan.serving
serve`` in a
subprocess on 127.0.0.1 (gRPC and REST on free ports) and runs ``--clients`` threads for
``--seconds`` (``run_load`` of ``keras_pggan.testing.serving_load``, which the reliability tests
share). Each thread has its own gRPC and REST client and cycles through ``request_mix``: good
requests (``serving_default`` and ``serving_bytes`` over gRPC and REST) and bad ones from the
reliability corpus (``keras_pggan.testing.corpus``: NaN image, wrong dtype, truncated JPEG, text
named ``.png``, 30000² PNG header, mask of the wrong size, empty batch). Every good answer is
compared with a direct call of the same SavedModel in this process (known pixels exactly, holes
within 1e-5 / one PNG level); every bad one must be ``INVALID_ARGUMENT`` (REST 400). Anything else
counts as a failure. The server's resident memory (``VmRSS`` of its process) is sampled every second
after a warm-up pass; the report gives it at the start and the end, and its peak (``VmHWM``). Writes
``<out>/serving_load.md`` and ``.json`` (a fresh temporary folder unless ``--out DIR``;
``--write-results`` refreshes bench/results/). Exit code 1 if any answer was wrong or the server
died.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

from bench.common import add_output_args, report_prefix_or_none

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DEFAULT_CLIENTS = 16  # as keras_pggan.testing.serving_load (not imported here: --help stays fast)
DEFAULT_SECONDS = 30.0


# -- the benchmark program -------------------------------------------------------------------


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help=".keras generator (default: the tiny preset, untrained)")
    p.add_argument("--clients", type=int, default=DEFAULT_CLIENTS)
    p.add_argument("--seconds", type=float, default=DEFAULT_SECONDS)
    add_output_args(p, "serving_load")
    args = p.parse_args(argv)
    prefix = report_prefix_or_none(args)  # before any measuring: a refusal comes first
    if prefix is None:
        return 2

    import keras
    import tensorflow as tf

    from bench.common import machine_facts, write_report
    from keras_pggan.config import get_preset
    from keras_pggan.export.saved_model import export_saved_model
    from keras_pggan.models.generator import build_generator
    from keras_pggan.models.saved import load_generator
    from keras_pggan.testing.servers import ServingProcess
    from keras_pggan.testing.serving_load import proc_memory_mb, request_mix, run_load

    workdir = tempfile.mkdtemp(prefix="serving_load-")
    server = None
    try:
        if args.model:
            generator = load_generator(args.model)
        else:
            keras.utils.set_random_seed(0)
            generator = build_generator(get_preset("tiny").generator)
        base = os.path.join(workdir, "model")
        export_saved_model(generator, base, version=1)
        loaded = tf.saved_model.load(os.path.join(base, "1"))
        mix = request_mix(loaded)
        server = ServingProcess(base, "model", ["--grpc-workers", str(args.clients)])
        proc = server.proc
        grpc_address, rest_url = server.grpc_address, f"http://{server.rest_address}"
        server.wait_ready()
        load_start = time.time()
        result = run_load(
            grpc_address,
            rest_url,
            "model",
            mix,
            clients=args.clients,
            seconds=args.seconds,
            sample=lambda: proc_memory_mb(proc.pid),
        )
        alive = proc.poll() is None
        peak = proc_memory_mb(proc.pid, "VmHWM") if alive else None
        load = os.getloadavg()
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    memory = result["memory_mb"]
    rows = [
        [
            kind,
            v["count"],
            v["failures"],
            v["p50_ms"],
            v["p99_ms"],
            "; ".join(v["examples"]) or "—",
        ]
        for kind, v in result["per_kind"].items()
    ]
    good = sum(
        v["count"] for k, v in result["per_kind"].items() if k.split()[-1] in ("default", "bytes")
    )
    notes = [
        f"{result['clients']} client threads for {result['seconds']} s on 127.0.0.1 against "
        f"`python -m keras_pggan.serving serve` in a subprocess ({result['requests']} requests, "
        f"{good} good, {result['requests'] - good} bad; {result['failures']} failures; "
        f"latency over all requests p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms; server "
        f"alive at the end: {'yes' if alive else 'NO'}; client threads still hung: "
        f"{result['hung_threads']}). The server's output (one access line per request) goes to "
        "a file: a pipe that nobody reads would fill after ~1,000 lines (the server's stderr "
        "writer then drops and counts lines rather than hold requests).",
        f"Server RSS: {memory[0]:.1f} MB at the start (after one warm-up pass through the mix), "
        f"{memory[-1]:.1f} MB at the end ({memory[-1] - memory[0]:+.1f} MB), max of the "
        f"{len(memory)} one-second samples {max(memory):.1f} MB, peak (VmHWM) "
        f"{peak:.1f} MB."
        if peak
        else "Server died: no peak RSS.",
        "A failure is a wrong answer (known pixels changed, fill off by more than 1e-5 / one PNG "
        "level from a direct call of the same SavedModel), an error on a good request, or a bad "
        "request that was not refused with INVALID_ARGUMENT (REST 400).",
        f"Load average at the end: {load[0]:.1f} (2-core machine shared with other jobs): "
        "latencies are inflated; they are not the point of this run.",
    ]
    write_report(
        prefix,
        "Serving under load: good and bad requests mixed",
        ["protocol signature request", "count", "failures", "p50 ms", "p99 ms", "failure examples"],
        rows,
        machine_facts(),
        notes=notes,
        extra={
            "rss_mb": {"start": memory[0], "end": memory[-1], "samples": memory, "peak": peak},
            "server_alive": alive,
            "load_started": load_start,
            **{
                k: result[k]
                for k in ("requests", "failures", "p50_ms", "p99_ms", "seconds", "clients")
            },
        },
    )
    print("\n".join(notes))
    return 0 if alive and not result["failures"] and not result["hung_threads"] else 1


if __name__ == "__main__":
    sys.exit(main())
