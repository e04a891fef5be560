"""Training faults (keras_pggan.training.guards, keras_pggan.training.callbacks,
keras_pggan.train): the NaN
guard, ``apply_if_finite`` (one process and across replicas), crash-safe checkpoints, and
``kill -9`` in the middle of an epoch followed by ``--resume``.

docs/reliability.md describes each behaviour and names its test.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from reliability_fixtures import CROP

from keras_pggan import cli
from keras_pggan.config import get_preset
from keras_pggan.models.generator import build_generator
from keras_pggan.training.callbacks import AtomicBackupAndRestore, GeneratorCheckpoint
from keras_pggan.training.guards import NonFiniteGuard, NonFiniteLossError, apply_if_finite

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# -- training faults: the NaN guard --------------------------------------------------------------


def _nan_batches(steps, nan_step, seed=0):
    rng = np.random.default_rng(seed)
    for step in range(steps):
        image = rng.uniform(size=(2, CROP, CROP, 3)).astype(np.float32)
        mask = np.zeros((2, CROP, CROP, 1), np.float32)
        mask[:, 8:20, 10:24] = 1.0
        if step == nan_step:
            image[0, 0, 0, 0] = np.nan
        yield {"image": image, "mask": mask}


def _tiny_pggan(seed=0):
    from keras_pggan.models.discriminator import build_discriminator
    from keras_pggan.training.model import PGGAN

    cfg = get_preset("tiny")
    keras.utils.set_random_seed(seed)
    gan = PGGAN(
        build_generator(cfg.generator),
        build_discriminator(cfg.discriminator, CROP),
        cfg.loss,
    )
    gan.compile()
    return gan


def test_nan_guard_stops_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    gan = _tiny_pggan()
    run = tmp_path / "run"
    steps, nan_step = 3, 4  # epoch 2, batch 1
    ds = tf.data.Dataset.from_generator(
        lambda: _nan_batches(3 * steps, nan_step),
        output_signature={
            "image": tf.TensorSpec([2, CROP, CROP, 3], tf.float32),
            "mask": tf.TensorSpec([2, CROP, CROP, 1], tf.float32),
        },
    )
    callbacks = [
        NonFiniteGuard(str(run)),  # first: its on_epoch_end runs before the savers
        AtomicBackupAndRestore(str(run / "backup"), delete_checkpoint=False),
        GeneratorCheckpoint(str(run / "checkpoints")),
    ]
    with pytest.raises(NonFiniteLossError) as info:
        gan.fit(ds, epochs=3, steps_per_epoch=steps, callbacks=callbacks, shuffle=False, verbose=0)
    error = info.value
    assert (error.epoch, error.batch) == (2, 1)
    assert "g_loss" in error.values and np.isnan(error.values["g_loss"])
    good = str(run / "checkpoints" / "generator-epoch001.keras")
    assert error.checkpoints["generator"] == good and error.checkpoints["backup_epoch"] == 1
    err = capsys.readouterr().err
    assert good in err and "--resume" in err and "epoch 2, batch 1" in err
    # Nothing from the poisoned state was written: no epoch-2 files, finite saved weights.
    assert sorted(os.listdir(run / "checkpoints")) == ["generator-epoch001.keras"]
    weights = keras.saving.load_model(good, compile=False).get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    meta = json.loads((run / "backup" / "training_metadata.json").read_text())
    assert meta["epoch"] == 1
    # The live model is poisoned (the NaN step was applied); the backup restores the good state.
    assert not all(np.isfinite(w).all() for w in gan.generator.get_weights())
    fresh = _tiny_pggan(seed=1)
    restore = AtomicBackupAndRestore(str(run / "backup"), delete_checkpoint=False)
    restore.set_model(fresh)
    restore.on_train_begin()
    assert fresh._initial_epoch == 1
    for a, b in zip(fresh.generator.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_nan_guard_checks_weights_at_epoch_end(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    guard = NonFiniteGuard(str(tmp_path))
    guard.set_model(model)
    guard.on_epoch_end(0, {"loss": 0.5})  # finite: nothing happens
    model.layers[0].kernel.assign([[np.inf], [0.0]])
    with pytest.raises(NonFiniteLossError, match="end of epoch 1") as info:
        guard.on_epoch_end(0, {"loss": 0.5})
    assert any(k.startswith("state:") for k in info.value.values)
    assert "none yet" in str(info.value)


class _SkipModel(keras.Model):
    """A linear model whose train_step uses the ``skip`` policy."""

    def __init__(self):
        super().__init__(name="skip_model")
        self.dense = keras.layers.Dense(1, kernel_initializer="ones")
        self.skipped = keras.Variable(0, dtype="int32", trainable=False, name="skipped")

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((self(x) - y) ** 2)
        variables = self.trainable_variables
        applied = apply_if_finite(self.optimizer, tape.gradient(loss, variables), variables)
        self.skipped.assign_add(tf.cast(~applied, tf.int32))
        return {"loss": tf.where(applied, loss, 0.0)}


def _skip_run(batches):
    keras.utils.set_random_seed(0)
    model = _SkipModel()
    model(np.zeros((1, 2), np.float32))  # builds the dense layer
    model.compile(optimizer=keras.optimizers.Adam(0.1))
    xs = np.stack([b[0] for b in batches])
    ys = np.stack([b[1] for b in batches])
    model.fit(
        xs.reshape(-1, 2), ys.reshape(-1, 1), batch_size=4, epochs=1, shuffle=False, verbose=0
    )
    return model


def test_apply_if_finite_skips_exactly_the_bad_batch():
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(4, 2)), rng.normal(size=(4, 1))) for _ in range(4)]
    poisoned = list(batches)
    poisoned.insert(2, (np.full((4, 2), np.nan), np.zeros((4, 1))))
    a, b = _skip_run(batches), _skip_run(poisoned)
    assert int(b.skipped.numpy()) == 1 and int(a.skipped.numpy()) == 0
    assert int(a.optimizer.iterations.numpy()) == int(b.optimizer.iterations.numpy()) == 4
    for x, y in zip(a.dense.get_weights(), b.dense.get_weights()):
        np.testing.assert_allclose(x, y, rtol=1e-6)
    for x, y in zip(a.optimizer.variables, b.optimizer.variables):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-6)


@pytest.mark.parametrize("bad_replica", [None, 0, 1])
def test_apply_if_finite_replicas_agree(bad_replica):
    from keras_pggan.training import run as train

    strategy = train.make_strategy("mirrored", cpu_replicas=2)
    with strategy.scope():
        v = keras.Variable([1.0, 2.0])
        opt = keras.optimizers.Adam(0.1)
        opt.build([v])

    @tf.function
    def step():
        def fn():
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            g = tf.constant([1.0, -1.0])
            if bad_replica is not None:
                g = tf.where(replica == bad_replica, tf.constant([np.nan, 1.0]), g)
            return apply_if_finite(opt, [g], [v])

        return strategy.experimental_local_results(strategy.run(fn))

    before = [x.numpy().copy() for x in opt.variables]
    applied = [bool(x) for x in step()]
    assert applied == [bad_replica is None] * 2
    if bad_replica is None:
        assert int(opt.iterations.numpy()) == 1 and not np.allclose(v.numpy(), [1.0, 2.0])
    else:
        assert int(opt.iterations.numpy()) == 0
        np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])
        for x, y in zip(opt.variables, before):  # moments and counters untouched
            np.testing.assert_array_equal(x.numpy(), y)


# -- training faults: crash-safe checkpoints -------------------------------------------------------


def _dense_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    return model


def test_atomic_backup_survives_a_crash_inside_the_weights_write(tmp_path):
    """In-process: a save dies half-way through its weights file; the backup still restores."""
    x, y = np.ones((8, 3), np.float32), np.zeros((8, 2), np.float32)
    model = _dense_model()
    backup = AtomicBackupAndRestore(str(tmp_path), delete_checkpoint=False, double_checkpoint=True)
    model.fit(x, y, epochs=2, callbacks=[backup], verbose=0)
    good = [w.copy() for w in model.get_weights()]
    real_save = model.save_weights

    def dying_save(filepath, overwrite=True):
        real_save(filepath, overwrite=overwrite)
        with open(filepath, "r+b") as f:  # half a file, then the process "dies"
            f.truncate(os.path.getsize(filepath) // 2)
        raise KeyboardInterrupt

    model.save_weights = dying_save
    with pytest.raises(KeyboardInterrupt):
        backup.on_epoch_end(2)
    files = sorted(os.listdir(tmp_path))
    assert files == [
        "training_metadata.json",
        "weights-epoch00001-batch000000.weights.h5",
        "weights-epoch00002-batch000000.weights.h5",
    ], files
    fresh = _dense_model(seed=1)
    restore = AtomicBackupAndRestore(str(tmp_path), delete_checkpoint=False)
    restore.set_model(fresh)
    restore.on_train_begin()
    assert fresh._initial_epoch == 2
    for a, b in zip(fresh.get_weights(), good):
        np.testing.assert_array_equal(a, b)


_KILL_CHILD = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np, keras
    from keras_pggan.training.callbacks import AtomicBackupAndRestore
    backup_dir, kind, when = sys.argv[1], sys.argv[2], sys.argv[3]
    out = os.path.dirname(backup_dir)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    real_save = model.save_weights
    saves = []

    def save(filepath, overwrite=True):
        real_save(filepath, overwrite=overwrite)
        saves.append(filepath)
        if len(saves) == 3:  # epoch 3's save: half written, or written but not committed
            if when == "during":
                with open(filepath, "r+b") as f:
                    f.truncate(os.path.getsize(filepath) // 2)
            open(os.path.join(out, "saving"), "w").close()
            time.sleep(600)

    model.save_weights = save

    class Reference(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            np.savez(os.path.join(out, f"ref{{epoch + 1}}.npz"),
                     *self.model.get_weights())

    cls = AtomicBackupAndRestore if kind == "atomic" else keras.callbacks.BackupAndRestore
    double = kind != "keras-single"
    backup = cls(backup_dir, delete_checkpoint=False, double_checkpoint=double)
    x, y = np.ones((8, 3), np.float32), np.zeros((8, 2), np.float32)
    model.fit(x, y, epochs=5, callbacks=[Reference(), backup], verbose=0)
    """
)


@pytest.mark.large
@pytest.mark.parametrize(
    "kind,when,survives",
    [
        ("atomic", "during", True),
        ("atomic", "between", True),
        # Controls: Keras's own callback loses the backup (single checkpoint) or pairs epoch-3
        # weights with epoch-2 metadata (kill between its two writes): the test detects both.
        ("keras-single", "during", False),
        ("keras-double", "between", False),
    ],
)
def test_kill_during_checkpoint_write(tmp_path, kind, when, survives):
    backup_dir = tmp_path / "backup"
    script = tmp_path / "child.py"
    script.write_text(_KILL_CHILD.format())
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(backup_dir), kind, when],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 240
        while not (tmp_path / "saving").exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.time() < deadline, "the child never reached its third save"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    want = np.load(tmp_path / "ref2.npz")
    want = [want[f"arr_{i}"] for i in range(len(want.files))]
    fresh = _dense_model(seed=1)
    cls = AtomicBackupAndRestore if kind == "atomic" else keras.callbacks.BackupAndRestore
    restore = cls(str(backup_dir), delete_checkpoint=False, double_checkpoint=True)
    restore.set_model(fresh)
    try:
        restore.on_train_begin()
        ok = fresh._initial_epoch == 2 and all(
            np.array_equal(a, b) for a, b in zip(fresh.get_weights(), want)
        )
    except Exception:
        ok = False
    assert ok == survives


# -- training faults: kill -9 in the middle of an epoch, then --resume ---------------------------

TRAIN_ARGS = ["--preset", "tiny", "--steps-per-epoch", "30", "--epochs", "3"]
TRAIN_ARGS += ["--validation-steps", "0", "--seed", "11", "--verbose", "0"]
RESUME_ATOL = 1e-5  # as tests/train_test.py: the runs match to float32 rounding


def _train(run_dir, *extra, wait=True):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    cmd = [sys.executable, "-m", "keras_pggan.train", *extra, "--run-dir", str(run_dir)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if wait:
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err.decode()[-3000:]
    return proc


def _epochs_done(run_dir) -> int:
    try:
        with open(os.path.join(run_dir, "backup", "training_metadata.json")) as f:
            return int(json.load(f)["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.large
def test_kill_9_mid_epoch_then_resume_equals_uninterrupted(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    _train(full, *TRAIN_ARGS)
    proc = _train(part, *TRAIN_ARGS, wait=False)
    try:
        deadline = time.time() + 600
        while _epochs_done(part) < 1:  # epoch 1 saved: epoch 2 is running
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.time() < deadline
            time.sleep(0.02)
        time.sleep(0.5)  # inside epoch 2 (30 steps take seconds)
        done_at_kill = _epochs_done(part)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (part / "generator.keras").exists()  # it really died before the end
    assert done_at_kill in (1, 2)
    # At most one save interval (one epoch) is lost: the resume starts from the last save.
    assert _epochs_done(part) == done_at_kill
    _train(part, "--resume", "--verbose", "0")
    assert _epochs_done(part) == 3
    a = keras.saving.load_model(full / "generator.keras", compile=False).get_weights()
    b = keras.saving.load_model(part / "generator.keras", compile=False).get_weights()
    assert len(a) == len(b)
    diff = max(float(np.abs(x - y).max()) for x, y in zip(a, b))
    print(f"kill -9 with {done_at_kill} epoch(s) saved; resumed weights differ by {diff:.2e}")
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=RESUME_ATOL)
    # The generator's moving average is part of the backup: the resumed run continues it.
    a = keras.saving.load_model(full / "generator_ema.keras", compile=False).get_weights()
    b = keras.saving.load_model(part / "generator_ema.keras", compile=False).get_weights()
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=RESUME_ATOL)


@pytest.mark.large
def test_ctrl_c_mid_epoch_exits_130_at_once_and_names_the_resume(tmp_path):
    """SIGINT while the input pipeline's Python decoders run: before the fix the teardown
    deadlocked (TensorFlow waits for a decode that needs the GIL the waiting thread holds)."""
    run = tmp_path / "run"
    args = ["--preset", "tiny", "--steps-per-epoch", "100", "--epochs", "4"]
    args += ["--validation-steps", "0", "--seed", "3", "--verbose", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "keras_pggan.train", *args, "--run-dir", str(run)],
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES=""),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A child of a non-interactive shell may inherit SIGINT ignored; Ctrl-C reaches a
        # terminal's foreground process with the default action.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.time() + 300
        while _epochs_done(run) < 1:  # epoch 1 saved: epoch 2 is running
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            assert time.time() < deadline, "epoch 1 never ended"
            time.sleep(0.02)
        time.sleep(0.3)
        done = _epochs_done(run)
        proc.send_signal(signal.SIGINT)
        sent = time.time()
        _, err = proc.communicate(timeout=60)
        took = time.time() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    print(f"exit {proc.returncode} {took:.1f} s after SIGINT with {done} epoch(s) saved")
    assert proc.returncode == 130, err[-3000:]
    assert took < 30, took  # the wait for the decoders is bounded by 15 s
    assert "Traceback" not in err
    assert err.rstrip("\n").splitlines()[-1] == (
        f"error: training stopped (Ctrl-C); {done} completed epoch(s) are saved in "
        f"{run / 'backup'}; continue with: {cli.python_command()} -m keras_pggan.train "
        f"--run-dir {run} --resume"
    )
    assert _epochs_done(run) == done and not (run / "generator.keras").exists()
