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


@pytest.mark.parametrize("native", ["1", "0"])
def test_dilated_conv2d_equals_keras_conv2d_forward_and_backward(native, monkeypatch):
    from keras_pggan import layers as layers_lib

    monkeypatch.setenv(layers_lib.NATIVE_DILATION_ENV, native)
    layers_lib.native_dilation_enabled.cache_clear()
    try:
        if native == "1":
            from tensorflow.python.util import _pywrap_util_port

            if not _pywrap_util_port.IsMklEnabled():
                pytest.skip("dilated Conv2D gradients need oneDNN on CPU")
        x = tf.random.stateless_normal([2, 12, 12, 5], seed=[1, 2])
        ours = layers_lib.DilatedConv2D(6, 3, dilation_rate=4, padding="same")
        ref = keras.layers.Conv2D(6, 3, dilation_rate=4, padding="same")
        ours.build(x.shape)
        ref.build(x.shape)
        ref.set_weights(ours.get_weights())

        def loss_and_grads(layer):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x)
                loss = tf.reduce_sum(y * y)
            return y, tape.gradient(loss, [x, *layer.trainable_variables])

        y1, g1 = loss_and_grads(ours)
        y2, g2 = loss_and_grads(ref)
        np.testing.assert_allclose(y1, y2, rtol=1e-4, atol=1e-4)
        for a, b in zip(g1, g2, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)
        # The native path is one op: no SpaceToBatch round trip in the traced graph.
        graph = tf.function(ours.call).get_concrete_function(tf.TensorSpec([1, 16, 16, 5])).graph
        ops = {op.type for op in graph.get_operations()}
        assert ("SpaceToBatchND" in ops) == (native == "0"), ops
        assert layers_lib.DilatedConv2D.from_config(ours.get_config()).dilation_rate == (4, 4)
    finally:
        layers_lib.native_dilation_enabled.cache_clear()


def test_masked_input_mean_fill():
    import numpy as np

    from keras_pggan.layers import MaskedInput

    image = np.zeros((2, 4, 4, 3), "float32")
    image[0] = (0.5, -0.25, 1.0)
    image[1, :, :2] = 1.0  # left half 1, right half 0 -> known mean 2/3 with the hole below
    holes = np.zeros((2, 4, 4, 1), "float32")
    holes[:, 1:3, 1:3] = 1.0
    holes[1, :, 0] = 1.0  # image 1: column 0 (value 1) also a hole
    out = np.asarray(MaskedInput("mean")([image, holes]))
    np.testing.assert_allclose(out[0, 1, 1, :3], (0.5, -0.25, 1.0), atol=1e-6)  # flat stays flat
    np.testing.assert_allclose(out[0, ..., :3], image[0], atol=1e-6)
    known = holes[1, ..., 0] == 0
    want = image[1, ..., 0][known].mean()
    np.testing.assert_allclose(out[1, 1, 1, :3], want, atol=1e-6)
    np.testing.assert_array_equal(out[..., 3:], holes)
    zero = np.asarray(MaskedInput()([image, holes]))
    assert zero[0, 1, 1, :3].tolist() == [0.0, 0.0, 0.0]
    # No known pixel at all: 0, not NaN.
    full = np.asarray(MaskedInput("mean")([image, np.ones_like(holes)]))
    assert np.isfinite(full).all() and np.abs(full[..., :3]).max() == 0
    layer = MaskedInput.from_config(MaskedInput("mean").get_config())
    assert layer.fill == "mean"
