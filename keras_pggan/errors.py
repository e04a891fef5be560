"""The project's error for mistakes a user can fix, and the one map of errors to exit statuses.

Every command runs through :func:`keras_pggan.cli.run`, which asks :func:`exit_status` what an
exception means: a mistake the user can fix prints one ``error: ...`` line and exits 2, an
artefact or a server that failed its own check exits 1, a training run stopped by a NaN exits 3,
a multi-worker run that lost a worker exits 4 (restart every worker with ``--resume``), Ctrl-C
(SIGINT) exits 130 with one line instead of a traceback (training says what it kept and how to
go on), and anything else is a bug whose traceback is shown. ``KERAS_PGGAN_DEBUG=1`` shows the
traceback of every error.

This module imports nothing heavy: the classes of later stages (and TensorFlow's op errors) are
looked up in ``sys.modules``, where they are whenever one of them has been raised.
"""

from __future__ import annotations

import os
import sys

DEBUG_ENV = "KERAS_PGGAN_DEBUG"


class UserError(Exception):
    """A problem with what the user asked for; CLIs print it as one line and exit with 2."""


class Interrupted(Exception):
    """Ctrl-C (SIGINT) stopped a command; the message says what was kept. Exit status 130."""


# (module, class inside it, exit status, whether the line is printed), most specific first: the
# check errors are ValueErrors, so they precede the user errors. NonFiniteLossError's guard has
# printed what happened and the last good checkpoints before it raised.
EXIT_STATUSES: tuple[tuple[str, str, int, bool], ...] = (
    ("keras_pggan.training.guards", "NonFiniteLossError", 3, False),
    ("keras_pggan.training.distribute", "WorkerLostError", 4, True),
    ("keras_pggan.export.saved_model", "SavedModelCheckError", 1, True),
    ("keras_pggan.export.tflite", "TFLiteCheckError", 1, True),
    ("keras_pggan.serving.client", "ServingError", 1, True),
    ("keras_pggan.errors", "Interrupted", 130, True),
    # What counts as a user error: a bad flag or config, a missing, existing or unreadable file
    # (OSError: FileNotFoundError, FileExistsError, an undecodable image), a value our checks
    # refuse (ValueError), or one refused inside tf.data or a TensorFlow op.
    ("keras_pggan.errors", "UserError", 2, True),
    ("builtins", "OSError", 2, True),
    ("builtins", "ValueError", 2, True),
    ("tensorflow", "errors.InvalidArgumentError", 2, True),
)


def _lookup(module: str, name: str) -> type | None:
    obj = sys.modules.get(module)
    for part in name.split("."):
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, type) else None


def _entry(exc: BaseException) -> tuple[str, str, int, bool] | None:
    for entry in EXIT_STATUSES:
        cls = _lookup(entry[0], entry[1])
        if cls is not None and isinstance(exc, cls):
            return entry
    return None


def exit_status(exc: BaseException) -> int | None:
    """The exit status a command returns for ``exc``, or ``None`` for a bug (re-raise it).

    Example:
        >>> exit_status(UserError("--epochs must be > 0")), exit_status(KeyError("x"))
        (2, None)
    """
    entry = _entry(exc)
    return None if entry is None else entry[2]


def error_line(exc: BaseException) -> str | None:
    """The one line a command prints for ``exc`` after ``error: `` (``None``: already said).

    A TensorFlow op error is shortened to the kernel's own message (:func:`op_error_line`).
    """
    entry = _entry(exc)
    if entry is not None and not entry[3]:
        return None
    if entry is not None and entry[0] == "tensorflow":
        return op_error_line(getattr(exc, "message", str(exc)))
    return str(exc)


def debugging() -> bool:
    """Whether ``KERAS_PGGAN_DEBUG`` asks for tracebacks instead of one-line errors."""
    return bool(os.environ.get(DEBUG_ENV))


def add_context(exc: BaseException, context: str) -> None:
    """Prefixes ``exc``'s message with ``context`` (a flag, a file, a server) in place.

    The type stays, and with it the exit status: ``add_context(e, path); raise`` inside
    ``except ValueError as e``. (An ``OSError`` with an errno keeps its own message: wrap it in
    a :class:`UserError` instead.)
    """
    exc.args = (f"{context}: {exc}",)


def op_error_line(message: str) -> str:
    """The line of a TensorFlow op error that says what went wrong (at most 500 characters).

    A step that fails in graph mode reports "Graph execution error:", then "Detected at node
    ... defined at (most recent call last):" and an indented Python traceback, then the kernel's
    own message, then ``[[{{node ...}}]]``; an error raised inside tf.data (e.g. the data
    pipeline's "no decodable image in the data sources") is one line, ``ValueError: ...``.
    """
    skip = ("Graph execution error", "Detected at node", "[[", "File ", "Traceback")
    lines = [
        line.strip()
        for line in message.splitlines()
        if line.strip() and not line[:1].isspace() and not line.strip().startswith(skip)
    ]
    first = lines[0] if lines else message.strip()
    return first.split("ValueError: ")[-1][:500]
