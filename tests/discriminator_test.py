import numpy as np
import pytest
import tensorflow as tf

from keras_pggan.config import DiscriminatorConfig, get_preset
from keras_pggan.models.discriminator import build_discriminator


@pytest.mark.parametrize("size,patch", [(256, 16), (512, 32)])
def test_head_shapes_default(size, patch):
    d = build_discriminator(DiscriminatorConfig(), size)
    out = d(tf.zeros([1, size, size, 3]))
    assert set(out) == {"global", "patch"}
    assert tuple(out["global"].shape) == (1, 1)
    assert tuple(out["patch"].shape) == (1, patch, patch, 1)


def test_heads_share_the_trunk():
    d = build_discriminator(DiscriminatorConfig(base_filters=4, max_filters=8), 64)
    names = [layer.name for layer in d.layers]
    assert sum(n.startswith("shared") and n.endswith("_conv") for n in names) == 3
    # Both heads branch from the same last trunk activation.
    trunk_out = d.get_layer("shared3_lrelu").output
    consumers = [
        layer.name
        for layer in d.layers
        if any(n is trunk_out for n in tf.nest.flatten(layer.input))
    ]
    assert {"patch1_conv", "global1_conv"} <= set(consumers)


@pytest.mark.parametrize(
    "variant,keys", [("global", {"global"}), ("patch", {"patch"}), ("pggan", {"global", "patch"})]
)
def test_ablation_variants(variant, keys):
    cfg = DiscriminatorConfig(variant=variant, base_filters=4, max_filters=8)
    out = build_discriminator(cfg, (64, 96))(tf.zeros([2, 64, 96, 3]))
    assert set(out) == keys
    if "patch" in keys:
        assert tuple(out["patch"].shape) == (2, 4, 6, 1)


def test_spectral_norm_variant_runs_and_bad_size_is_rejected():
    cfg = DiscriminatorConfig(norm="spectral", base_filters=4, max_filters=8)
    d = build_discriminator(cfg, 32)
    out = d(tf.random.uniform([1, 32, 32, 3]), training=True)
    assert np.isfinite(out["global"].numpy()).all()
    with pytest.raises(ValueError, match="not a multiple of the discriminator's patch stride 16"):
        build_discriminator(DiscriminatorConfig(), 100)


def test_global_head_learns_at_small_sizes_where_its_map_is_1x1():
    # At 64² the G-GAN head's last map is 1×1; instance norm there would zero it and the logit
    # would be the same constant for every image (the dead head the demo runs showed).

    cfg = get_preset("pggan-dres").discriminator
    d = build_discriminator(cfg, 64)
    images = tf.random.stateless_uniform([2, 64, 64, 3], seed=[3, 4], minval=-1, maxval=1)
    logits = d(images)["global"].numpy().ravel()
    assert abs(logits[0] - logits[1]) > 1e-4, logits
    norms = [layer.name for layer in d.layers if "global" in layer.name and "norm" in layer.name]
    assert norms and not any(n.startswith("global3") for n in norms), norms


@pytest.mark.parametrize("preset", ["ce", "glgan"])
def test_baseline_configs_are_refused_not_built_as_pggan(preset):
    with pytest.raises(ValueError, match=f"build_{preset}_discriminator"):
        build_discriminator(get_preset(preset).discriminator, 64)
