"""Context Encoder baseline specifics; the contract every variant keeps is in contracts_test.py."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import make_batch
from contracts import tiny_config

from keras_pggan.config import get_preset
from keras_pggan.export.saved_model import export_saved_model
from keras_pggan.export.tflite import export_tflite
from keras_pggan.inference import refine
from keras_pggan.inference.backends import KerasBackend, run_tflite
from keras_pggan.models import ce
from keras_pggan.models.generator import pad_multiple_of
from keras_pggan.training.build import build_gan, compile_gan
from keras_pggan.training.model import BASELINE_METRIC_NAMES, BaselineGAN


def _tiny(**sections):
    return tiny_config("ce", **sections)


def _conv(k, cin, cout, bias=True):
    return k * k * cin * cout + (cout if bias else 0)


def test_preset_carries_the_papers_values():
    cfg = get_preset("ce")
    assert (cfg.generator.variant, cfg.discriminator.variant) == ("ce", "ce")
    assert (cfg.loss.l1_weight, cfg.loss.global_adv_weight) == (0.999, 0.001)
    assert (cfg.loss.distance, cfg.loss.reconstruction) == ("l2", "hole")
    assert cfg.generator.stem_kernel_size == 4 and cfg.generator.num_downsamplings == 5
    assert cfg.mask.spec == "center:0.5,rect:0.5"


@pytest.mark.parametrize(
    "generator, match",
    [
        ({"variant": "dres", "fixed_size": 64}, r"GeneratorConfig\.fixed_size: only variant 'ce'"),
        ({"fixed_size": 100}, r"GeneratorConfig\.fixed_size: 100 is not a multiple of 32"),
        ({"fixed_size": 0}, r"GeneratorConfig\.fixed_size: must be a positive integer"),
    ],
)
def test_bad_fixed_size_names_the_field(generator, match):
    with pytest.raises(ValueError, match=match):
        get_preset("ce").replace(generator=generator)


@pytest.mark.parametrize("size", [128, 256])
def test_output_shapes(size):
    cfg = _tiny(data={"image_size": size})
    g = ce.build_ce_generator(cfg.generator, size)
    out = g({"image": tf.zeros([2, size, size, 3]), "mask": tf.ones([2, size, size, 1])})
    assert tuple(out.shape) == (2, size, size, 3)
    assert np.all(np.abs(out.numpy()) <= 1.0)
    # The bottleneck is size / 2**3 on each side, whatever the input size.
    side = size // 8
    assert tuple(g.get_layer("bottleneck_cwfc_unflatten").output.shape) == (None, side, side, 8)
    # Any other input size: resized to the fixed size inside, the output has the input's size.
    other = g({"image": tf.zeros([1, 48, 80, 3]), "mask": tf.zeros([1, 48, 80, 1])})
    assert tuple(other.shape) == (1, 48, 80, 3)
    d = ce.build_ce_discriminator(cfg.discriminator, size)
    assert tuple(d(tf.zeros([2, size, size, 3]))["global"].shape) == (2, 1)


@pytest.mark.parametrize("size", [128, 256])
def test_parameter_counts_match_the_architecture(size):
    cfg = get_preset("ce")
    g = ce.build_ce_generator(cfg.generator, size)
    widths = [64, 128, 256, 512, 512]
    encoder = sum(_conv(4, a, b) for a, b in zip([4, *widths[:-1]], widths))
    n = (size // 32) ** 2  # bottleneck positions
    channelwise = 512 * n * n + 512 * n  # one n×n dense map (+ bias) per channel
    mix = _conv(1, 512, 512)
    decoder = sum(_conv(4, a, b) for a, b in zip([512, 512, 256, 128, 64], [512, 256, 128, 64, 3]))
    assert g.count_params() == encoder + channelwise + mix + decoder

    d = ce.build_ce_discriminator(cfg.discriminator, size)
    layers = 5 if size == 128 else 6  # stride-2 convolutions down to 4×4
    widths = [min(64 * 2**i, 512) for i in range(layers)]
    convs = _conv(4, 3, widths[0]) + sum(
        _conv(4, a, b, bias=False) + 2 * b for a, b in zip(widths[:-1], widths[1:])
    )  # instance normalisation (scale + offset) replaces the bias after the first layer
    assert d.count_params() == convs + 4 * 4 * 512 + 1


def test_channelwise_bottleneck_keeps_channels_apart():
    g = ce.build_ce_generator(_tiny().generator, 32)
    layer = g.get_layer("bottleneck_cwfc_dense")
    n, c = 16, 8
    x = np.random.default_rng(0).normal(size=(1, n, c)).astype("float32")
    x2 = x.copy()
    x2[0, 0, 3] += 1.0  # one position of channel 3
    y, y2 = layer(x).numpy(), layer(x2).numpy()
    changed = np.abs(y2 - y) > 1e-6
    assert changed[0, :, 3].all()  # fully connected over positions
    assert not np.delete(changed, 3, axis=2).any()  # no other channel moved


def test_untrained_output_is_not_vanishing():
    # Without the papers' batch normalisation, Glorot initialisation shrinks the signal through
    # the ReLU stack to an output of ~1e-4 (a grey fill); He initialisation keeps its scale.
    g = ce.build_ce_generator(get_preset("ce").generator, 128)
    data = make_batch(n=1, size=128, seed=0)
    out = g({"image": data["image"] * 2 - 1, "mask": data["mask"]}).numpy()
    assert out.std() > 0.02


def test_resize_is_the_identity_at_the_fixed_size():
    g = ce.build_ce_generator(_tiny().generator, 32)
    view = keras.Model(
        g.input, [g.get_layer("masked_input").output, g.get_layer("to_fixed_size").output]
    )
    data = make_batch(n=2, size=32, seed=2)
    before, after = view({"image": data["image"], "mask": data["mask"]})
    np.testing.assert_allclose(after.numpy(), before.numpy(), atol=1e-6)


def test_l2_loss_and_logs(tmp_path):
    cfg = _tiny()
    gan = build_gan(cfg)
    compile_gan(gan, cfg)
    assert isinstance(gan, BaselineGAN)
    data = make_batch(n=4, size=32, seed=3)
    logs = {k: float(v) for k, v in gan.test_step(data).items()}
    assert set(logs) == set(BASELINE_METRIC_NAMES)
    x = data["image"] * 2 - 1
    raw = gan.generator({"image": x, "mask": data["mask"]}).numpy()
    m = np.broadcast_to(data["mask"], x.shape)
    per_image = [np.mean(((raw[i] - x[i]) ** 2)[m[i] > 0]) for i in range(4)]
    assert logs["g_rec"] == pytest.approx(np.mean(per_image), rel=1e-4)
    assert logs["g_loss"] == pytest.approx(0.999 * logs["g_rec"] + 0.001 * logs["g_adv"], rel=1e-5)
    assert logs["g_adv"] > 0 and logs["d_loss"] > 0


def test_exports_to_saved_model_and_tflite(tmp_path):
    g = ce.build_ce_generator(_tiny().generator, 32)
    assert pad_multiple_of(g) == 8
    rng = np.random.default_rng(4)
    image = rng.uniform(size=(37, 45, 3)).astype("float32")  # not the fixed size, not a multiple
    mask = np.zeros((37, 45, 1), "float32")
    mask[10:25, 12:30] = 1.0
    want = KerasBackend(g).run(image[None], mask[None])[0]

    report = export_tflite(g, str(tmp_path / "ce.tflite"), mode="fp32")
    assert "BATCH_MATMUL" in report["ops"] and "TRANSPOSE_CONV" in report["ops"]
    got = run_tflite(str(tmp_path / "ce.tflite"), image, mask[..., 0])
    np.testing.assert_allclose(got, want, atol=1e-4)

    saved = export_saved_model(g, str(tmp_path / "sm"), warmup=False)
    served = tf.saved_model.load(saved["path"]).signatures["serving_default"]
    out = served(image=tf.constant(image[None]), mask=tf.constant(mask[None]))["inpainted"]
    np.testing.assert_allclose(out.numpy()[0], want, atol=1e-4)
    assert os.path.isdir(saved["path"])


# -- Neural Patch Synthesis's texture stage (pluggable feature extractor) -----------------------
def test_texture_loss_matches_a_hand_computed_case():
    # 2×2 map, 2 channels, 1×1 patches: the hole feature (1, 0.1) is nearest (by normalised
    # correlation) to the known (1, 0), not (0, 1) or (0.2, 1): loss = (0² + 0.1²) / 2.
    features = np.array([[[[1.0, 0.1], [1.0, 0.0]], [[0.0, 1.0], [0.2, 1.0]]]], "float32")
    mask = np.zeros((1, 2, 2, 1), "float32")
    mask[0, 0, 0] = 1.0
    loss = refine.neural_patch_texture_loss(features, mask, patch_size=1)
    assert float(loss) == pytest.approx(0.005, rel=1e-5)
    assert float(refine.neural_patch_texture_loss(features, np.zeros_like(mask), 1)) == 0.0
    with pytest.raises(ValueError, match=r"\[B,h,w,C\] feature maps"):
        refine.neural_patch_texture_loss(np.zeros((1, 4, 3), "float32"), mask)


def test_neural_patch_refine_with_a_plugged_extractor():
    keras.utils.set_random_seed(0)
    extractor = keras.Sequential(
        [
            keras.Input((None, None, 3)),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
        ]
    )
    x = np.arange(32, dtype="float32")
    stripes = 0.5 + 0.4 * np.sin(x * np.pi / 2)
    image = np.broadcast_to(stripes[None, None, :, None], (1, 32, 32, 3)).copy()
    mask = np.zeros((1, 32, 32, 1), "float32")
    mask[:, 8:24, 8:24] = 1.0
    fill = np.full_like(image, 0.5)
    start = fill * mask + image * (1 - mask)
    out, losses = refine.neural_patch_refine(
        image, mask, fill, extractor, steps=10, learning_rate=0.02, texture_weight=10.0
    )
    out = out.numpy()
    assert len(losses) == 10 and min(losses[1:]) < losses[0]

    def texture(x):
        return float(refine.neural_patch_texture_loss(extractor(x), mask))

    assert texture(out) < 0.9 * texture(start)
    np.testing.assert_array_equal(out * (1 - mask), image * (1 - mask))  # known pixels kept
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert not np.allclose(out, start)  # the hole moved
