"""GAN assembly: the generator and discriminator of a config in their training wrapper.

:func:`build_gan` is what the training CLI, the benchmarks, the scripts and the tests call;
:func:`compile_gan` gives it the Adam settings of the config.

Example:
    >>> from keras_pggan.config import get_preset
    >>> gan = build_gan(get_preset("tiny"))
    >>> compile_gan(gan, get_preset("tiny"))
"""

from __future__ import annotations

from keras_pggan.config import ExperimentConfig
from keras_pggan.models.registry import (
    PAPER_DISCRIMINATORS,
    build_discriminator_for,
    build_generator_for,
)


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

    from keras_pggan.training.model import PGGAN, BaselineGAN

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
