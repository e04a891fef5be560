"""GLGAN baseline specifics (the local patch); the contract every variant keeps is in
contracts_test.py."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import make_batch
from contracts import tiny_config

from keras_pggan.config import get_preset
from keras_pggan.export.tflite import export_tflite
from keras_pggan.inference.backends import KerasBackend, run_tflite
from keras_pggan.models import glgan
from keras_pggan.models.generator import pad_multiple_of
from keras_pggan.training.build import build_gan, compile_gan
from keras_pggan.training.model import BASELINE_METRIC_NAMES, BaselineGAN


def _tiny(**sections):
    return tiny_config("glgan", **sections)


def _conv(k, cin, cout, bias=True):
    return k * k * cin * cout + (cout if bias else 0)


def _hole(h, w, boxes):
    m = np.zeros((h, w, 1), "float32")
    for y0, y1, x0, x1 in boxes:
        m[y0:y1, x0:x1] = 1.0
    return m


def test_preset_carries_the_papers_values():
    cfg = get_preset("glgan")
    assert cfg.generator.dilation_rates == (2, 4, 8, 16)
    assert (cfg.generator.num_downsamplings, cfg.generator.stem_kernel_size) == (2, 5)
    assert (cfg.loss.global_adv_weight, cfg.loss.distance) == (0.0004, "l2")
    assert cfg.discriminator.local_patch_size is None  # half the crop: 128 at 256²


@pytest.mark.parametrize(
    "sections, match",
    [
        ({"discriminator": {"local_patch_size": 300}}, r"local_patch_size: 300 is larger"),
        ({"discriminator": {"variant": "pggan", "local_patch_size": 64}}, r"only variant 'glgan'"),
        ({"loss": {"warmup_steps": -1}}, r"LossConfig\.warmup_steps"),
        ({"loss": {"distance": "l3"}}, r"LossConfig\.distance"),
    ],
)
def test_bad_config_names_the_field(sections, match):
    with pytest.raises(ValueError, match=match):
        get_preset("glgan").replace(**sections)


# -- the local patch follows the hole -----------------------------------------------------------
@pytest.mark.parametrize(
    "boxes, expected",
    [
        ([(0, 4, 0, 4)], (0, 0)),  # top-left corner: clipped to the corner
        ([(28, 32, 44, 48)], (16, 32)),  # bottom-right corner
        ([(0, 3, 20, 28)], (0, 16)),  # top edge, centred horizontally on the hole
        ([(12, 20, 45, 48)], (8, 32)),  # right edge
        ([(10, 14, 20, 24)], (4, 14)),  # interior: centred on the hole
        ([(2, 30, 5, 45)], (8, 17)),  # larger than the patch: centred on its bounding box
        ([(0, 2, 0, 2), (30, 32, 46, 48)], (8, 16)),  # two holes: their joint bounding box
        ([], (8, 16)),  # no hole: the image centre
    ],
)
def test_patch_offsets_follow_the_bounding_box(boxes, expected):
    mask = _hole(32, 48, boxes)[None]
    top, left = glgan.hole_patch_offsets(mask, 16)
    assert (int(top[0]), int(left[0])) == expected


def test_crop_takes_each_images_own_patch():
    h, w, p = 32, 48, 16
    images = np.arange(3 * h * w * 2, dtype="float32").reshape(3, h, w, 2)
    boxes = [[(0, 4, 0, 4)], [(28, 32, 44, 48)], [(10, 14, 20, 24)]]
    masks = np.stack([_hole(h, w, b) for b in boxes])
    crops = glgan.HoleCrop(p)([images, masks]).numpy()
    for i, (y, x) in enumerate([(0, 0), (16, 32), (4, 14)]):
        np.testing.assert_array_equal(crops[i], images[i, y : y + p, x : x + p])


def test_crop_gradient_reaches_only_the_patch():
    images = tf.Variable(tf.zeros([1, 32, 48, 3]))
    mask = _hole(32, 48, [(10, 14, 20, 24)])[None]
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(glgan.HoleCrop(16)([images, mask]))
    grad = tape.gradient(total, images).numpy()[0, ..., 0]
    expected = np.zeros((32, 48))
    expected[4:20, 14:30] = 1.0
    np.testing.assert_array_equal(grad, expected)


def test_hole_crop_config_round_trip():
    layer = glgan.HoleCrop(24, name="crop")
    again = glgan.HoleCrop.from_config(layer.get_config())
    assert (again.patch_size, again.name) == (24, "crop")
    with pytest.raises(ValueError, match="patch_size must be a positive integer"):
        glgan.HoleCrop(0)


# -- networks -----------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [128, 256])
def test_output_shapes(size):
    cfg = _tiny(data={"image_size": size})
    g = glgan.build_glgan_generator(cfg.generator)
    out = g({"image": tf.zeros([2, size, size, 3]), "mask": tf.ones([2, size, size, 1])})
    assert tuple(out.shape) == (2, size, size, 3)
    d = glgan.build_glgan_discriminator(cfg.discriminator, size)
    assert tuple(d.get_layer("local_crop").output.shape) == (None, size // 2, size // 2, 3)
    logits = d({"image": tf.zeros([2, size, size, 3]), "mask": tf.ones([2, size, size, 1])})
    assert tuple(logits["global"].shape) == (2, 1)


@pytest.mark.parametrize("size", [128, 256])
def test_parameter_counts_match_the_papers_table(size):
    cfg = get_preset("glgan")
    g = glgan.build_glgan_generator(cfg.generator)
    # Iizuka et al. 2017, Table 1 (completion network): (kernel, in, out) per layer.
    table = [(5, 4, 64), (3, 64, 128), (3, 128, 128), (3, 128, 256)]
    table += [(3, 256, 256)] * 2 + [(3, 256, 256)] * 4 + [(3, 256, 256)] * 2  # dilated: 4
    table += [(4, 256, 128), (3, 128, 128), (4, 128, 64), (3, 64, 32), (3, 32, 3)]
    assert g.count_params() == sum(_conv(*layer) for layer in table)

    d = glgan.build_glgan_discriminator(cfg.discriminator, size)

    def branch(side):
        n = int(np.log2(side // 4))  # 5×5 stride-2 convolutions down to 4×4
        widths = [min(64 * 2**i, 512) for i in range(n)]
        convs = _conv(5, 3, 64) + sum(
            _conv(5, a, b, bias=False) + 2 * b for a, b in zip(widths[:-1], widths[1:])
        )
        return convs + 4 * 4 * 512 * 1024 + 1024

    assert d.count_params() == branch(size) + branch(size // 2) + 2048 + 1


def test_untrained_output_is_not_vanishing():
    # Without the papers' batch normalisation, Glorot initialisation shrinks the signal through
    # the ReLU stack to an output of ~1e-4 (a grey fill); He initialisation keeps its scale.
    g = glgan.build_glgan_generator(get_preset("glgan").generator)
    data = make_batch(n=1, size=128, seed=0)
    out = g({"image": data["image"] * 2 - 1, "mask": data["mask"]}).numpy()
    assert out.std() > 0.02


def test_exports_to_tflite(tmp_path):
    g = glgan.build_glgan_generator(_tiny().generator)
    assert pad_multiple_of(g) == 4
    rng = np.random.default_rng(4)
    image = rng.uniform(size=(30, 41, 3)).astype("float32")
    mask = _hole(30, 41, [(8, 20, 10, 30)])
    want = KerasBackend(g).run(image[None], mask[None])[0]

    report = export_tflite(g, str(tmp_path / "glgan.tflite"), mode="fp32")
    assert "TRANSPOSE_CONV" in report["ops"] and not any("FLEX" in op for op in report["ops"])
    got = run_tflite(str(tmp_path / "glgan.tflite"), image, mask[..., 0])
    np.testing.assert_allclose(got, want, atol=1e-4)


# -- training -----------------------------------------------------------------------------------
def test_warmup_turns_the_adversarial_term_off_then_on():
    cfg = _tiny(loss={"warmup_steps": 1})
    gan = build_gan(cfg)
    compile_gan(gan, cfg)
    assert isinstance(gan, BaselineGAN)
    data = make_batch(n=4, size=32, seed=3)
    first = {k: float(v) for k, v in gan.test_step(data).items()}
    assert set(first) == set(BASELINE_METRIC_NAMES)
    assert first["g_adv"] > 0
    assert first["g_loss"] == pytest.approx(first["g_rec"], rel=1e-6)  # weight 1, no adv term
    gan.train_step(data)
    gan.reset_metrics()
    after = {k: float(v) for k, v in gan.test_step(data).items()}
    assert after["g_loss"] == pytest.approx(after["g_rec"] + 0.0004 * after["g_adv"], rel=1e-6)
    assert after["g_loss"] != pytest.approx(after["g_rec"], rel=1e-6)
