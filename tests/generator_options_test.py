"""Generator design options (issue #22): block types and up-sampling, built, trained, exported.

``GeneratorConfig.block_type`` (which residual convolution is dilated) and ``upsample`` /
``upsample_interpolation`` (resize-conv with bilinear or bicubic, or a transposed convolution):
each option has the layers its name says, trains through ``run_training``, saves and loads, and
exports to SavedModel and TFLite with builtin ops only. The defaults build the shipped graph.
"""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from contracts import check_generator_contract, check_mirrored_equals_one_device, tiny_config

from keras_pggan.config import ExperimentConfig, GeneratorConfig, get_preset
from keras_pggan.inference.fill import fill_holes
from keras_pggan.models.generator import build_generator
from keras_pggan.models.layers import DilatedConv2D, ResizeUpsample
from keras_pggan.models.saved import load_generator

# The converter's int8 calibrator still uses the deprecated tf.lite.Interpreter internally.
pytestmark = pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = os.path.join(ROOT, "saved_models", "pggan_dres.keras")
SHIP_CONFIG = os.path.join(ROOT, "scripts", "configs", "pggan_dres_ship_v2.json")
RATES = (1, 2, 4, 8)
OPTIONS = {
    "dilated_first": {"block_type": "dilated_first"},
    "dilated_second": {"block_type": "dilated_second"},
    "transposed": {"upsample": "transposed"},
    "bicubic": {"upsample_interpolation": "bicubic"},
}


def _tiny(**generator) -> GeneratorConfig:
    return GeneratorConfig(base_filters=8, max_filters=16, dilation_rates=RATES, **generator)


def _producer(model, layer_name):
    """Name of the layer whose output feeds ``layer_name`` (its single input)."""
    return model.get_layer(layer_name).input._keras_history[0].name


@pytest.mark.parametrize(
    "block_type, first, second",
    [
        ("both", RATES, RATES),
        ("dilated_first", RATES, (1,) * 4),
        ("dilated_second", (1,) * 4, RATES),
    ],
)
def test_block_type_dilates_the_convolution_its_name_says(block_type, first, second):
    g = build_generator(_tiny(block_type=block_type, norm="instance"))
    for i, (r1, r2) in enumerate(zip(first, second), start=1):
        conv1, conv2 = g.get_layer(f"res{i}_1_conv"), g.get_layer(f"res{i}_2_conv")
        assert (conv1.dilation_rate, conv2.dilation_rate) == ((r1, r1), (r2, r2)), i
        assert conv1.kernel_size == conv2.kernel_size == (3, 3)
        for conv, rate in ((conv1, r1), (conv2, r2)):
            assert isinstance(conv, DilatedConv2D) == (rate > 1)
        # Conv → Norm → ReLU → Conv → Norm, then + the block's input.
        assert _producer(g, f"res{i}_1_norm") == f"res{i}_1_conv"
        assert _producer(g, f"res{i}_1_relu") == f"res{i}_1_norm"
        assert _producer(g, f"res{i}_2_conv") == f"res{i}_1_relu"
        assert _producer(g, f"res{i}_2_norm") == f"res{i}_2_conv"
        add_inputs = [t._keras_history[0].name for t in g.get_layer(f"res{i}_add").input]
        before = "down2_relu" if i == 1 else f"res{i - 1}_add"
        assert add_inputs == [before, f"res{i}_2_norm"]
    with pytest.raises(ValueError):  # two convolutions per block, no more
        g.get_layer("res1_3_conv")
    assert g.count_params() == build_generator(_tiny(norm="instance")).count_params()


def test_upsample_options_layers_and_equal_parameters():
    resize = build_generator(_tiny())
    transposed = build_generator(_tiny(upsample="transposed"))
    bicubic = build_generator(_tiny(upsample_interpolation="bicubic"))
    assert resize.count_params() == transposed.count_params() == bicubic.count_params()
    for i in (1, 2):
        up = transposed.get_layer(f"up{i}_conv")
        assert isinstance(up, keras.layers.Conv2DTranspose)
        assert (up.kernel_size, up.strides, up.padding) == ((3, 3), (2, 2), "same")
        assert isinstance(resize.get_layer(f"up{i}_conv"), keras.layers.Conv2D)
        assert resize.get_layer(f"up{i}_resize").interpolation == "bilinear"
        assert bicubic.get_layer(f"up{i}_resize").interpolation == "bicubic"
    assert not [layer for layer in transposed.layers if isinstance(layer, ResizeUpsample)]
    out = transposed({"image": tf.zeros([1, 16, 24, 3]), "mask": tf.ones([1, 16, 24, 1])})
    assert tuple(out.shape) == (1, 16, 24, 3)


def test_old_configs_load_with_todays_defaults():
    # The shipped model's config was written before these options existed.
    with open(SHIP_CONFIG, encoding="utf-8") as f:
        assert "block_type" not in json.load(f)["generator"]
    g = ExperimentConfig.load(SHIP_CONFIG).generator
    assert (g.block_type, g.upsample, g.upsample_interpolation) == (
        "both",
        "resize_conv",
        "bilinear",
    )
    for preset in ("pggan-dres", "pggan-res", "demo", "tiny", "ce", "glgan"):
        d = get_preset(preset).to_dict()
        del d["generator"]["block_type"], d["generator"]["upsample"]
        assert ExperimentConfig.from_dict(d) == get_preset(preset)


@pytest.mark.skipif(not os.path.exists(SHIPPED), reason="no shipped model in this checkout")
def test_default_options_build_the_shipped_graph():
    shipped = load_generator(SHIPPED)
    built = build_generator(ExperimentConfig.load(SHIP_CONFIG).generator)
    assert json.dumps(built.get_config(), sort_keys=True) == json.dumps(
        shipped.get_config(), sort_keys=True
    )


@pytest.mark.parametrize(
    "generator, message",
    [
        ({"block_type": "dilated"}, "block_type: must be one of"),
        ({"upsample": "pixel_shuffle"}, "upsample: must be one of"),
        ({"upsample_interpolation": "area"}, "upsample_interpolation: must be one of"),
        ({"upsample": "transposed", "upsample_interpolation": "bicubic"}, "not 'transposed'"),
        (
            {"variant": "res", "dilation_rates": (1, 1), "block_type": "dilated_first"},
            "no dilated convolution",
        ),
        ({"variant": "glgan", "upsample": "transposed"}, "only PGGAN generators"),
        ({"variant": "ce", "block_type": "dilated_second"}, "only PGGAN generators"),
    ],
)
def test_bad_option_combinations_are_refused(generator, message):
    with pytest.raises(ValueError, match=message):
        GeneratorConfig(**generator)


@pytest.mark.parametrize("option", ["transposed", "bicubic"])
def test_new_up_sampling_ops_train_the_same_on_two_mirrored_replicas(option):
    from keras_pggan.training.model import METRIC_NAMES, PGGAN

    cfg = tiny_config("dres", generator=OPTIONS[option])
    check_mirrored_equals_one_device(cfg, PGGAN, METRIC_NAMES, steps=3)


@pytest.mark.large
@pytest.mark.parametrize("option", list(OPTIONS))
def test_option_trains_saves_loads_and_exports(option, tmp_path):
    from keras_pggan.export.saved_model import export_saved_model
    from keras_pggan.export.tflite import export_tflite
    from keras_pggan.inference.backends import run_tflite
    from keras_pggan.training.run import run_training

    cfg = get_preset("tiny").replace(
        generator=OPTIONS[option], train={"steps_per_epoch": 2, "validation_steps": 0}
    )
    result = run_training(cfg, str(tmp_path / "run"), verbose=0)
    assert np.isfinite(result["history"]["g_loss"]).all()
    g = load_generator(result["generator_path"])
    assert ExperimentConfig.load(str(tmp_path / "run" / "config.json")) == cfg
    names = {layer.name: layer for layer in g.layers}
    if option == "transposed":
        assert isinstance(names["up1_conv"], keras.layers.Conv2DTranspose)
    elif option == "bicubic":
        assert names["up1_resize"].interpolation == "bicubic"
    else:
        rate = names["res2_1_conv"].dilation_rate, names["res2_2_conv"].dilation_rate
        assert rate == (((2, 2), (1, 1)) if option == "dilated_first" else ((1, 1), (2, 2)))
    check_generator_contract(g, 32, 48, 4, tmp_path)

    rng = np.random.default_rng(0)
    image = rng.uniform(size=(1, 36, 44, 3)).astype(np.float32)
    mask = np.zeros((1, 36, 44, 1), np.float32)
    mask[:, 8:24, 10:30] = 1.0
    want = fill_holes(g, image, mask, pad_multiple=4).numpy()
    report = export_saved_model(g, str(tmp_path / "sm"), check_size=False)
    served = tf.saved_model.load(report["path"]).signatures["serving_default"]
    got = served(image=tf.constant(image), mask=tf.constant(mask))["inpainted"].numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)

    modes = ("fp32", "int8") if option in ("transposed", "bicubic") else ("fp32",)
    for mode in modes:
        path = str(tmp_path / f"g-{mode}.tflite")
        tfl = export_tflite(
            g, path, mode=mode, num_calibration=4, calibration_size=32, min_size_ratio=0.0
        )
        assert not [op for op in tfl["ops"] if op.startswith("CUSTOM")]
        if option == "transposed":
            assert "TRANSPOSE_CONV" in tfl["ops"]
        if option == "bicubic":
            assert {"DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE"} <= set(tfl["ops"])
        out = run_tflite(path, image[0], mask[0, ..., 0])
        np.testing.assert_array_equal(out[mask[0, ..., 0] == 0], image[0][mask[0, ..., 0] == 0])
        tolerance = 1e-4 if mode == "fp32" else 0.1
        assert np.abs(out - want[0]).max() <= tolerance, (mode, np.abs(out - want[0]).max())
