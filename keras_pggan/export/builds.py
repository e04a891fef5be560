"""Exports of a generator file named on a command line (``python -m keras_pggan.export``).

What a user can get wrong is checked before the generator loads (seconds) and before anything
is converted (minutes): the model file, the TFLite modes and the outputs. An existing version or
build is replaced only with ``overwrite``, and nothing is written into the repository's shipped
``saved_models/`` without it (:func:`keras_pggan.io_utils.refuse_shipped`). Every mistake is a
:class:`~keras_pggan.errors.UserError` that names its flag.

Example:
    >>> export_saved_model_file("runs/x/generator.keras", "runs/x/pggan_dres")  # doctest: +SKIP
    >>> export_tflite_files("runs/x", "runs/x/pggan_dres", ["fp32", "int8"])  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from keras_pggan.errors import UserError, add_context
from keras_pggan.io_utils import check_writable, refuse_shipped


def generator_file(path: str) -> str:
    """The ``.keras`` file ``path`` names: itself, or a run directory's ``generator.keras``.

    Raises:
        UserError: no such file.
    """
    if os.path.isdir(path):
        path = os.path.join(path, "generator.keras")
    if not os.path.isfile(path):
        raise UserError(f"--model: {path}: no such file")
    return path


def _load_generator(path: str):
    from keras_pggan.models.saved import load_generator

    try:
        return load_generator(path)
    except (OSError, ValueError) as e:
        raise UserError(f"--model: {path}: {e}") from e


def export_saved_model_file(
    model: str,
    out: str,
    version: int | None = None,
    overwrite: bool = False,
    warmup: bool = True,
) -> dict[str, Any]:
    """Exports the generator file ``model`` as a TF Serving SavedModel ``<out>/<version>/``.

    Args:
        model: a ``.keras`` generator or a run directory holding ``generator.keras``.
        out: the model base path (version folders inside).
        version: a positive integer (default: the highest existing version + 1).
        overwrite: replace an existing version; allow exporting into the shipped
            ``saved_models/``.
        warmup: write TF Serving warm-up requests.

    Returns:
        :func:`keras_pggan.export.saved_model.export_saved_model`'s report.

    Raises:
        UserError: a bad flag, a missing or unloadable model, an existing version.
        SavedModelCheckError: the written SavedModel failed its check.
    """
    if version is not None and version <= 0:
        raise UserError(f"--version: must be a positive integer, got {version}")
    path = generator_file(model)
    refuse_shipped(out, overwrite, "--out")
    target = os.path.join(out, str(version))
    if version is not None and os.path.exists(target) and not overwrite:
        raise UserError(f"--out: {target} exists; pass --overwrite to replace it")
    generator = _load_generator(path)
    from keras_pggan.export.saved_model import SavedModelCheckError, export_saved_model

    try:
        return export_saved_model(
            generator, out, version=version, overwrite=overwrite, warmup=warmup
        )
    except FileExistsError as e:
        raise UserError(f"--out: {e} (use --overwrite)") from e
    except SavedModelCheckError:
        raise
    except ValueError as e:
        raise UserError(f"--model: {path}: {e}") from e


def tflite_paths(out: str, modes: Sequence[str], io: str = "float") -> dict[str, str]:
    """Each mode's file: ``<out>-<mode>.tflite`` (``<out>-int8-uint8.tflite`` for int8 with
    uint8 I/O; the float modes always have float I/O)."""
    paths = {}
    for mode in modes:
        uint8 = mode == "int8" and io == "uint8"
        paths[mode] = f"{out}-{mode}-uint8.tflite" if uint8 else f"{out}-{mode}.tflite"
    return paths


def _check_tflite_args(
    modes: Sequence[str], calibration_data: str | None, num_calibration: int, size: int
) -> None:
    from keras_pggan.export.tflite import MODES

    bad = [m for m in modes if m not in MODES]
    if not modes or bad:
        raise UserError(f"--modes: unknown mode(s) {bad or list(modes)}; choose from {MODES}")
    if calibration_data and not os.path.isdir(calibration_data):
        raise UserError(f"--calibration-data: {calibration_data}: not a directory")
    if num_calibration <= 0 or size <= 0:
        raise UserError("--num-calibration and --calibration-size must be positive")


def export_tflite_files(
    model: str,
    out: str,
    modes: Sequence[str],
    *,
    io: str = "float",
    overwrite: bool = False,
    calibration_data: str | None = None,
    num_calibration: int = 32,
    calibration_size: int = 256,
    on_build: Callable[[dict], None] | None = None,
    **options,
) -> list[dict]:
    """Converts the generator file ``model`` into one checked TFLite build per mode, and writes
    their card (:func:`keras_pggan.export.report.write_tflite_card`).

    Args:
        model: a ``.keras`` generator or a run directory holding ``generator.keras``.
        out: the output prefix (:func:`tflite_paths`; ``<out>-tflite.md``, ``.json``).
        modes: a subset of :data:`keras_pggan.export.tflite.MODES`.
        io: the int8 build's input/output type (``float`` or ``uint8``).
        overwrite: replace existing builds; allow writing into the shipped ``saved_models/``.
        calibration_data, num_calibration, calibration_size: the int8 calibration photos.
        on_build: called with each build's report as it is written.
        **options: ``fixed_size``, ``pad_inside``, ``dilated_conv`` (see ``export_tflite``).

    Returns:
        The builds' reports.

    Raises:
        UserError: a bad flag, a missing or unloadable model, an existing build (all before
            anything is converted).
        TFLiteCheckError: a build failed its check (the message names the file).
        ValueError: a build that cannot be made (the message names the file).
    """
    _check_tflite_args(modes, calibration_data, num_calibration, calibration_size)
    path = generator_file(model)
    paths = tflite_paths(out, modes, io)
    for target in paths.values():
        refuse_shipped(target, overwrite, "--out")
        check_writable(target, overwrite, "--out")
    generator = _load_generator(path)
    from keras_pggan.export.report import write_tflite_card
    from keras_pggan.export.tflite import export_tflite

    reports = []
    for mode, target in paths.items():
        try:
            report = export_tflite(
                generator, target, mode=mode, io=io if mode == "int8" else "float",
                calibration_data=calibration_data, num_calibration=num_calibration,
                calibration_size=calibration_size, **options,
            )  # fmt: skip
        except ValueError as e:  # TFLiteCheckError (status 1) or a refused build (2)
            add_context(e, target)
            raise
        reports.append(report)
        if on_build is not None:
            on_build(report)
    write_tflite_card(out, model, reports)
    return reports
