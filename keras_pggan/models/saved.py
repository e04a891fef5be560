"""Saved models: the run directory's file names and the one way to load a ``.keras`` file.

A training run directory holds the final ``generator.keras`` (and ``generator_ema.keras`` with
weight averaging, ``discriminator.keras`` for warm starts) and per-epoch checkpoints
``checkpoints/generator[_ema]-epochNNN.keras``. Training writes these names, and warm starts,
the NaN guard, inference and export find them, through this module.

Every ``.keras`` load goes through :func:`load_model` (or :func:`load_generator`): saved files
name their custom layers ``keras_pggan>DilatedConv2D`` etc., which Keras resolves only once the
registering modules are imported, and :func:`load_model` imports all of them (layers, ce,
glgan) first. They are imported there, not at the top, so the file names and lookups stay free
of TensorFlow for the commands' argument checks.

Example:
    >>> generator = load_generator("runs/x")              # runs/x/generator.keras  # doctest: +SKIP
    >>> newest_generator("runs/x", ema=True)               # doctest: +SKIP
    'runs/x/checkpoints/generator_ema-epoch012.keras'
"""

from __future__ import annotations

import glob
import os
import re

KERAS_EXT = ".keras"
GENERATOR = "generator"  # the file stems: generator.keras, checkpoints/generator-epoch003.keras
GENERATOR_EMA = "generator_ema"  # the weight-averaged generator (keras_pggan.training.ema)
DISCRIMINATOR = "discriminator"
CHECKPOINTS_DIR = "checkpoints"
_CHECKPOINT = re.compile(r"^(?P<stem>\w+?)-epoch(?P<epoch>\d+)\.keras$")


def generator_path(run_dir: str, ema: bool = False) -> str:
    """A run directory's final generator file: ``generator.keras`` (``generator_ema.keras``)."""
    return os.path.join(run_dir, (GENERATOR_EMA if ema else GENERATOR) + KERAS_EXT)


def discriminator_path(run_dir: str) -> str:
    """The newest discriminator of a run directory (for warm starts)."""
    return os.path.join(run_dir, DISCRIMINATOR + KERAS_EXT)


def checkpoint_name(stem: str, epoch: int) -> str:
    """A per-epoch checkpoint's file name, e.g. ``generator-epoch003.keras`` (1-based epoch)."""
    return f"{stem}-epoch{epoch:03d}{KERAS_EXT}"


def checkpoint_pattern(stem: str) -> str:
    """The glob pattern of ``stem``'s per-epoch checkpoints inside a checkpoint folder."""
    return f"{stem}-epoch*{KERAS_EXT}"


def checkpoint_epoch(path: str, stem: str = GENERATOR) -> int | None:
    """The epoch of a ``stem`` checkpoint file (``None`` for any other file)."""
    match = _CHECKPOINT.match(os.path.basename(path))
    if not match or match.group("stem") != stem:
        return None
    return int(match.group("epoch"))


def checkpoints(run_dir: str, stem: str = GENERATOR) -> list[str]:
    """The per-epoch checkpoints of ``stem`` in ``run_dir/checkpoints``, sorted by epoch."""
    paths = glob.glob(os.path.join(run_dir, CHECKPOINTS_DIR, checkpoint_pattern(stem)))
    found = [(checkpoint_epoch(p, stem), p) for p in paths]
    return [p for epoch, p in sorted((e, p) for e, p in found if e is not None)]


def _newest(run_dir: str, stem: str) -> str | None:
    candidates = checkpoints(run_dir, stem)
    final = os.path.join(run_dir, stem + KERAS_EXT)
    if os.path.exists(final):
        candidates.append(final)
    return max(candidates, key=os.path.getmtime) if candidates else None


def newest_generator(run_dir: str, ema: bool = False) -> str | None:
    """A run directory's newest generator: ``generator.keras`` or the newest checkpoint.

    With ``ema``, the newest of the weight-averaged generator (``generator_ema.keras``,
    ``checkpoints/generator_ema-epochNNN.keras``) when the run has one: what is shipped. Warm
    starts take the raw generator, the discriminator's partner.
    """
    if ema:
        averaged = _newest(run_dir, GENERATOR_EMA)
        if averaged:
            return averaged
    return _newest(run_dir, GENERATOR)


def load_model(path: str):
    """Loads any ``.keras`` file of this project (generator or discriminator), uncompiled.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the path is not a ``.keras`` file.
    """
    import keras

    # Imported for their registrations: every custom layer a saved model can hold.
    from keras_pggan.models import (
        ce,  # noqa: F401
        glgan,  # noqa: F401
        layers,  # noqa: F401
    )

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if not path.endswith(KERAS_EXT):
        raise ValueError(f"{path}: expected a .keras file or a run directory")
    return keras.saving.load_model(path, compile=False)


def load_generator(generator_or_path):
    """Returns the generator from a model, a ``PGGAN``, a ``.keras`` file, a run directory or
    the name of a shipped model.

    Args:
        generator_or_path: a generator ``keras.Model``, a model with a ``.generator`` attribute,
            a ``generator.keras`` path, a run directory holding ``generator.keras``, or a
            shipped model's name (:mod:`keras_pggan.models.shipped`, e.g. ``"pggan_dres"``).

    Returns:
        The generator ``keras.Model`` (dict inputs ``image``, ``mask``), computing in float32
        (:func:`keras_pggan.models.generator.as_float32`: an in-memory model trained under a
        mixed policy is cloned with the same weights; files on disk are float32 already).

    Raises:
        FileNotFoundError: the path does not exist and is no shipped model's name (the message
            lists the known names).
        ValueError: the path is not a ``.keras`` file or the object is not a Keras model.
    """
    if isinstance(generator_or_path, (str, os.PathLike)):
        from keras_pggan.models.shipped import resolve

        path = resolve(generator_or_path)
        return load_model(generator_path(path) if os.path.isdir(path) else path)
    import keras

    from keras_pggan.models.generator import as_float32

    model = getattr(generator_or_path, "generator", generator_or_path)
    if not isinstance(model, keras.Model):
        raise ValueError(f"expected a keras.Model or a path, got {type(generator_or_path)!r}")
    # A model still in memory after mixed-precision training computes in float16/bfloat16:
    # every consumer here infers or exports, and those stay float32 (a float32 model as it is).
    return as_float32(model)
