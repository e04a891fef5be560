"""PGGAN generator specifics; the contract every variant keeps is in contracts_test.py."""

import keras
import pytest

from keras_pggan.config import get_preset
from keras_pggan.models.generator import build_generator


def _layers(model, cls):
    return [layer for layer in model.layers if isinstance(layer, cls)]


@pytest.mark.parametrize("preset", ["pggan-dres", "pggan-res"])
def test_paper_variants_structure(preset):
    cfg = get_preset(preset).generator
    g = build_generator(cfg)
    convs = _layers(g, keras.layers.Conv2D)
    assert not _layers(g, keras.layers.Conv2DTranspose)
    strided = [c for c in convs if c.strides == (2, 2)]
    assert len(strided) == cfg.num_downsamplings == (2 if preset == "pggan-dres" else 3)
    resizes = [layer for layer in g.layers if type(layer).__name__ == "ResizeUpsample"]
    assert len(resizes) == cfg.num_downsamplings
    rates = sorted({c.dilation_rate[0] for c in convs})
    assert rates == ([1, 2, 4, 8] if preset == "pggan-dres" else [1])
    # Our documented parameter counts (README): changes here must update the README.
    assert g.count_params() == {"pggan-dres": 10_201_155, "pggan-res": 11_381_315}[preset]


@pytest.mark.parametrize("preset", ["ce", "glgan"])
def test_baseline_configs_are_refused_not_built_as_pggan(preset):
    with pytest.raises(ValueError, match=f"build_{preset}_generator"):
        build_generator(get_preset(preset).generator)


def test_as_float32_keeps_weights_and_outputs():
    import keras
    import numpy as np

    from keras_pggan.config import get_preset
    from keras_pggan.models.generator import as_float32, build_generator

    cfg = get_preset("tiny").generator
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        g16 = build_generator(cfg)
    finally:
        keras.config.set_dtype_policy(previous)
    g32 = as_float32(g16)
    assert {layer.dtype_policy.name for layer in g32.layers} == {"float32"}
    for a, b in zip(g16.get_weights(), g32.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = {"image": np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 3)).astype("float32"),
         "mask": np.ones((1, 32, 32, 1), "float32")}  # fmt: skip
    # Same function within bfloat16 round-off; the float32 clone is the exact one.
    assert float(np.abs(np.asarray(g16(x)) - np.asarray(g32(x))).max()) < 0.1
    assert as_float32(g32) is g32
