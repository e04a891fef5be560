"""Warm starts into a generator whose residual blocks are wider inside (residual_filters)."""

import dataclasses

import keras
import numpy as np
import pytest

from keras_pggan.config import GeneratorConfig, get_preset
from keras_pggan.errors import UserError
from keras_pggan.models.generator import build_generator
from keras_pggan.training import warm_start as ws


def _tiny(**kw) -> GeneratorConfig:
    return dataclasses.replace(get_preset("tiny").generator, **kw)


def _inputs(size=16, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.uniform(-1, 1, (2, size, size, 3)).astype("float32")
    mask = np.zeros((2, size, size, 1), "float32")
    mask[:, 4:12, 4:12] = 1
    return {"image": image, "mask": mask}


@pytest.mark.parametrize("norm", ["none", "instance"])
def test_a_wider_inner_layer_starts_as_the_same_function(norm, tmp_path):
    keras.utils.set_random_seed(1)
    narrow_cfg = _tiny(norm=norm)
    narrow = build_generator(narrow_cfg)
    # Non-zero biases and norm offsets, so that the added channels' init would show if it
    # leaked into the output.
    for layer in narrow.layers:
        layer.set_weights([w + 0.05 if w.ndim == 1 else w for w in layer.get_weights()])
    width = narrow.get_layer("res1_1_conv").filters
    wide = build_generator(_tiny(norm=norm, residual_filters=2 * width))
    assert wide.get_layer("res1_1_conv").filters == 2 * width
    assert wide.get_layer("res1_2_conv").filters == width  # the stream keeps its width
    assert wide.count_params() > narrow.count_params()

    widened = ws.widen_inner_layers(wide, narrow)
    n = len(narrow_cfg.dilation_rates)
    want = {f"res{i}_1_conv" for i in range(1, n + 1)} | {f"res{i}_2_conv" for i in range(1, n + 1)}
    if norm == "instance":
        want |= {f"res{i}_1_norm" for i in range(1, n + 1)}
    assert set(widened) == want

    x = _inputs()
    np.testing.assert_allclose(wide(x).numpy(), narrow(x).numpy(), atol=1e-5)
    # The added filters are live (not a copy of zeros): their own outputs are not zero, and the
    # second convolution reads them with zero weights, which a gradient step moves.
    k1 = wide.get_layer("res1_1_conv").get_weights()[0]
    assert np.abs(k1[..., width:]).max() > 0
    k2 = wide.get_layer("res1_2_conv").kernel
    assert np.abs(k2.numpy()[:, :, width:, :]).max() == 0
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.abs(wide(x)))
    grad = tape.gradient(loss, k2).numpy()
    assert np.abs(grad[:, :, width:, :]).max() > 0


def test_the_train_command_warm_starts_a_wider_generator_from_a_file(tmp_path, capsys):
    narrow = build_generator(_tiny())
    path = str(tmp_path / "narrow.keras")
    narrow.save(path)
    wide = build_generator(_tiny(residual_filters=48))
    ws._copy_weights(wide, path, "generator")
    assert "residual layers widened" in capsys.readouterr().out
    x = _inputs(seed=3)
    np.testing.assert_allclose(wide(x).numpy(), narrow(x).numpy(), atol=1e-5)


@pytest.mark.parametrize(
    "file_kw, config_kw, why",
    [
        ({"residual_filters": 48}, {}, "does not fit"),  # narrower than the file: not a widening
        ({}, {"max_filters": 64}, "only the inner width"),  # another width of the stream
    ],
)
def test_other_differences_are_refused_naming_the_file(tmp_path, file_kw, config_kw, why):
    source = build_generator(_tiny(**file_kw))
    path = str(tmp_path / "g.keras")
    source.save(path)
    target = build_generator(_tiny(**config_kw))
    with pytest.raises(UserError, match=why) as e:
        ws._copy_weights(target, path, "generator")
    assert path in str(e.value)


def test_residual_filters_is_checked_and_pggan_only():
    with pytest.raises(ValueError, match="residual_filters"):
        _tiny(residual_filters=0)
    with pytest.raises(ValueError, match="residual_filters"):
        GeneratorConfig(variant="glgan", residual_filters=64)
