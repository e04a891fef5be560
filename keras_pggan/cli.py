"""What every keras_pggan command line shares: its name and the help formatter.

Each tool runs as ``python -m keras_pggan.<tool>`` or as the console script
``keras-pggan-<tool>`` that ``pip install -e .`` puts on the PATH (setup.cfg ``console_scripts``:
train, inpaint, evaluate, serving, masks, data, splits, studio). The script names follow the
module names one to one, so every ``python -m`` line in the docs translates mechanically and
:func:`keras_pggan.cpu.started_as_cli` recognises both forms before TensorFlow loads.

This module imports nothing heavy: parsers are built (and ``--help`` answered) before TensorFlow
is imported.
"""

from __future__ import annotations

import argparse
import os
import sys

SCRIPT_PREFIX = "keras-pggan-"


def script_name(module: str) -> str:
    """The console script of a tool module: ``keras_pggan.train`` → ``keras-pggan-train``."""
    return SCRIPT_PREFIX + module.split(".", 1)[1].split(".")[0]


def prog(module: str) -> str:
    """The ``prog`` of a tool's parser: the console script's name when started as one, else
    ``python -m <module>``."""
    started = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    name = script_name(module)
    return name if started == name else f"python -m {module}"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``ArgumentDefaultsHelpFormatter`` that shows ``(default: X)`` once and only when it says
    something: not for ``None``, ``False`` or empty defaults, not for flags without a value, and
    not where the help text already names its default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" in text
            or "default:" in text
            or action.nargs == 0  # store_true / store_const flags
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or (isinstance(default, (str, list, tuple)) and not default)
        ):
            return text
        return super()._get_help_string(action)
