import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_pggan.layers import MaskedInput, ResizeUpsample


def test_resize_upsample_matches_tf_image_resize_and_handles_unknown_dims():
    x = tf.random.uniform([2, 5, 7, 3], seed=1)
    layer = ResizeUpsample(2, "bilinear")
    np.testing.assert_allclose(layer(x), tf.image.resize(x, [10, 14]), atol=1e-6)
    fn = tf.function(layer.call, input_signature=[tf.TensorSpec([None, None, None, 3])])
    assert tuple(fn(tf.zeros([1, 3, 9, 3])).shape) == (1, 6, 18, 3)
    nearest = ResizeUpsample(2, "nearest")(tf.reshape(tf.range(4.0), [1, 2, 2, 1]))
    np.testing.assert_array_equal(
        nearest[0, :, :, 0], [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]
    )
    with pytest.raises(ValueError, match="interpolation"):
        ResizeUpsample(2, "bicubic")


def test_layer_configs_round_trip():
    layer = ResizeUpsample(3, "nearest", name="r")
    clone = ResizeUpsample.from_config(layer.get_config())
    assert (clone.factor, clone.interpolation, clone.name) == (3, "nearest", "r")


def test_masked_input_zeroes_holes_and_appends_mask():
    img = tf.ones([1, 2, 2, 3])
    m = tf.constant([[[[1.0], [0.0]], [[0.0], [1.0]]]])
    out = MaskedInput()([img, m]).numpy()
    assert out.shape == (1, 2, 2, 4)
    np.testing.assert_array_equal(out[0, :, :, 0], [[0, 1], [1, 0]])
    np.testing.assert_array_equal(out[..., 3], m[..., 0])


def test_generator_file_round_trip(tmp_path, tiny_cfg):
    from keras_pggan.generator import build_generator

    g = build_generator(tiny_cfg.generator)
    path = str(tmp_path / "g.keras")
    g.save(path)
    loaded = keras.saving.load_model(path)  # no custom_objects: layers are registered
    x = {"image": tf.random.uniform([1, 16, 24, 3], -1, 1, seed=2), "mask": tf.ones([1, 16, 24, 1])}
    np.testing.assert_allclose(g(x), loaded(x), atol=1e-6)
