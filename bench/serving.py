"""Serving latency and throughput: gRPC / REST through the local server against direct calls.

Example:
    python -m bench.serving                              # untrained demo generator, 256² images
    python -m bench.serving --model runs/x/generator.keras --requests 40

Exports the generator with ``keras_pggan.export.saved_model.export_saved_model`` (and, for the size
comparison,
with the plain ``ExportArchive.track(model)`` recipe) and starts ``python -m keras_pggan.serving
serve`` in a subprocess. Cases: ``serving_default`` and ``serving_bytes`` (PNG) over gRPC at batch 1
and batch 8, both signatures over REST at batch 1, two gRPC clients sending batch-1 requests at
once, and the same batches as direct calls of the loaded SavedModel in this process (no server: the
compute floor). The cases run in interleaved rounds (``--requests`` timed rounds after two
warm-ups), so on a shared machine they see the same load; p50/p99 per request, throughput = images /
time in the case's requests. The server is then started again with one intra-op thread, to explain
the batch-8/batch-1 throughput ratio (goal >= 1.5). Writes ``<out>/<name>.md`` and ``.json`` (a
fresh temporary folder unless ``--out DIR``; ``--write-results`` refreshes bench/results/).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

from bench.common import add_output_args, report_prefix_or_none

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

GOAL_BATCH_SPEEDUP = 1.5  # batch-8 throughput / batch-1 throughput over gRPC
# Server thread configurations: (label, intra-op threads, inter-op threads); 0 = TF's default.
CONFIGS = [("TF default", 0, 0), ("intra-op 1, inter-op 1", 1, 1)]


def _photos(n: int, size: int):
    import numpy as np
    from PIL import Image

    from keras_pggan.data.pipeline import default_photo_paths

    photos = []
    for path in default_photo_paths():
        with Image.open(path) as im:
            im = im.convert("RGB")
            scale = size / min(im.size)
            im = im.resize(
                (max(size, round(im.width * scale)), max(size, round(im.height * scale))),
                Image.BICUBIC,
            )
            left, top = (im.width - size) // 2, (im.height - size) // 2
            photos.append(np.asarray(im.crop((left, top, left + size, top + size)), np.uint8))
    if not photos:
        rng = np.random.default_rng(0)
        photos = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8)]
    return [photos[i % len(photos)] for i in range(n)]


def _centre_holes(size: int):
    import numpy as np

    holes = np.zeros((size, size), bool)
    s = size // 2
    holes[(size - s) // 2 : (size - s) // 2 + s, (size - s) // 2 : (size - s) // 2 + s] = True
    return holes


def _requests(images, holes, batch: int, signature: str):
    import numpy as np

    from keras_pggan.serving import encode_png

    if signature == "serving_bytes":
        return {
            "image_bytes": np.array([encode_png(im) for im in images[:batch]], object),
            "mask_bytes": np.array([encode_png(holes.astype(np.uint8) * 255)] * batch, object),
        }
    x = np.stack(images[:batch]).astype(np.float32) / 255.0
    m = np.broadcast_to(holes[None, ..., None], (batch, *holes.shape, 1)).astype(np.float32)
    return {"image": x, "mask": np.ascontiguousarray(m)}


def _summary(times: list[float], batch: int, wall: float | None = None) -> dict:
    import numpy as np

    wall = wall if wall is not None else sum(times)
    return {
        "p50_ms": round(float(np.percentile(times, 50)) * 1e3, 1),
        "p99_ms": round(float(np.percentile(times, 99)) * 1e3, 1),
        "throughput": round(batch * len(times) / wall, 1),
    }


def _naive_variables_bytes(generator, folder: str) -> int:
    """Variables size of the plain recipe: ``ExportArchive.track(model)`` + one endpoint."""
    import keras
    import tensorflow as tf

    from keras_pggan.export.saved_model import variables_bytes

    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint(
        "serving_default",
        lambda image, mask: generator({"image": image, "mask": mask}),
        input_signature=[
            tf.TensorSpec([None, None, None, 3], tf.float32),
            tf.TensorSpec([None, None, None, 1], tf.float32),
        ],
    )
    archive.write_out(folder, verbose=False)
    return variables_bytes(folder)[0]


def _case_rows(results, gflops, default):
    """Table rows in a fixed order: default server first, then the other thread settings."""
    rows = []
    keys = sorted(
        results,
        key=lambda k: (
            k[3] != default,
            -k[4],
            ("serving_default", "serving_bytes").index(k[2]),
            ("direct call", "gRPC", "gRPC, 2 clients", "REST").index(k[0]),
            k[1],
        ),
    )
    for path, batch, signature, threads_label, size in keys:
        stats = results[path, batch, signature, threads_label, size]
        ref = results.get(("direct call", batch, signature, default, size))
        # Direct calls run in the client process with TF's default threads: a fair reference
        # for the default server only.
        comparable = ref and path != "direct call" and threads_label == default
        rows.append(
            [
                path,
                signature,
                f"{size}²",
                "1 × 2 clients" if path == "gRPC, 2 clients" else batch,
                threads_label if path != "direct call" else "(client process)",
                stats["p50_ms"],
                stats["p99_ms"],
                stats["throughput"],
                f"{stats['p50_ms'] - ref['p50_ms']:+.1f}" if comparable else "—",
                round(stats["throughput"] * gflops[size], 1),
            ]
        )
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:5]),
    )
    p.add_argument("--model", help="generator.keras (default: an untrained --preset generator)")
    p.add_argument("--preset", default="demo", help="preset of the untrained fallback generator")
    p.add_argument("--size", type=int, default=256, help="image side in pixels")
    p.add_argument(
        "--small-size", type=int, default=64, help="side of the small-image comparison (0: off)"
    )
    p.add_argument("--requests", type=int, default=20, help="timed requests per case")
    add_output_args(p, "serving")
    args = p.parse_args(argv)
    prefix = report_prefix_or_none(args)  # before any measuring: a refusal comes first
    if prefix is None:
        return 2
    if args.model and not os.path.exists(args.model):
        print(f"error: --model: {args.model}: no such file", file=sys.stderr)
        return 2
    if args.size <= 0 or args.small_size < 0 or args.requests <= 1:
        print("error: --size must be positive and --requests at least 2", file=sys.stderr)
        return 2

    import keras
    import tensorflow as tf

    from bench.common import machine_facts, write_report
    from keras_pggan.config import get_preset
    from keras_pggan.export.saved_model import export_saved_model
    from keras_pggan.models.flops import count_flops
    from keras_pggan.models.generator import build_generator
    from keras_pggan.models.saved import load_generator
    from keras_pggan.serving import GrpcClient, RestClient
    from keras_pggan.testing.servers import ServingProcess

    start_all = time.perf_counter()
    load_start = os.getloadavg()[0]
    if args.model:
        generator, source = load_generator(args.model), f"`{args.model}`"
    else:
        keras.utils.set_random_seed(0)
        generator = build_generator(get_preset(args.preset).generator)
        source = f"UNTRAINED `{args.preset}` preset generator (random weights)"
    params = generator.count_params()
    size, n = args.size, args.requests
    sizes = [size] + ([args.small_size] if args.small_size else [])
    gflops = {
        s: count_flops(generator, {"image": (1, s, s, 3), "mask": (1, s, s, 1)}) / 1e9
        for s in sizes
    }
    signatures = ("serving_default", "serving_bytes")
    default, single = CONFIGS[0][0], CONFIGS[1][0]

    work = tempfile.mkdtemp(prefix="bench_serving_")
    results = {}
    try:
        base = os.path.join(work, "bench")
        report = export_saved_model(generator, base, version=1)
        naive = _naive_variables_bytes(generator, os.path.join(work, "naive"))
        payload = {}
        for s in sizes:
            images, holes = _photos(8, s), _centre_holes(s)
            for b in (1, 8):
                for sig in signatures:
                    payload[b, sig, s] = _requests(images, holes, b, sig)
        loaded = tf.saved_model.load(report["path"])

        def direct_call(batch, signature, s):
            fn = loaded.signatures[signature]
            tensors = {k: tf.constant(v) for k, v in payload[batch, signature, s].items()}
            return lambda: fn(**tensors)

        def client_call(client, batch, signature, s):
            inputs = payload[batch, signature, s]
            return lambda: client.predict(inputs, signature)

        def burst(clients, s):
            # One batch-1 request from each client at the same moment.
            def run():
                threads = [
                    threading.Thread(target=client_call(c, 1, "serving_default", s))
                    for c in clients
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()

            return run

        for threads_label, intra, inter in CONFIGS:
            threads = ["--intra-op-threads", str(intra), "--inter-op-threads", str(inter)]
            server = ServingProcess(base, "bench", threads)
            try:
                server.wait_ready()
                address, url = server.grpc_address, server.rest_address
                grpc_clients = [GrpcClient(address, "bench"), GrpcClient(address, "bench")]
                rest_client = RestClient(url, "bench")
                # (path, batch, signature, size, call)
                cases = []
                for batch in (1, 8):
                    cases.append(("gRPC", batch, signatures[0], size))
                if threads_label == default:
                    for sig in signatures:
                        for batch in (1, 8):
                            cases.append(("direct call", batch, sig, size))
                    cases += [("gRPC", b, signatures[1], size) for b in (1, 8)]
                    cases.append(("gRPC, 2 clients", 2, signatures[0], size))
                    cases += [("REST", 1, sig, size) for sig in signatures]
                    for s in sizes[1:]:
                        for batch in (1, 8):
                            cases.append(("direct call", batch, signatures[0], s))
                            cases.append(("gRPC", batch, signatures[0], s))
                calls = {}
                for path, batch, sig, s in cases:
                    if path == "direct call":
                        calls[path, batch, sig, s] = direct_call(batch, sig, s)
                    elif path == "gRPC":
                        calls[path, batch, sig, s] = client_call(grpc_clients[0], batch, sig, s)
                    elif path == "REST":
                        calls[path, batch, sig, s] = client_call(rest_client, batch, sig, s)
                    else:
                        calls[path, batch, sig, s] = burst(grpc_clients, s)
                # Interleaved rounds: every case sees the same (shared, drifting) machine load.
                times = {key: [] for key in calls}
                for round_ in range(n + 2):
                    for key, call in calls.items():
                        begin = time.perf_counter()
                        call()
                        if round_ >= 2:
                            times[key].append(time.perf_counter() - begin)
                for (path, batch, sig, s), ts in times.items():
                    stats = _summary(ts, batch)
                    results[path, batch, sig, threads_label, s] = stats
                    print(f"{path} {sig} {s}² b{batch} [{threads_label}]: {stats}", flush=True)
                for c in (*grpc_clients, rest_client):
                    c.close()
            finally:
                server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def get(path, batch, threads_label=default, s=size, signature="serving_default"):
        return results[path, batch, signature, threads_label, s]

    def thr(*key, **kw):
        return get(*key, **kw)["throughput"]

    ratio = thr("gRPC", 8) / thr("gRPC", 1)
    direct_ratio = thr("direct call", 8) / thr("direct call", 1)
    single_ratio = thr("gRPC", 8, single) / thr("gRPC", 1, single)
    single_vs_default = thr("gRPC", 1, single) / thr("gRPC", 1)
    concurrent_ratio = thr("gRPC, 2 clients", 2) / thr("gRPC", 1)
    overhead_b1 = get("gRPC", 1)["p50_ms"] - get("direct call", 1)["p50_ms"]
    overhead_b8 = get("gRPC", 8)["p50_ms"] - get("direct call", 8)["p50_ms"]
    # If batching removed every per-request cost, batch 8 could at best save the batch-1
    # overhead on 7 of its 8 images.
    bound = get("gRPC", 1)["p50_ms"] / max(get("gRPC", 1)["p50_ms"] - overhead_b1, 1e-3)
    verdict = "PASS" if ratio >= GOAL_BATCH_SPEEDUP else "FAIL"
    load_end = os.getloadavg()[0]
    notes = [
        f"Model: {source}, {params:,} parameters, "
        + ", ".join(f"{gflops[s]:.2f} GFLOPs per {s}² image" for s in sizes)
        + " (graph profiler, multiply-add = 2). Images: centre crops of the scikit-image "
        "photos with a centre square hole of half the side.",
        f"Each case: {n} timed requests after 2 warm-ups. All cases of one server run in "
        "interleaved rounds, so they share the machine's load: this machine is shared (load "
        f"average {load_start:.1f} at the start, {load_end:.1f} at the end, on "
        f"{os.cpu_count()} cores), which inflates absolute times far more than ratios. p99 of "
        f"{n} samples is close to the maximum. Throughput = images / time spent in the case's "
        "requests. `p50 − direct` = protocol + (de)serialisation cost over calling the same "
        "signature of the loaded SavedModel in the client process. GFLOP/s = throughput × "
        "GFLOPs per image (serving_bytes adds PNG decoding and encoding).",
        f"SavedModel variables: {report['variables_data_bytes']:,} bytes = "
        f"{report['size_ratio']:.3f} × params × 4 ({4 * params:,}); the plain "
        f"`ExportArchive.track(model)` recipe writes {naive:,} bytes "
        f"({naive / (4 * params):.2f} ×: every weight twice).",
        f"Goal: batch-8 / batch-1 throughput over gRPC at {size}² ≥ {GOAL_BATCH_SPEEDUP}: "
        f"{ratio:.2f} → {verdict}. Without any server (direct calls) the ratio is "
        f"{direct_ratio:.2f}: the server does not cost the batch its gain.",
    ]
    if ratio < GOAL_BATCH_SPEEDUP:
        small = ""
        if len(sizes) > 1:
            s = sizes[1]
            small_ratio = thr("gRPC", 8, s=s) / thr("gRPC", 1, s=s)
            small_direct = thr("direct call", 8, s=s) / thr("direct call", 1, s=s)
            small = (
                f" At {s}², where the fixed per-request cost is a larger share, batching gives "
                f"{small_ratio:.2f}× over gRPC ({small_direct:.2f}× direct)."
            )
        oversubscribed = (
            " (slightly better: fewer threads competing with the other processes on the cores)"
            if single_vs_default > 1.05
            else ""
        )
        notes.append(
            f"Why: at {size}² the generator is compute-bound. The per-request cost at batch 1 "
            f"is {overhead_b1:+.1f} ms of {get('gRPC', 1)['p50_ms']:.0f} ms, so removing all of "
            f"it could raise throughput by at most {bound:.2f}×; the batch-8 request costs "
            f"{overhead_b8:+.0f} ms over its direct call. One {size}² image already gives each "
            f"convolution {size * size:,} output pixels, enough to keep TensorFlow's kernels "
            "and both cores busy, so stacking 8 images adds FLOPs (8×) but no efficiency "
            f"(GFLOP/s column); per image, batch 8 is even {direct_ratio:.2f}× as fast as batch 1 "
            "in direct calls, consistent with its 8× larger activations falling out of the CPU "
            "caches (not measured). Thread settings do not change this: a server with one "
            f"intra-op and one inter-op thread serves batch 1 at {single_vs_default:.2f}× the "
            f"default server's throughput{oversubscribed} and batch 8 at {single_ratio:.2f}× its "
            f"batch 1; two concurrent batch-1 clients give {concurrent_ratio:.2f}× one client. "
            "The CPU share of this shared 2-core machine is the limit." + small + " Batching pays "
            "where one request cannot fill the hardware (many cores, a GPU) or where per-"
            "request costs dominate (small images, REST JSON)."
        )
    notes.append(f"Total bench time {time.perf_counter() - start_all:.0f} s.")
    write_report(
        prefix,
        f"Serving latency and throughput ({generator.name}, {size}²)",
        [
            "path",
            "signature",
            "image",
            "batch",
            "server threads",
            "p50 ms",
            "p99 ms",
            "images/s",
            "p50 − direct ms",
            "GFLOP/s",
        ],
        _case_rows(results, gflops, default),
        machine_facts(),
        notes,
        extra={
            "params": params,
            "gflops_per_image": {str(s): g for s, g in gflops.items()},
            "size": size,
            "requests": n,
            "export": {k: v for k, v in report.items() if k != "path"},
            "naive_variables_bytes": naive,
            "batch8_over_batch1": round(ratio, 3),
            "direct_batch8_over_batch1": round(direct_ratio, 3),
            "single_thread_batch8_over_batch1": round(single_ratio, 3),
            "single_thread_over_default_batch1": round(single_vs_default, 3),
            "two_clients_over_one": round(concurrent_ratio, 3),
            "load_average": [load_start, load_end],
            "goal": GOAL_BATCH_SPEEDUP,
            "goal_met": ratio >= GOAL_BATCH_SPEEDUP,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
