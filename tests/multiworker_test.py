"""Multi-worker training that loses a worker (keras_pggan.training.distribute).

Tested as a cluster scheduler runs it: two ``python -m keras_pggan.train --strategy
multi-worker`` processes on localhost with ``TF_CONFIG``, one of them killed in the middle of an
epoch. The survivor must exit 4 within a bounded time, naming the lost worker on one line; both
restarted with ``--resume`` must end with the weights of an uninterrupted run. (Two workers that
train to the end: tests/train_test.py.)
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_pggan import errors
from keras_pggan.training import distribute
from keras_pggan.training.distribute import WorkerLostError, lost_worker

TRAIN_ARGS = ["--preset", "tiny", "--steps-per-epoch", "10", "--epochs", "2"]
TRAIN_ARGS += ["--validation-steps", "0", "--seed", "7", "--verbose", "0"]
RESUME_ATOL = 1e-5  # as tests/train_test.py; two workers equal one process to ~1e-7
# From the loss to the survivor's exit: detection (at once for a closed connection, at most the
# heartbeat timeout for a silent host), then at most the exit grace; plus a margin for a loaded
# machine.
EXIT_BOUND_S = distribute.HEARTBEAT_TIMEOUT_S + distribute.EXIT_GRACE_S + 15


# -- the error line, from TensorFlow's own messages (no cluster needed) ------------------------

# What TensorFlow 2.21 said on the survivor in the four ways of losing a worker on localhost.
_CLOSED = (
    "Collective ops is aborted by: recvmsg:Connection reset by peer\n"
    "Additional GRPC error information from remote target /job:worker/replica:0/task:1 while "
    "calling /tensorflow.WorkerService/RecvBuf:\n"
    ':UNKNOWN:Error received from peer  {grpc_status:14, grpc_message:"recvmsg:Connection reset '
    'by peer"}\nThe error could be from a previous operation. Restart your program to reset.'
)
_SILENT = (
    "Collective ops is aborted by: Error reported from /job:worker/task:1: The following tasks "
    "are unhealthy (stopped sending heartbeats):\n/job:worker/replica:0/task:1\nThe tasks have "
    "crashed. Check the task logs for an earlier error, or scheduler events (e.g. preemption, "
    "eviction) to debug further."
)
_LEADER_CLOSED = (
    "Collective ops is aborted by: Socket closed\nAdditional GRPC error information from remote "
    "target /job:worker/replica:0/task:0 while calling /tensorflow.WorkerService/"
    "CompleteInstance:\n"
)
_LEADER_SILENT = (
    "{{function_node __wrapped__CollectiveReduceV2_Nordering_token_1_device_/job:worker/"
    "replica:0/task:1/device:CPU:0}} Collective ops is aborted by: Deadline Exceeded\n\n"
    "RPC: /tensorflow.CoordinationService/Heartbeat"
)


@pytest.mark.parametrize(
    "me, message, lost, how",
    [
        (0, _CLOSED, 1, "its connection closed"),
        (0, _SILENT, 1, f"it sent no heartbeat for {distribute.HEARTBEAT_TIMEOUT_S} s"),
        (1, _LEADER_CLOSED, 0, "its connection closed"),
        (1, _LEADER_SILENT, 0, f"it sent no heartbeat for {distribute.HEARTBEAT_TIMEOUT_S} s"),
    ],
)
def test_the_error_names_the_lost_worker_and_its_address(monkeypatch, me, message, lost, how):
    cluster = {"worker": ["host-a:2222", "host-b:2223"]}
    monkeypatch.setenv(
        "TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": me}})
    )
    error = lost_worker(message)
    assert isinstance(error, WorkerLostError)
    assert error.task == ("worker", lost) and error.address == cluster["worker"][lost]
    assert str(error).startswith(f"worker {lost} ({cluster['worker'][lost]}) was lost ({how}")
    assert "--resume" in str(error)
    assert errors.exit_status(error) == 4 and errors.error_line(error) == str(error)


def test_other_strategies_pass_errors_through():
    import tensorflow as tf

    with pytest.raises(tf.errors.UnavailableError):
        with distribute.lost_worker_exit(tf.distribute.get_strategy(), bounded_exit=True):
            raise tf.errors.UnavailableError(None, None, "not a multi-worker run")


# -- two workers on localhost, one killed ------------------------------------------------------


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", errors.DEBUG_ENV)}
    return {**env, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def _train(run_dir, log_path, *args, tf_config=None) -> subprocess.Popen:
    """``python -m keras_pggan.train`` in a child, its output in a file (a pipe nobody reads
    while the other worker is waited for could fill and stall both)."""
    env = _env(TF_CONFIG=json.dumps(tf_config)) if tf_config else _env()
    with open(log_path, "a") as log:
        cmd = [sys.executable, "-m", "keras_pggan.train", *args, "--run-dir", str(run_dir)]
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)


def _workers(run_dir, logs, cluster, *args) -> list[subprocess.Popen]:
    """Two workers of ``cluster`` training into ``run_dir`` (``args``: TRAIN_ARGS by default)."""
    tasks = [{"cluster": cluster, "task": {"type": "worker", "index": i}} for i in range(2)]
    args = [*(args or TRAIN_ARGS), "--strategy", "multi-worker"]
    return [_train(run_dir, logs[i], *args, tf_config=tasks[i]) for i in range(2)]


def _epochs_done(backup_dir) -> int:
    try:
        with open(os.path.join(backup_dir, "training_metadata.json")) as f:
            return int(json.load(f)["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


def _wait(procs, timeout: float, logs) -> list[int]:
    deadline = time.time() + timeout
    try:
        for p in procs:
            p.wait(timeout=max(deadline - time.time(), 1))
    except subprocess.TimeoutExpired:
        pytest.fail("still running: " + " | ".join(open(log).read()[-1500:] for log in logs))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return [p.returncode for p in procs]


def _weights(path):
    import keras_pggan.models.generator  # noqa: F401 (registers the layers)

    return keras.saving.load_model(path, compile=False).get_weights()


def _errors(log_path) -> list[str]:
    with open(log_path) as f:
        return [line.rstrip("\n") for line in f if line.startswith("error: ")]


def _lose_worker(tmp_path, sig):
    """Starts two workers, sends ``sig`` to worker 1 inside epoch 2 and waits for worker 0.

    Returns (run dir, logs, cluster, epochs saved at the loss, survivor's exit status, seconds
    from the loss to its exit)."""
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    run = tmp_path / "mw"
    logs = [str(tmp_path / f"worker{i}.log") for i in range(2)]
    procs = _workers(run, logs, cluster)
    backups = [run / "backup", run / "worker1" / "backup"]
    try:
        deadline = time.time() + 300
        while min(_epochs_done(b) for b in backups) < 1:  # epoch 1 saved: epoch 2 is running
            assert all(p.poll() is None for p in procs), [open(log).read()[-2000:] for log in logs]
            assert time.time() < deadline, "epoch 1 never ended"
            time.sleep(0.02)
        time.sleep(0.3)  # inside epoch 2 (10 steps take seconds)
        saved = _epochs_done(backups[0])
        procs[1].send_signal(sig)
        lost_at = time.time()
        try:
            procs[0].wait(timeout=EXIT_BOUND_S + 60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the survivor still runs {EXIT_BOUND_S + 60} s after losing worker 1")
        took = time.time() - lost_at
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
    return run, logs, cluster, saved, procs[0].returncode, took


def _assert_named_the_lost_worker(logs, cluster, returncode, took, *hows):
    """The survivor exits 4 in time, naming worker 1 and one of ``hows`` as the way it was lost."""
    print(f"survivor exited {returncode} {took:.1f} s after worker 1 was lost: {_errors(logs[0])}")
    assert returncode == 4, open(logs[0]).read()[-3000:]
    (line,) = _errors(logs[0])
    named = f"error: worker 1 ({cluster['worker'][1]}) was lost ("
    assert any(line.startswith(named + how) for how in hows), line
    assert "--resume" in line
    assert "Traceback" not in open(logs[0]).read()
    assert took < EXIT_BOUND_S, took


@pytest.mark.large
def test_kill_9_of_a_worker_stops_the_other_then_resume_equals_uninterrupted(tmp_path):
    reference = _train(tmp_path / "ref", tmp_path / "ref.log", *TRAIN_ARGS, "--strategy", "default")
    run, logs, cluster, saved, returncode, took = _lose_worker(tmp_path, signal.SIGKILL)
    # A killed process's sockets close, but which the survivor notices first depends on what it
    # was doing: a collective in flight fails on the closed connection; between collectives the
    # coordination service's missed heartbeats come first (CI saw both). Both name worker 1.
    _assert_named_the_lost_worker(
        logs, cluster, returncode, took, "its connection closed", "it sent no heartbeat"
    )
    assert not (run / "generator.keras").exists()  # it really stopped before the end
    assert saved in (1, 2)

    # A scheduler restarts both with the same TF_CONFIG and --resume.
    resumed = _workers(run, logs, cluster, "--resume", "--verbose", "0")  # config.json's config
    assert _wait(resumed, 300, logs) == [0, 0]
    assert _wait([reference], 300, [tmp_path / "ref.log"]) == [0]
    for name in ("generator.keras", "generator_ema.keras"):
        want, got = _weights(tmp_path / "ref" / name), _weights(run / name)
        diff = max(float(np.abs(a - b).max()) for a, b in zip(want, got))
        print(f"{name}: resumed two workers vs one uninterrupted process differ by {diff:.1e}")
        assert len(want) == len(got) and diff <= RESUME_ATOL
    chief, other = _weights(run / "generator.keras"), _weights(run / "worker1" / "generator.keras")
    assert all(np.array_equal(a, b) for a, b in zip(chief, other))


@pytest.mark.large
def test_a_silent_worker_is_lost_after_the_heartbeat_timeout(tmp_path):
    """SIGSTOP: the process lives and its connections stay open (a host that hangs or drops
    off the network); only the coordination service's heartbeats notice."""
    run, logs, cluster, _, returncode, took = _lose_worker(tmp_path, signal.SIGSTOP)
    _assert_named_the_lost_worker(logs, cluster, returncode, took, "it sent no heartbeat")
    assert took >= distribute.HEARTBEAT_TIMEOUT_S * 0.5  # the heartbeat timeout, not a socket
