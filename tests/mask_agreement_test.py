"""One mask convention: every entry point reads every mask file to the same holes.

The corpus (``keras_pggan.testing.mask_files``) has grey, RGB, RGBA (transparent, partial alpha,
opaque, alpha 200 everywhere), grey+alpha, palette (with and without a transparent index),
16-bit grey, JPEG and 0/1 (grey, RGB, grey + opaque alpha; 1 = hole) masks, each with the holes
it must mean. A "black fill" generator (its
output is -1 everywhere, i.e. black) on a mid-grey photo makes the holes visible in any output:
a pixel is a hole exactly when it comes back black.

The file ``rgba_alpha200_white_square`` is the case the copies used to disagree on: the inpaint
CLI read 0 holes (an alpha channel that is not all-opaque was read as the mask), the serving
clients 16 (the white square, since no pixel is transparent).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_pggan.data import imageio
from keras_pggan.testing.mask_files import CASES, SIZE, write_mask_files

GREY = 128
NAME = "black"


def _black_fill_generator() -> keras.Model:
    """A generator with the project's dict inputs whose output is -1 (black) everywhere."""
    image = keras.Input((None, None, 3), name="image")
    mask = keras.Input((None, None, 1), name="mask")
    x = keras.layers.Concatenate()([image, mask])
    out = keras.layers.Conv2D(
        3, 1, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(-1.0)
    )(x)
    return keras.Model({"image": image, "mask": mask}, out, name="black_fill")


def _holes_of(output: np.ndarray) -> np.ndarray:
    """Holes made visible by the black fill: black pixels; anything else must be the input."""
    output = np.asarray(output)
    black = (output == 0).all(axis=-1)
    assert ((output == GREY).all(axis=-1) | black).all(), "known pixels changed"
    return black


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mask_files")
    files = write_mask_files(str(folder))
    photo = str(folder / "photo.png")
    Image.fromarray(np.full((*SIZE, 3), GREY, np.uint8)).save(photo)
    return files, photo


@pytest.fixture(scope="module")
def generator_path(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("black") / "generator.keras")
    _black_fill_generator().save(path)
    return path


@pytest.fixture(scope="module")
def model_base(tmp_path_factory, generator_path):
    from keras_pggan.export.saved_model import export_saved_model

    base = str(tmp_path_factory.mktemp("serving") / NAME)
    # 15 parameters: the size check (variables vs parameters) does not apply to so few.
    export_saved_model(generator_path, base, version=1, warmup=False, check_size=False)
    return base


def test_corpus_covers_the_encodings():
    # The list: partial alpha, palette, 16-bit grey, grey JPEG, RGBA (+ the bug case).
    for name in ("rgba_partial_alpha", "palette_png", "palette_transparency", "grey16_png"):
        assert name in CASES
    assert {"grey_jpeg", "rgba_transparent", "rgba_alpha200_white_square"} <= set(CASES)
    # Masks saved as 0/1 values: 1 = hole (they read as 0 holes before).
    assert {"grey_01_png", "rgb_01_png", "grey_alpha_opaque_01_png"} <= set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_numpy_reader(corpus, name):
    files, _ = corpus
    np.testing.assert_array_equal(imageio.load_mask_file(files[name].path), files[name].holes)


@pytest.mark.parametrize("name", CASES)
def test_in_graph_decoder(corpus, name):
    files, _ = corpus
    decoded = tf.function(imageio.decode_mask_tensor)(tf.io.read_file(files[name].path))
    assert decoded.shape == (*SIZE, 1) and decoded.dtype == tf.float32
    np.testing.assert_array_equal(decoded.numpy()[..., 0] > 0.5, files[name].holes)


def test_alpha200_white_square_is_16_holes(corpus):
    files, _ = corpus
    holes = imageio.load_mask_file(files["rgba_alpha200_white_square"].path)
    assert int(holes.sum()) == 16


def test_inpaint_cli(corpus, generator_path, tmp_path):
    from keras_pggan.inpaint import __main__ as inpaint

    files, photo = corpus
    for name in CASES:
        out = str(tmp_path / f"{name}.png")
        argv = [photo, "--mask", files[name].path, "-o", out, "--model", generator_path]
        assert inpaint.main([*argv, "--quiet"]) == 0, name
        got = _holes_of(np.asarray(Image.open(out).convert("RGB")))
        np.testing.assert_array_equal(got, files[name].holes, err_msg=name)


def test_saved_model_signatures(corpus, model_base):
    files, photo = corpus
    loaded = tf.saved_model.load(os.path.join(model_base, "1"))
    default = loaded.signatures["serving_default"]
    as_bytes = loaded.signatures["serving_bytes"]
    with open(photo, "rb") as f:
        photo_bytes = f.read()
    image01 = np.full((1, *SIZE, 3), GREY / 255.0, np.float32)
    for name in CASES:
        want = files[name].holes
        with open(files[name].path, "rb") as f:
            mask_bytes = f.read()
        png = as_bytes(image_bytes=tf.constant([photo_bytes]), mask_bytes=tf.constant([mask_bytes]))
        got = tf.io.decode_png(png["inpainted_png_bytes"][0]).numpy()
        np.testing.assert_array_equal(_holes_of(got), want, err_msg=f"serving_bytes {name}")
        mask = imageio.load_mask_file(files[name].path).astype(np.float32)[None, ..., None]
        out = default(image=tf.constant(image01), mask=tf.constant(mask))["inpainted"]
        got = imageio.to_uint8(out.numpy()[0])
        np.testing.assert_array_equal(_holes_of(got), want, err_msg=f"serving_default {name}")


@pytest.mark.parametrize("signature", ["serving_default", "serving_bytes"])
def test_serving_clients(corpus, model_base, signature):
    from keras_pggan.serving import GrpcClient, RestClient, serve_locally

    files, photo = corpus
    with serve_locally(model_base) as server:
        clients = [
            GrpcClient(server.grpc_address, NAME, timeout=30, retries=0),
            RestClient(server.rest_url, NAME, timeout=30, retries=0),
        ]
        for client in clients:
            with client:
                for name in CASES:
                    got = client.inpaint_files(photo, files[name].path, signature)
                    np.testing.assert_array_equal(
                        _holes_of(got),
                        files[name].holes,
                        err_msg=f"{type(client).__name__} {signature} {name}",
                    )
