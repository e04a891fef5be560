"""keras_pggan: image inpainting with a patch-based GAN (PGGAN, Demir & Unal 2018) in Keras 3.

The public API is re-exported here; submodules hold one concept each (see docs/design.md).
"""

# Before anything imports TensorFlow: `python -m keras_pggan.train` gets the measured CPU
# speed settings (keras_pggan.cpu; the user's own environment wins). No effect otherwise.
from keras_pggan import cpu as _cpu

if _cpu.started_as_training_cli():
    _cpu.apply_training_env()

# Registers the baselines' custom layers so saved CE/GLGAN generators load anywhere.
from keras_pggan import ce, glgan  # noqa: F401
from keras_pggan.config import (
    DataConfig,
    DiscriminatorConfig,
    ExperimentConfig,
    GeneratorConfig,
    LossConfig,
    MaskConfig,
    TrainConfig,
    get_preset,
)
from keras_pggan.discriminator import build_discriminator
from keras_pggan.generator import build_generator, composite, fill_holes, load_generator
from keras_pggan.model import PGGAN

__version__ = "0.1.0"

__all__ = [
    "PGGAN",
    "DataConfig",
    "DiscriminatorConfig",
    "ExperimentConfig",
    "GeneratorConfig",
    "LossConfig",
    "MaskConfig",
    "TrainConfig",
    "build_discriminator",
    "build_generator",
    "composite",
    "fill_holes",
    "get_preset",
    "load_generator",
]
