"""Warm starts: a new run's weights from a ``.keras`` file or another run directory.

``python -m keras_pggan.train --init-from PATH`` (and ``run_training(init_from=...)``) load a
generator, and optionally a discriminator, into a freshly built GAN before ``fit``; the optimisers
and the data stream start anew (``--resume`` is the way to continue a run with its state).

A generator shipped with a model card (``saved_models/pggan_dres.keras`` beside
``model_card.json``) carries how it was trained: :func:`card_lineage` reads that record at the
warm start and the run keeps it (``env.json``), so a run restarted from the shipped file on a
new machine, where the earlier run directories are gone, still knows its chain (steps, hours,
learning rates, commands, the V curve) when it is shipped again (scripts/ship_model.py).
"""

from __future__ import annotations

import glob
import json
import os

from keras_pggan.errors import UserError


def newest_generator(run_dir: str, ema: bool = False) -> str | None:
    """A run directory's newest generator: ``generator.keras`` or the newest checkpoint.

    With ``ema``, the newest of the weight-averaged generator (``generator_ema.keras``,
    ``checkpoints/generator_ema-epochNNN.keras``; keras_pggan.training.ema) when the run has one:
    what
    is shipped. Warm starts take the raw generator, the discriminator's partner.
    """
    if ema:
        averaged = _newest(run_dir, "generator_ema")
        if averaged:
            return averaged
    return _newest(run_dir, "generator")


def _newest(run_dir: str, stem: str) -> str | None:
    candidates = glob.glob(os.path.join(run_dir, "checkpoints", f"{stem}-epoch*.keras"))
    final = os.path.join(run_dir, f"{stem}.keras")
    if os.path.exists(final):
        candidates.append(final)
    return max(candidates, key=os.path.getmtime) if candidates else None


def _copy_weights(target, path: str, what: str) -> None:
    import keras

    try:
        source = keras.saving.load_model(path, compile=False)
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
            d = os.path.join(init_from, "discriminator.keras")
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


def card_lineage(generator_path: str | None) -> dict | None:
    """How a shipped generator was trained, from the ``model_card.json`` beside it (or ``None``).

    Returns:
        ``{"card", "weights", "averaged", "lr", "precision", "commands", "chain"}``: the card's
        path and its ``training`` record (``averaged``: whether the shipped weights are a moving
        average, ``None`` in cards before 2026-12-03; ``chain``: one row per run of its
        warm-start chain, with
        ``run``, ``steps``, ``hours``, ``val_hole_l1`` and, in cards from 2026-12-02 on, ``lr``,
        ``precision`` and ``epochs``, the per-epoch V curve).

    Raises:
        UserError: the card exists but is not JSON with a ``training.chain`` list.
    """
    if not generator_path:
        return None
    card_path = os.path.join(os.path.dirname(os.path.abspath(generator_path)), "model_card.json")
    if not os.path.isfile(card_path):
        return None
    try:
        with open(card_path, encoding="utf-8") as f:
            training = json.load(f)["training"]
        chain = training["chain"]
        if not isinstance(chain, list):
            raise TypeError("training.chain is not a list")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(
            f"{card_path}: not a model card with a training.chain ({type(e).__name__}: {e}); "
            "move it away to warm-start without the shipped model's history"
        ) from e
    keep = ("weights", "averaged", "lr", "precision", "commands")
    return {"card": card_path, **{k: training.get(k) for k in keep}, "chain": chain}


def warm_start(gan, init_from: str | None, init_discriminator: str | None = None) -> dict:
    """Loads weights into a freshly built GAN; the optimisers and the data stream start anew.

    Args:
        gan: the model from :func:`keras_pggan.training.build.build_gan`.
        init_from: a ``.keras`` generator (e.g. ``saved_models/pggan_dres.keras``) or a run
            directory: its newest generator (``generator.keras`` or the newest checkpoint) and
            its ``discriminator.keras`` when present.
        init_discriminator: a ``.keras`` discriminator (overrides the run directory's).

    Returns:
        ``{"generator": path | None, "discriminator": path | None, "lineage": dict | None}``:
        what was loaded, and the generator's training record (:func:`card_lineage`) where it
        was shipped with a model card.

    Raises:
        UserError: a path that does not exist, holds no model, or does not fit the config.
    """
    g_path, d_path = warm_start_paths(init_from, init_discriminator)
    lineage = card_lineage(g_path)
    if g_path:
        _copy_weights(gan.generator, g_path, "generator")
    if d_path:
        _copy_weights(gan.discriminator, d_path, "discriminator")
    print(
        f"keras_pggan.train: warm start from generator {g_path}, discriminator {d_path or '(new)'}",
        flush=True,
    )
    return {"generator": g_path, "discriminator": d_path, "lineage": lineage}
