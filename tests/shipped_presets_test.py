"""Shipped models by name: keras_pggan.models.shipped, load_generator, Inpainter.from_preset."""

import os

import pytest

from keras_pggan.io_utils import SHIPPED_MODELS_DIR
from keras_pggan.models import shipped


def test_names_resolve_to_the_shipped_files_and_paths_win():
    assert shipped.preset_names() == [
        "pggan_dres", "pggan_dres-saved", "pggan_dres-int8", "pggan_dres-fp32"
    ]  # fmt: skip
    assert shipped.resolve("pggan_dres") == os.path.join(SHIPPED_MODELS_DIR, "pggan_dres.keras")
    assert shipped.resolve("pggan_dres-int8").endswith("pggan_dres-int8.tflite")
    assert os.path.isdir(shipped.resolve("pggan_dres-saved"))
    here = os.path.join(SHIPPED_MODELS_DIR, "MODEL_CARD.md")
    assert shipped.resolve(here) == here  # an existing path is returned as given


def test_unknown_names_list_the_known_ones(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"pggan_dress: .*known: pggan_dres, pggan_dres-s"):
        shipped.resolve("pggan_dress")
    with pytest.raises(FileNotFoundError, match="runs/x/generator.keras: no such file"):
        shipped.resolve("runs/x/generator.keras")  # a path, not a name: no preset lookup
    # A package installed without saved_models/: the name is known, its file is not there.
    with pytest.raises(FileNotFoundError, match="shipped model 'pggan_dres' is not here"):
        shipped.preset_path("pggan_dres", folder=str(tmp_path))
    assert shipped.preset_names(str(tmp_path)) == []


def test_inpainter_and_backends_take_names():
    from keras_pggan.inference.backends import load_backend
    from keras_pggan.inference.inpainter import Inpainter

    assert Inpainter.from_preset("pggan_dres-int8").backend_name == "tflite"
    assert load_backend("pggan_dres-fp32").name == "tflite"
    with pytest.raises(FileNotFoundError, match="known: pggan_dres"):
        Inpainter.from_preset("lama")
    with pytest.raises(FileNotFoundError, match="known: pggan_dres"):
        load_backend("big-lama")


@pytest.mark.large
def test_load_generator_by_name_equals_by_path():
    import numpy as np

    import keras_pggan

    by_name = keras_pggan.load_generator("pggan_dres")
    by_path = keras_pggan.load_generator(os.path.join(SHIPPED_MODELS_DIR, "pggan_dres.keras"))
    for a, b in zip(by_name.weights, by_path.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert len(by_name.weights) == len(by_path.weights) > 10
