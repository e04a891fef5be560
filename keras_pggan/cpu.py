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

import contextlib
import functools
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import MutableMapping

ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"
LOG_LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"
NATIVE_DILATION_ENV = (
    "KERAS_PGGAN_NATIVE_DILATION"  # as keras_pggan.models.layers.NATIVE_DILATION_ENV
)
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
# Every keras_pggan command line: TensorFlow's C++ INFO and WARNING lines off (the oneDNN and
# "optimized to use available CPU instructions" banners, CUDA probes on CPU-only machines,
# grappler remapper warnings); errors still print. TF_CPP_MIN_LOG_LEVEL=0 brings them all back.
CLI_DEFAULTS = {LOG_LEVEL_ENV: "2"}
_APPLIED: dict[str, dict[str, str]] = {}
_CLI_APPLIED: dict[str, dict[str, str]] = {}


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


def check_precision(
    precision: str, flags: frozenset[str] | None = None, gpus: int | None = None
) -> None:
    """Refuses ``mixed_bfloat16`` training on a machine with neither a GPU nor CPU bfloat16.

    Without AVX512_BF16 / AMX-BF16, TensorFlow emulates bfloat16 on the CPU: an earlier
    pggan-dres first step took more than 8 minutes, and with the training defaults (oneDNN and
    native dilated convolutions, :data:`TRAINING_DEFAULTS`) oneDNN hands the bfloat16 kernels
    back to TensorFlow's own, which have no dilated gradients: the first step fails with
    "Current CPU implementations do not yet support dilation rates larger than 1" (seen on an
    AVX2-only EPYC). Float32 is the precision there.

    Args:
        precision: the run's ``TrainConfig.precision``.
        flags: CPU flags (default: :func:`cpu_flags`).
        gpus: how many GPUs TensorFlow sees (default: asks it; starts its runtime).

    Raises:
        UserError: ``precision == "mixed_bfloat16"``, no GPU and no bfloat16 on the CPU.
    """
    from keras_pggan.errors import UserError

    if precision != "mixed_bfloat16" or bf16_supported(flags):
        return
    if gpus is None:
        import tensorflow as tf

        gpus = len(tf.config.list_logical_devices("GPU"))
    if gpus:
        return
    have = sorted((cpu_flags() if flags is None else flags) & {"avx2", "avx512f", "fma"})
    raise UserError(
        "--precision mixed_bfloat16 needs a GPU or a CPU with AVX512_BF16 or AMX-BF16; this "
        f"machine has no GPU and its CPU has neither (flags {' '.join(have) or 'none of note'}), "
        "so TensorFlow would emulate bfloat16 (minutes per step, and no dilated-convolution "
        "gradients): use --precision float32"
    )


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
        return {**_CLI_APPLIED, **_APPLIED}
    process = environ is None
    if process and "tensorflow" in sys.modules:
        # Too late: TensorFlow fixed oneDNN when it loaded (e.g. main() called from pytest or
        # a notebook). Change nothing, so the process stays consistent; record what it has.
        return {
            **{
                name: {"value": os.environ[name], "source": "user"}
                if name in os.environ
                else {"value": "", "source": "unset"}
                for name in (*CLI_DEFAULTS, *TRAINING_DEFAULTS, INTER_OP_ENV, INTRA_OP_ENV)
            },
            **_CLI_APPLIED,
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
        return {**_CLI_APPLIED, **record}
    return record


def apply_cli_env(environ: MutableMapping[str, str] | None = None) -> dict[str, dict[str, str]]:
    """Sets :data:`CLI_DEFAULTS` (quiet TensorFlow start-up) that the user has not set.

    Called from the package's first lines when the process is a keras_pggan command line, before
    TensorFlow loads (it reads ``TF_CPP_MIN_LOG_LEVEL`` once, when it starts).

    Returns:
        ``{name: {"value": str, "source": "user" | "default"}}``; the process's record is also
        part of what :func:`apply_training_env` returns (the run's ``env.json``).
    """
    process = environ is None
    if process and _CLI_APPLIED:
        return dict(_CLI_APPLIED)
    environ = os.environ if environ is None else environ
    record = {}
    for name, value in CLI_DEFAULTS.items():
        if name in environ:
            record[name] = {"value": environ[name], "source": "user"}
        else:
            environ[name] = value
            record[name] = {"value": value, "source": "default"}
    if process:
        _CLI_APPLIED.update(record)
        if "tensorflow" not in sys.modules and not any(
            isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path
        ):
            sys.meta_path.insert(0, _QuietTensorFlowImport())
    return record


# -- TensorFlow's start-up lines that TF_CPP_MIN_LOG_LEVEL does not reach ------------------------
# TensorFlow 2.21 logs its first lines (the oneDNN banner, "Could not find cuda drivers", the
# failed cuInit of a CPU-only machine) through Abseil before logging is initialised: they go to
# stderr whatever TF_CPP_MIN_LOG_LEVEL says. In a keras_pggan command line the import of
# TensorFlow (and its device probe) runs with the native stderr captured, and the captured lines
# are written back except Abseil records below TF_CPP_MIN_LOG_LEVEL (0 INFO, 1 WARNING, 2 ERROR;
# FATAL always stays). Nothing else is dropped: Python warnings and tracebacks come through.
_ABSL_RECORD = re.compile(rb"^([IWEF])\d{4} [\d:.]+ +\d+ [\w./+-]+:\d+\] ")
_ABSL_PREAMBLE = b"WARNING: All log messages before absl::InitializeLog() is called"
_NO_CUDA_DRIVER = b"Could not find cuda drivers on your machine"
_SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}


def filter_startup_lines(text: bytes, min_level: int) -> bytes:
    """``text`` without the Abseil records (and preamble) below ``min_level``.

    With ``min_level >= 2`` on a machine without a CUDA driver (TensorFlow said so in ``text``),
    the ``failed call to cuInit`` error goes too: the device probe of a CPU-only machine.
    """
    if min_level <= 0:
        return text
    no_driver = _NO_CUDA_DRIVER in text
    kept = []
    for line in text.splitlines(keepends=True):
        match = _ABSL_RECORD.match(line)
        if line.startswith(_ABSL_PREAMBLE):
            continue
        if match and _SEVERITY[match[1]] < min(min_level, 3):
            continue
        if match and min_level >= 2 and no_driver and b"failed call to cuInit" in line:
            continue
        kept.append(line)
    return b"".join(kept)


def _min_log_level() -> int:
    try:
        return int(os.environ.get(LOG_LEVEL_ENV, "0") or 0)
    except ValueError:
        return 0


@contextlib.contextmanager
def _filtered_native_stderr(min_level: int):
    """Runs the block with file descriptor 2 captured; writes it back filtered."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield  # no usable stderr: nothing to filter
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = filter_startup_lines(captured.read(), min_level)
            if text:
                os.write(2, text)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Meta path finder: the first ``import tensorflow`` runs under :func:`_filtered_native_stderr`
    and probes the devices (``tf.config.list_physical_devices``, which logs the CUDA lines; it
    does not start the runtime, so thread and device settings still apply afterwards)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # once; and the lookup below must not find this finder
        min_level = _min_log_level()
        spec = importlib.util.find_spec(fullname)
        if min_level <= 0 or spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def quiet_exec_module(module):
            try:
                with _filtered_native_stderr(min_level):
                    exec_module(module)
                    try:
                        module.config.list_physical_devices()
                    except Exception:  # noqa: BLE001 - the probe is only for its log lines
                        pass
            finally:
                try:
                    del loader.exec_module  # back to the class's method
                except AttributeError:
                    pass

        loader.exec_module = quiet_exec_module
        return spec


# Interpreter options that take a separate value (python -X importtime -m keras_pggan.inpaint).
_VALUE_OPTIONS = frozenset({"-X", "-W", "--check-hash-based-pycs"})


def started_as_cli(orig_argv: list[str] | None = None) -> str | None:
    """The keras_pggan tool this process was started as, or ``None``.

    ``python -m keras_pggan.<tool>`` gives ``"<tool>"`` (``python -m keras_pggan.serving`` →
    ``"serving"``); a console script ``keras-pggan-<tool>`` gives ``"<tool>"``. Python imports the
    package before it runs the ``-m`` module or the script's ``main``, so settings that must
    precede TensorFlow are applied from the package's first lines; ``sys.orig_argv`` (Python ≥
    3.10) is the one place that already names the command then.
    """
    argv = list(getattr(sys, "orig_argv", []) if orig_argv is None else orig_argv)
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "-m":
            module = argv[i + 1] if i + 1 < len(argv) else ""
            if module == "keras_pggan" or module.startswith("keras_pggan."):
                return module.split(".")[1] if "." in module else "keras_pggan"
            return None
        if arg in _VALUE_OPTIONS:
            i += 2
            continue
        if arg.startswith("-") and arg != "-":
            if arg.startswith("-m"):  # -mkeras_pggan.train
                return started_as_cli([argv[0], "-m", arg[2:], *argv[i + 1 :]])
            if arg == "-c":
                return None  # python -c "...": code, not a command line
            i += 1
            continue
        # A script: the console scripts setup.cfg installs are named keras-pggan-<tool>.
        script = os.path.basename(arg)
        if script.startswith("keras-pggan-"):
            return script[len("keras-pggan-") :]
        return None
    return None


def started_as_training_cli(orig_argv: list[str] | None = None) -> bool:
    """Whether this process was started as ``python -m keras_pggan.train`` (or
    ``keras-pggan-train``): see :func:`started_as_cli`."""
    return started_as_cli(orig_argv) == "train"


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
