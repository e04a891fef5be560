"""Training precision and XLA (issue #20): ``mixed_float16`` with loss scaling, ``jit_compile``.

``TrainConfig.precision="mixed_float16"`` wraps both optimisers in ``LossScaleOptimizer``
(``PGGAN.compile``), ``TrainConfig.jit_compile`` reaches ``keras.Model.compile``
(``models.compile_gan``). Checked here: float16 losses against float32, overflow skips counted
(``skipped_steps``, ``g_loss_scale``, ``d_loss_scale``) under both NaN policies, replicas that
agree on an overflow, exact resume with the loss scale, XLA against the plain step (oneDNN on
and off), the CLI end to end with float32 outputs, and two mirrored CPU replicas.
"""

import glob
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import make_batch
from contracts import tiny_config

from keras_pggan.config import get_preset
from keras_pggan.training import run as train
from keras_pggan.training.build import build_gan, compile_gan
from keras_pggan.training.guards import NonFiniteGuard, NonFiniteLossError, apply_loss_scaled
from keras_pggan.training.model import (
    BASELINE_METRIC_NAMES,
    LOSS_SCALE_NAMES,
    METRIC_NAMES,
    SKIPPED_STEPS,
    BaselineGAN,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOSS_SCALED_LOGS = (*METRIC_NAMES, SKIPPED_STEPS, *LOSS_SCALE_NAMES)
# First-step losses, mixed_float16 vs float32 (same weights, same batch). Measured on the tiny
# preset (2-core x86 CPU, oneDNN on): largest relative difference 2.2e-4 on this test's batches
# (3.0e-4 on others; the adversarial terms, the L1 terms ~2e-6). Ten times that:
FLOAT16_RTOL = 3e-3


def _cfg(**train_fields):
    return get_preset("tiny").replace(
        train={"steps_per_epoch": 3, "epochs": 1, "validation_steps": 0, **train_fields}
    )


def _gan(cfg):
    gan = build_gan(cfg)
    compile_gan(gan, cfg)
    return gan


class _BatchLogs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rows = []

    def on_train_batch_end(self, batch, logs=None):
        self.rows.append({k: float(np.asarray(v).ravel()[0]) for k, v in logs.items()})


def _fit(gan, batches, *callbacks):
    """Trains one epoch over ``batches`` (dicts); returns the per-batch logs."""
    rows = _BatchLogs()
    ds = tf.data.Dataset.from_tensor_slices(
        {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
    ).batch(len(batches[0]["image"]))
    gan.fit(ds, epochs=1, verbose=0, shuffle=False, callbacks=[*callbacks, rows])
    return rows.rows


def _batches(n, size=32, batch=4, seed=5):
    return [make_batch(n=batch, size=size, seed=seed + i) for i in range(n)]


def _weights(gan):
    return [v.numpy().copy() for v in gan.generator.weights + gan.discriminator.weights]


def _set_scale(gan, scale):
    for opt in (gan.g_optimizer, gan.d_optimizer):
        opt.dynamic_scale.assign(scale)


# -- (a) float16 against float32 -------------------------------------------------------------------
def test_mixed_float16_trains_with_float32_logits_and_losses_close_to_float32():
    batches = _batches(3)
    ref, half = _gan(_cfg()), _gan(_cfg(precision="mixed_float16"))
    for a, b in zip(_weights(ref), _weights(half), strict=True):
        np.testing.assert_array_equal(a, b)  # the same seeded start; variables stay float32
        assert b.dtype == np.float32
    # The layers compute in float16; the generator's tanh output and both logit heads do not.
    assert half.generator.dtype_policy.name == "mixed_float16"
    assert any(layer.compute_dtype == "float16" for layer in half.generator.layers)
    assert half.generator.output.dtype == "float32"
    outputs = half.discriminator.output
    assert set(outputs) == {"global", "patch"}
    assert all(t.dtype == "float32" for t in outputs.values())
    for opt in (half.g_optimizer, half.d_optimizer):
        assert isinstance(opt, keras.optimizers.LossScaleOptimizer)
    for opt in (ref.g_optimizer, ref.d_optimizer):
        assert not isinstance(opt, keras.optimizers.LossScaleOptimizer)

    want, got = _fit(ref, batches), _fit(half, batches)
    assert set(want[0]) == set(METRIC_NAMES)  # float32 with nan_policy="stop": no skip logs
    assert set(got[0]) == set(LOSS_SCALED_LOGS)
    for row in got:
        assert all(np.isfinite(v) for v in row.values()), row
    rel = {k: abs(got[0][k] - v) / max(abs(v), 1e-6) for k, v in want[0].items() if v}
    print(f"float16 vs float32 first-step losses: max relative difference {max(rel.values()):.2e}")
    assert max(rel.values()) > 0  # it really computed in float16
    for k, v in want[0].items():
        assert got[0][k] == pytest.approx(v, rel=FLOAT16_RTOL, abs=1e-6), k
    # Training moved both networks in float16 too (steps were not all skipped).
    assert int(half.g_optimizer.iterations.numpy()) >= 2
    assert int(half.d_optimizer.iterations.numpy()) >= 2


# -- (b) overflow: counted, the scale lowered, the run not stopped -------------------------------
def test_overflow_is_counted_lowers_the_scale_and_does_not_stop_the_run():
    gan = _gan(_cfg(precision="mixed_float16"))
    assert gan.loss_scaling
    _set_scale(gan, 2.0**40)  # any scaled gradient passing a float16 layer overflows
    start = _weights(gan)
    rows = _fit(gan, _batches(2), NonFiniteGuard())  # nan_policy="stop": the guard is on
    assert [r[SKIPPED_STEPS] for r in rows] == [1.0, 2.0]
    for name in LOSS_SCALE_NAMES:
        assert [r[name] for r in rows] == [2.0**39, 2.0**38], name
    for row in rows:  # only the scaled gradients overflowed: the losses are finite
        assert all(np.isfinite(row[k]) for k in METRIC_NAMES), row
    for a, b in zip(start, _weights(gan), strict=True):
        np.testing.assert_array_equal(a, b)  # skipped steps change nothing
    for opt in (gan.g_optimizer, gan.d_optimizer):
        assert int(opt.iterations.numpy()) == 0
        assert float(opt.dynamic_scale.numpy()) == 2.0**38

    # A NaN in the losses still stops the run.
    poisoned = _batches(1, seed=9)
    poisoned[0]["image"][0, 0, 0, 0] = np.nan
    _set_scale(gan, 2.0**8)
    with pytest.raises(NonFiniteLossError) as err:
        _fit(gan, poisoned, NonFiniteGuard())
    assert "g_loss" in err.value.values and err.value.batch == 0


def test_skip_policy_under_loss_scaling_skips_and_counts_the_nan_step():
    gan = _gan(_cfg(precision="mixed_float16", nan_policy="skip"))
    _set_scale(gan, 2.0**8)  # no overflow on these batches: only the NaN step skips
    batches = _batches(3, seed=20)
    batches[1]["image"][0, 0, 0, 0] = np.nan
    rows = _fit(gan, batches, NonFiniteGuard())
    assert [r[SKIPPED_STEPS] for r in rows] == [0.0, 1.0, 1.0]
    assert all(np.isfinite(rows[-1][k]) for k in METRIC_NAMES)  # the means leave it out
    assert rows[1]["g_loss"] == rows[0]["g_loss"]
    for opt in (gan.g_optimizer, gan.d_optimizer):
        assert int(opt.iterations.numpy()) == 2
        assert float(opt.dynamic_scale.numpy()) == 2.0**7  # halved once, by the NaN step


@pytest.mark.parametrize("bad_replica", [None, 1])
def test_loss_scaled_replicas_agree_on_an_overflow(bad_replica):
    """Keras's LossScaleOptimizer decides on replica 0 alone: an Inf on replica 1 made the
    weights NaN and left the scale as it was (before apply_loss_scaled)."""
    strategy = train.make_strategy("mirrored", cpu_replicas=2)
    with strategy.scope():
        v = keras.Variable([1.0, 2.0])
        opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.1), 2.0**4)
        opt.build([v])

    @tf.function
    def step():
        def fn():
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            g = tf.constant([1.0, -1.0]) * opt.scale_loss(1.0)
            if bad_replica is not None:
                g = tf.where(replica == bad_replica, tf.constant([np.inf, 1.0]), g)
            return apply_loss_scaled(opt, [g], [v])

        return strategy.experimental_local_results(strategy.run(fn))

    applied = [bool(x) for x in step()]
    assert applied == [bad_replica is None] * 2
    if bad_replica is None:
        assert int(opt.iterations.numpy()) == 1 and float(opt.dynamic_scale.numpy()) == 16.0
        np.testing.assert_allclose(v.numpy(), [0.9, 2.1], atol=1e-5)  # Adam's first step: ±lr
    else:
        assert int(opt.iterations.numpy()) == 0 and float(opt.dynamic_scale.numpy()) == 8.0
        np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


# -- (c) resume --------------------------------------------------------------------------------
@pytest.mark.large
def test_resume_under_mixed_float16_equals_uninterrupted_with_the_loss_scale(tmp_path):
    cfg = _cfg(precision="mixed_float16").replace(train={"epochs": 2})
    full = train.run_training(cfg, str(tmp_path / "full"), verbose=0)["model"]
    part = str(tmp_path / "part")
    first = train.run_training(cfg.replace(train={"epochs": 1}), part, verbose=0)["model"]
    steps = cfg.train.steps_per_epoch
    resumed = train.run_training(cfg, part, resume=True, verbose=0)
    assert resumed["initial_epoch"] == 1
    model = resumed["model"]
    assert model.loss_scaling
    for a, b in zip(full.weights, model.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)  # measured: identical
    for name in ("g_optimizer", "d_optimizer"):
        want, got = getattr(full, name), getattr(model, name)
        # Every optimiser variable: the loss scale's own (step_counter, dynamic_scale) first,
        # then Adam's moments and iteration count.
        assert [v.path for v in want.variables] == [v.path for v in got.variables]
        for a, b in zip(want.variables, got.variables, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5, err_msg=a.path)
    # Not re-initialised at the resume: the generator's scale-growth counter (it never
    # overflows here, measured) went on from epoch 1's 3 to 6; a fresh optimiser would be at 3.
    assert int(first.g_optimizer.step_counter.numpy()) == steps
    assert int(model.g_optimizer.step_counter.numpy()) == 2 * steps


# -- (d) XLA -------------------------------------------------------------------------------------
# The same 3 steps with and without XLA, in a fresh process per oneDNN setting (TensorFlow reads
# TF_ENABLE_ONEDNN_OPTS when it loads). Prints the largest weight difference.
_XLA_SCRIPT = """
import json
import numpy as np, tensorflow as tf
from keras_pggan.config import get_preset
from keras_pggan.testing.fixtures import make_batch
from keras_pggan.training.build import build_gan, compile_gan

cfg = get_preset("tiny").replace(train={"validation_steps": 0})
data = make_batch(n=12, size=32, seed=5)
weights = {}
for jit in ("false", "true"):
    c = cfg.replace(train={"jit_compile": jit})
    gan = build_gan(c)
    compile_gan(gan, c)
    assert gan.jit_compile is (jit == "true")
    start = [w.numpy() for w in gan.generator.weights + gan.discriminator.weights]
    gan.fit(tf.data.Dataset.from_tensor_slices(data).batch(4), epochs=1, verbose=0)
    weights[jit] = [w.numpy() for w in gan.generator.weights + gan.discriminator.weights]
moved = max(float(np.abs(a - b).max()) for a, b in zip(start, weights["false"]))
diff = max(float(np.abs(a - b).max()) for a, b in zip(weights["false"], weights["true"]))
print(json.dumps({"diff": diff, "moved": moved}))
"""
# Measured on the tiny preset after 3 Adam steps (lr 2e-4, the weights moved by up to 6.3e-4;
# 2-core x86 CPU without AVX-512): largest weight difference XLA vs not 2.3e-6 with oneDNN on,
# 2.1e-6 with it off. About 20 times that; a wrong step would differ by the weights' motion.
XLA_ATOL = 5e-5


@pytest.mark.large
@pytest.mark.parametrize("onednn", ["0", "1"])
def test_xla_step_equals_the_plain_step(onednn):
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=onednn, TF_CPP_MIN_LOG_LEVEL="3")
    env["CUDA_VISIBLE_DEVICES"] = ""  # the same CPU arithmetic on a GPU host
    proc = subprocess.run(
        [sys.executable, "-c", _XLA_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"oneDNN {onednn}: XLA vs plain weights differ by {result['diff']:.2e}")
    assert result["moved"] > 5 * XLA_ATOL  # training moved the weights: the check means something
    assert result["diff"] <= XLA_ATOL


def test_jit_compile_reaches_keras_compile():
    for value, want in (("true", True), ("false", False)):
        gan = _gan(_cfg(jit_compile=value))
        assert gan.jit_compile is want
    # "auto" is Keras's rule: off on a CPU-only machine and under a tf.distribute strategy.
    gan = _gan(_cfg())
    assert gan.jit_compile is bool(tf.config.list_physical_devices("GPU"))
    with pytest.raises(ValueError, match="TrainConfig.jit_compile"):
        _cfg(jit_compile="yes")


def test_jit_compile_true_is_refused_on_mirrored_cpu_replicas(tmp_path):
    """Measured: XLA's first step fails there (a replica's variables on another CPU device)."""
    mirrored = train.make_strategy("mirrored", cpu_replicas=2)
    run = tmp_path / "run"
    with pytest.raises(train.UserError, match="--jit-compile true cannot compile"):
        train.run_training(_cfg(jit_compile="true"), str(run), strategy=mirrored, verbose=0)
    assert not run.exists()  # refused before anything was written
    train.check_jit_compile(mirrored, "auto")
    train.check_jit_compile(tf.distribute.get_strategy(), "true")


# -- (e) the CLI end to end ----------------------------------------------------------------------
@pytest.mark.large
def test_cli_mixed_float16_with_xla_writes_float32_models(tmp_path):
    from keras_pggan.config import ExperimentConfig
    from keras_pggan.export.tflite import export_tflite
    from keras_pggan.models.generator import all_layers
    from keras_pggan.models.saved import load_generator

    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "keras_pggan.train", "--preset", "tiny"]
    cmd += ["--precision", "mixed_float16", "--jit-compile", "true", "--steps-per-epoch", "2"]
    cmd += ["--epochs", "1", "--validation-steps", "1", "--verbose", "0", "--run-dir", str(run)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]

    cfg = ExperimentConfig.load(str(run / "config.json"))
    assert (cfg.train.precision, cfg.train.jit_compile) == ("mixed_float16", "true")
    (row,) = [json.loads(line) for line in open(run / "epochs.jsonl")]
    assert {SKIPPED_STEPS, *LOSS_SCALE_NAMES} <= set(row)
    assert all(np.isfinite(row[k]) for k in METRIC_NAMES)
    assert "val_g_loss" in row and f"val_{SKIPPED_STEPS}" not in row
    paths = [run / "generator.keras", *map(str, glob.glob(str(run / "checkpoints" / "*.keras")))]
    for path in paths:
        generator = load_generator(str(path))
        assert {layer.dtype_policy.name for layer in all_layers(generator)} == {"float32"}, path
        assert generator.output.dtype == "float32"

    # A TFLite build of it is float32 throughout (no float16 tensor).
    report = export_tflite(str(run / "generator.keras"), str(tmp_path / "g.tflite"))
    from ai_edge_litert.interpreter import Interpreter  # LiteRT, as everywhere (not tf.lite)

    interpreter = Interpreter(model_path=report["path"])
    dtypes = {d["dtype"] for d in interpreter.get_tensor_details()}
    assert np.float16 not in dtypes and np.float32 in dtypes, dtypes


# -- (f) two mirrored CPU replicas ---------------------------------------------------------------
# Per step, mixed_float16 on two mirrored CPU replicas vs one device. Measured (tiny preset, 3
# steps of 4 images): the logged losses differ by up to 1.2e-4 relative (1.0e-4 at the first
# step: float16 convolutions of 2- and 4-image batches round differently). The weights differ
# by up to 3.9e-4 (about 2·lr: Adam's first steps move a weight with a near-zero gradient by
# ±lr whichever way its float16 rounding goes), too close to their motion to compare. About 15
# times the loss difference:
MIRRORED_RTOL = 2e-3


@pytest.mark.large
def test_mirrored_two_cpu_replicas_under_mixed_float16_equal_one_device():
    """Loss scaling under MirroredStrategy: finite, the same losses as one device.

    Both start at scale 2**10: at Keras's 2**15 the discriminator's whole-batch gradient
    overflows on one device on these batches while each replica's half-batch share does not
    (measured), a legitimate difference that would hide the comparison.
    """
    cfg, batches = _cfg(precision="mixed_float16"), _batches(3)

    def run(strategy):
        with strategy.scope():
            gan = _gan(cfg)
        _set_scale(gan, 2.0**10)
        return gan, _fit(gan, batches)

    with tf.device("/cpu:0"):  # CPU against CPU on a GPU host too
        one, want = run(tf.distribute.get_strategy())
    mirrored = train.make_strategy("mirrored", cpu_replicas=2)
    assert mirrored.num_replicas_in_sync == 2
    two, got = run(mirrored)
    assert two.distribute_strategy is mirrored and two.loss_scaling
    for name in ("g_optimizer", "d_optimizer"):
        assert int(getattr(two, name).iterations.numpy()) == 3
        assert int(getattr(one, name).iterations.numpy()) == 3
    worst = []  # per step
    for a, b in zip(want, got, strict=True):
        worst.append(0.0)
        assert set(b) == set(LOSS_SCALED_LOGS)
        assert all(np.isfinite(v) for v in b.values()), b
        for k in (SKIPPED_STEPS, *LOSS_SCALE_NAMES):
            assert b[k] == a[k], k
        for k in METRIC_NAMES:
            assert b[k] == pytest.approx(a[k], rel=MIRRORED_RTOL, abs=1e-6), k
            worst[-1] = max(worst[-1], abs(b[k] - a[k]) / max(abs(a[k]), 1e-6))
    print(f"mixed_float16, 2 replicas vs 1: relative loss differences per step {worst}")
    assert max(worst) > 0  # two different computations (not one model read twice)


# -- the baselines (BaselineGAN) ---------------------------------------------------------------
@pytest.mark.parametrize("variant", ["ce", "glgan"])
def test_baselines_train_under_mixed_float16(variant):
    cfg = tiny_config(variant, train={"precision": "mixed_float16"})
    gan = _gan(cfg)
    assert isinstance(gan, BaselineGAN) and gan.loss_scaling
    assert gan.discriminator.output["global"].dtype == "float32"
    _set_scale(gan, 2.0**10)
    rows = _fit(gan, _batches(2, batch=cfg.train.global_batch_size))
    assert set(rows[-1]) == {*BASELINE_METRIC_NAMES, SKIPPED_STEPS, *LOSS_SCALE_NAMES}
    assert all(np.isfinite(v) for v in rows[-1].values()), rows[-1]
    assert rows[-1][SKIPPED_STEPS] == 0.0
    assert int(gan.g_optimizer.iterations.numpy()) == 2
