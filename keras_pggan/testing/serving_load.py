"""The serving load test: concurrent clients mix good and bad requests; every answer checked.

Shared by tests/reliability_serving_test.py (against :func:`keras_pggan.serving.serve_locally`
in the test process) and bench/serving_load.py (against ``python -m keras_pggan.serving serve``
in a subprocess, with its RSS sampled).

Example:
    >>> mix = request_mix(tf.saved_model.load("model/1"))              # doctest: +SKIP
    >>> result = run_load("127.0.0.1:8500", "http://127.0.0.1:8501", "model", mix,
    ...                   clients=16, seconds=8.0, sample=proc_memory_mb)  # doctest: +SKIP
    >>> result["failures"], result["memory_mb"][-1] - result["memory_mb"][0]  # doctest: +SKIP

:func:`request_mix` builds good requests (``serving_default`` and ``serving_bytes`` over gRPC and
REST) with the answers of a direct call of the same SavedModel, and bad ones from the reliability
corpus (:mod:`keras_pggan.testing.corpus`: NaN image, wrong dtype, truncated JPEG, text named
``.png``, 30000² PNG header, mask of the wrong size, empty batch). :func:`run_load` sends them
from ``clients`` threads and counts as a failure any wrong answer (known pixels changed, fill off
by more than 1e-5 / one PNG level), any error on a good request, and any bad request that is not
refused with ``INVALID_ARGUMENT``.
"""

from __future__ import annotations

import dataclasses
import io
import threading
import time
from collections.abc import Callable

import numpy as np
import tensorflow as tf
from PIL import Image

from keras_pggan.serving.client import GrpcClient, RestClient, ServingError
from keras_pggan.testing import corpus

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
        # A 30000² PNG header with no pixel data (~60 bytes).
        Request("bomb_header", "rest", "serving_bytes", bad_bytes(corpus.bomb_png()), None),
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
        ``{"requests", "failures", "p50_ms", "p99_ms", "per_kind": {kind: {count, failures,
        p50_ms, p99_ms, examples}}, "memory_mb": [samples], "seconds", "clients",
        "hung_threads"}``; ``failures`` counts wrong answers, unexpected errors and bad requests
        that were not refused; the latencies are over every request.
    """
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
    every = [took for tally in tallies.values() for took in tally.seconds] or [0.0]
    return {
        "requests": sum(t.count for t in tallies.values()),
        "failures": sum(t.failures for t in tallies.values()),
        "p50_ms": round(float(np.percentile(every, 50)) * 1e3, 1),
        "p99_ms": round(float(np.percentile(every, 99)) * 1e3, 1),
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
