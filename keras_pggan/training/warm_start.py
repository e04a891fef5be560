"""Warm starts: a new run's weights from a ``.keras`` file or another run directory.

``python -m keras_pggan.train --init-from PATH`` (and ``run_training(init_from=...)``) load a
generator, and optionally a discriminator, into a freshly built GAN before ``fit``; the optimisers
and the data stream start anew (``--resume`` is the way to continue a run with its state).

A generator shipped with a model card (``saved_models/pggan_dres.keras`` beside
``model_card.json``) carries how it was trained: the train command reads that record
(:func:`keras_pggan.reports.model_card.card_lineage`) and the run keeps it (``env.json``,
``run_training(lineage=...)``), so a run restarted from the shipped file on a new machine, where
the earlier run directories are gone, still knows its chain (steps, hours, learning rates,
commands, the V curve) when it is shipped again (``python -m keras_pggan.ship``).
"""

from __future__ import annotations

import os

from keras_pggan.errors import UserError

# The run directory's file names and the newest-generator lookup are keras_pggan.models.saved's.
from keras_pggan.models.saved import discriminator_path, load_model, newest_generator


def _copy_weights(target, path: str, what: str) -> None:
    try:
        source = load_model(path)
    except Exception as e:  # noqa: BLE001 - any load failure is the user's file
        raise UserError(f"{path}: cannot load the {what} ({type(e).__name__}: {e})") from e
    have = [tuple(w.shape) for w in target.weights]
    got = [tuple(w.shape) for w in source.weights]
    if have != got:
        raise UserError(
            f"{path}: this {what} does not fit the config ({len(got)} weights, first mismatch "
            f"{next((g, h) for g, h in zip(got + [None] * len(have), have) if g != h)} "
            f"(file, config)); warm starts need the same architecture"
        )
    target.set_weights(source.get_weights())


def warm_start_paths(init_from: str | None, init_discriminator: str | None) -> tuple:
    """The generator and discriminator files a warm start loads (see :func:`warm_start`).

    Raises:
        UserError: a path that does not exist or a run directory without a generator.
    """
    g_path = d_path = None
    if init_from:
        if os.path.isdir(init_from):
            g_path = newest_generator(init_from)
            if g_path is None:
                raise UserError(f"{init_from}: run directory holds no generator to start from")
            d = discriminator_path(init_from)
            d_path = d if os.path.exists(d) else None
        elif os.path.isfile(init_from):
            g_path = init_from
        else:
            raise UserError(f"{init_from}: no such .keras file or run directory")
    if init_discriminator:
        if not os.path.isfile(init_discriminator):
            raise UserError(f"{init_discriminator}: no such .keras file")
        d_path = init_discriminator
    return g_path, d_path


def warm_start(gan, init_from: str | None, init_discriminator: str | None = None) -> dict:
    """Loads weights into a freshly built GAN; the optimisers and the data stream start anew.

    Args:
        gan: the model from :func:`keras_pggan.training.build.build_gan`.
        init_from: a ``.keras`` generator (e.g. ``saved_models/pggan_dres.keras``) or a run
            directory: its newest generator (``generator.keras`` or the newest checkpoint) and
            its ``discriminator.keras`` when present.
        init_discriminator: a ``.keras`` discriminator (overrides the run directory's).

    Returns:
        ``{"generator": path | None, "discriminator": path | None}``: what was loaded.

    Raises:
        UserError: a path that does not exist, holds no model, or does not fit the config.
    """
    g_path, d_path = warm_start_paths(init_from, init_discriminator)
    if g_path:
        _copy_weights(gan.generator, g_path, "generator")
    if d_path:
        _copy_weights(gan.discriminator, d_path, "discriminator")
    print(
        f"keras_pggan.train: warm start from generator {g_path}, discriminator {d_path or '(new)'}",
        flush=True,
    )
    return {"generator": g_path, "discriminator": d_path}
