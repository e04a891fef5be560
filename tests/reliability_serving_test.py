"""Bad input to the serving clients and the local server (keras_pggan.serving): every corpus
case over gRPC and REST, and a bounded load test of good and bad requests mixed
(:mod:`keras_pggan.testing.serving_load`, which bench/serving_load.py runs for longer).

The corpus is :mod:`keras_pggan.testing.corpus`; docs/reliability.md holds the table case →
behaviour per entry point → test.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import requests
import tensorflow as tf
from reliability_fixtures import INVALID, MODEL_NAME, H, W, decode_png, mask_png, tf_pixels

from keras_pggan.serving.client import GrpcClient, RestClient, ServingError
from keras_pggan.testing import corpus
from keras_pggan.testing.serving_load import proc_memory_mb, request_mix, run_load

# -- entry point 5: the local server (gRPC and REST) -------------------------------------------


@pytest.mark.parametrize("protocol", ["grpc", "rest"])
@pytest.mark.parametrize("case", corpus.ALL_CASES)
def test_server(rel_server, rel_corpus, rel_loaded, protocol, case):
    cls = GrpcClient if protocol == "grpc" else RestClient
    address = rel_server.grpc_address if protocol == "grpc" else rel_server.rest_url
    good_mask = open(rel_corpus.mask_path, "rb").read()
    image_data = open(rel_corpus.image_path, "rb").read()
    with cls(address, MODEL_NAME, timeout=60, retries=0) as client:

        def send_bytes(image, mask):
            inputs = {"image_bytes": np.array([image], object)}
            inputs["mask_bytes"] = np.array([mask], object)
            return client.predict(inputs, "serving_bytes")["inpainted_png_bytes"]

        def refused(call, *names):
            with pytest.raises(ServingError) as info:
                call()
            assert info.value.code == INVALID, info.value
            for name in names:
                assert name in info.value.message, info.value.message
            return info.value.message

        if case in corpus.UNDECODABLE:
            item = rel_corpus.images[case]
            message = refused(lambda: send_bytes(item.data, good_mask), "'image_bytes'[0]")
            assert item.problem in message.lower(), message
        elif case in corpus.VALID_IMAGES:
            item = rel_corpus.images[case]
            stored = tf_pixels(item.data)
            holes = corpus.box_holes(*stored.shape[:2])
            (out,) = send_bytes(item.data, mask_png(holes))
            result = decode_png(out)
            assert result.shape == stored.shape
            np.testing.assert_array_equal(result[~holes], stored[~holes])
        elif case == "mask_wrong_size":
            mask_data = open(rel_corpus.masks[case].path, "rb").read()
            refused(lambda: send_bytes(image_data, mask_data), "'mask_bytes'[0]", "does not match")
        elif case in corpus.MASK_CASES:
            (out,) = send_bytes(image_data, open(rel_corpus.masks[case].path, "rb").read())
            holes = rel_corpus.masks[case].holes
            result = decode_png(out)
            np.testing.assert_array_equal(result[~holes], rel_corpus.image[~holes])
        else:
            image, mask, _ = corpus.tensor_case(case)
            if case == "nan_inf":
                refused(lambda: client.predict({"image": image, "mask": mask}), "'image'", "NaN")
            elif case == "empty_batch":  # (REST: "'instances' must be a non-empty list")
                names = ["'image'"] if protocol == "grpc" else ["non-empty"]
                refused(lambda: client.predict({"image": image, "mask": mask}), *names)
            elif protocol == "grpc":
                refused(lambda: client.predict({"image": image, "mask": mask}), "'image'", "int32")
            else:
                # JSON has no dtypes: TF Serving casts numbers to the signature's dtype; the REST
                # form of a wrong dtype is a non-number.
                strings = [[[["x"] * 3] * W] * H]
                body = {"signature_name": "serving_default"}
                body["inputs"] = {"image": strings, "mask": mask[:1].tolist()}
                r = requests.post(
                    f"{rel_server.rest_url}/v1/models/{MODEL_NAME}:predict", json=body, timeout=60
                )
                assert r.status_code == 400 and "'image'" in r.json()["error"], r.text
    # The server keeps serving: a good request right after gets the right answer.
    with GrpcClient(rel_server.grpc_address, MODEL_NAME, timeout=60, retries=0) as client:
        good = {"image": rel_corpus.image[None].astype(np.float32) / 255.0}
        good["mask"] = (
            rel_corpus.masks["mask_antialiased"].holes[None, ..., None].astype(np.float32)
        )
        got = client.predict(good)["inpainted"]
    want = rel_loaded.signatures["serving_default"](**{k: tf.constant(v) for k, v in good.items()})
    np.testing.assert_array_equal(got, want["inpainted"].numpy())


# -- load: the local server under concurrent good and bad requests --------------------------------


def test_server_under_concurrent_load(rel_server, rel_loaded):
    """16 clients × ~8 s of mixed good and bad requests: no wrong answer, no crash, flat RSS."""
    result = run_load(
        rel_server.grpc_address,
        rel_server.rest_url,
        MODEL_NAME,
        request_mix(rel_loaded),
        clients=16,
        seconds=8.0,
        sample=proc_memory_mb,
    )
    failures = {k: v["examples"] for k, v in result["per_kind"].items() if v["failures"]}
    assert result["failures"] == 0, failures
    assert result["hung_threads"] == 0
    assert len(result["per_kind"]) == 10, sorted(result["per_kind"])  # every kind was sent
    assert result["requests"] >= 16
    memory = result["memory_mb"]
    print(f"load test: {result['requests']} requests, RSS {memory[0]:.0f} → {memory[-1]:.0f} MB")
    assert memory[-1] - memory[0] < 150, memory  # flat, not growing with the requests
    with GrpcClient(rel_server.grpc_address, MODEL_NAME, retries=0) as client:
        assert client.metadata()["version"] == 1  # still serving


# -- the access log: a stderr nobody reads holds no request -----------------------------------


class _BlockedStream:
    """A stderr whose writes wait until :meth:`release` (a pipe that nobody reads)."""

    def __init__(self):
        self.lines, self._open = [], threading.Event()

    def write(self, text):
        self._open.wait()
        self.lines += [line for line in text.splitlines() if line]
        return len(text)

    def flush(self):
        pass

    def release(self):
        self._open.set()


def test_access_log_on_a_blocked_stderr_holds_no_request(rel_models, monkeypatch):
    """With stderr stalled, 40 requests are answered at once; the lines that did not fit in the
    (here 8-line) queue are dropped and counted, and every request is a line or a count."""
    from keras_pggan.serving import access_log
    from keras_pggan.serving import server as server_lib

    monkeypatch.setattr(access_log, "ACCESS_QUEUE_LINES", 8)
    stream = _BlockedStream()
    monkeypatch.setattr(sys, "stderr", stream)
    running = server_lib.serve_locally(
        rel_models["saved_model"], grpc_port=None, warm_up=False, access_log=True
    )
    try:
        start = time.perf_counter()
        with requests.Session() as session:
            codes = [
                session.get(f"{running.rest_url}/v1/models/{MODEL_NAME}", timeout=10).status_code
                for _ in range(40)
            ]
        took = time.perf_counter() - start
        dropped = running.access_lines_dropped
    finally:
        stream.release()
        running.stop()
    assert codes == [200] * 40
    assert took < 10, took  # no request waited for stderr
    assert 40 - 9 - 1 <= dropped <= 40 - 8  # 8 queued, 1 in the blocked write (or not yet)
    access = [line for line in stream.lines if f"GET /v1/models/{MODEL_NAME} " in line]
    notes = [line for line in stream.lines if "access line(s) dropped" in line]
    said = f"keras_pggan.serving: {dropped} access line(s) dropped: stderr was not read fast enough"
    assert notes == [said]
    assert len(access) + dropped == 40


@pytest.mark.large
def test_serve_command_with_an_unread_stderr_pipe_keeps_answering(rel_models):
    """``python -m keras_pggan.serving serve`` with its stderr on a pipe that nobody reads: 1,500
    requests (a 64 KiB pipe fills after ~800-1,000 access lines) are all answered, and once the pipe
    is read every line arrives (a late reader loses nothing)."""
    from keras_pggan.testing.servers import free_port

    port = free_port()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "keras_pggan.serving", "serve", "--model-base-path",
         rel_models["saved_model"], "--grpc-port", str(free_port()), "--rest-port", str(port),
         "--no-warm-up"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1/models/{MODEL_NAME}"
    try:
        with requests.Session() as session:
            deadline = time.time() + 180
            while True:  # until it answers
                assert proc.poll() is None, "the server exited"
                try:
                    session.get(url, timeout=5)
                    break
                except requests.ConnectionError:
                    assert time.time() < deadline, "the server never answered"
                    time.sleep(0.5)
            start = time.perf_counter()
            codes = [session.get(url, timeout=10).status_code for _ in range(1500)]
            took = time.perf_counter() - start
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    print(f"1500 requests with an unread stderr pipe: {took:.1f} s")
    assert codes == [200] * 1500
    assert proc.returncode == 0, err[-2000:]
    lines = err.splitlines()
    assert sum(f"REST GET /v1/models/{MODEL_NAME} - 200" in line for line in lines) == 1 + 1500
