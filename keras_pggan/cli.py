"""What every keras_pggan command line shares: its name, the help formatter and the runner.

Each tool runs as ``python -m keras_pggan.<tool>`` or as the console script
``keras-pggan-<tool>`` that ``pip install -e .`` puts on the PATH (setup.cfg
``console_scripts``: train, inpaint, evaluate, export, serving, batch, ship, masks, data, splits,
studio). The script names follow the module names one to one, so every ``python -m`` line in
the docs translates mechanically and :func:`keras_pggan.cpu.started_as_cli` recognises both
forms before TensorFlow loads.

A command is ``keras_pggan/<tool>/__main__.py``: a parser, the translation of its arguments and
one call into the library, run by :func:`run`::

    def main(argv=None) -> int:
        return cli.run(_train, build_parser(), argv)

This module imports nothing heavy: parsers are built (and ``--help`` answered) before TensorFlow
is imported.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable, Sequence

from keras_pggan import errors

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


def run(
    command: Callable[[argparse.Namespace], int | None],
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None = None,
) -> int:
    """Parses ``argv``, calls ``command(args)`` and returns the command's exit status.

    ``--help`` returns 0 and a usage error 2 (argparse prints them). What the command raises is
    mapped by :func:`keras_pggan.errors.exit_status`: a user error prints one ``error: ...`` line
    on stderr and returns 2, a failed check or server 1, a NaN in training 3, a lost worker 4,
    Ctrl-C 130 (one line, no traceback); any other exception is a bug and propagates with its
    traceback, as every error does under ``KERAS_PGGAN_DEBUG=1``. A command that ran this
    package's tf.data pipeline first lets its decoders finish (:func:`_let_decoders_finish`).

    Args:
        command: the library call behind the tool; returns its status (``None``: 0).
        parser: the tool's parser.
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, or a usage error argparse has printed
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    try:
        status = command(args)
    except BaseException as e:
        _let_decoders_finish()
        if isinstance(e, KeyboardInterrupt) and not errors.debugging():
            e = errors.Interrupted("interrupted (Ctrl-C)")  # where the command did not say more
        if not isinstance(e, Exception):
            raise  # SystemExit; KeyboardInterrupt under KERAS_PGGAN_DEBUG
        status = errors.exit_status(e)
        if status is None or errors.debugging():
            raise
        line = errors.error_line(e)
    else:
        return 0 if status is None else int(status)
    # Printed once the command's frames are gone, after whatever their cleanup prints (a
    # progress bar closing on Ctrl-C): the error line is the last line.
    if line is not None:
        print(f"error: {line}", file=sys.stderr, flush=True)
    return status


def _let_decoders_finish() -> None:
    """Before a failed command's frames go: when it ran a tf.data pipeline of this package, wait
    until the pipeline's Python decoders are quiet (destroying an iterator with a decode in flight
    deadlocks; :func:`keras_pggan.data.pipeline.wait_for_idle_decoders`). Looked up in
    ``sys.modules``: nothing is imported here."""
    pipeline = sys.modules.get("keras_pggan.data.pipeline")
    if pipeline is not None:
        pipeline.wait_for_idle_decoders()


def python_command() -> str:
    """How a printed command starts this interpreter: ``python`` when that is the ``python`` on
    PATH (an activated virtual environment), else the interpreter's full path, so a line the
    tools print (``... -m keras_pggan.inpaint ...``) works when pasted into the same shell."""
    found = shutil.which("python")
    here = os.path.dirname(os.path.abspath(sys.executable))
    if found and os.path.dirname(os.path.abspath(found)) == here:
        return "python"
    return sys.executable


def tool_command(script: str, module: str) -> str:
    """How a printed command starts a tool installed beside this interpreter (``tensorboard``):
    its name when PATH finds the one of this environment, else ``<python> -m <module>``."""
    found = shutil.which(script)
    here = os.path.dirname(os.path.abspath(sys.executable))
    if found and os.path.dirname(os.path.abspath(found)) == here:
        return script
    return f"{python_command()} -m {module}"
