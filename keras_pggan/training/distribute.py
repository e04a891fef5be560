"""Strategies: the default, mirrored (GPUs, or logical CPU devices), multi-worker.

``make_strategy("mirrored")`` mirrors over every GPU; ``make_strategy("mirrored",
cpu_replicas=N)`` with ``N > 1`` over ``N`` logical CPU devices even where GPUs exist (what the
tests and ``--cpu-replicas`` ask for: the same replicas on any host).
"""

from __future__ import annotations

import json
import os
import sys

from keras_pggan.config import STRATEGIES
from keras_pggan.errors import UserError


def configure_cpu_replicas(n: int) -> None:
    """Splits the first physical CPU into ``n`` logical devices (before TF initialises).

    Lets ``MirroredStrategy`` run with ``n`` replicas on a machine without GPUs. Idempotent when
    the runtime already has exactly ``n`` logical CPUs.

    Raises:
        UserError: when the runtime is initialised with a different number of logical CPUs.
    """
    import tensorflow as tf

    if n <= 1:
        return
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
        )
    except RuntimeError as e:
        have = len(tf.config.list_logical_devices("CPU"))
        if have != n:
            raise UserError(
                f"--cpu-replicas {n}: TensorFlow is already initialised with {have} logical "
                f"CPU(s); set it before any TensorFlow op runs ({e})"
            ) from e


_MIRRORED: dict = {}

_TF_CONFIG_EXAMPLE = (
    'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
    '"task": {"type": "worker", "index": 0}}\''
)


def tf_config() -> dict:
    """The ``TF_CONFIG`` environment variable, parsed (``{}`` when unset or empty).

    Raises:
        UserError: it is not a JSON object.
    """
    text = os.environ.get("TF_CONFIG", "")
    if not text.strip():
        return {}
    try:
        parsed = json.loads(text)
    except ValueError as e:
        raise UserError(f"TF_CONFIG is not JSON ({e}); e.g. {_TF_CONFIG_EXAMPLE}") from None
    if not isinstance(parsed, dict):
        raise UserError(f"TF_CONFIG must be a JSON object, e.g. {_TF_CONFIG_EXAMPLE}")
    return parsed


def check_multi_worker_config() -> None:
    """Refuses ``--strategy multi-worker`` without a cluster in ``TF_CONFIG``.

    Runs before ``MultiWorkerMirroredStrategy`` exists: once its collectives are created, a
    process that fails cannot exit (it waits for its peers for ever).

    Raises:
        UserError: ``TF_CONFIG`` is unset or names no cluster of workers, or no task (type
            and index) of this process in it.
    """
    cfg = tf_config()
    cluster = cfg.get("cluster") if isinstance(cfg.get("cluster"), dict) else {}
    task = cfg.get("task") if isinstance(cfg.get("task"), dict) else {}
    tasks = sum(len(v) for v in cluster.values() if isinstance(v, list))
    problem = None
    if not cfg:
        problem = "TF_CONFIG is not set"
    elif tasks < 2:
        problem = f"TF_CONFIG names {tasks} task(s) in its cluster (one process: use mirrored)"
    elif "type" not in task or "index" not in task:
        problem = "TF_CONFIG has no task (type and index) for this process"
    elif not isinstance(cluster.get(task["type"]), list) or not (
        isinstance(task["index"], int) and 0 <= task["index"] < len(cluster[task["type"]])
    ):
        problem = f"TF_CONFIG's task {task} is not in its cluster"
    if problem:
        raise UserError(
            f"--strategy multi-worker needs TF_CONFIG naming the cluster and this process's "
            f"task ({problem}), e.g. {_TF_CONFIG_EXAMPLE} (see --strategy in README.md, "
            f"Training)"
        )


def make_strategy(name: str = "auto", cpu_replicas: int = 0):
    """Returns a ``tf.distribute`` strategy.

    Args:
        name: ``"auto"`` (multi-worker when ``TF_CONFIG`` names several workers, else mirrored
            when there are several GPUs or ``cpu_replicas > 1``, else the default strategy),
            ``"default"``, ``"mirrored"`` or ``"multi-worker"``.
        cpu_replicas: ``N > 1``: mirror over ``N`` logical CPU devices, even where GPUs exist
            (the CPU is split into ``N`` first, :func:`configure_cpu_replicas`). ``0`` or ``1``:
            mirror over the GPUs, or the one CPU when there is none.

    Mirrored over a single device warns on stderr (the run has one replica).

    Example:
        >>> strategy = make_strategy("mirrored", cpu_replicas=2)  # on a GPU host too
        >>> [d.split(":")[-2] for d in strategy.extended.worker_devices]
        ['CPU', 'CPU']

    Raises:
        UserError: an unknown name, ``"multi-worker"`` without a cluster in ``TF_CONFIG``
            (:func:`check_multi_worker_config`), or ``cpu_replicas`` after TensorFlow started.
    """
    import tensorflow as tf

    if name not in STRATEGIES:
        raise UserError(f"--strategy must be one of {STRATEGIES}, got {name!r}")
    if name == "multi-worker":
        check_multi_worker_config()
    configure_cpu_replicas(cpu_replicas)
    if name == "auto":
        workers = (tf_config().get("cluster") or {}).get("worker", [])
        if len(workers) > 1:
            name = "multi-worker"
        elif len(tf.config.list_physical_devices("GPU")) > 1 or cpu_replicas > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if gpus and cpu_replicas <= 1:
        devices = tuple(d.name for d in gpus)
    else:  # asked for CPU replicas explicitly (or no GPU): the logical CPUs, GPUs or not
        devices = tuple(d.name for d in tf.config.list_logical_devices("CPU"))
        devices = devices[: max(cpu_replicas, 1)]
    if len(devices) == 1:
        print(
            "keras_pggan.training.distribute: WARNING: --strategy mirrored found 1 device "
            f"({devices[0]}): "
            f"training runs with 1 replica; pass --cpu-replicas N to split the CPU into N "
            f"logical devices (or run on several GPUs)",
            file=sys.stderr,
            flush=True,
        )
    # One MirroredStrategy per device set and process: a second instance reuses the collective
    # instance keys of the first and its all-reduces fail with a shape mismatch.
    if devices not in _MIRRORED:
        _MIRRORED[devices] = tf.distribute.MirroredStrategy(list(devices))
    return _MIRRORED[devices]


def check_jit_compile(strategy, jit_compile: str) -> None:
    """Refuses ``--jit-compile true`` with several replicas on CPU devices.

    XLA cannot compile a step whose replicas' variables live on other CPU devices (TensorFlow's
    XLA known issue "tf.Variable on a different device": the first step fails). ``"auto"``
    turns XLA off under any ``tf.distribute`` strategy (Keras's rule).

    Raises:
        UserError: ``jit_compile == "true"`` and ``strategy`` has several replicas on CPUs.
    """
    if jit_compile != "true" or strategy.num_replicas_in_sync == 1:
        return
    devices = getattr(strategy.extended, "worker_devices", ())
    if any("CPU" in d.upper() for d in devices):
        raise UserError(
            f"--jit-compile true cannot compile a step mirrored over CPU devices ({len(devices)} "
            f"replicas: XLA cannot reach another device's variables); use --jit-compile auto "
            f"or false, or one replica"
        )


def worker_info(strategy):
    """(is_chief, task_id) under multi-worker training; (True, 0) otherwise."""
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True, 0
    resolver = strategy.cluster_resolver
    task_type, task_id = resolver.task_type, resolver.task_id
    is_chief = task_type in (None, "chief") or (task_type == "worker" and task_id == 0)
    return is_chief, task_id or 0
