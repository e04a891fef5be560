import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_pggan.config import get_preset
from keras_pggan.generator import build_generator, inpaint


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


@pytest.mark.parametrize("h,w", [(32, 32), (24, 40), (8, 56)])
def test_fully_convolutional_non_square(tiny_cfg, h, w):
    g = build_generator(tiny_cfg.generator)
    out = g({"image": tf.zeros([2, h, w, 3]), "mask": tf.ones([2, h, w, 1])})
    assert tuple(out.shape) == (2, h, w, 3)
    assert float(tf.reduce_max(tf.abs(out))) <= 1.0


def test_res_variant_needs_multiple_of_8():
    g = build_generator(
        get_preset("pggan-res").generator.__class__(
            variant="res", num_downsamplings=3, base_filters=4, max_filters=8, dilation_rates=(1,)
        )
    )
    assert tuple(
        g({"image": tf.zeros([1, 24, 40, 3]), "mask": tf.zeros([1, 24, 40, 1])}).shape
    ) == (1, 24, 40, 3)


def test_hole_pixels_never_reach_the_network(tiny_cfg):
    g = build_generator(tiny_cfg.generator)
    rng = np.random.default_rng(0)
    img = rng.uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    mask = np.zeros((1, 32, 32, 1), "float32")
    mask[:, 8:20, 8:20] = 1
    other = img.copy()
    other[:, 8:20, 8:20] = rng.uniform(-1, 1, (1, 12, 12, 3))
    np.testing.assert_array_equal(
        g({"image": img, "mask": mask}), g({"image": other, "mask": mask})
    )
    # ...while known pixels do matter.
    changed = img.copy()
    changed[:, 0:4, 0:4] = 0.9
    assert np.abs(g({"image": img, "mask": mask}) - g({"image": changed, "mask": mask})).max() > 0


def test_inpaint_composites_known_pixels_exactly(tiny_cfg, batch):
    g = build_generator(tiny_cfg.generator)
    out = inpaint(g, batch["image"], batch["mask"]).numpy()
    known = batch["mask"][..., 0] == 0
    np.testing.assert_array_equal(out[known], batch["image"][known])
    assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("preset", ["ce", "glgan"])
def test_baseline_configs_are_refused_not_built_as_pggan(preset):
    with pytest.raises(ValueError, match=f"build_{preset}_generator"):
        build_generator(get_preset(preset).generator)


def test_as_float32_keeps_weights_and_outputs():
    import keras
    import numpy as np

    from keras_pggan.config import get_preset
    from keras_pggan.generator import as_float32, build_generator

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
