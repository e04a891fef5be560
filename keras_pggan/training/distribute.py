"""Strategies: the default, mirrored (GPUs, or logical CPU devices), multi-worker.

``make_strategy("mirrored")`` mirrors over every GPU; ``make_strategy("mirrored",
cpu_replicas=N)`` with ``N > 1`` over ``N`` logical CPU devices even where GPUs exist (what the
tests and ``--cpu-replicas`` ask for: the same replicas on any host).

A multi-worker run survives the loss of a worker in bounded time: every worker sends heartbeats
to TensorFlow's coordination service (on worker 0, or the chief), which declares a worker that
has been silent for :data:`HEARTBEAT_TIMEOUT_S` lost and aborts the collectives of the others
(a worker whose process dies on a reachable host is noticed at once, its connections close).
:func:`lost_worker_exit` turns the aborted step into a :class:`WorkerLostError` naming the lost
worker, and makes sure the process then exits within :data:`EXIT_GRACE_S`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading

from keras_pggan.config import STRATEGIES
from keras_pggan.errors import UserError, exit_status


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
        _configure_worker_health()
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


# -- a lost worker ---------------------------------------------------------------------------

# A worker silent this long is lost: the coordination service aborts every other worker's
# collectives. TensorFlow's default is 10 s; twice that leaves room for a host whose CPUs are
# saturated by the input pipeline (heartbeats go out every half timeout, from a C++ thread).
HEARTBEAT_TIMEOUT_S = 20
# How long a worker's exit waits at the coordination service's shutdown barrier for the others
# (TensorFlow's default waits for a lost worker for ever: the hang at exit).
SHUTDOWN_BARRIER_TIMEOUT_S = 10
# After a lost worker, the process exits within this many seconds whatever the teardown of the
# collectives does (a watchdog thread ends it with the command's exit status).
EXIT_GRACE_S = 30

_TASK = re.compile(r"/job:(\w+)/(?:replica:\d+/)?task:(\d+)")


class WorkerLostError(Exception):
    """A worker of a multi-worker run stopped (its process died or it went silent).

    Every worker of the run stops with it; restarting all of them with ``--resume`` continues
    from the last completed epoch. Attributes: ``task`` (``("worker", 1)``, or ``None`` when
    TensorFlow's error did not say which) and ``address`` (its ``host:port`` in ``TF_CONFIG``).
    """

    def __init__(self, message: str, task: tuple[str, int] | None = None, address: str = ""):
        super().__init__(message)
        self.task = task
        self.address = address


def _configure_worker_health() -> None:
    """Heartbeat and shutdown timeouts of the coordination service, before the strategy starts.

    ``MultiWorkerMirroredStrategy`` configures the service itself only when nothing has (with
    TensorFlow's defaults); this is its configuration with our two timeouts. Uses TensorFlow's
    internal eager context: no public API sets them (TF 2.21).
    """
    import tensorflow as tf
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.eager import context

    if context.context().coordination_service is not None:  # configured already (a 2nd call)
        return
    cluster = tf.distribute.cluster_resolver.TFConfigClusterResolver().cluster_spec()
    jobs = [
        coordination_config_pb2.CoordinatedJob(name=job, num_tasks=cluster.num_tasks(job))
        for job in ("chief", "worker")
        if job in cluster.jobs
    ]
    context.context().configure_coordination_service(
        service_type="standalone",
        service_leader=multi_worker_util.coordination_leader(cluster),
        coordinated_jobs=jobs,
        heartbeat_timeout_in_ms=HEARTBEAT_TIMEOUT_S * 1000,
        shutdown_barrier_timeout_in_ms=SHUTDOWN_BARRIER_TIMEOUT_S * 1000,
    )


def lost_worker(message: str) -> WorkerLostError:
    """The :class:`WorkerLostError` that a TensorFlow error ``message`` of an aborted step means.

    The lost worker is the one the coordination service lists as unhealthy ("stopped sending
    heartbeats"); the coordination service's own worker (0, or the chief) when this worker's
    heartbeats to it went unanswered; else the remote target whose connection failed, else any
    other task named. Its address comes from ``TF_CONFIG``.

    Example (``TF_CONFIG`` naming ``"localhost:2223"`` as worker 1):
        >>> error = lost_worker("Socket closed ... remote target /job:worker/replica:0/task:1")
        >>> str(error)[:68]
        'worker 1 (localhost:2223) was lost (its connection closed: the proce'
    """
    cfg = tf_config()
    cluster = cfg.get("cluster") or {}
    me = cfg.get("task") or {}
    me = (me.get("type"), me.get("index"))
    silent = f"it sent no heartbeat for {HEARTBEAT_TIMEOUT_S} s: its host or process stopped"
    if "stopped sending heartbeats" in message:  # the service, on this worker, names the silent
        how, named = silent, _tasks(message.split("unhealthy", 1)[-1])
    elif "CoordinationService" in message:  # this worker's heartbeats to the service timed out
        how, named = silent, [("chief", 0) if "chief" in cluster else ("worker", 0)]
    else:
        remote = [(job, int(i)) for job, i in re.findall("remote target " + _TASK.pattern, message)]
        named = remote + _tasks(message)
        closed = any(word in message.lower() for word in ("closed", "connection", "reset"))
        how = "its connection closed: the process died" if closed else "a collective failed"
    task = next((t for t in named if t != me), None)
    address = ""
    who = "a worker"
    if task is not None:
        hosts = cluster.get(task[0]) or []
        address = hosts[task[1]] if task[1] < len(hosts) else ""
        who = f"{task[0]} {task[1]}" + (f" ({address})" if address else "")
    return WorkerLostError(
        f"{who} was lost ({how}); this worker stopped too. Restart every worker with the same "
        f"TF_CONFIG and --resume: training continues from the last completed epoch "
        f"(TensorFlow: {_first_line(message)})",
        task,
        address,
    )


def _tasks(text: str) -> list[tuple[str, int]]:
    return [(job, int(i)) for job, i in _TASK.findall(text)]


def _first_line(message: str) -> str:
    """TensorFlow's own words: the first line that is not a graph-error preamble."""
    skip = ("Graph execution error", "Detected at node", "File ", "Traceback")
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(skip)] or lines or [""]
    line = re.sub(r"^\{\{function_node [^}]*\}\}\s*", "", lines[0])
    return line.rstrip(":")[:300]


@contextlib.contextmanager
def lost_worker_exit(strategy, bounded_exit: bool = False, grace_s: float = EXIT_GRACE_S):
    """Turns a step aborted by a lost worker into :class:`WorkerLostError`, and bounds the exit.

    Under ``MultiWorkerMirroredStrategy``, a TensorFlow error that a lost peer causes
    (``UnavailableError``: connection closed or heartbeats stopped; ``DeadlineExceededError``,
    ``AbortedError``, ``CancelledError``, ``FailedPreconditionError``: a peer restarted) is
    re-raised as :class:`WorkerLostError`. With ``bounded_exit``, a daemon thread then ends the
    process with that error's exit status (:func:`keras_pggan.errors.exit_status`) if it has
    not exited ``grace_s`` seconds later: tearing down collectives whose peer is gone may block
    (a command's choice, not a library's: only a command's own process may be ended). Other
    strategies pass everything through.

    Example:
        >>> with lost_worker_exit(strategy, bounded_exit=True):  # doctest: +SKIP
        ...     run_training(cfg, run_dir, strategy=strategy)
    """
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        yield
        return
    lost_kinds = (
        tf.errors.UnavailableError,
        tf.errors.DeadlineExceededError,
        tf.errors.AbortedError,
        tf.errors.CancelledError,
        tf.errors.FailedPreconditionError,
    )
    try:
        yield
    except lost_kinds as e:
        error = lost_worker(getattr(e, "message", str(e)))
        if bounded_exit:
            _exit_after(grace_s, exit_status(error) or 1)
        raise error from e


def _exit_after(seconds: float, status: int) -> None:
    """Ends the process with ``status`` in ``seconds`` unless it has exited by then.

    A timer thread does it while Python runs; a call into TensorFlow that blocks holding the
    interpreter's lock (the teardown at exit) can starve it, so :mod:`faulthandler`'s C thread
    backs it up 10 s later (its exit status is 1, after every thread's stack on stderr).
    """
    import faulthandler

    faulthandler.dump_traceback_later(seconds + 10, exit=True)

    def end() -> None:
        print(
            f"keras_pggan.training.distribute: the exit after a lost worker took over "
            f"{seconds:g} s (collectives still tearing down); ending the process now",
            file=sys.stderr,
            flush=True,
        )
        os._exit(status)

    timer = threading.Timer(seconds, end)
    timer.daemon = True
    timer.start()
