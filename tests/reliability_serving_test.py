"""Bad input to the serving clients and the local server (keras_pggan.serving): every corpus
case over gRPC and REST, and a bounded load test of good and bad requests mixed
(:mod:`keras_pggan.testing.serving_load`, which bench/serving_load.py runs for longer).

The corpus is :mod:`keras_pggan.testing.corpus`; docs/reliability.md holds the table case →
behaviour per entry point → test.
"""

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
