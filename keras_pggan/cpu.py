"""CPU facts and the speed settings ``python -m keras_pggan.train`` applies on a CPU.

TensorFlow fixes its kernels and thread pools when it starts, so these settings are chosen here,
before TensorFlow is imported, from ``/proc/cpuinfo`` alone. Nothing in this module imports
TensorFlow at module level.

The defaults are measured (bench/results/optimizations.md, docs/training_recipe.md); a variable
the user has set in their environment always wins and is recorded as theirs.

Example:
    >>> record = apply_training_env({"TF_ENABLE_ONEDNN_OPTS": "0"}, flags=frozenset({"avx2"}))
    >>> record["TF_ENABLE_ONEDNN_OPTS"]
    {'value': '0', 'source': 'user'}
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import MutableMapping

ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"
NATIVE_DILATION_ENV = "KERAS_PGGAN_NATIVE_DILATION"  # as keras_pggan.layers.NATIVE_DILATION_ENV
INTER_OP_ENV = "KERAS_PGGAN_INTER_OP_THREADS"

# CPU flags with which TensorFlow 2.21 turns oneDNN on by itself (its IsMKLEnabled: the
# neural-network extensions of AVX-512 and AMX); on other x86 CPUs it is off unless asked for.
ONEDNN_DEFAULT_FLAGS = frozenset(
    {"avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16"}
)
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})

# Measured on the ship configuration (pggan-dres 32-128, 128², batch 8), each in a fresh process:
# bench/results/optimizations.md. oneDNN kernels plus one dilated Conv2D op per dilated layer
# (oneDNN has the dilated gradients; TensorFlow's own CPU kernels do not) and one op at a time.
# One op at a time (inter-op 1) was 1.02× here and 1.05× on an AVX2 EPYC: below the 5 % bar, so
# not a default; KERAS_PGGAN_INTER_OP_THREADS / _INTRA_OP_THREADS stay available (e.g. 1 and 1
# for two runs side by side on 2 cores).
TRAINING_DEFAULTS = {
    ONEDNN_ENV: "1",
    NATIVE_DILATION_ENV: "1",
}
INTRA_OP_ENV = "KERAS_PGGAN_INTRA_OP_THREADS"
_APPLIED: dict[str, dict[str, str]] = {}


@functools.cache
def _read_flags(path: str) -> frozenset[str]:
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str]:
    """The first CPU's feature flags from ``/proc/cpuinfo`` (empty where there is none)."""
    return _read_flags(path)


def bf16_supported(flags: frozenset[str] | None = None) -> bool:
    """Whether the CPU has bfloat16 arithmetic (AVX512_BF16 or AMX-BF16).

    Where it does, a bfloat16 3×3 convolution ran 1.9× the float32 one (README); where it does
    not, bfloat16 is emulated and a pggan-dres step took minutes instead of seconds.
    """
    return bool((cpu_flags() if flags is None else flags) & BF16_FLAGS)


def onednn_default_on(flags: frozenset[str] | None = None) -> bool:
    """Whether TensorFlow turns oneDNN on by itself on this CPU (no ``TF_ENABLE_ONEDNN_OPTS``)."""
    return bool((cpu_flags() if flags is None else flags) & ONEDNN_DEFAULT_FLAGS)


def apply_training_env(
    environ: MutableMapping[str, str] | None = None, flags: frozenset[str] | None = None
) -> dict[str, dict[str, str]]:
    """Sets the measured CPU training defaults that the user has not set; returns the record.

    Call before TensorFlow is imported: on ``os.environ`` after TensorFlow has loaded it changes
    nothing (oneDNN is fixed by then) and only records the environment. x86 CPUs only:
    elsewhere (no AVX2: ARM, old x86) the oneDNN settings were never measured and nothing is
    set.

    Args:
        environ: the environment to read and update (default ``os.environ``).
        flags: CPU flags (default: :func:`cpu_flags`).

    Returns:
        ``{name: {"value": str, "source": "user" | "default" | "unset"}}`` for every setting,
        for the run's ``env.json``.
    """
    if environ is None and _APPLIED:  # already applied to this process (package import)
        return dict(_APPLIED)
    process = environ is None
    if process and "tensorflow" in sys.modules:
        # Too late: TensorFlow fixed oneDNN when it loaded (e.g. main() called from pytest or
        # a notebook). Change nothing, so the process stays consistent; record what it has.
        return {
            name: {"value": os.environ[name], "source": "user"}
            if name in os.environ
            else {"value": "", "source": "unset"}
            for name in (*TRAINING_DEFAULTS, INTER_OP_ENV, INTRA_OP_ENV)
        }
    environ = os.environ if environ is None else environ
    flags = cpu_flags() if flags is None else flags
    measured = "avx2" in flags
    record = {}
    for name, value in TRAINING_DEFAULTS.items():
        if name in environ:
            record[name] = {"value": environ[name], "source": "user"}
        elif name == NATIVE_DILATION_ENV and environ.get(ONEDNN_ENV, "1") != "1":
            # TensorFlow's own CPU kernels have no dilated gradients: native dilation needs
            # oneDNN, so a user who turned oneDNN off keeps the SpaceToBatch path.
            record[name] = {"value": "", "source": "unset"}
        elif measured:
            environ[name] = value
            record[name] = {"value": value, "source": "default"}
        else:
            record[name] = {"value": "", "source": "unset"}
    for name in (INTER_OP_ENV, INTRA_OP_ENV):
        if name in environ:
            record[name] = {"value": environ[name], "source": "user"}
    if process:
        _APPLIED.update(record)
    return record


def started_as_training_cli(orig_argv: list[str] | None = None) -> bool:
    """Whether this process was started as ``python -m keras_pggan.train``.

    ``keras_pggan/__init__.py`` imports TensorFlow, and Python imports the package before it runs
    the ``-m`` module, so the training defaults must be applied from the package's first line;
    ``sys.orig_argv`` (Python ≥ 3.10) is the one place that already names the module then.
    """
    argv = list(getattr(sys, "orig_argv", []) if orig_argv is None else orig_argv)
    for i, arg in enumerate(argv[:-1]):
        if arg == "-m":
            return argv[i + 1] == "keras_pggan.train"
    return False


def configure_threads(environ: MutableMapping[str, str] | None = None) -> dict | None:
    """Applies ``KERAS_PGGAN_INTER_OP_THREADS`` / ``_INTRA_OP_THREADS`` before TF starts.

    Returns:
        ``{variable: count}`` set, or ``None`` when both are unset, empty or 0.

    Raises:
        ValueError: when the variable is not a non-negative integer.
    """
    environ = os.environ if environ is None else environ
    counts = {}
    for name in (INTER_OP_ENV, INTRA_OP_ENV):
        text = environ.get(name, "").strip()
        if not text:
            continue
        try:
            threads = int(text)
        except ValueError:
            raise ValueError(f"{name} must be an integer, got {text!r}") from None
        if threads < 0:
            raise ValueError(f"{name} must be >= 0, got {threads}")
        if threads:
            counts[name] = threads
    if not counts:
        return None
    import tensorflow as tf

    if INTER_OP_ENV in counts:
        tf.config.threading.set_inter_op_parallelism_threads(counts[INTER_OP_ENV])
    if INTRA_OP_ENV in counts:
        tf.config.threading.set_intra_op_parallelism_threads(counts[INTRA_OP_ENV])
    return counts


def environment_record(record: dict | None = None) -> dict:
    """What the run's speed depends on: CPU flags of interest, bf16/oneDNN facts, the settings."""
    flags = cpu_flags()
    interesting = sorted(flags & (ONEDNN_DEFAULT_FLAGS | BF16_FLAGS | {"avx2", "avx512f", "fma"}))
    return {
        "cpu_flags": interesting,
        "bf16_supported": bf16_supported(flags),
        "onednn_default_on": onednn_default_on(flags),
        "settings": record or {},
    }
