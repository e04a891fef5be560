"""Small file helpers: atomic writes, and the one check every entry point makes before writing.

The rule (README, "nothing is overwritten without ``--overwrite``"): an existing output file, a
non-empty output folder or an existing model version is never replaced without ``--overwrite``
(:func:`check_writable`), and nothing is exported into the repository's shipped ``saved_models/``
folder without it (:func:`refuse_shipped`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile

from keras_pggan.errors import UserError

# The repository's shipped models (saved_models/ next to the package): read-only for exports.
SHIPPED_MODELS_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "saved_models"
)


def is_inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies below it (symbolic links resolved; may not exist)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_writable(path: str, overwrite: bool, what: str = "output") -> None:
    """Refuses to replace an existing file or to write into a non-empty folder.

    Args:
        path: the file or folder about to be written.
        overwrite: the user passed ``--overwrite``: anything may be replaced.
        what: the flag or role named in the message, e.g. ``"--out"`` or ``"-o"``.

    Raises:
        UserError: ``path`` is an existing file, or a folder with something in it, and
            ``overwrite`` is false.

    Example:
        >>> check_writable("out.png", overwrite=False, what="-o")  # doctest: +SKIP
    """
    if overwrite or not os.path.lexists(path):
        return
    if os.path.isdir(path) and not os.path.islink(path):
        if not os.listdir(path):
            return
        raise UserError(
            f"{what}: {path} is a folder with files in it; choose a new folder or pass "
            "--overwrite to write into it"
        )
    raise UserError(f"{what}: {path} exists; pass --overwrite to replace it")


def refuse_shipped(path: str, overwrite: bool, what: str = "--out") -> None:
    """Refuses to write into the repository's shipped models folder without ``--overwrite``.

    The shipped ``saved_models/`` are what ``inpaint`` (no ``--model``), the docs and the tests
    use; an export there would silently replace them (a new SavedModel version is served first).

    Args:
        path: a file, folder or file-name prefix about to be written.
        overwrite: the user passed ``--overwrite`` (e.g. ``scripts/ship_model.py``).
        what: the flag named in the message.

    Raises:
        UserError: ``path`` lies in :data:`SHIPPED_MODELS_DIR` and ``overwrite`` is false.
    """
    if overwrite or not is_inside(path, SHIPPED_MODELS_DIR):
        return
    raise UserError(
        f"{what}: {path} is in the shipped models folder {SHIPPED_MODELS_DIR}; write under "
        "runs/ or a folder of your own instead (e.g. runs/export/pggan_dres), or pass "
        "--overwrite to replace the shipped model"
    )


@contextlib.contextmanager
def atomic_path(path: str):
    """Yields a temporary path next to ``path``; on success renames it over ``path``.

    The rename is atomic on POSIX file systems, so readers see either the old file or the complete
    new one. On an exception the temporary file is removed and ``path`` is untouched.

    Example:
        >>> with atomic_path("out/model.keras") as tmp:  # doctest: +SKIP
        ...     model.save(tmp)
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    base = os.path.basename(path)
    stem, ext = os.path.splitext(base)
    if base.endswith(".weights.h5"):
        stem, ext = base[: -len(".weights.h5")], ".weights.h5"
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".tmp{ext}", dir=directory)
    os.close(fd)
    try:
        yield tmp
        if os.path.isfile(tmp):
            # mkstemp creates 0600 files; give the result the usual umask-based permissions.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def write_text_atomic(path: str, text: str) -> None:
    """Writes ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def docs_or_scratch_folder(
    out: str | None, write_docs: bool, docs_dir: str, prefix: str, overwrite: bool = False
) -> tuple[str, bool]:
    """Where a docs-refreshing script writes: ``docs_dir`` only with ``--write-docs``.

    Args:
        out: the ``--out`` folder the user named, or None.
        write_docs: ``--write-docs``: write into the tracked ``docs_dir`` (replacing its files).
        docs_dir: the tracked folder ``--write-docs`` refreshes.
        prefix: prefix of the temporary folder used when neither is given.
        overwrite: ``--overwrite`` for a named ``--out``.

    Returns:
        ``(folder, overwrite)``: ``docs_dir`` with overwrite on, ``out`` as given, or a new
        temporary folder (announced on stdout).

    Raises:
        UserError: ``--out`` names another folder than ``docs_dir`` together with ``--write-docs``.
    """
    if write_docs:
        if out and os.path.realpath(out) != os.path.realpath(docs_dir):
            raise UserError(f"--out {out} and --write-docs ({docs_dir}): give one")
        return docs_dir, True
    if out:
        return out, overwrite
    folder = tempfile.mkdtemp(prefix=prefix)
    print(f"writing to {folder} (--write-docs refreshes {docs_dir})", flush=True)
    return folder, overwrite
