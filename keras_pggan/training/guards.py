"""NaN/Inf guards for training: stop before a poisoned state is saved, or skip the bad batch.

Two policies (``NAN_POLICIES``):

* ``"stop"``: :class:`NonFiniteGuard`, a Keras callback, checks every logged value after each
  batch, and the logs, weights and optimiser state at each epoch end. On a NaN or Inf it prints
  which checkpoints are the last good ones and raises :class:`NonFiniteLossError` *before* the
  epoch-end callbacks (``BackupAndRestore``, ``GeneratorCheckpoint``) run, so nothing computed
  from the bad state is written: ``backup/`` still resumes from the last good epoch and the newest
  ``checkpoints/generator-epochXXX.keras`` is finite. (Setting ``model.stop_training``, as
  ``keras.callbacks.TerminateOnNaN`` does by default, would still run every ``on_epoch_end`` and
  save the NaN weights; ``TerminateOnNaN`` also only looks at a ``loss`` key, which PGGAN does not
  log.) List the guard *first* in the callbacks so its ``on_epoch_end`` runs before the savers.
* ``"skip"``: :func:`apply_if_finite` replaces ``optimizer.apply_gradients`` in a train step: a
  step whose gradients hold a NaN or Inf on any replica changes no weight, no optimiser moment
  and no iteration count; the step returns whether it applied.

Under loss scaling (``mixed_float16``) :func:`apply_loss_scaled` applies a
``keras.optimizers.LossScaleOptimizer``'s update with every replica agreeing on an overflow, and
:class:`SkippedSteps` counts the steps skipped (by either policy or an overflow) per epoch. An
overflow is the loss scale's ordinary search for its value, not a fault: the guard stops on a
non-finite *logged* value, and the losses stay finite when only the scaled gradients overflow.

Example:
    >>> guard = NonFiniteGuard(run_dir="runs/x")       # first in the callback list
    >>> # model.fit(ds, callbacks=[guard, backup, checkpoint])   # doctest: +SKIP

    Inside ``train_step`` (the ``skip`` policy)::

        applied = apply_if_finite(self.g_optimizer, g_tape.gradient(g_loss, g_vars), g_vars)
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_pggan.config import NAN_POLICIES  # the schema's names (TrainConfig.nan_policy)
from keras_pggan.models import saved

__all__ = [
    "NAN_POLICIES",
    "NonFiniteGuard",
    "NonFiniteLossError",
    "SkippedSteps",
    "all_finite",
    "apply_if_finite",
    "apply_loss_scaled",
    "last_good_checkpoints",
]


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or Inf; raised by :class:`NonFiniteGuard`.

    Attributes:
        values: the non-finite entries, name → value (logs; ``weights`` for the model state).
        epoch: 1-based epoch in which it happened.
        batch: 0-based batch within the epoch (``None`` when found at the epoch end).
        checkpoints: :func:`last_good_checkpoints` of the run directory (``{}`` without one).
    """

    def __init__(
        self,
        message: str,
        values: Mapping[str, Any],
        epoch: int,
        batch: int | None,
        checkpoints: Mapping[str, Any],
    ):
        super().__init__(message)
        self.values = dict(values)
        self.epoch = epoch
        self.batch = batch
        self.checkpoints = dict(checkpoints)


# -- the "skip" policy ------------------------------------------------------------------------


def all_finite(tensors: Iterable) -> tf.Tensor:
    """A scalar bool tensor: every element of every (non-``None``) tensor is finite."""
    flags = [tf.reduce_all(tf.math.is_finite(t)) for t in tensors if t is not None]
    if not flags:
        return tf.constant(True)
    return tf.reduce_all(tf.stack(flags))


def _agreed(finite: tf.Tensor) -> tf.Tensor:
    """``finite`` on every replica: each sees its own gradients (the sum happens inside apply)."""
    if tf.distribute.get_strategy().num_replicas_in_sync == 1:
        return finite
    replica = tf.distribute.get_replica_context()
    bad = replica.all_reduce(tf.distribute.ReduceOp.SUM, tf.cast(~finite, tf.float32))
    return bad < 0.5


def _check_apply_args(grads, variables) -> tuple[list, list]:
    grads, variables = list(grads), list(variables)
    if len(grads) != len(variables):
        raise ValueError(f"got {len(grads)} gradients for {len(variables)} variables")
    if tf.distribute.in_cross_replica_context():
        raise ValueError("apply the gradients in a replica context (train_step, strategy.run)")
    return grads, variables


# -- loss scaling (mixed_float16), under either policy ----------------------------------------


def apply_loss_scaled(optimizer, grads, variables) -> tf.Tensor:
    """A ``LossScaleOptimizer``'s update of gradients of its scaled loss; replicas agree.

    The optimiser unscales the gradients and applies them, or, when one is NaN or Inf (an
    overflow of the scaled loss, or a real NaN), skips the step (no weight, moment or
    iteration changes) and halves its loss scale. Keras decides on replica 0's gradients alone
    (``LossScaleOptimizer._tf_apply``), so an overflow on another replica would reach the weights
    through the gradient all-reduce (measured: NaN weights, scale unchanged). Here the replicas
    agree first, and when any one's gradients are non-finite every replica's are made so.

    Args:
        optimizer: a built ``keras.optimizers.LossScaleOptimizer``.
        grads: gradients of ``optimizer.scale_loss(loss)`` (``None`` entries are ignored).
        variables: the variables they belong to.

    Returns:
        A scalar bool tensor: ``True`` when the update was applied (on every replica).

    Raises:
        ValueError: called in a cross-replica context, or ``grads`` and ``variables`` differ in
            length.

    Example:
        >>> v = keras.Variable([1.0])
        >>> opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1), 2.0**10)
        >>> opt.build([v])
        >>> bool(apply_loss_scaled(opt, [tf.constant([float("inf")])], [v]))
        False
        >>> float(opt.dynamic_scale.numpy()), v.numpy().tolist()
        (512.0, [1.0])
    """
    grads, variables = _check_apply_args(grads, variables)
    finite = _agreed(all_finite(grads))
    if tf.distribute.get_strategy().num_replicas_in_sync > 1:
        nan = tf.constant(float("nan"))
        grads = [g if g is None else tf.where(finite, g, tf.cast(nan, g.dtype)) for g in grads]
    optimizer.apply_gradients(zip(grads, variables))
    return finite


class SkippedSteps(keras.metrics.Metric):
    """The number of training steps (in the epoch) whose updates were skipped.

    ``update_state(applied)`` counts one when ``applied`` is false. Every replica passes the same
    (agreed) flag; the count is read from the first replica, so a step counts once whatever the
    number of replicas (a ``keras.metrics.Sum`` read at the epoch end adds the replicas' copies).

    Args:
        name: the logged name.
        **kwargs: passed to ``keras.metrics.Metric``.

    Example:
        >>> m = SkippedSteps()
        >>> m.update_state(tf.constant(False)); m.update_state(tf.constant(True))
        >>> float(m.result())
        1.0
    """

    def __init__(self, name: str = "skipped_steps", **kwargs):
        super().__init__(name=name, **kwargs)
        self.count = self.add_variable(
            (), "zeros", dtype="float32", aggregation="only_first_replica", name="count"
        )

    def update_state(self, applied):
        self.count.assign_add(1.0 - tf.cast(applied, tf.float32))

    def result(self):
        return tf.convert_to_tensor(self.count)


def apply_if_finite(optimizer, grads, variables) -> tf.Tensor:
    """``optimizer.apply_gradients(zip(grads, variables))`` unless a gradient is NaN or Inf.

    A skipped step changes nothing: no weight, no optimiser moment, no ``optimizer.iterations``
    (so learning-rate schedules do not advance either). Under a multi-replica strategy the
    replicas agree first (a NaN on one replica skips the step on all of them), so the gradient
    all-reduce inside ``apply`` runs on every replica or on none.

    Args:
        optimizer: a Keras optimizer (built here if it is not yet; build it beforehand when this
            runs inside a ``tf.function``, as ``PGGAN.compile`` does).
        grads: gradients (``None`` entries are ignored, as Keras does).
        variables: the variables they belong to.

    Returns:
        A scalar bool tensor: ``True`` when the update was applied.

    Raises:
        ValueError: called in a cross-replica context (call it inside ``train_step`` /
            ``strategy.run``), or ``grads`` and ``variables`` differ in length.

    Example:
        >>> v = keras.Variable([1.0, 2.0])
        >>> opt = keras.optimizers.SGD(0.1)
        >>> bool(apply_if_finite(opt, [tf.constant([float("nan"), 1.0])], [v]))
        False
        >>> v.numpy().tolist(), int(opt.iterations.numpy())
        ([1.0, 2.0], 0)
    """
    grads, variables = _check_apply_args(grads, variables)
    if not optimizer.built:
        optimizer.build(variables)
    finite = _agreed(all_finite(grads))
    strategy = tf.distribute.get_strategy()
    replica = tf.distribute.get_replica_context()

    def apply():
        optimizer.apply_gradients(zip(grads, variables))
        return tf.constant(True)

    def skip():
        return tf.constant(False)

    if strategy.num_replicas_in_sync == 1 or (
        tf.__internal__.distribute.strategy_supports_no_merge_call()
    ):
        tf.cond(finite, apply, skip)
        return finite

    def cross_replica(distribution, finite_per_replica):
        # A cond whose branch calls merge_call (inside apply) must run in cross-replica context;
        # Keras's LossScaleOptimizer does the same. The replicas agree, so the first flag serves.
        flag = distribution.experimental_local_results(finite_per_replica)[0]

        def apply_each():
            distribution.extended.call_for_each_replica(
                lambda: optimizer.apply_gradients(zip(grads, variables))
            )
            return tf.constant(True)

        return tf.cond(flag, apply_each, skip)

    replica.merge_call(cross_replica, args=(finite,))
    return finite


# -- the "stop" policy ------------------------------------------------------------------------


def last_good_checkpoints(run_dir: str, before_epoch: int | None = None) -> dict[str, Any]:
    """The newest generator checkpoint and the resume state of a run directory.

    Args:
        run_dir: a training run directory (``checkpoints/``, ``backup/``).
        before_epoch: only checkpoints of epochs before this (1-based) one count.

    Returns:
        ``{"generator": path or None, "generator_epoch": int or None, "backup": path or None,
        "backup_epoch": completed epochs recorded in ``backup/training_metadata.json`` (0 when
        there is none)}``.
    """
    best, best_epoch = None, None
    for path in saved.checkpoints(run_dir, saved.GENERATOR):
        epoch = saved.checkpoint_epoch(path)
        if before_epoch is not None and epoch >= before_epoch:
            continue
        if best_epoch is None or epoch > best_epoch:
            best, best_epoch = path, epoch
    backup = os.path.join(run_dir, "backup")
    backup_epoch = 0
    try:
        with open(os.path.join(backup, "training_metadata.json"), encoding="utf-8") as f:
            backup_epoch = int(json.load(f).get("epoch", 0))
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    return {
        "generator": best,
        "generator_epoch": best_epoch,
        "backup": backup if os.path.isdir(backup) else None,
        "backup_epoch": backup_epoch,
    }


def _non_finite(logs: Mapping[str, Any] | None, monitor) -> dict[str, float]:
    bad = {}
    for key, value in (logs or {}).items():
        if monitor is not None and key not in monitor:
            continue
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            continue  # not a number (e.g. a string a callback logged)
        if array.size and not np.isfinite(array).all():
            bad[key] = float(array.reshape(-1)[~np.isfinite(array.reshape(-1))][0])
    return bad


def _optimizers(model) -> list:
    found = []
    for name in ("optimizer", "g_optimizer", "d_optimizer"):
        opt = getattr(model, name, None)
        if opt is not None and hasattr(opt, "variables") and opt not in found:
            found.append(opt)
    return found


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops training at the first NaN or Inf, before anything is saved from the bad state.

    After every batch the logged values are checked; at every epoch end the logs (validation
    included), every model weight and every optimiser variable. On a non-finite value the guard
    prints (to stderr) what went wrong and which checkpoints of ``run_dir`` are the last good
    ones, then raises :class:`NonFiniteLossError`. Put it first in the callback list.

    Args:
        run_dir: the training run directory, to name the last good checkpoints (optional).
        monitor: log keys to check (default: every numeric logged value).
        check_state: also check the weights and optimiser variables at epoch end (a last batch
            can turn weights NaN while its own loss, computed before the update, is finite).

    Example:
        >>> guard = NonFiniteGuard("runs/x")
        >>> guard.run_dir
        'runs/x'
    """

    def __init__(
        self,
        run_dir: str | None = None,
        monitor: Iterable[str] | None = None,
        check_state: bool = True,
    ):
        super().__init__()
        self.run_dir = run_dir
        self.monitor = None if monitor is None else frozenset(monitor)
        self.check_state = check_state
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        bad = _non_finite(logs, self.monitor)
        if bad:
            self._stop(bad, batch)

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch
        bad = _non_finite(logs, self.monitor)
        if not bad and self.check_state:
            bad = self._non_finite_state()
        if bad:
            self._stop(bad, None)

    def _non_finite_state(self) -> dict[str, float]:
        variables = list(self.model.weights)
        for opt in _optimizers(self.model):
            variables += list(opt.variables)
        for v in variables:
            value = np.asarray(keras.ops.convert_to_numpy(v))
            if value.dtype.kind == "f" and not np.isfinite(value).all():
                path = getattr(v, "path", None) or getattr(v, "name", "?")
                return {f"state:{path}": float(value[~np.isfinite(value)].reshape(-1)[0])}
        return {}

    def _stop(self, bad: dict[str, float], batch: int | None):
        epoch = self._epoch + 1
        where = f"epoch {epoch}, batch {batch}" if batch is not None else f"end of epoch {epoch}"
        values = ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(bad.items()))
        lines = [
            f"keras_pggan.training.guards: non-finite value at {where}: {values}.",
            "Training stopped before anything was saved from this state.",
        ]
        checkpoints: dict[str, Any] = {}
        if self.run_dir:
            checkpoints = last_good_checkpoints(self.run_dir, before_epoch=epoch)
            if checkpoints["generator"]:
                lines.append(
                    f"Last good generator: {checkpoints['generator']} "
                    f"(epoch {checkpoints['generator_epoch']})."
                )
            else:
                lines.append("Last good generator: none yet (no epoch finished).")
            if checkpoints["backup"] and checkpoints["backup_epoch"]:
                lines.append(
                    f"Resume state: {checkpoints['backup']} ({checkpoints['backup_epoch']} "
                    f"completed epoch(s)); continue with: python -m keras_pggan.train --resume "
                    f"--run-dir {self.run_dir} (lower the learning rates, or --nan-policy skip)."
                )
            else:
                lines.append("Resume state: none yet (no completed epoch in backup/).")
        message = "\n".join(lines)
        print(message, file=sys.stderr, flush=True)
        raise NonFiniteLossError(message, bad, epoch, batch, checkpoints)


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "nan"
    return "inf" if value > 0 else "-inf"
