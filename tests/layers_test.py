import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_pggan.config import PRESETS, get_preset
from keras_pggan.models.layers import MaskedInput, ResizeUpsample, conv_block
from keras_pggan.models.registry import build_discriminator_for, build_generator_for


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
        ResizeUpsample(2, "area")


@pytest.mark.parametrize("factor", [2, 3])
def test_bicubic_is_tf_image_resize_inside_and_repeats_edges_at_the_border(factor):
    from keras_pggan.models.layers import bicubic_phase_taps

    np.testing.assert_allclose(bicubic_phase_taps(factor).sum(axis=1), 1.0, atol=1e-12)
    x = tf.random.uniform([2, 9, 11, 3], seed=2)
    got = ResizeUpsample(factor, "bicubic")(x).numpy()
    ref = tf.image.resize(x, [9 * factor, 11 * factor], method="bicubic").numpy()
    b = 3 if factor == 2 else 4  # outputs whose taps reach past the edge
    # ×2 is exact; tf.image.resize reads its weights from a 1024-entry table, exact only for
    # fractions like ×2's 1/4 and 3/4 (×3's 1/3 is 5e-4 off).
    atol = 1e-5 if factor == 2 else 1e-3
    np.testing.assert_allclose(got[:, b:-b, b:-b], ref[:, b:-b, b:-b], atol=atol)
    # At the border tf.image.resize renormalises the taps inside; this layer repeats the edge
    # pixel. On a smooth image the two agree closely; both keep a constant image constant.
    yy, xx = np.mgrid[0:9, 0:11] / 10.0
    smooth = tf.constant(np.stack([yy, xx, yy * xx], -1)[None], tf.float32)
    diff = ResizeUpsample(factor, "bicubic")(smooth) - tf.image.resize(
        smooth, [9 * factor, 11 * factor], method="bicubic"
    )
    assert float(tf.reduce_max(tf.abs(diff))) < 0.02
    flat = ResizeUpsample(factor, "bicubic")(tf.fill([1, 1, 2, 4], 0.3)).numpy()
    assert flat.shape == (1, factor, 2 * factor, 4)
    np.testing.assert_allclose(flat, 0.3, atol=1e-6)
    # Unknown height and width; a bfloat16 layer computes in float32 and returns bfloat16.
    fn = tf.function(
        ResizeUpsample(factor, "bicubic").call,
        input_signature=[tf.TensorSpec([None, None, None, 3])],
    )
    assert tuple(fn(tf.zeros([1, 3, 5, 3])).shape) == (1, 3 * factor, 5 * factor, 3)
    half = ResizeUpsample(factor, "bicubic", dtype="mixed_bfloat16")(x)
    assert half.dtype == tf.bfloat16


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
    from keras_pggan.models import layers as layers_lib

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

    from keras_pggan.models.layers import MaskedInput

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


# -- conv_block keeps every saved model's layers ------------------------------------------------
# The layers of every preset and option variant, recorded (tests/data/model_layers.json) before
# the networks' three conv-block helpers became models.layers.conv_block: names, classes, weight
# shapes and the config fields a saved model depends on. A .keras file loads only into the same
# names and shapes, so any difference here breaks the shipped and users' models. A network equal
# to one listed earlier in the file is recorded as a reference, "<case>/<network>".
LAYERS_RECORD = os.path.join(os.path.dirname(__file__), "data", "model_layers.json")
_RECORDED_FIELDS = (
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "dilation_rate",
    "use_bias",
    "kernel_initializer",
    "bias_initializer",
    "activation",
    "negative_slope",
    "groups",
    "epsilon",
    "dtype",
)


def _tiny(**sections):
    return get_preset("tiny").replace(**sections)


def _small(base: str, **sections):
    small = get_preset(base).replace(
        data={"image_size": 64},
        generator={"base_filters": 8, "max_filters": 16},
        discriminator={"base_filters": 8, "max_filters": 16},
    )
    return small.replace(**sections) if sections else small


_CASES = {
    **{f"preset:{p}": (lambda p=p: get_preset(p)) for p in sorted(PRESETS)},
    "tiny:block_type=dilated_first": lambda: _tiny(generator={"block_type": "dilated_first"}),
    "tiny:block_type=dilated_second": lambda: _tiny(generator={"block_type": "dilated_second"}),
    "tiny:upsample=transposed": lambda: _tiny(generator={"upsample": "transposed"}),
    "tiny:interp=bicubic": lambda: _tiny(generator={"upsample_interpolation": "bicubic"}),
    "tiny:interp=nearest": lambda: _tiny(generator={"upsample_interpolation": "nearest"}),
    "tiny:norm_g=instance": lambda: _tiny(generator={"norm": "instance"}),
    "tiny:hole_fill=mean": lambda: _tiny(generator={"hole_fill": "mean"}),
    "tiny:disc=global": lambda: _tiny(discriminator={"variant": "global"}),
    "tiny:disc=patch": lambda: _tiny(discriminator={"variant": "patch"}),
    "tiny:norm_d=spectral": lambda: _tiny(discriminator={"norm": "spectral"}),
    "tiny:norm_d=none": lambda: _tiny(discriminator={"norm": "none"}),
    **{
        f"{b}-small{suffix}": (lambda b=b, s=sections: _small(b, **s))
        for b in ("ce", "glgan")
        for suffix, sections in {
            "": {},
            ":norm_d=spectral": {"discriminator": {"norm": "spectral"}},
            ":norm_d=none": {"discriminator": {"norm": "none"}},
            ":norm_g=instance": {"generator": {"norm": "instance"}},
        }.items()
    },
}


def layer_summary(name: str, cls: str, config: dict, weights) -> list:
    """``[name, class, {weight path: shape}, {recorded config field: value}]`` of one layer."""
    fields = {}
    for key in _RECORDED_FIELDS:
        if key in config:
            value = config[key]
            # Initialisers and dtype policies by class / policy name (their other fields are
            # Keras's serialisation details, not the model's).
            if isinstance(value, dict):
                value = (
                    value.get("config", {}).get("name")
                    if key == "dtype"
                    else value.get("class_name")
                )
            fields[key] = list(value) if isinstance(value, tuple) else value
    return [name, cls, {path: list(shape) for path, shape in weights}, fields]


# Classes that load the same saved layers as the recorded one: SelectLeakyReLU is LeakyReLU's
# values and gradients through other ops, with its config and no weights (a .keras file holding
# either loads into both; tests/layers_test.py::test_select_leaky_relu_is_leaky_relu).
_SAME_SAVED_LAYER = {"SelectLeakyReLU": "LeakyReLU"}


def _describe(model) -> list:
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            rows += _describe(layer)
            continue
        config = keras.saving.serialize_keras_object(layer).get("config", {})
        weights = [(w.path, tuple(w.shape)) for w in layer.weights]
        cls = _SAME_SAVED_LAYER.get(type(layer).__name__, type(layer).__name__)
        rows.append(layer_summary(layer.name, cls, config, weights))
    return rows


def test_every_preset_and_variant_keeps_its_recorded_layers():
    with open(LAYERS_RECORD, encoding="utf-8") as f:
        recorded = json.load(f)
    assert sorted(recorded) == sorted(_CASES)
    for networks in recorded.values():
        for network, rows in networks.items():
            if isinstance(rows, str):  # a reference to an identical network
                other_case, other_network = rows.rsplit("/", 1)
                networks[network] = recorded[other_case][other_network]
    for case, make in _CASES.items():
        cfg = make()
        built = {
            "generator": _describe(build_generator_for(cfg)),
            "discriminator": _describe(build_discriminator_for(cfg)),
        }
        for network, rows in built.items():
            want = recorded[case][network]
            assert [r[0] for r in rows] == [r[0] for r in want], (case, network)
            for got, expected in zip(rows, want):
                assert got == expected, (case, network, got[0])


def test_conv_block_names_bias_and_spectral_wrapper():
    x = keras.Input((8, 8, 2))
    y = conv_block(x, 4, 3, strides=2, norm="instance", name="a")
    z = conv_block(y, 5, 3, norm="spectral", spectral=True, activation="lrelu", name="b")
    model = keras.Model(x, z)
    kinds = {layer.name: type(layer).__name__ for layer in model.layers[1:]}
    assert kinds == {
        "a_conv": "Conv2D",
        "a_norm": "GroupNormalization",
        "a_relu": "Activation",
        "b_sn": "SpectralNormalization",
        "b_lrelu": "SelectLeakyReLU",  # after a biased convolution
    }
    normed = conv_block(x, 4, 3, norm="instance", activation="lrelu", name="n")
    assert type(keras.Model(x, normed).get_layer("n_lrelu")) is keras.layers.LeakyReLU
    # A bias exactly when no normalisation layer follows the convolution.
    assert model.get_layer("a_conv").use_bias is False
    assert model.get_layer("b_sn").layer.use_bias is True
    dilated = conv_block(x, 4, 3, dilation_rate=2, name="d")
    plain = conv_block(x, 4, 3, dilation_rate=2, dilated_layer=False, name="p")
    names = {layer.name: type(layer).__name__ for layer in keras.Model(x, [dilated, plain]).layers}
    assert names["d_conv"] == "DilatedConv2D" and names["p_conv"] == "Conv2D"
    with pytest.raises(ValueError, match="dilation_rate"):
        conv_block(x, 4, 3, dilation_rate=2, transpose=True, name="t")
    with pytest.raises(ValueError, match="activation"):
        conv_block(x, 4, 3, activation="tanh", name="bad")
    with pytest.raises(ValueError, match="normalisation"):
        conv_block(x, 4, 3, norm="batch", name="bad")


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_select_leaky_relu_is_leaky_relu(dtype, tmp_path):
    from keras_pggan.models.layers import SelectLeakyReLU

    x = tf.constant(np.linspace(-3, 3, 61).reshape(1, 61), dtype)  # 0 included
    ours, theirs = SelectLeakyReLU(0.2, dtype=dtype), keras.layers.LeakyReLU(0.2, dtype=dtype)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        a, b = ours(x), theirs(x)
        loss_a, loss_b = tf.reduce_sum(a * a), tf.reduce_sum(b * b)
    np.testing.assert_array_equal(np.asarray(a, "float32"), np.asarray(b, "float32"))
    grads = [np.asarray(tape.gradient(loss, x), "float32") for loss in (loss_a, loss_b)]
    np.testing.assert_array_equal(*grads)
    assert ours.get_config()["negative_slope"] == 0.2
    # A saved model holding it loads; one holding Keras's LeakyReLU takes the same weights.
    inp = keras.Input((6, 6, 2))
    model = keras.Model(inp, conv_block(inp, 3, 3, activation="lrelu", slope=0.3, name="c"))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.get_layer("c_lrelu")) is SelectLeakyReLU
    old_style = keras.Model(inp, keras.layers.LeakyReLU(0.3)(model.get_layer("c_conv").output))
    image = np.random.default_rng(0).normal(size=(2, 6, 6, 2)).astype("float32")
    np.testing.assert_array_equal(loaded(image), old_style(image))


def test_no_remapper_failure_in_a_training_step():
    """Grappler's remapper (oneDNN on, as training sets it) fused Conv2D + BiasAdd + LeakyRelu
    although LeakyReluGrad reads the BiasAdd, and logged an E-level "remapper failed: ...
    Mutation::Apply error" line in the middle of training: the demo preset's (the G-GAN head's
    1×1 layer, before Flatten) and Context Encoder's (its encoder's last block, before the
    channel-wise dense layer). One real training step of each, in a fresh process."""
    import subprocess
    import sys

    code = """if True:
        import numpy as np, tensorflow as tf
        from keras_pggan.config import get_preset
        from keras_pggan.training.build import build_gan, compile_gan
        for preset in ("demo", "ce"):
            cfg = get_preset(preset)
            gan = build_gan(cfg)
            compile_gan(gan, cfg)
            size, rng = cfg.data.image_size, np.random.default_rng(0)
            image = rng.uniform(size=(2, size, size, 3)).astype("float32")
            mask = np.zeros((2, size, size, 1), "float32")
            mask[:, size // 4 : size // 2, size // 4 : size // 2] = 1
            ds = tf.data.Dataset.from_tensors({"image": image, "mask": mask}).repeat()
            gan.fit(ds, steps_per_epoch=1, epochs=1, verbose=0)
        print("trained")
    """
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1", "TF_CPP_MIN_LOG_LEVEL": "0"}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert run.returncode == 0 and "trained" in run.stdout, run.stderr[-3000:]
    failed = [line for line in run.stderr.splitlines() if "remapper failed" in line]
    assert not failed, failed
