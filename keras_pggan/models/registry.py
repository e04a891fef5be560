"""The model registry: which generator and discriminator builder a variant name means.

A registry maps each variant name (``GeneratorConfig.variant``, ``DiscriminatorConfig.variant``)
to its builder; :func:`keras_pggan.training.build.build_gan` assembles the GAN around them.

Example:
    >>> from keras_pggan.config import get_preset
    >>> generator = build_generator_for(get_preset("tiny"))
"""

from __future__ import annotations

from collections.abc import Callable

from keras_pggan.config import (
    DISCRIMINATOR_VARIANTS,
    GENERATOR_VARIANTS,
    PAPER_DISCRIMINATORS,
    ExperimentConfig,
)

__all__ = [
    "DISCRIMINATORS",
    "GENERATORS",
    "PAPER_DISCRIMINATORS",  # from keras_pggan.config (the PGGAN-trained variants)
    "build_discriminator_for",
    "build_generator_for",
]


def _pggan_generator(cfg: ExperimentConfig):
    from keras_pggan.models.generator import build_generator

    return build_generator(cfg.generator)


def _ce_generator(cfg: ExperimentConfig):
    from keras_pggan.models import ce

    return ce.build_ce_generator(cfg.generator, cfg.data.image_size)


def _glgan_generator(cfg: ExperimentConfig):
    from keras_pggan.models import glgan

    return glgan.build_glgan_generator(cfg.generator)


def _pggan_discriminator(cfg: ExperimentConfig):
    from keras_pggan.models.discriminator import build_discriminator

    return build_discriminator(cfg.discriminator, cfg.data.image_size)


def _ce_discriminator(cfg: ExperimentConfig):
    from keras_pggan.models import ce

    return ce.build_ce_discriminator(cfg.discriminator, cfg.data.image_size)


def _glgan_discriminator(cfg: ExperimentConfig):
    from keras_pggan.models import glgan

    return glgan.build_glgan_discriminator(cfg.discriminator, cfg.data.image_size)


GENERATORS: dict[str, Callable] = {
    "dres": _pggan_generator,
    "res": _pggan_generator,
    "ce": _ce_generator,
    "glgan": _glgan_generator,
}
DISCRIMINATORS: dict[str, Callable] = {
    **dict.fromkeys(PAPER_DISCRIMINATORS, _pggan_discriminator),
    "ce": _ce_discriminator,
    "glgan": _glgan_discriminator,
}
# The schema (keras_pggan.config) owns the variant names; a registry that disagrees with it is a
# programming error, refused when this module is imported.
if set(GENERATORS) != set(GENERATOR_VARIANTS) or set(DISCRIMINATORS) != set(DISCRIMINATOR_VARIANTS):
    raise RuntimeError("the model registry's variants differ from keras_pggan.config's")


def _lookup(registry: dict[str, Callable], kind: str, variant: str) -> Callable:
    try:
        return registry[variant]
    except KeyError:
        known = ", ".join(sorted(registry))
        raise ValueError(f"unknown {kind} variant {variant!r}; known variants: {known}") from None


def build_generator_for(cfg: ExperimentConfig):
    """The generator of ``cfg`` (``cfg.generator.variant``), unseeded, in the current scope.

    Raises:
        ValueError: naming the known variants for an unknown one.
    """
    return _lookup(GENERATORS, "generator", cfg.generator.variant)(cfg)


def build_discriminator_for(cfg: ExperimentConfig):
    """The discriminator of ``cfg`` (``cfg.discriminator.variant``), in the current scope.

    Raises:
        ValueError: naming the known variants for an unknown one.
    """
    return _lookup(DISCRIMINATORS, "discriminator", cfg.discriminator.variant)(cfg)
