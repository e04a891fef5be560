"""PGGAN training steps; MirroredStrategy equality for every variant is in contracts_test.py."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import make_batch

from keras_pggan.models.discriminator import build_discriminator
from keras_pggan.models.generator import build_generator
from keras_pggan.training.model import METRIC_NAMES, PGGAN


def _gan(cfg, strategy=None, g_lr=2e-4, d_lr=2e-4, seed=0):
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        keras.utils.set_random_seed(seed)
        gan = PGGAN(
            build_generator(cfg.generator),
            build_discriminator(cfg.discriminator, cfg.data.image_size),
            cfg.loss,
        )
        gan.compile(
            g_optimizer=keras.optimizers.Adam(g_lr, beta_1=0.5),
            d_optimizer=keras.optimizers.Adam(d_lr, beta_1=0.5),
        )
    return gan


def _values(variables):
    return [v.numpy().copy() for v in variables]


def _changed(before, variables):
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


def test_compile_builds_both_optimizers_with_disjoint_variables(tiny_cfg):
    gan = _gan(tiny_cfg)
    assert gan.g_optimizer.built and gan.d_optimizer.built
    assert gan.optimizer is None  # no stray third optimiser in checkpoints
    g_ids = {id(v) for v in gan.generator.trainable_variables}
    d_ids = {id(v) for v in gan.discriminator.trainable_variables}
    assert g_ids and d_ids and not g_ids & d_ids


def test_d_step_moves_only_d_and_g_step_moves_only_g(tiny_cfg, batch):
    data = {k: tf.constant(v) for k, v in batch.items()}
    # Discriminator phase alone: G's learning rate is 0.
    gan = _gan(tiny_cfg, g_lr=0.0)
    g0, d0 = _values(gan.generator.weights), _values(gan.discriminator.trainable_weights)
    gan.train_step(data)
    assert not any(_changed(g0, gan.generator.weights))
    assert all(_changed(d0, gan.discriminator.trainable_weights))
    # Generator phase alone: D's learning rate is 0.
    gan = _gan(tiny_cfg, d_lr=0.0)
    g0, d0 = _values(gan.generator.trainable_weights), _values(gan.discriminator.weights)
    gan.train_step(data)
    assert not any(_changed(d0, gan.discriminator.weights))
    assert all(_changed(g0, gan.generator.trainable_weights))


def test_metrics_and_loss_composition(tiny_cfg, batch):
    gan = _gan(tiny_cfg)
    logs = {k: float(v) for k, v in gan.test_step(batch).items()}
    assert set(logs) == set(METRIC_NAMES) and "loss" not in logs
    lc = tiny_cfg.loss
    expected = (
        lc.l1_weight * logs["g_l1"]
        + lc.global_adv_weight * logs["g_adv_global"]
        + lc.patch_adv_weight * logs["g_adv_patch"]
    )
    assert logs["g_loss"] == pytest.approx(expected, rel=1e-5)
    assert logs["d_loss"] == pytest.approx(logs["d_global"] + logs["d_patch"], rel=1e-5)


def test_ablation_variant_logs_zero_for_missing_head(tiny_cfg, batch):
    cfg = tiny_cfg.replace(discriminator={"variant": "patch"})
    logs = {k: float(v) for k, v in _gan(cfg).train_step(batch).items()}
    assert logs["d_global"] == 0.0 and logs["g_adv_global"] == 0.0
    assert logs["d_patch"] > 0 and logs["g_adv_patch"] > 0


def test_learning_works_on_flat_colour_images(tiny_cfg):
    # Each image is one flat colour: filling a hole means copying the surrounding colour.
    rng = np.random.default_rng(0)
    n = 64
    colours = rng.uniform(0.1, 0.9, (n, 1, 1, 3)).astype("float32")
    images = np.broadcast_to(colours, (n, 32, 32, 3)).copy()
    masks = make_batch(n=n, seed=1)["mask"]
    ds = tf.data.Dataset.from_tensor_slices({"image": images, "mask": masks})
    ds = ds.shuffle(n, seed=0).repeat().batch(8)
    gan = _gan(tiny_cfg, g_lr=1e-3, d_lr=2e-4)
    first = float(gan.evaluate(ds, steps=4, verbose=0, return_dict=True)["hole_l1"])
    gan.fit(ds, steps_per_epoch=60, epochs=1, verbose=0, shuffle=False)
    last = float(gan.evaluate(ds, steps=4, verbose=0, return_dict=True)["hole_l1"])
    assert last <= 0.5 * first, (first, last)


def test_colour_levers_change_the_reconstruction_term_as_defined(tiny_cfg, batch):
    from keras_pggan.training import losses

    data = {k: tf.constant(v) for k, v in batch.items()}
    cfg = tiny_cfg.replace(loss={"colour_space": "ycbcr", "chroma_weight": 3.0,
                                 "colour_lowpass_weight": 2.0})  # fmt: skip
    gan = _gan(cfg)
    logs = {k: float(v) for k, v in gan.test_step(data).items()}
    images = data["image"] * 2.0 - 1.0
    masks = data["mask"]
    fake = gan.generator({"image": images, "mask": masks}, training=False)
    ycc_true, ycc_fake = losses.rgb_to_ycbcr(images), losses.rgb_to_ycbcr(fake)
    lc = cfg.loss
    expected = losses.reconstruction_loss(
        ycc_true, ycc_fake, masks, lc.reconstruction, lc.hole_weight, (1.0, 3.0, 3.0)
    ) + 2.0 * losses.colour_lowpass_loss(images, fake, masks)
    assert logs["g_l1"] == pytest.approx(float(tf.reduce_mean(expected)), rel=1e-4)
    rgb = {k: float(v) for k, v in _gan(tiny_cfg).test_step(data).items()}
    assert rgb["g_l1"] != pytest.approx(logs["g_l1"], rel=1e-3)


def test_the_trunk_features_are_the_discriminators_own_activations(tiny_cfg, batch):
    from keras_pggan.models.discriminator import trunk_features

    d = build_discriminator(tiny_cfg.discriminator, tiny_cfg.data.image_size)
    images = tf.constant(batch["image"]) * 2.0 - 1.0
    features = trunk_features(d, images)
    n = tiny_cfg.discriminator.num_shared_layers
    assert len(features) == n
    size = tiny_cfg.data.image_size
    for i, f in enumerate(features, start=1):
        tap = keras.Model(d.inputs, d.get_layer(f"shared{i}_lrelu").output)
        assert tuple(f.shape[1:3]) == (size // 2**i, size // 2**i)
        np.testing.assert_allclose(f.numpy(), tap(images).numpy(), atol=1e-6)


def test_feature_matching_adds_the_trunk_l1_to_the_generator_loss(tiny_cfg, batch):
    from keras_pggan.models.discriminator import trunk_features
    from keras_pggan.training import losses
    from keras_pggan.training.model import FEATURE_MATCHING

    data = {k: tf.constant(v) for k, v in batch.items()}
    plain = _gan(tiny_cfg)
    assert FEATURE_MATCHING not in plain.test_step(data)
    cfg = tiny_cfg.replace(loss={"feature_matching_weight": 0.5})
    gan = _gan(cfg)
    logs = {k: float(v) for k, v in gan.test_step(data).items()}
    images = data["image"] * 2.0 - 1.0
    fake = gan.generator({"image": images, "mask": data["mask"]}, training=False)
    composited = data["mask"] * fake + (1.0 - data["mask"]) * images
    expected = losses.feature_matching_loss(
        trunk_features(gan.discriminator, images), trunk_features(gan.discriminator, composited)
    )
    assert logs[FEATURE_MATCHING] == pytest.approx(float(tf.reduce_mean(expected)), rel=1e-4)
    assert logs[FEATURE_MATCHING] > 0
    lc = cfg.loss
    without = (
        lc.l1_weight * logs["g_l1"]
        + lc.global_adv_weight * logs["g_adv_global"]
        + lc.patch_adv_weight * logs["g_adv_patch"]
    )
    assert logs["g_loss"] - without == pytest.approx(0.5 * logs[FEATURE_MATCHING], rel=1e-4)
    # The real image against itself: nothing to match.
    same = losses.feature_matching_loss(trunk_features(gan.discriminator, images),
                                        trunk_features(gan.discriminator, images))  # fmt: skip
    np.testing.assert_array_equal(same.numpy(), np.zeros(len(batch["image"]), np.float32))
    # A training step logs it and moves only G with it (D's lr 0 leaves D as it was).
    gan = _gan(cfg, d_lr=0.0)
    d0 = _values(gan.discriminator.weights)
    assert float(gan.train_step(data)[FEATURE_MATCHING]) > 0
    assert not any(_changed(d0, gan.discriminator.weights))


def test_feature_matching_needs_a_discriminator_with_a_trunk(tiny_cfg):
    from keras_pggan.config import LossConfig
    from keras_pggan.models.ce import build_ce_discriminator

    with pytest.raises(ValueError, match="feature_matching_weight"):
        LossConfig(feature_matching_weight=-1.0)
    ce = dataclasses.replace(tiny_cfg.discriminator, variant="ce")
    d = build_ce_discriminator(ce, tiny_cfg.data.image_size)
    with pytest.raises(ValueError, match="no shared trunk"):
        PGGAN(build_generator(tiny_cfg.generator), d, LossConfig(feature_matching_weight=1.0))


def test_evaluating_with_feature_matching_leaves_a_spectral_discriminator_as_is(tiny_cfg, batch):
    # SpectralNormalization updates its power-iteration vector when called with training=True.
    cfg = tiny_cfg.replace(
        loss={"feature_matching_weight": 0.5}, discriminator={"norm": "spectral"}
    )
    gan = _gan(cfg)
    data = {k: tf.constant(v) for k, v in batch.items()}
    before = _values(gan.discriminator.weights)
    assert len(before) > len(gan.discriminator.trainable_weights)  # the vectors are weights
    gan.test_step(data)
    assert not any(_changed(before, gan.discriminator.weights))
