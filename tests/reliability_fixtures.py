"""What the reliability tests (tests/reliability_*_test.py) share: constants, helpers, fixtures.

The fixtures are session-scoped (the tiny model is exported once for every file) and registered
for the whole suite by tests/conftest.py; their ``rel_`` prefix keeps them apart from the other
test modules' own ``corpus`` / ``server`` / ``loaded`` fixtures. The corpus is
:mod:`keras_pggan.testing.corpus`, generated into temporary folders; docs/reliability.md holds
the table case → behaviour per entry point → test.
"""

import io
import os

import grpc
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_pggan.testing import corpus

H, W = corpus.SIZE
CROP = 32
MODEL_NAME = "rel"
MAX_PIXELS = 200_000
INVALID = grpc.StatusCode.INVALID_ARGUMENT


# -- fixtures (imported by tests/conftest.py) -------------------------------------------------


@pytest.fixture(scope="session")
def rel_corpus(tmp_path_factory) -> corpus.Corpus:
    return corpus.write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def rel_models(tmp_path_factory):
    """The tiny generator (seeded, untrained) as .keras, SavedModel (version 1) and .tflite."""
    import keras

    from keras_pggan.config import get_preset
    from keras_pggan.export.saved_model import export_saved_model
    from keras_pggan.export.tflite import export_tflite
    from keras_pggan.models.generator import build_generator

    keras.utils.set_random_seed(0)
    generator = build_generator(get_preset("tiny").generator)
    folder = tmp_path_factory.mktemp("models")
    paths = {
        "keras": str(folder / "g.keras"),
        "saved_model": str(folder / MODEL_NAME),
        "tflite": str(folder / "g.tflite"),
    }
    generator.save(paths["keras"])
    export_saved_model(generator, paths["saved_model"], version=1)
    export_tflite(generator, paths["tflite"])
    return paths


@pytest.fixture(scope="session")
def rel_loaded(rel_models):
    return tf.saved_model.load(os.path.join(rel_models["saved_model"], "1"))


@pytest.fixture(scope="session")
def rel_inpainters(rel_models):
    from keras_pggan.inference.inpainter import Inpainter

    return {backend: Inpainter.from_path(rel_models[backend]) for backend in ("keras", "tflite")}


@pytest.fixture(scope="session")
def rel_server(rel_models):
    from keras_pggan.serving.server import serve_locally

    with serve_locally(
        rel_models["saved_model"], max_pixels=MAX_PIXELS, grpc_workers=16
    ) as running:
        yield running


# -- helpers -----------------------------------------------------------------------------------


def run_cli(main, argv, capsys):
    """Runs ``main(argv)``: (exit code, stdout, stderr); a user error never shows a traceback."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, out, err


def read_png(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def decode_png(data) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def tf_pixels(data: bytes) -> np.ndarray:
    """The in-graph decoding serving_bytes uses (Pillow's pixels for JPEGs; no EXIF rotation)."""
    from keras_pggan.data.imageio import decode_image_tensor

    return decode_image_tensor(tf.constant(data), channels=3).numpy()


def png_bytes(array) -> bytes:
    return corpus.encode(np.asarray(array, np.uint8))


def mask_png(holes) -> bytes:
    return png_bytes(np.where(holes, 255, 0))
