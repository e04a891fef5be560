"""Shipped models by name (keras-hub's ``from_preset``): ``"pggan_dres"`` instead of a path.

A *weight preset* names a trained model in the repository's ``saved_models/`` folder, with its
model card (``saved_models/MODEL_CARD.md``). Each preset comes in the formats that were shipped:

=====================  ===============================================================
name                   file
=====================  ===============================================================
``pggan_dres``         ``saved_models/pggan_dres.keras`` (Keras, float32)
``pggan_dres-saved``   ``saved_models/pggan_dres/`` (SavedModel for TF Serving)
``pggan_dres-int8``    ``saved_models/pggan_dres-int8.tflite`` (full int8, float I/O)
``pggan_dres-fp32``    ``saved_models/pggan_dres-fp32.tflite``
=====================  ===============================================================

Every ``--model`` option and :func:`resolve` accept a preset name or a path; a path wins when
both exist. (Not to be confused with :mod:`keras_pggan.presets`, the *configuration* presets
``tiny``, ``demo``, ``pggan-dres``, ``pggan-res`` that a training run starts from.)

Example:
    >>> resolve("pggan_dres")                 # doctest: +SKIP
    '/path/to/repo/saved_models/pggan_dres.keras'
    >>> resolve("runs/x/generator.keras")     # a path is returned as given  # doctest: +SKIP
"""

from __future__ import annotations

import os

from keras_pggan.io_utils import SHIPPED_MODELS_DIR

# Trained models this repository ships (each has a section in saved_models/MODEL_CARD.md).
SHIPPED = ("pggan_dres",)
DEFAULT = "pggan_dres"
# Suffix of a preset name -> the file of that format, relative to saved_models/.
FORMATS = {
    "": "{name}.keras",
    "-saved": "{name}",
    "-int8": "{name}-int8.tflite",
    "-fp32": "{name}-fp32.tflite",
}


def preset_names(folder: str = SHIPPED_MODELS_DIR) -> list[str]:
    """Every preset name whose file is present in ``folder``."""
    return [
        base + suffix
        for base in SHIPPED
        for suffix, pattern in FORMATS.items()
        if os.path.exists(os.path.join(folder, pattern.format(name=base)))
    ]


def preset_path(name: str, folder: str = SHIPPED_MODELS_DIR) -> str:
    """The file of preset ``name``.

    Raises:
        FileNotFoundError: an unknown name (the message lists the known ones), or a known name
            whose file is missing (a package installed without the repository's
            ``saved_models/`` folder).
    """
    for base in SHIPPED:
        for suffix, pattern in FORMATS.items():
            if name == base + suffix:
                path = os.path.join(folder, pattern.format(name=base))
                if not os.path.exists(path):
                    raise FileNotFoundError(
                        f"{path}: the shipped model {name!r} is not here (install from a clone "
                        "of the repository with `pip install -e .`, or pass a path)"
                    )
                return path
    known = ", ".join(preset_names(folder)) or "none in " + folder
    raise FileNotFoundError(f"{name}: no such file, directory or shipped model (known: {known})")


def is_preset_name(value: str) -> bool:
    """Whether ``value`` reads as a preset name (no path separator, no file extension)."""
    return bool(value) and os.sep not in value and "/" not in value and "." not in value


def resolve(name_or_path: str | os.PathLike, folder: str = SHIPPED_MODELS_DIR) -> str:
    """A model path from a path or a preset name; an existing path is returned unchanged.

    Raises:
        FileNotFoundError: neither an existing path nor a known preset (known ones listed).
    """
    value = os.fspath(name_or_path)
    if os.path.exists(value) or not is_preset_name(value):
        if not os.path.exists(value):
            raise FileNotFoundError(f"{value}: no such file or directory")
        return value
    return preset_path(value, folder)


def default_model_path() -> str:
    """The default model of ``inpaint``, the studio and the demos: preset :data:`DEFAULT`."""
    return preset_path(DEFAULT)
