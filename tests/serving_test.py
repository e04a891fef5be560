"""Local TF Serving-protocol server and the gRPC / REST clients: round trips, errors, retries."""

import base64
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import keras
import numpy as np
import pytest
import requests
import tensorflow as tf
from PIL import Image, ImageOps
from tensorflow_serving.apis import (
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from keras_pggan.config import get_preset
from keras_pggan.export.saved_model import export_saved_model, signature_summary
from keras_pggan.models.generator import build_generator
from keras_pggan.serving import GrpcClient, RestClient, ServingError, serve_locally
from keras_pggan.serving import __main__ as serving
from keras_pggan.serving.client import json_to_array
from keras_pggan.serving.protocol import predict_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_PIXELS = 100_000  # the test server's limit: a 320² request is oversize
NAME = "tiny"


@pytest.fixture(scope="session")
def model_base(tmp_path_factory):
    """The tiny generator exported once, as version 1 of model ``tiny``."""
    keras.utils.set_random_seed(2)
    generator = build_generator(get_preset("tiny").generator)
    base = tmp_path_factory.mktemp("serving") / NAME
    export_saved_model(generator, str(base), version=1)
    return str(base)


@pytest.fixture(scope="session")
def loaded(model_base):
    return tf.saved_model.load(os.path.join(model_base, "1"))


@pytest.fixture(scope="session")
def server(model_base):
    with serve_locally(model_base, max_pixels=MAX_PIXELS) as running:
        yield running


@pytest.fixture
def grpc_client(server):
    with GrpcClient(server.grpc_address, NAME, timeout=30, retries=0) as client:
        yield client


@pytest.fixture
def rest_client(server):
    with RestClient(server.rest_url, NAME, timeout=30, retries=0) as client:
        yield client


def inputs(n=1, h=37, w=53, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.uniform(size=(n, h, w, 3)).astype(np.float32)
    mask = np.zeros((n, h, w, 1), np.float32)
    mask[:, h // 4 : h // 4 + h // 2, w // 5 : w // 5 + w // 2] = 1.0
    return {"image": image, "mask": mask}


def png(array) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(array, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def byte_inputs(sizes, seed=0):
    rng = np.random.default_rng(seed)
    images, masks = [], []
    for h, w in sizes:
        images.append(png(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)))
        m = np.zeros((h, w), np.uint8)
        m[h // 3 : h // 3 + h // 3, w // 4 : w // 4 + w // 2] = 255
        masks.append(png(m))
    return {"image_bytes": np.array(images, object), "mask_bytes": np.array(masks, object)}


def direct(loaded, signature, tensors):
    fn = loaded.signatures[signature]
    return {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in tensors.items()}).items()}


def decode(png_bytes):
    return np.asarray(Image.open(io.BytesIO(png_bytes)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- round trips ---------------------------------------------------------------------------------


def test_grpc_round_trip_equals_direct_call(grpc_client, loaded):
    x = inputs(n=2)
    out = grpc_client.predict(x)
    assert list(out) == ["inpainted"]
    np.testing.assert_array_equal(
        out["inpainted"], direct(loaded, "serving_default", x)["inpainted"]
    )
    assert grpc_client.last_attempts == 1


@pytest.mark.parametrize("request_format", ["row", "columnar"])
def test_rest_round_trip_equals_direct_call(rest_client, loaded, request_format):
    x = inputs(n=2, seed=1)
    out = rest_client.predict(x, request_format=request_format)["inpainted"]
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, direct(loaded, "serving_default", x)["inpainted"])


@pytest.mark.parametrize("protocol", ["grpc", "rest-row", "rest-columnar"])
def test_bytes_round_trip_mixed_sizes(grpc_client, rest_client, loaded, protocol):
    x = byte_inputs([(37, 53), (20, 24)], seed=2)
    if protocol == "grpc":
        out = grpc_client.predict(x, "serving_bytes")["inpainted_png_bytes"]
    else:
        fmt = protocol.split("-")[1]
        out = rest_client.predict(x, "serving_bytes", request_format=fmt)["inpainted_png_bytes"]
    want = direct(loaded, "serving_bytes", x)["inpainted_png_bytes"]
    assert len(out) == 2
    for got, ref in zip(out, want):
        np.testing.assert_array_equal(decode(got), decode(ref))
    assert decode(out[0]).shape == (37, 53, 3) and decode(out[1]).shape == (20, 24, 3)


@pytest.mark.parametrize("request_format", ["row", "columnar"])
def test_rest_bytes_output_is_base64_like_tf_serving(server, loaded, request_format):
    """``*_bytes`` string outputs are ``{"b64": ...}`` in a valid UTF-8 body, as in TF Serving."""
    x = byte_inputs([(16, 16)])
    encoded = {k: {"b64": base64.b64encode(v[0]).decode()} for k, v in x.items()}
    body = {"signature_name": "serving_bytes"}
    if request_format == "row":
        body["instances"] = [encoded]
    else:
        body["inputs"] = {k: [v] for k, v in encoded.items()}
    r = requests.post(f"{server.rest_url}/v1/models/{NAME}:predict", json=body, timeout=30)
    assert r.status_code == 200
    doc = json.loads(r.content.decode("utf-8"))
    value = doc["predictions"][0] if request_format == "row" else doc["outputs"][0]
    assert set(value) == {"b64"}
    png_bytes = base64.b64decode(value["b64"], validate=True)
    assert png_bytes.startswith(b"\x89PNG\r\n\x1a\n")
    assert png_bytes == direct(loaded, "serving_bytes", x)["inpainted_png_bytes"][0]


def test_rest_client_keeps_raw_string_outputs():
    """A raw (non-UTF-8) string output, as TF Serving writes non-``_bytes`` names, survives."""
    raw = bytes(range(256))
    body = predict_json({"other": np.array([raw], object)}, row=True)
    text = body.decode("utf-8")  # ASCII JSON even for non-UTF-8 bytes
    assert json_to_array(json.loads(text)["predictions"])[0] == raw
    # The same bytes written raw (TF Serving's way) decode through the client's path too.
    raw_body = b'{"predictions": ["' + bytes(range(128, 256)) + b'"]}'
    doc = json.loads(raw_body.decode("utf-8", "surrogateescape"))
    assert json_to_array(doc["predictions"])[0] == bytes(range(128, 256))


def test_inpaint_helpers_agree(grpc_client, rest_client):
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (29, 41, 3), dtype=np.uint8)
    holes = np.zeros((29, 41), bool)
    holes[8:20, 10:30] = True
    results = [
        client.inpaint(image, holes, signature)
        for client in (grpc_client, rest_client)
        for signature in ("serving_default", "serving_bytes")
    ]
    for out in results:
        assert out.shape == image.shape and out.dtype == np.uint8
        np.testing.assert_array_equal(out[~holes], image[~holes])
        assert np.abs(out.astype(int) - results[0]).max() <= 1
    np.testing.assert_array_equal(results[0], results[2])


def test_metadata_and_status(server, grpc_client, rest_client, model_base):
    want = {"name": NAME, "version": 1, "signatures": signature_summary(f"{model_base}/1")}
    assert grpc_client.metadata() == want
    assert rest_client.metadata() == want
    # The REST metadata reads JSON only: TensorFlow stays unimported (a quick command).
    code = (
        "import json, sys; from keras_pggan.serving import RestClient; "
        f"m = RestClient({server.rest_url!r}, {NAME!r}, retries=0).metadata(); "
        "print(json.dumps([m, 'tensorflow' in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == [want, False]
    status = rest_client.status()["model_version_status"]
    assert status == [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
    ]
    assert rest_client.status(version=1)["model_version_status"][0]["state"] == "AVAILABLE"
    with grpc.insecure_channel(server.grpc_address) as channel:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = NAME
        reply = stub.GetModelStatus(request, timeout=10)
    assert reply.model_version_status[0].version == 1
    assert reply.model_version_status[0].state == get_model_status_pb2.ModelVersionStatus.AVAILABLE


def test_concurrent_requests(server, loaded):
    """8 threads × 10 requests (even threads gRPC, odd threads REST), each checked."""
    cases = {
        (t, i): inputs(1, 16 + 4 * (i % 3), 24, seed=100 * t + i)
        for t in range(8)
        for i in range(10)
    }
    want = {k: direct(loaded, "serving_default", v)["inpainted"] for k, v in cases.items()}

    def worker(t):
        if t % 2:
            client = RestClient(server.rest_url, NAME, retries=0)
        else:
            client = GrpcClient(server.grpc_address, NAME, retries=0)
        with client:
            return [
                bool(np.array_equal(client.predict(cases[t, i])["inpainted"], want[t, i]))
                for i in range(10)
            ]

    with futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(worker, range(8)))
    assert results == [[True] * 10] * 8


# -- bad requests -------------------------------------------------------------------------------

BAD = {
    # case: (gRPC code, input named in the message or None)
    "wrong_dtype": (grpc.StatusCode.INVALID_ARGUMENT, "'image'"),
    "wrong_rank": (grpc.StatusCode.INVALID_ARGUMENT, "'image'"),
    "wrong_channels": (grpc.StatusCode.INVALID_ARGUMENT, "'image'"),
    "size_mismatch": (grpc.StatusCode.INVALID_ARGUMENT, "'mask'"),
    "oversize": (grpc.StatusCode.INVALID_ARGUMENT, "'image'"),
    "nan": (grpc.StatusCode.INVALID_ARGUMENT, "'image'"),
    "inf": (grpc.StatusCode.INVALID_ARGUMENT, "'mask'"),
    "missing_input": (grpc.StatusCode.INVALID_ARGUMENT, "'mask'"),
    "undecodable": (grpc.StatusCode.INVALID_ARGUMENT, "'image_bytes'"),
    "bytes_size_mismatch": (grpc.StatusCode.INVALID_ARGUMENT, "'mask_bytes'"),
    "unknown_model": (grpc.StatusCode.NOT_FOUND, None),
    "unknown_version": (grpc.StatusCode.NOT_FOUND, None),
    # TF Serving answers an unknown signature with FAILED_PRECONDITION (REST 400).
    "unknown_signature": (grpc.StatusCode.FAILED_PRECONDITION, None),
}


def bad_request(case):
    """(model name, version, signature, inputs) of a bad request."""
    x = inputs(1, 16, 20)
    name, version, signature = NAME, None, "serving_default"
    if case == "wrong_dtype":
        x["image"] = x["image"].astype(np.float64)
    elif case == "wrong_rank":
        x["image"] = x["image"][0]
    elif case == "wrong_channels":
        x["image"] = np.concatenate([x["image"], x["image"][..., :1]], -1)
    elif case == "size_mismatch":
        x["mask"] = x["mask"][:, :, :-1]
    elif case == "oversize":
        x = inputs(1, 320, 320)
    elif case == "nan":
        x["image"][0, 1, 2, 0] = np.nan
    elif case == "inf":
        x["mask"][0, 1, 2, 0] = np.inf
    elif case == "missing_input":
        del x["mask"]
    elif case == "undecodable":
        signature, x = "serving_bytes", byte_inputs([(16, 16)])
        x["image_bytes"][0] = b"\x89PNG this is not an image"
    elif case == "bytes_size_mismatch":
        signature, x = "serving_bytes", byte_inputs([(16, 16)])
        x["mask_bytes"] = byte_inputs([(16, 12)])["mask_bytes"]
    elif case == "unknown_model":
        name = "no_such_model"
    elif case == "unknown_version":
        version = 7
    elif case == "unknown_signature":
        signature = "serving_nothing"
    return name, version, signature, x


def rest_body(signature, x, case):
    """The REST body of a bad request (strings where JSON numbers are expected for the dtype)."""
    columns = {}
    for k, v in x.items():
        v = np.asarray(v)
        if v.dtype == object:
            columns[k] = [{"b64": base64.b64encode(b).decode()} for b in v]
        else:
            columns[k] = v.tolist()
    if case == "wrong_dtype":
        columns["image"] = [[[["0.5"] * 3] * 20] * 16]
    return json.dumps({"signature_name": signature, "inputs": columns}).encode()


@pytest.mark.parametrize("protocol", ["grpc", "rest"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_request_then_good_request(server, loaded, protocol, case):
    code, names = BAD[case]
    name, version, signature, x = bad_request(case)
    if protocol == "grpc":
        with GrpcClient(server.grpc_address, name, retries=0) as client:
            with pytest.raises(ServingError) as info:
                client.predict(x, signature, version)
        error = info.value
        assert error.code == code, error
        message = error.message
    else:
        url = f"{server.rest_url}/v1/models/{name}"
        url += f"/versions/{version}:predict" if version else ":predict"
        r = requests.post(url, data=rest_body(signature, x, case), timeout=30)
        assert r.status_code == ServingError(code, "").http_status, r.text
        assert r.headers["Content-Type"] == "application/json"
        message = r.json()["error"]
    if names:
        assert names in message, message
    # The server keeps serving.
    good = inputs(1, 16, 20, seed=7)
    with GrpcClient(server.grpc_address, NAME, retries=0) as client:
        out = client.predict(good)["inpainted"]
    np.testing.assert_array_equal(out, direct(loaded, "serving_default", good)["inpainted"])


def test_rest_protocol_errors(server):
    base = f"{server.rest_url}/v1/models/{NAME}"
    for body, text in [
        (b"{not json", "JSON Parse error"),
        (b"[1, 2]", "JSON object"),
        (b"{}", "Missing 'inputs' or 'instances' key"),
        (json.dumps({"instances": [[1.0]]}).encode(), "plain list"),
        (json.dumps({"inputs": {"image": [], "mask": []}, "instances": []}).encode(), "only one"),
    ]:
        r = requests.post(f"{base}:predict", data=body, timeout=10)
        assert r.status_code == 400 and text in r.json()["error"], (body, r.text)
    r = requests.get(f"{server.rest_url}/v2/whatever", timeout=10)
    assert r.status_code == 404 and "Malformed request" in r.json()["error"]
    r = requests.get(f"{base}/versions/3", timeout=10)
    assert r.status_code == 404 and "Specific(tiny, 3)" in r.json()["error"]
    r = requests.post(f"{base}:classify", data=b"{}", timeout=10)
    assert r.status_code == 501


# -- versions -----------------------------------------------------------------------------------


def test_highest_numeric_version_is_served(model_base, loaded, tmp_path):
    base = tmp_path / NAME
    shutil.copytree(os.path.join(model_base, "1"), base / "9")
    keras.utils.set_random_seed(3)
    other = build_generator(get_preset("tiny").generator)
    export_saved_model(other, str(base), version=10, warmup=False)
    (base / "notes").mkdir()  # non-numeric folders are ignored
    x = inputs(1, 16, 20, seed=11)
    with serve_locally(str(base), rest_port=None) as srv:
        assert srv.version == 10 and srv.rest_url is None
        with GrpcClient(srv.grpc_address, NAME, retries=0) as client:
            out = client.predict(x)["inpainted"]
            assert client.metadata()["version"] == 10
            with pytest.raises(ServingError) as info:
                client.predict(x, version=9)
            assert info.value.code == grpc.StatusCode.NOT_FOUND
    v10 = direct(tf.saved_model.load(str(base / "10")), "serving_default", x)["inpainted"]
    np.testing.assert_array_equal(out, v10)
    assert np.abs(out - direct(loaded, "serving_default", x)["inpainted"]).max() > 1e-3


def test_serve_locally_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such directory"):
        serve_locally(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no numeric version"):
        serve_locally(str(tmp_path / "empty"))


# -- retries ------------------------------------------------------------------------------------


class FlakyServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Answers UNAVAILABLE ``fails`` times, then a fixed output."""

    def __init__(self, fails):
        self.fails = fails
        self.calls = 0

    def Predict(self, request, context):  # noqa: N802
        self.calls += 1
        if self.calls <= self.fails:
            context.abort(grpc.StatusCode.UNAVAILABLE, "warming up")
        response = predict_pb2.PredictResponse()
        response.outputs["inpainted"].CopyFrom(tf.make_tensor_proto(np.ones((1, 2, 2, 3), "f4")))
        return response


def test_grpc_retries_on_unavailable():
    servicer = FlakyServicer(fails=2)
    srv = grpc.server(futures.ThreadPoolExecutor(2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, srv)
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    try:
        x = inputs(1, 2, 2)
        with GrpcClient(f"127.0.0.1:{port}", NAME, retries=3, backoff=0.01) as client:
            np.testing.assert_array_equal(client.predict(x)["inpainted"], np.ones((1, 2, 2, 3)))
            assert client.last_attempts == 3 and servicer.calls == 3
        servicer.calls = 0
        with GrpcClient(f"127.0.0.1:{port}", NAME, retries=1, backoff=0.01) as client:
            with pytest.raises(ServingError) as info:
                client.predict(x)
        assert info.value.code == grpc.StatusCode.UNAVAILABLE and servicer.calls == 2
    finally:
        srv.stop(0)


def test_rest_retries_on_503():
    calls = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            calls.append(self.path)
            status, body = (503, b'{"error": "busy"}') if len(calls) <= 2 else (200, b'{"ok": 1}')
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"127.0.0.1:{httpd.server_address[1]}"
        with RestClient(url, NAME, retries=3, backoff=0.01) as client:
            assert client.status() == {"ok": 1}
            assert client.last_attempts == 3 and len(calls) == 3
        calls.clear()
        with RestClient(url, NAME, retries=1, backoff=0.01) as client:
            with pytest.raises(ServingError) as info:
                client.status()
        assert info.value.code == grpc.StatusCode.UNAVAILABLE and info.value.message == "busy"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_clients_started_before_the_server(model_base, loaded):
    grpc_port, rest_port = free_port(), free_port()
    x = inputs(1, 16, 20, seed=3)
    want = direct(loaded, "serving_default", x)["inpainted"]
    results, servers = {}, []

    def call(label, client):
        with client:
            results[label] = (client.predict(x)["inpainted"], client.last_attempts)

    threads = [
        threading.Thread(
            target=call,
            args=("grpc", GrpcClient(f"127.0.0.1:{grpc_port}", NAME, retries=8, backoff=0.1)),
        ),
        threading.Thread(
            target=call,
            args=("rest", RestClient(f"127.0.0.1:{rest_port}", NAME, retries=8, backoff=0.1)),
        ),
    ]
    for t in threads:
        t.start()
    time.sleep(0.5)  # both clients have been refused at least once by now
    servers.append(serve_locally(model_base, grpc_port=grpc_port, rest_port=rest_port))
    try:
        for t in threads:
            t.join(timeout=60)
    finally:
        servers[0].stop()
    for label in ("grpc", "rest"):
        out, attempts = results[label]
        np.testing.assert_array_equal(out, want)
        assert attempts > 1, label


# -- command line -------------------------------------------------------------------------------


@pytest.fixture
def image_files(tmp_path):
    rng = np.random.default_rng(8)
    image = rng.integers(0, 256, (30, 44, 3), dtype=np.uint8)
    holes = np.zeros((30, 44), bool)
    holes[5:20, 10:25] = True
    image_path, mask_path = str(tmp_path / "photo.png"), str(tmp_path / "mask.png")
    Image.fromarray(image).save(image_path)
    # An RGBA mask: transparent = hole.
    rgba = np.full((30, 44, 4), 255, np.uint8)
    rgba[holes, 3] = 0
    Image.fromarray(rgba).save(mask_path)
    return image, holes, image_path, mask_path


def test_cli_predict(server, grpc_client, image_files, tmp_path, capsys):
    image, holes, image_path, mask_path = image_files
    want = grpc_client.inpaint(image, holes)
    runs = [
        ("grpc.png", [server.grpc_address]),
        ("rest.png", [server.rest_url, "--rest"]),
        ("bytes.png", [server.grpc_address, "--signature", "serving_bytes"]),
        ("rest_bytes.png", [server.rest_url, "--rest", "--signature", "serving_bytes"]),
    ]
    for out_name, args in runs:
        out = str(tmp_path / out_name)
        argv = [
            "predict",
            "--server",
            *args,
            "--model-name",
            NAME,
            image_path,
            mask_path,
            "-o",
            out,
        ]
        assert serving.main(argv) == 0
        got = np.asarray(Image.open(out))
        assert np.abs(got.astype(int) - want).max() <= 1, out_name
        np.testing.assert_array_equal(got[~holes], image[~holes])
    assert "via REST serving_bytes" in capsys.readouterr().out


def test_cli_errors(server, image_files, tmp_path, capsys):
    _, _, image_path, mask_path = image_files
    out = str(tmp_path / "o.png")
    argv = ["predict", "--server", server.grpc_address, "--retries", "0"]
    assert serving.main([*argv, str(tmp_path / "nope.png"), mask_path, "-o", out]) == 2
    assert "IMAGE" in capsys.readouterr().err
    assert serving.main([*argv, "--model-name", "other", image_path, mask_path, "-o", out]) == 1
    assert "NOT_FOUND" in capsys.readouterr().err
    small = str(tmp_path / "small.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(small)
    assert serving.main([*argv, "--model-name", NAME, image_path, small, "-o", out]) == 2
    assert "MASK" in capsys.readouterr().err
    assert serving.main(["serve", "--model-base-path", str(tmp_path / "missing")]) == 2
    assert "--model-base-path" in capsys.readouterr().err
    assert not os.path.exists(out)


@pytest.mark.large
def test_cli_end_to_end(tmp_path, image_files):
    """Export a generator file with the script, serve it in a subprocess, inpaint over both APIs."""
    image, holes, image_path, mask_path = image_files
    keras.utils.set_random_seed(4)
    model = str(tmp_path / "generator.keras")
    build_generator(get_preset("tiny").generator).save(model)
    base = str(tmp_path / "saved_models" / "pggan_dres")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    export = subprocess.run(
        [sys.executable, "-m", "keras_pggan.export", "saved-model", "--model", model,
         "--out", base],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    grpc_port, rest_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "keras_pggan.serving", "serve", "--model-base-path", base,
         "--grpc-port", str(grpc_port), "--rest-port", str(rest_port), "--host", "127.0.0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        outs = []
        apis = [
            ["--server", f"127.0.0.1:{grpc_port}", "--retries", "10"],
            ["--server", f"127.0.0.1:{rest_port}", "--rest", "--retries", "10"],
        ]
        for api in apis:
            out = str(tmp_path / f"out{len(outs)}.png")
            assert serving.main(["predict", *api, image_path, mask_path, "-o", out]) == 0
            outs.append(np.asarray(Image.open(out)))
        np.testing.assert_array_equal(outs[0], outs[1])
        np.testing.assert_array_equal(outs[0][~holes], image[~holes])
    finally:
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "serving pggan_dres version 1" in stdout


def test_exif_rotated_photo_is_sent_upright(server, grpc_client, image_files, tmp_path):
    """A phone JPEG stored sideways (EXIF orientation 6) with a mask drawn on the upright photo:
    both signatures inpaint the photo as displayed, like the local inpaint CLI."""
    image, holes, _, mask_path = image_files
    stored = np.ascontiguousarray(np.rot90(image, 1))  # orientation 6 rotates it back clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    photo = str(tmp_path / "sideways.jpg")
    Image.fromarray(stored).save(photo, quality=95, exif=exif)
    with Image.open(photo) as im:
        upright = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    assert upright.shape == image.shape and stored.shape != image.shape
    want = grpc_client.inpaint(upright, holes)
    for signature in ("serving_default", "serving_bytes"):
        got = grpc_client.inpaint_files(photo, mask_path, signature=signature)
        assert got.shape == image.shape, signature
        assert np.abs(got.astype(int) - want).max() <= 1, signature
        np.testing.assert_array_equal(got[~holes], upright[~holes])


def test_rest_answers_on_a_kept_alive_connection_without_waiting_for_nagle(model_base):
    """The REST server's connections have TCP_NODELAY: it writes the headers and the body of each
    answer separately, and with Nagle's algorithm every answer after the first on a kept-alive
    connection waited for the client's delayed ACK (~40 ms; measured 44.7 ms per GET, 2.0 ms
    with TCP_NODELAY)."""
    with serve_locally(model_base, grpc_port=None, warm_up=False) as running:
        accepted = []
        get_request = running._http.get_request
        running._http.get_request = lambda: accepted.append(get_request()) or accepted[-1]
        host, port = running.rest_url.rsplit("/", 1)[-1].split(":")
        client = http.client.HTTPConnection(host, int(port), timeout=30)  # HTTP/1.1, kept alive
        try:
            answers = []
            for _ in range(2):  # two answers on the same connection
                client.request("GET", f"/v1/models/{NAME}")
                response = client.getresponse()
                answers.append((response.status, json.loads(response.read())))
            assert len(accepted) == 1  # one connection for both answers
            server_side = accepted[0][0]
            assert server_side.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            client.close()
    assert [a[0] for a in answers] == [200, 200]
    assert answers[0][1] == answers[1][1] and "model_version_status" in answers[0][1]
