"""The contracts of tests/contracts.py, run for every generator variant, and the models registry."""

import dataclasses

import keras
import numpy as np
import pytest
from contracts import (
    VARIANTS,
    check_generator_contract,
    check_mirrored_equals_one_device,
    tiny_config,
)

from keras_pggan import config
from keras_pggan.config import DISCRIMINATOR_VARIANTS, GENERATOR_VARIANTS, PRESETS, get_preset
from keras_pggan.models import registry as models
from keras_pggan.models.generator import pad_multiple_of
from keras_pggan.models.layers import (
    MaskedInput,
    ResizeUpsample,
    apply_residual_block,
    conv_block,
)
from keras_pggan.training import build, guards, losses
from keras_pggan.training.model import (
    BASELINE_METRIC_NAMES,
    FEATURE_MATCHING,
    METRIC_NAMES,
    PGGAN,
    BaselineGAN,
)

# The generator's pad multiple (2**num_downsamplings) in each tiny config.
MULTIPLE = {"dres": 4, "res": 8, "ce": 8, "glgan": 4}


def test_every_variant_has_a_contract_case():
    assert set(VARIANTS) == set(GENERATOR_VARIANTS) == set(MULTIPLE)
    for variant in VARIANTS:
        cfg = tiny_config(variant)
        assert cfg.generator.variant == variant
        assert cfg.generator.pad_multiple == MULTIPLE[variant]


@pytest.mark.parametrize("variant", VARIANTS)
def test_generator_contract(variant, tmp_path):
    cfg = tiny_config(variant)  # CE: fixed size 32, so 32×48 and 37×45 are resized inside
    generator = models.build_generator_for(cfg)
    check_generator_contract(generator, 32, 48, MULTIPLE[variant], tmp_path)


# 16² and fewer layers for the baselines: a MirroredStrategy step is traced once per replica.
# "dres" also carries the feature-matching term (its trunk pass runs in the replica context);
# "res" runs PGGAN's default loss.
MIRRORED = {
    "dres": (
        lambda: tiny_config("dres", loss={"feature_matching_weight": 0.5}),
        PGGAN,
        (*METRIC_NAMES, FEATURE_MATCHING),
    ),
    "res": (lambda: tiny_config("res"), PGGAN, METRIC_NAMES),
    "ce": (
        lambda: tiny_config("ce", generator={"num_downsamplings": 2}, data={"image_size": 16}),
        BaselineGAN,
        BASELINE_METRIC_NAMES,
    ),
    "glgan": (
        lambda: tiny_config(
            "glgan",
            generator={"num_downsamplings": 1, "dilation_rates": [2]},
            data={"image_size": 16},
        ),
        BaselineGAN,
        BASELINE_METRIC_NAMES,
    ),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_mirrored_two_cpu_replicas_equal_one_device(variant):
    make_cfg, gan_class, metric_names = MIRRORED[variant]
    cfg = make_cfg()
    assert cfg.generator.variant == variant and cfg.train.global_batch_size == 4
    check_mirrored_equals_one_device(cfg, gan_class, metric_names, steps=3)


# -- the registry (keras_pggan.models.registry)
# ----------------------------------------------------------
def test_registry_covers_exactly_the_config_variants():
    assert set(models.GENERATORS) == set(GENERATOR_VARIANTS)
    assert set(models.DISCRIMINATORS) == set(DISCRIMINATOR_VARIANTS)


def _with_variant(section, variant):
    # The configs are frozen and validate their variant: bypass it to reach the registry.
    copy = dataclasses.replace(section)
    object.__setattr__(copy, "variant", variant)
    return copy


def test_unknown_variants_raise_naming_the_known_ones():
    cfg = tiny_config("dres")
    bad_g = dataclasses.replace(cfg, generator=_with_variant(cfg.generator, "unet"))
    known_g = ", ".join(sorted(GENERATOR_VARIANTS))
    with pytest.raises(
        ValueError, match=f"unknown generator variant 'unet'; known variants: {known_g}$"
    ):
        models.build_generator_for(bad_g)
    with pytest.raises(ValueError, match="unknown generator variant 'unet'"):
        build.build_gan(bad_g)

    bad_d = dataclasses.replace(cfg, discriminator=_with_variant(cfg.discriminator, "wgan"))
    known_d = ", ".join(sorted(DISCRIMINATOR_VARIANTS))
    with pytest.raises(
        ValueError, match=f"unknown discriminator variant 'wgan'; known variants: {known_d}$"
    ):
        models.build_discriminator_for(bad_d)


# Generators of every preset and of each down-sampling depth, built on small widths.
_PAD_CASES = [
    *((name, {}) for name in sorted(PRESETS)),
    ("tiny", {"generator": {"num_downsamplings": 1}}),
    ("tiny", {"generator": {"num_downsamplings": 3}}),
    ("tiny", {"generator": {"upsample": "transposed"}}),
    ("glgan", {"generator": {"base_filters": 4, "max_filters": 8, "num_downsamplings": 3}}),
    ("ce", {"generator": {"base_filters": 4, "max_filters": 8, "num_downsamplings": 3}}),
]


@pytest.mark.parametrize("preset, sections", _PAD_CASES)
def test_built_pad_multiple_equals_the_configs(preset, sections):
    # pad_multiple_of(model) is the definition for built models (it reads the strides);
    # GeneratorConfig.pad_multiple is the pre-build check: they must agree for every variant.
    cfg = get_preset(preset).replace(**sections) if sections else get_preset(preset)
    generator = models.build_generator_for(cfg)
    assert pad_multiple_of(generator) == cfg.generator.pad_multiple


def test_every_name_the_schema_accepts_is_one_its_owners_accept():
    # keras_pggan.config owns the name lists; the modules that act on a name accept each of them.
    x = np.zeros((1, 4, 4, 2), np.float32)
    for interpolation in config.INTERPOLATIONS:
        assert ResizeUpsample(2, interpolation)(x).shape == (1, 8, 8, 2)
    for fill in config.HOLE_FILLS:
        assert MaskedInput(fill)([x, np.ones((1, 4, 4, 1), np.float32)]).shape == (1, 4, 4, 3)
    for block_type in config.BLOCK_TYPES:
        apply_residual_block(keras.Input((4, 4, 2)), 2, 2, "none", f"r_{block_type}", block_type)
    for norm in config.NORMS_D:
        conv_block(keras.Input((4, 4, 2)), 2, 3, norm=norm, name=f"n_{norm}")
    logits = np.zeros((1, 1), np.float32)
    for kind in config.ADVERSARIAL_LOSSES:
        assert losses.generator_adversarial_loss(logits, kind).shape == (1,)
    assert set(config.PAPER_GENERATORS) <= set(models.GENERATORS)
    assert set(config.PAPER_DISCRIMINATORS) <= set(models.DISCRIMINATORS)
    assert tuple(guards.NAN_POLICIES) == config.NAN_POLICIES
