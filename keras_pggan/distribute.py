"""Strategies: the default, mirrored (GPUs, or logical CPU devices), multi-worker."""

from __future__ import annotations

import json
import os

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


def make_strategy(name: str = "auto", cpu_replicas: int = 0):
    """Returns a ``tf.distribute`` strategy.

    Args:
        name: ``"auto"`` (multi-worker when ``TF_CONFIG`` names several workers, else mirrored
            when there are several GPUs or ``cpu_replicas > 1``, else the default strategy),
            ``"default"``, ``"mirrored"`` or ``"multi-worker"``.
        cpu_replicas: logical CPU devices to mirror over when there is no GPU.
    """
    import tensorflow as tf

    if name not in STRATEGIES:
        raise UserError(f"--strategy must be one of {STRATEGIES}, got {name!r}")
    configure_cpu_replicas(cpu_replicas)
    if name == "auto":
        tf_config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
        workers = tf_config.get("cluster", {}).get("worker", [])
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
    if gpus:
        devices = tuple(d.name for d in gpus)
    else:
        devices = tuple(d.name for d in tf.config.list_logical_devices("CPU"))
        devices = devices[: max(cpu_replicas, 1)]
    # One MirroredStrategy per device set and process: a second instance reuses the collective
    # instance keys of the first and its all-reduces fail with a shape mismatch.
    if devices not in _MIRRORED:
        _MIRRORED[devices] = tf.distribute.MirroredStrategy(list(devices))
    return _MIRRORED[devices]


def worker_info(strategy):
    """(is_chief, task_id) under multi-worker training; (True, 0) otherwise."""
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True, 0
    resolver = strategy.cluster_resolver
    task_type, task_id = resolver.task_type, resolver.task_id
    is_chief = task_type in (None, "chief") or (task_type == "worker" and task_id == 0)
    return is_chief, task_id or 0
