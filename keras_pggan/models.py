"""Model assembly: which generator, discriminator and GAN wrapper a config means.

A registry maps each variant name (``GeneratorConfig.variant``, ``DiscriminatorConfig.variant``)
to its builder; :func:`build_gan` assembles the GAN of an :class:`ExperimentConfig` and is what
the training CLI, the benchmarks, the scripts and the tests call.

Example:
    >>> from keras_pggan.config import get_preset
    >>> gan = build_gan(get_preset("tiny"))
    >>> compile_gan(gan, get_preset("tiny"))
"""

from __future__ import annotations

from collections.abc import Callable

from keras_pggan.config import ExperimentConfig

# Discriminator variants of the paper (trained by ``PGGAN``); the others are the baselines'
# (trained by ``BaselineGAN``, which reads the mask and has one adversarial term).
PAPER_DISCRIMINATORS = ("pggan", "global", "patch")


def _pggan_generator(cfg: ExperimentConfig):
    from keras_pggan.generator import build_generator

    return build_generator(cfg.generator)


def _ce_generator(cfg: ExperimentConfig):
    from keras_pggan import ce

    return ce.build_ce_generator(cfg.generator, cfg.data.image_size)


def _glgan_generator(cfg: ExperimentConfig):
    from keras_pggan import glgan

    return glgan.build_glgan_generator(cfg.generator)


def _pggan_discriminator(cfg: ExperimentConfig):
    from keras_pggan.discriminator import build_discriminator

    return build_discriminator(cfg.discriminator, cfg.data.image_size)


def _ce_discriminator(cfg: ExperimentConfig):
    from keras_pggan import ce

    return ce.build_ce_discriminator(cfg.discriminator, cfg.data.image_size)


def _glgan_discriminator(cfg: ExperimentConfig):
    from keras_pggan import glgan

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


def build_gan(cfg: ExperimentConfig):
    """Builds the generator, discriminator and GAN wrapper of ``cfg``, seeded, in the current scope.

    ``PGGAN`` for the paper's discriminators; ``BaselineGAN`` for a baseline's (``"ce"``,
    ``"glgan"``). The layers compute in ``cfg.train.precision`` (variables stay float32; the
    generator's tanh output and the discriminator's logits are float32 layers); the process's
    global dtype policy is restored afterwards.

    Raises:
        ValueError: naming the known variants for an unknown generator or discriminator.
    """
    import keras

    from keras_pggan.model import PGGAN, BaselineGAN

    keras.utils.set_random_seed(cfg.train.seed)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(cfg.train.precision)
    try:
        generator = build_generator_for(cfg)
        discriminator = build_discriminator_for(cfg)
        kwargs = {"nan_policy": cfg.train.nan_policy}
        if cfg.discriminator.variant in PAPER_DISCRIMINATORS:
            return PGGAN(generator, discriminator, cfg.loss, name="pggan", **kwargs)
        name = f"{cfg.discriminator.variant}_gan"
        return BaselineGAN(generator, discriminator, cfg.loss, name=name, **kwargs)
    finally:
        keras.config.set_dtype_policy(previous)


# TrainConfig.jit_compile → keras.Model.compile(jit_compile=...).
_JIT_COMPILE = {"auto": "auto", "true": True, "false": False}


def compile_gan(gan, cfg: ExperimentConfig) -> None:
    """Compiles with the Adam settings of ``cfg.train``; builds both optimisers (PGGAN.compile).

    Under ``precision="mixed_float16"`` the GAN's compile wraps both optimisers in
    ``keras.optimizers.LossScaleOptimizer``. ``cfg.train.jit_compile`` goes to
    ``keras.Model.compile`` (``"auto"``: Keras's rule, XLA on a single GPU, off on CPU-only
    machines and under a ``tf.distribute`` strategy).
    """
    import keras

    t = cfg.train
    gan.compile(
        g_optimizer=keras.optimizers.Adam(
            t.g_learning_rate, beta_1=t.beta_1, beta_2=t.beta_2, name="g_adam"
        ),
        d_optimizer=keras.optimizers.Adam(
            t.d_learning_rate, beta_1=t.beta_1, beta_2=t.beta_2, name="d_adam"
        ),
        jit_compile=_JIT_COMPILE[t.jit_compile],
    )
