"""Warm starts: a new run's weights from a ``.keras`` file or another run directory.

``python -m keras_pggan.train --init-from PATH`` (and ``run_training(init_from=...)``) load a
generator, and optionally a discriminator, into a freshly built GAN before ``fit``; the optimisers
and the data stream start anew (``--resume`` is the way to continue a run with its state).
The architecture must match, with one exception: a generator whose residual blocks are wider
inside (``GeneratorConfig.residual_filters``) starts from a narrower one exactly
(:func:`widen_inner_layers`).

A generator shipped with a model card (``saved_models/pggan_dres.keras`` beside
``model_card.json``) carries how it was trained: the train command reads that record
(:func:`keras_pggan.reports.model_card.card_lineage`) and the run keeps it (``env.json``,
``run_training(lineage=...)``), so a run restarted from the shipped file on a new machine, where
the earlier run directories are gone, still knows its chain (steps, hours, learning rates,
commands, the V curve) when it is shipped again (``python -m keras_pggan.ship``).
"""

from __future__ import annotations

import os
import re

from keras_pggan.errors import UserError

# The run directory's file names and the newest-generator lookup are keras_pggan.models.saved's.
from keras_pggan.models.saved import discriminator_path, load_model, newest_generator

# A residual block's two convolutions (keras_pggan.models.layers.apply_residual_block): the
# inner width (GeneratorConfig.residual_filters) is the first's output and the second's input.
_INNER_OUT = re.compile(r"res\d+_1_(conv|norm)")
_INNER_IN = re.compile(r"res\d+_2_conv")


def widen_inner_layers(target, source) -> list[str]:
    """Loads ``source``'s weights into ``target`` whose residual blocks are wider inside.

    Net2Net-style, function-preserving: each ``res{i}_1_conv`` keeps ``source``'s filters and
    adds ``target``'s freshly initialised ones; each ``res{i}_2_conv`` reads the added channels
    with zero weights. So ``target`` computes exactly what ``source`` does, and training grows
    the added channels from there (their outgoing weights get gradients at once; the incoming
    ones from the first update on). Every other layer must match in shape.

    Args:
        target: a generator built with ``GeneratorConfig.residual_filters`` ≥ ``source``'s.
        source: a generator with the same layers and names (e.g. the shipped one).

    Returns:
        The names of the widened layers.

    Raises:
        ValueError: a layer missing in ``source`` or differing in another way.
    """
    import numpy as np

    widened = []
    for layer in target.layers:
        if not layer.weights:
            continue
        try:
            src = source.get_layer(layer.name).get_weights()
        except ValueError:
            raise ValueError(f"layer {layer.name!r} is not in the file") from None
        dst = layer.get_weights()
        if [w.shape for w in src] == [w.shape for w in dst]:
            layer.set_weights(src)
            continue
        grows_out = _INNER_OUT.fullmatch(layer.name) is not None
        grows_in = _INNER_IN.fullmatch(layer.name) is not None
        new = []
        for s, d in zip(src, dst):
            fits = s.ndim == d.ndim and all(a <= b for a, b in zip(s.shape, d.shape))
            if s.shape != d.shape and not fits:
                raise ValueError(f"{layer.name}: {s.shape} (file) does not fit {d.shape}")
            if s.ndim == 4 and grows_out and s.shape[:3] == d.shape[:3]:
                w = d.copy()  # kernel [kh, kw, in, out]: the added filters keep their init
                w[..., : s.shape[3]] = s
            elif (
                s.ndim == 4 and grows_in and s.shape[3] == d.shape[3] and s.shape[:2] == d.shape[:2]
            ):
                w = np.zeros_like(d)  # the added input channels are read with zero weights
                w[:, :, : s.shape[2], :] = s
            elif s.ndim == 1 and grows_out:
                w = d.copy()  # bias (and norm scale/offset) of the added filters: their init
                w[: s.shape[0]] = s
            elif s.shape == d.shape:
                w = s
            else:
                raise ValueError(
                    f"{layer.name}: {s.shape} (file) vs {d.shape}: only the inner width of a "
                    "residual block may differ"
                )
            new.append(w)
        layer.set_weights(new)
        widened.append(layer.name)
    return widened


def _copy_weights(target, path: str, what: str) -> None:
    try:
        source = load_model(path)
    except Exception as e:  # noqa: BLE001 - any load failure is the user's file
        raise UserError(f"{path}: cannot load the {what} ({type(e).__name__}: {e})") from e
    have = [tuple(w.shape) for w in target.weights]
    got = [tuple(w.shape) for w in source.weights]
    if have == got:
        target.set_weights(source.get_weights())
        return
    if what == "generator" and len(have) == len(got):
        try:
            widened = widen_inner_layers(target, source)
        except ValueError as e:
            raise UserError(
                f"{path}: this {what} does not fit the config ({e}); warm starts need the same "
                "architecture, or a wider inner layer of the residual blocks (residual_filters)"
            ) from e
        print(
            f"keras_pggan.train: {len(widened)} residual layers widened from {path} "
            "(function-preserving: the added channels are read with zero weights)",
            flush=True,
        )
        return
    raise UserError(
        f"{path}: this {what} does not fit the config ({len(got)} weights, first mismatch "
        f"{next((g, h) for g, h in zip(got + [None] * len(have), have) if g != h)} "
        f"(file, config)); warm starts need the same architecture"
    )


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
