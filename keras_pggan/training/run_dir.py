"""A training run directory: when a new start may use it, what ``--resume`` needs, and the files
a start that completed no epoch leaves behind.

A directory is a run once an epoch completed: ``backup/`` (the resume state) exists from the end
of the first epoch on, before any checkpoint, sample grid or generator. A start that failed
earlier (a wrong ``--data`` path, a crash in the first epoch) leaves at most ``config.json``,
``env.json``, an ``epochs.jsonl`` without rows and TensorBoard event files under ``logs/``
(``worker<i>/logs/`` in multi-worker runs). A new start reuses such a directory and removes
exactly those files; anything else in a directory (user files, checkpoints, a backup) is never
deleted: the start is refused, as for any directory that already holds a run.
"""

from __future__ import annotations

import json
import os
import re

from keras_pggan.errors import UserError

_EVENT_FILE = re.compile(r"^events\.out\.tfevents\.")
_WORKER_DIR = re.compile(r"^worker\d+$")


def completed_epochs(backup_dir: str) -> int:
    """Epochs completed according to a BackupAndRestore directory (0 when there is none)."""
    path = os.path.join(backup_dir, "training_metadata.json")
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as f:
        return int(json.load(f).get("epoch", 0))


def _json_with(path: str, keys: tuple[str, ...]) -> bool:
    """Whether ``path`` is a JSON object holding ``keys`` (a file this package wrote)."""
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and all(k in record for k in keys)


def _without_rows(path: str) -> bool:
    """Whether an ``epochs.jsonl`` holds no epoch (empty, or only a line cut by a kill)."""
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline()
    except (OSError, UnicodeDecodeError):
        return False
    try:
        json.loads(first)
    except ValueError:
        return True
    return False


def _event_files(folder: str) -> list[str] | None:
    """Files and folders under a ``logs/`` to remove, deepest first; ``None`` when it holds
    anything but TensorBoard event files (profiles, user files, links)."""
    found: list[str] = []
    for root, dirs, files in os.walk(folder, topdown=False):
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path) or not _EVENT_FILE.match(name):
                return None
            found.append(path)
        for name in dirs:
            if os.path.islink(os.path.join(root, name)):
                return None
        found.append(root)
    return found


def failed_start_files(run_dir: str, top: bool = True) -> list[str] | None:
    """The files a start that completed no epoch left in ``run_dir``.

    Args:
        run_dir: an existing directory.
        top: the run directory itself (``False``: a worker's ``worker<i>/`` inside it).

    Returns:
        The paths to remove (folders after their contents; an empty list for an empty
        directory), or ``None`` when ``run_dir`` holds anything else: a backup, checkpoints,
        samples, an epoch log with rows, files this package does not write.
    """
    remove: list[str] = []
    for name in sorted(os.listdir(run_dir)):
        path = os.path.join(run_dir, name)
        if os.path.islink(path):
            return None
        if name == "logs" and os.path.isdir(path):
            found = _event_files(path)
        elif top and name == "config.json" and _json_with(path, ("data", "train")):
            found = [path]
        elif top and name == "env.json" and _json_with(path, ("processes",)):
            found = [path]
        elif top and name == "epochs.jsonl" and os.path.isfile(path) and _without_rows(path):
            found = [path]
        elif top and _WORKER_DIR.match(name) and os.path.isdir(path):
            found = failed_start_files(path, top=False)
            found = None if found is None else [*found, path]
        else:
            found = None
        if found is None:
            return None
        remove += found
    return remove


def check_new_run(run_dir: str) -> list[str]:
    """Read-only check that a new run may start in ``run_dir``; creates and deletes nothing.

    Returns:
        The files of a failed start to remove before the run writes its own
        (:func:`clear_failed_start`); empty for a new or empty directory.

    Raises:
        UserError: ``run_dir`` holds a run (``backup/``, checkpoints, ...) or anything else
            that a start which completed no epoch does not leave.
    """
    if not os.path.lexists(run_dir):
        return []
    if not os.path.isdir(run_dir):
        raise UserError(f"{run_dir}: --run-dir exists and is not a directory")
    leftovers = failed_start_files(run_dir)
    if leftovers is None:
        raise UserError(
            f"{run_dir}: run directory already exists; pass --resume to continue it "
            f"or choose another --run-dir"
        )
    return leftovers


def check_resumable(run_dir: str) -> None:
    """Refuses ``--resume`` of a directory without a backup (no completed epoch).

    Raises:
        UserError: no ``run_dir/backup/``; the message says when the directory only holds the
            files of a failed start (a new start without ``--resume`` reuses it).
    """
    if os.path.isdir(os.path.join(run_dir, "backup")):
        return
    hint = ""
    if os.path.isdir(run_dir) and failed_start_files(run_dir):
        hint = "; it holds only the files of a start that completed no epoch: run without --resume"
    raise UserError(f"{run_dir}: nothing to resume (no backup/ directory){hint}")


def clear_failed_start(run_dir: str, leftovers: list[str]) -> None:
    """Removes the files :func:`check_new_run` listed (folders only when empty by then)."""
    if not leftovers:
        return
    names = sorted({os.path.relpath(p, run_dir).split(os.sep)[0] for p in leftovers})
    print(
        f"keras_pggan.train: {run_dir}: no epoch completed there; removing the files of that "
        f"start ({', '.join(names)})",
        flush=True,
    )
    for path in leftovers:
        if os.path.isdir(path) and not os.path.islink(path):
            try:
                os.rmdir(path)  # never a tree: only what was listed, and only when empty
            except OSError:
                pass
        elif os.path.lexists(path):
            os.remove(path)


def prepare(cfg, run_dir: str, is_chief: bool, leftovers: list[str]) -> None:
    """Clears a failed start's files (chief), creates ``run_dir`` and writes ``config.json``."""
    from keras_pggan.io_utils import write_text_atomic

    if is_chief:
        clear_failed_start(run_dir, leftovers)
    os.makedirs(run_dir, exist_ok=True)
    if is_chief:
        write_text_atomic(os.path.join(run_dir, "config.json"), cfg.to_json() + "\n")
