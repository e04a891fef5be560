"""keras_pggan: image inpainting with a patch-based GAN (PGGAN, Demir & Unal 2018) in Keras 3.

The public API is re-exported here; submodules hold one concept each (see docs/design.md).
"""

# Before anything imports TensorFlow: `python -m keras_pggan.train` gets the measured CPU
# speed settings (keras_pggan.cpu; the user's own environment wins). No effect otherwise.
from keras_pggan import cpu as _cpu

if _cpu.started_as_training_cli():
    _cpu.apply_training_env()
# Any keras_pggan command line (python -m keras_pggan.<tool>, keras-pggan-<tool>): no TensorFlow
# start-up noise unless the user's environment asks for it (TF_CPP_MIN_LOG_LEVEL).
if _cpu.started_as_cli():
    _cpu.apply_cli_env()

__version__ = "0.1.0"

# The public names, imported on first use (PEP 562): `import keras_pggan` and every command's
# --help stay free of TensorFlow. Saved models load through keras_pggan.models.saved, which
# registers every custom layer first (keras_pggan.load_generator and every runner use it).
_EXPORTS = {
    "PGGAN": "keras_pggan.training.model",
    "DataConfig": "keras_pggan.config",
    "DiscriminatorConfig": "keras_pggan.config",
    "ExperimentConfig": "keras_pggan.config",
    "GeneratorConfig": "keras_pggan.config",
    "Inpainter": "keras_pggan.inference.inpainter",
    "LossConfig": "keras_pggan.config",
    "MaskConfig": "keras_pggan.config",
    "TrainConfig": "keras_pggan.config",
    "build_discriminator": "keras_pggan.models.discriminator",
    "build_generator": "keras_pggan.models.generator",
    "composite": "keras_pggan.inference.fill",
    "fill_holes": "keras_pggan.inference.fill",
    "get_preset": "keras_pggan.presets",
    "load_generator": "keras_pggan.models.saved",
    "preset_names": "keras_pggan.models.shipped",
}

__all__ = [
    "PGGAN",
    "DataConfig",
    "DiscriminatorConfig",
    "ExperimentConfig",
    "GeneratorConfig",
    "Inpainter",
    "LossConfig",
    "MaskConfig",
    "TrainConfig",
    "build_discriminator",
    "build_generator",
    "composite",
    "fill_holes",
    "get_preset",
    "load_generator",
    "preset_names",
]


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later lookups skip __getattr__
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
