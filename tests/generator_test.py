"""PGGAN generator specifics; the contract every variant keeps is in contracts_test.py."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
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


# The shipped generator's output on a fixed 24×40 input (raw output: every 97th value, rounded to
# 1e-6, and sums; the fill through keras_pggan.fill_holes with pad_multiple=4). First recorded
# before the networks' conv-block helpers became keras_pggan.models.layers.conv_block; recorded
# again from the reshipped weights (2026-12-07, v3-lowpass-256 epoch 3) by running
# _SHIPPED_SCRIPT: a reship changes these numbers, a code change must not.
SHIPPED = os.path.join(os.path.dirname(__file__), os.pardir, "saved_models", "pggan_dres.keras")
_SHIPPED_RAW_SAMPLE = [
    -0.830213, -0.607433, -0.371326, -0.20317, -0.733446, -0.858721, 0.698785, -0.617908, -0.175214,
    -0.490379, -0.360964, 0.399752, 0.481411, -0.275253, -0.28289, -0.807418, 0.04469, 0.328321,
    0.150035, 0.302466, -0.338672, 0.770076, 0.443679, 0.274892, -0.244, 0.713953, -0.4193,
    0.657831, 0.69518, 0.252257
]  # fmt: skip
_SHIPPED_RAW_SUM = -129.08551526168594
_SHIPPED_FILL_SUM = 1391.4490385204554
_SHIPPED_SCRIPT = """
import json, sys
import numpy as np
import keras_pggan

g = keras_pggan.load_generator(sys.argv[1])
h, w = 24, 40
yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
image = np.stack([xx / w, yy / h, (xx + yy) / (h + w)], -1)[None]
mask = np.zeros((1, h, w, 1), np.float32)
mask[0, 6:18, 10:30] = 1
fill = np.asarray(keras_pggan.fill_holes(g, image, mask, pad_multiple=4))
raw = np.asarray(g({"image": image * 2 - 1, "mask": mask}))
print(json.dumps({"fill_sum": float(fill.sum(dtype=np.float64)),
                  "raw_sum": float(raw.sum(dtype=np.float64)),
                  "raw_sample": raw.reshape(-1)[::97].tolist()}))
"""


def test_shipped_generator_loads_alone_in_a_fresh_interpreter_and_computes_as_recorded():
    # Only keras_pggan.load_generator is imported: it must register every custom layer itself.
    run = subprocess.run(
        [sys.executable, "-c", _SHIPPED_SCRIPT, os.path.abspath(SHIPPED)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(got["raw_sample"], _SHIPPED_RAW_SAMPLE, atol=1e-4)
    assert got["raw_sum"] == pytest.approx(_SHIPPED_RAW_SUM, abs=1e-2)
    assert got["fill_sum"] == pytest.approx(_SHIPPED_FILL_SUM, abs=1e-2)


def test_run_directory_names_and_lookups(tmp_path):
    from keras_pggan.models import saved

    run = str(tmp_path)
    assert saved.generator_path(run) == os.path.join(run, "generator.keras")
    assert saved.generator_path(run, ema=True) == os.path.join(run, "generator_ema.keras")
    assert saved.discriminator_path(run) == os.path.join(run, "discriminator.keras")
    assert saved.newest_generator(run) is None
    os.makedirs(os.path.join(run, "checkpoints"))
    for stem, epoch in [("generator", 9), ("generator", 10), ("generator_ema", 12)]:
        name = saved.checkpoint_name(stem, epoch)
        with open(os.path.join(run, "checkpoints", name), "w") as f:
            f.write("x")
    assert saved.checkpoint_name("generator", 3) == "generator-epoch003.keras"
    assert saved.checkpoint_epoch("a/generator-epoch010.keras") == 10
    assert saved.checkpoint_epoch("a/generator_ema-epoch010.keras") is None
    assert saved.checkpoint_epoch("a/generator_ema-epoch012.keras", "generator_ema") == 12
    names = [os.path.basename(p) for p in saved.checkpoints(run)]
    assert names == ["generator-epoch009.keras", "generator-epoch010.keras"]
    os.utime(os.path.join(run, "checkpoints", "generator-epoch009.keras"), (1, 1))
    assert saved.newest_generator(run).endswith("generator-epoch010.keras")
    assert saved.newest_generator(run, ema=True).endswith("generator_ema-epoch012.keras")
    with pytest.raises(FileNotFoundError, match="generator.keras"):
        saved.load_generator(run)
    with pytest.raises(ValueError, match="expected a .keras file"):
        saved.load_model(os.path.join(run, "checkpoints"))
