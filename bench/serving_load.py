"""Serving under load: concurrent clients mix good and bad requests; answers and RSS checked.

Example:
    python bench/serving_load.py                          # tiny generator, 16 clients, 30 s
    python bench/serving_load.py --model runs/x/generator.keras --clients 16 --seconds 60

Exports the generator (default: the ``tiny`` preset, untrained, seeded) with
``keras_pggan.export.export_saved_model``, starts ``python -m keras_pggan.serving serve`` in a
subprocess on 127.0.0.1 (gRPC and REST on free ports) and runs ``--clients`` threads for
``--seconds``. Each thread has its own gRPC and REST client and cycles through :func:`request_mix`:
good requests (``serving_default`` and ``serving_bytes`` over gRPC and REST) and bad ones from the
reliability corpus (NaN image, wrong dtype, truncated JPEG, text named ``.png``, 30000² PNG
header, mask of the wrong size, empty batch). Every good answer is compared with a direct call of
the same SavedModel in this process (known pixels exactly, holes within 1e-5 / one PNG level);
every bad one must be ``INVALID_ARGUMENT`` (REST 400). Anything else counts as a failure. The
server's resident memory (``VmRSS`` of its process) is sampled every second after a warm-up pass;
the report gives it at the start and the end, and its peak (``VmHWM``). Writes
bench/results/serving_load.md and .json. Exit code 1 if any answer was wrong or the server died.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

DEFAULT_CLIENTS = 16
DEFAULT_SECONDS = 30.0
FLOAT_TOLERANCE = 1e-5
INVALID = "INVALID_ARGUMENT"


@dataclasses.dataclass(frozen=True)
class Request:
    """One request of the mix and what the answer must be.

    Attributes:
        name: a label for the report.
        protocol: ``"grpc"`` or ``"rest"``.
        signature: the signature name.
        inputs: input name → array.
        expected: output name → array for a good request, or ``None`` for a bad one (which must
            get ``INVALID_ARGUMENT``).
        holes: bool [B,H,W] hole masks of a good request (known pixels must match exactly).
    """

    name: str
    protocol: str
    signature: str
    inputs: dict
    expected: dict | None
    holes: object = None


def _png(array) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(array, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def request_mix(loaded, size=(36, 44), seed: int = 0) -> list[Request]:
    """The requests every client cycles through, with answers from ``loaded`` (a direct call).

    Args:
        loaded: ``tf.saved_model.load`` of the served version.
        size: (H, W) of the images.
        seed: the images' seed.
    """
    import io

    import numpy as np
    import tensorflow as tf
    from PIL import Image

    h, w = size
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    holes = np.zeros((h, w), bool)
    holes[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = True
    image = pixels[None].astype(np.float32) / 255.0
    mask = holes[None, ..., None].astype(np.float32)
    image_png, mask_png = _png(pixels), _png(holes.astype(np.uint8) * 255)
    jpeg = io.BytesIO()
    Image.fromarray(pixels).save(jpeg, format="JPEG", quality=90)
    truncated = jpeg.getvalue()[: len(jpeg.getvalue()) // 2]

    def direct(signature, inputs):
        fn = loaded.signatures[signature]
        out = fn(**{k: tf.constant(v) for k, v in inputs.items()})
        return {k: v.numpy() for k, v in out.items()}

    default = {"image": image, "mask": mask}
    as_bytes = {
        "image_bytes": np.array([image_png], object),
        "mask_bytes": np.array([mask_png], object),
    }
    want_default, want_bytes = direct("serving_default", default), direct("serving_bytes", as_bytes)
    nan = image.copy()
    nan[0, 1, 2, 0] = np.nan

    def bad_bytes(data=image_png, mask_data=mask_png):
        return {
            "image_bytes": np.array([data], object),
            "mask_bytes": np.array([mask_data], object),
        }

    # A 30000² PNG header with no pixel data (~60 bytes).
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from reliability_corpus import bomb_png

    good = [
        Request("default", "grpc", "serving_default", default, want_default, holes[None]),
        Request("bytes", "grpc", "serving_bytes", as_bytes, want_bytes, holes[None]),
        Request("bytes", "rest", "serving_bytes", as_bytes, want_bytes, holes[None]),
    ]
    bad = [
        Request("nan_image", "grpc", "serving_default", {"image": nan, "mask": mask}, None),
        Request(
            "wrong_dtype",
            "grpc",
            "serving_default",
            {"image": (image * 255).astype(np.int32), "mask": mask},
            None,
        ),
        Request(
            "empty_batch", "grpc", "serving_default", {"image": image[:0], "mask": mask[:0]}, None
        ),
        Request("truncated_jpeg", "grpc", "serving_bytes", bad_bytes(truncated), None),
        Request("text_as_png", "rest", "serving_bytes", bad_bytes(b"not a png\n" * 8), None),
        Request("bomb_header", "rest", "serving_bytes", bad_bytes(bomb_png()), None),
        Request(
            "mask_wrong_size",
            "grpc",
            "serving_bytes",
            bad_bytes(mask_data=_png(np.zeros((h + 4, w - 4), np.uint8))),
            None,
        ),
    ]
    # Interleave: good, bad, good, bad, ...
    mix = []
    for i in range(max(len(good), len(bad))):
        mix += good[i % len(good) : i % len(good) + 1] + bad[i : i + 1]
    return mix


def check_answer(request: Request, outputs: dict) -> str | None:
    """``None`` when ``outputs`` is the right answer to a good request, else what is wrong."""
    import io

    import numpy as np
    from PIL import Image

    for name, want in request.expected.items():
        if name not in outputs:
            return f"output {name!r} missing (got {sorted(outputs)})"
        got = outputs[name]
        if got.shape != want.shape:
            return f"{name}: shape {got.shape}, want {want.shape}"
        if want.dtype == object:  # PNG files: compare the pixels
            got = np.stack([np.asarray(Image.open(io.BytesIO(b))) for b in got]).astype(int)
            want = np.stack([np.asarray(Image.open(io.BytesIO(b))) for b in want]).astype(int)
            tolerance = 1
        else:
            tolerance = FLOAT_TOLERANCE
        known = ~np.asarray(request.holes)
        if not np.array_equal(got[known], want[known]):
            return f"{name}: known pixels changed"
        diff = float(np.abs(got - want).max())
        if diff > tolerance:
            return f"{name}: differs by {diff} (tolerance {tolerance})"
    return None


@dataclasses.dataclass
class _Tally:
    count: int = 0
    failures: int = 0
    seconds: list = dataclasses.field(default_factory=list)
    examples: list = dataclasses.field(default_factory=list)


def run_load(
    grpc_address: str,
    rest_url: str,
    model_name: str,
    mix: list[Request],
    clients: int = DEFAULT_CLIENTS,
    seconds: float = DEFAULT_SECONDS,
    sample: Callable[[], float] | None = None,
    timeout: float = 120.0,
) -> dict:
    """Runs ``clients`` threads cycling through ``mix`` for ``seconds``; checks every answer.

    Args:
        grpc_address: ``host:port`` of the gRPC endpoint.
        rest_url: ``http://host:port`` of the REST endpoint.
        model_name: the served model's name.
        mix: from :func:`request_mix`.
        clients: concurrent client threads (each with its own gRPC channel and HTTP session).
        seconds: how long the clients send requests (after one warm-up pass through the mix).
        sample: returns the memory to track in MB (e.g. the server's RSS), sampled every second.
        timeout: per-request deadline in seconds.

    Returns:
        ``{"requests", "failures", "per_kind": {kind: {count, failures, p50_ms, p99_ms,
        examples}}, "memory_mb": [samples], "seconds", "clients"}``; ``failures`` counts wrong
        answers, unexpected errors and bad requests that were not refused.
    """
    import numpy as np

    from keras_pggan.serving import GrpcClient, RestClient, ServingError

    tallies: dict[str, _Tally] = {}
    lock = threading.Lock()
    start_barrier = threading.Barrier(clients + 1)
    stop = threading.Event()

    def one(client_pair, request: Request):
        client = client_pair[request.protocol]
        t0 = time.perf_counter()
        problem = None
        try:
            outputs = client.predict(request.inputs, request.signature)
        except ServingError as e:
            if request.expected is not None or e.code.name != INVALID:
                problem = f"{e.code.name}: {e.message[:200]}"
        except Exception as e:  # a client-side crash is a failure too
            problem = f"{type(e).__name__}: {str(e)[:200]}"
        else:
            if request.expected is None:
                problem = "bad request was answered"
            else:
                problem = check_answer(request, outputs)
        return time.perf_counter() - t0, problem

    def worker(index: int):
        pair = {
            "grpc": GrpcClient(grpc_address, model_name, timeout=timeout, retries=0),
            "rest": RestClient(rest_url, model_name, timeout=timeout, retries=0),
        }
        try:
            if index == 0:  # one warm-up pass (traces every shape), not counted
                for request in mix:
                    one(pair, request)
            start_barrier.wait()
            k = index
            while not stop.is_set():
                request = mix[k % len(mix)]
                k += 1
                took, problem = one(pair, request)
                kind = f"{request.protocol} {request.signature} {request.name}"
                with lock:
                    tally = tallies.setdefault(kind, _Tally())
                    tally.count += 1
                    tally.seconds.append(took)
                    if problem:
                        tally.failures += 1
                        if len(tally.examples) < 3:
                            tally.examples.append(problem)
        finally:
            for client in pair.values():
                client.close()

    threads = [
        threading.Thread(target=worker, args=(i,), name=f"client-{i}", daemon=True)
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    start_barrier.wait(timeout=max(timeout * len(mix), 60))
    memory = [sample()] if sample else []
    t_start = time.perf_counter()
    while time.perf_counter() - t_start < seconds:
        time.sleep(min(1.0, max(0.0, seconds - (time.perf_counter() - t_start))))
        if sample:
            memory.append(sample())
    stop.set()
    for t in threads:
        t.join(timeout=timeout + 10)
    wall = time.perf_counter() - t_start
    if sample:
        memory.append(sample())
    per_kind = {}
    for kind, tally in sorted(tallies.items()):
        per_kind[kind] = {
            "count": tally.count,
            "failures": tally.failures,
            "p50_ms": round(float(np.percentile(tally.seconds, 50)) * 1e3, 1),
            "p99_ms": round(float(np.percentile(tally.seconds, 99)) * 1e3, 1),
            "examples": tally.examples,
        }
    return {
        "requests": sum(t.count for t in tallies.values()),
        "failures": sum(t.failures for t in tallies.values()),
        "per_kind": per_kind,
        "memory_mb": [round(m, 1) for m in memory],
        "seconds": round(wall, 1),
        "clients": clients,
        "hung_threads": sum(t.is_alive() for t in threads),
    }


def proc_memory_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    """A memory field of ``/proc/<pid>/status`` in MB (``VmRSS``: resident; ``VmHWM``: peak)."""
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise ValueError(f"/proc/{pid}/status has no {field}")


# -- the benchmark program -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(grpc_address: str, name: str, proc, limit: float = 180.0) -> None:
    from keras_pggan.serving import GrpcClient, ServingError

    deadline = time.time() + limit
    with GrpcClient(grpc_address, name, timeout=5, retries=0) as client:
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with code {proc.returncode}")
            try:
                client.metadata()
                return
            except ServingError:
                time.sleep(0.5)
    raise RuntimeError(f"server not ready after {limit} s")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help=".keras generator (default: the tiny preset, untrained)")
    p.add_argument("--clients", type=int, default=DEFAULT_CLIENTS)
    p.add_argument("--seconds", type=float, default=DEFAULT_SECONDS)
    p.add_argument("--name", default="serving_load", help="results file name")
    args = p.parse_args(argv)

    import keras
    import tensorflow as tf

    from bench.common import machine_facts, write_report
    from keras_pggan.config import get_preset
    from keras_pggan.export import export_saved_model
    from keras_pggan.generator import build_generator

    workdir = tempfile.mkdtemp(prefix="serving_load-")
    proc = None
    try:
        if args.model:
            generator = keras.saving.load_model(args.model, compile=False)
        else:
            keras.utils.set_random_seed(0)
            generator = build_generator(get_preset("tiny").generator)
        base = os.path.join(workdir, "model")
        export_saved_model(generator, base, version=1)
        loaded = tf.saved_model.load(os.path.join(base, "1"))
        mix = request_mix(loaded)
        grpc_port, rest_port = _free_port(), _free_port()
        cmd = [
            sys.executable,
            "-m",
            "keras_pggan.serving",
            "serve",
            "--model-base-path",
            base,
            "--host",
            "127.0.0.1",
            "--grpc-port",
            str(grpc_port),
            "--rest-port",
            str(rest_port),
            "--grpc-workers",
            str(args.clients),
        ]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        grpc_address, rest_url = f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{rest_port}"
        _wait_ready(grpc_address, "model", proc)
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
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
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
        f"{good} good, {result['requests'] - good} bad; {result['failures']} failures; server "
        f"alive at the end: {'yes' if alive else 'NO'}; client threads still hung: "
        f"{result['hung_threads']}).",
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
        args.name,
        "Serving under load: good and bad requests mixed",
        ["protocol signature request", "count", "failures", "p50 ms", "p99 ms", "failure examples"],
        rows,
        machine_facts(),
        notes=notes,
        extra={
            "rss_mb": {"start": memory[0], "end": memory[-1], "samples": memory, "peak": peak},
            "server_alive": alive,
            "load_started": load_start,
            **{k: result[k] for k in ("requests", "failures", "seconds", "clients")},
        },
    )
    print("\n".join(notes))
    print(f"wrote bench/results/{args.name}.md")
    return 0 if alive and not result["failures"] and not result["hung_threads"] else 1


if __name__ == "__main__":
    sys.exit(main())
