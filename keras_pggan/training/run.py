"""Train PGGAN with ``model.fit`` on one or many devices: :func:`run_training`.

The command line is ``python -m keras_pggan.train`` (:mod:`keras_pggan.train.__main__`).

Example:
    >>> from keras_pggan.config import get_preset
    >>> result = run_training(get_preset("tiny"), "runs/tiny")  # doctest: +SKIP
    >>> result["generator_path"]  # doctest: +SKIP
    'runs/tiny/generator.keras'

A run directory holds ``config.json``, ``backup/`` (BackupAndRestore: resume state),
``checkpoints/`` (generator per epoch), ``logs/`` (TensorBoard scalars, sample grids, profiles),
``samples/`` (grid PNGs) and the final ``generator.keras``.
"""

from __future__ import annotations

import json
import os
import sys
import time

from keras_pggan import cli, cpu, errors
from keras_pggan.config import ExperimentConfig
from keras_pggan.errors import UserError

# configure_cpu_replicas and make_strategy are re-exported for the benchmarks and tests.
from keras_pggan.training.distribute import (  # noqa: F401
    check_jit_compile,
    configure_cpu_replicas,
    make_strategy,
    worker_info,
)
from keras_pggan.training.run_dir import check_new_run, completed_epochs
from keras_pggan.training.run_dir import prepare as prepare_run_dir
from keras_pggan.training.warm_start import warm_start, warm_start_paths


# -- the training run ---------------------------------------------------------------------------
def validate_inputs(
    cfg, resume: bool = False, init_from: str | None = None, init_discriminator: str | None = None
) -> None:
    """Read-only checks of what a run reads, before anything is created (no TensorFlow op).

    The data sources resolve to files, the mask spec parses, the ``folder`` kind's mask
    directory holds mask files and the warm-start files exist.

    Raises:
        UserError: naming the flag's value that is wrong.
    """
    from keras_pggan.data import pipeline as data_lib
    from keras_pggan.data.masks.sampling import list_mask_files, parse_mask_spec

    if resume and (init_from or init_discriminator):
        raise UserError("--init-from starts a new run; --resume continues one from its backup")
    try:
        data_lib.resolve_sources(cfg.data.train)
        if cfg.train.validation_steps and cfg.data.val:
            data_lib.resolve_sources(cfg.data.val)
        if any(kind == "folder" for kind, _ in parse_mask_spec(cfg.mask.spec)):
            list_mask_files(cfg.mask.mask_dir)
    except (FileNotFoundError, ValueError) as e:
        raise UserError(str(e)) from e
    if not resume:
        warm_start_paths(init_from, init_discriminator)


def run_training(
    cfg: ExperimentConfig,
    run_dir: str,
    strategy=None,
    resume: bool = False,
    profile_batches: tuple[int, int] | None = None,
    verbose: int | str = "auto",
    init_from: str | None = None,
    init_discriminator: str | None = None,
    env_record: dict | None = None,
    time_limit_s: float | None = None,
    keep_checkpoints: int = 3,
    lineage: dict | None = None,
) -> dict:
    """Trains ``cfg`` into ``run_dir`` and returns a summary dict.

    Args:
        cfg: the experiment.
        run_dir: output directory (see module docstring). Unless ``resume``, it must be new,
            empty or hold only the files of a start that completed no epoch (removed first, see
            :mod:`keras_pggan.training.run_dir`). Nothing is written there before the data
            sources, the model and the warm start are set up.
        strategy: a ``tf.distribute`` strategy; the default strategy when ``None``.
        resume: continue from ``run_dir/backup`` (the config is read from ``run_dir/config.json``
            by the command); training restarts at the last completed epoch with the same data order.
        profile_batches: (first, last) batch of the first epoch to trace for TensorBoard's
            profiler (xprof); ``None`` disables profiling.
        verbose: passed to ``fit``.
        init_from: warm start of a new run (see :func:`warm_start`): a ``.keras`` generator or
            a run directory (its newest generator and, if saved, discriminator).
        init_discriminator: a ``.keras`` discriminator for the warm start.
        env_record: the CPU settings the process started with (``keras_pggan.cpu``), written
            with the warm start to ``run_dir/env.json``.
        time_limit_s: stop after the first epoch that ends this many seconds after ``fit``
            began (``--resume`` continues from there).
        keep_checkpoints: newest per-epoch generator checkpoints to keep (0: all).
        lineage: the warm-start generator's training record, kept with the warm start in
            ``env.json`` (the train command reads it from a shipped generator's model card,
            :func:`keras_pggan.reports.model_card.card_lineage`).

    Returns:
        ``{"run_dir", "history", "initial_epoch", "seconds", "generator_path"}``.

    Raises:
        UserError: when ``run_dir`` already holds a run (or files this package did not write)
            and ``resume`` is false, a warm start is asked for together with ``resume`` or
            does not fit the config, or ``jit_compile="true"`` meets several CPU replicas
            (:func:`keras_pggan.training.distribute.check_jit_compile`).
    """
    import tensorflow as tf

    strategy = strategy or tf.distribute.get_strategy()
    check_jit_compile(strategy, cfg.train.jit_compile)
    cpu.check_precision(cfg.train.precision)
    is_chief, task_id = worker_info(strategy)
    # Non-chief workers of a multi-worker run keep their own state in run_dir/worker<i>/ so
    # that no two processes write the same file; only the chief writes samples and checkpoints.
    own_dir = run_dir if is_chief else os.path.join(run_dir, f"worker{task_id}")
    if resume and (init_from or init_discriminator):
        raise UserError("--init-from starts a new run; --resume continues one from its backup")
    leftovers = check_new_run(run_dir) if is_chief and not resume else []

    # Everything that can fail on the user's inputs (data sources, masks, warm-start files,
    # the first batch) runs before anything is written to the run directory.
    initial_epoch = completed_epochs(os.path.join(own_dir, "backup")) if resume else 0
    train_ds, val_ds = _datasets(cfg, strategy, initial_epoch)
    warm_paths = (init_from, init_discriminator) if initial_epoch == 0 else (None, None)
    gan, warm = _build(cfg, strategy, *warm_paths)
    warm = warm and {**warm, "lineage": lineage}
    sample = _sample_batch(val_ds if val_ds is not None else train_ds, cfg) if is_chief else None

    prepare_run_dir(cfg, run_dir, is_chief, leftovers)
    if is_chief:
        _record_env(run_dir, env_record, warm, resume)
    ema = _moving_average(cfg, val_ds if is_chief else None)
    callbacks = _callbacks(
        cfg, run_dir, own_dir, is_chief, sample, ema,
        profile_batches=profile_batches, keep_checkpoints=keep_checkpoints,
        time_limit_s=time_limit_s, initial_epoch=initial_epoch,
    )  # fmt: skip
    start = time.time()
    history = _fit_or_stop(gan, cfg, train_ds, val_ds, callbacks, verbose, run_dir, own_dir)
    seconds = time.time() - start
    skipped = _report_skipped(run_dir, is_chief)
    generator_path = _save_outputs(gan, history, run_dir, own_dir, is_chief, ema)
    return {
        "run_dir": run_dir,
        "history": history.history,
        "initial_epoch": initial_epoch,
        "seconds": seconds,
        "generator_path": generator_path,
        "model": gan,
        "skipped_files": skipped,
    }


def interrupted_line(run_dir: str, own_dir: str | None = None) -> str:
    """What a run stopped by Ctrl-C kept, and the command that goes on from there.

    Args:
        run_dir: the run directory (what ``--run-dir`` named).
        own_dir: this process's own state (``run_dir/worker<i>`` on a non-chief worker).
    """
    done = completed_epochs(os.path.join(own_dir or run_dir, "backup"))
    if not done:
        return (
            f"training stopped (Ctrl-C) before its first epoch ended: nothing to resume; "
            f"the same command starts again in {run_dir}"
        )
    return (
        f"training stopped (Ctrl-C); {done} completed epoch(s) are saved in "
        f"{os.path.join(run_dir, 'backup')}; continue with: {cli.python_command()} -m "
        f"keras_pggan.train --run-dir {run_dir} --resume"
    )


def _build(cfg, strategy, init_from: str | None, init_discriminator: str | None):
    """The compiled GAN under ``strategy`` and its warm start (``None`` without one)."""
    from keras_pggan.training import build as models

    with strategy.scope():
        gan = models.build_gan(cfg)
        models.compile_gan(gan, cfg)
        warm = None
        if init_from or init_discriminator:
            warm = warm_start(gan, init_from, init_discriminator)
    return gan, warm


def _sample_batch(ds, cfg) -> dict:
    """The first ``num_samples`` examples of ``ds`` as numpy: the sample grids' fixed input."""
    batch = next(iter(ds.take(1)))
    return {k: v[: cfg.train.num_samples].numpy() for k, v in batch.items()}


def _moving_average(cfg, val_ds):
    """The generator's EMA callback (``None`` when ``ema_decay`` is 0)."""
    t = cfg.train
    if not t.ema_decay:
        return None
    from keras_pggan.training.ema import GeneratorEMA

    return GeneratorEMA(t.ema_decay, val_ds, t.validation_steps)


def _fit(gan, cfg, train_ds, val_ds, callbacks: list, verbose):
    t = cfg.train
    return gan.fit(
        train_ds,
        epochs=t.epochs,
        steps_per_epoch=t.steps_per_epoch,
        validation_data=val_ds,
        validation_steps=t.validation_steps or None,
        callbacks=callbacks,
        shuffle=False,
        verbose=verbose,
    )


def _fit_or_stop(gan, cfg, train_ds, val_ds, callbacks: list, verbose, run_dir, own_dir):
    """:func:`_fit`; on any exception (Ctrl-C: :class:`keras_pggan.errors.Interrupted`, saying
    what was kept) the input pipeline's Python decoders finish first: fit's frames hold the
    pipeline, and a decode in flight deadlocks its teardown (``wait_for_idle_decoders``)."""
    try:
        return _fit(gan, cfg, train_ds, val_ds, callbacks, verbose)
    except BaseException as e:
        from keras_pggan.data.pipeline import wait_for_idle_decoders

        wait_for_idle_decoders()
        if isinstance(e, KeyboardInterrupt) and not errors.debugging():
            raise errors.Interrupted(interrupted_line(run_dir, own_dir)) from None
        raise


def _datasets(cfg, strategy, initial_epoch: int):
    """The training stream (from ``initial_epoch``) and the validation set (or ``None``)."""
    import tensorflow as tf

    from keras_pggan.data import pipeline as data_lib

    t = cfg.train
    # The data stream is a pure function of (seed, position), so a resumed run continues with
    # exactly the batches the uninterrupted run would have seen.
    train_ds = data_lib.make_train_dataset(
        cfg.data,
        cfg.mask,
        t.global_batch_size,
        t.seed,
        start_step=initial_epoch * t.steps_per_epoch,
    )
    val_ds = None
    if t.validation_steps:
        val_ds = data_lib.make_val_dataset(cfg.data, cfg.mask, t.global_batch_size, t.seed)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        train_ds = train_ds.with_options(options)
        if val_ds is not None:
            val_ds = val_ds.with_options(options)
    return train_ds, val_ds


def _record_env(run_dir: str, env_record: dict | None, warm: dict | None, resume: bool) -> None:
    """Appends this process's CPU settings and warm start to ``run_dir/env.json``."""
    from keras_pggan.cpu import environment_record
    from keras_pggan.io_utils import write_text_atomic

    info = {"cpu": environment_record(env_record), "init_from": warm, "resume": resume}
    env_path = os.path.join(run_dir, "env.json")
    previous = []
    if os.path.exists(env_path):
        with open(env_path, encoding="utf-8") as f:
            previous = json.load(f).get("processes", [])
    info["started"] = time.strftime("%Y-%m-%d %H:%M:%S")
    write_text_atomic(env_path, json.dumps({"processes": [*previous, info]}, indent=2) + "\n")


def _callbacks(
    cfg, run_dir, own_dir, is_chief, sample, ema, *,
    profile_batches, keep_checkpoints, time_limit_s, initial_epoch,
) -> list:  # fmt: skip
    """The run's callbacks, in the order they must run at each epoch end."""
    import keras

    from keras_pggan.models import saved
    from keras_pggan.training.callbacks import (
        AtomicBackupAndRestore,
        EpochLog,
        EtaReport,
        GeneratorCheckpoint,
        SampleGridLogger,
        TimeLimit,
    )
    from keras_pggan.training.guards import NonFiniteGuard

    t = cfg.train
    log_dir = os.path.join(own_dir, "logs")
    callbacks = [
        # First: on a NaN/Inf it raises before any epoch-end callback saves the bad state.
        NonFiniteGuard(run_dir if is_chief else own_dir),
        # Then the generator's moving average: its epoch-end val_ema_hole_l1 reaches the logs.
        *([ema] if ema is not None else []),
        # Crash-safe resume state: each save is a new file committed by an atomic metadata write
        # (with the EMA's state, so that --resume continues the same average).
        AtomicBackupAndRestore(
            os.path.join(own_dir, "backup"),
            save_freq="epoch",
            delete_checkpoint=False,
            double_checkpoint=True,
            extra_state=ema,
        ),
        keras.callbacks.TensorBoard(
            log_dir,
            update_freq="epoch",
            write_graph=False,
            profile_batch=tuple(profile_batches) if profile_batches else 0,
        ),
    ]
    if is_chief:
        callbacks += [
            SampleGridLogger(sample, os.path.join(run_dir, "samples"), log_dir),
            GeneratorCheckpoint(
                os.path.join(run_dir, "checkpoints"),
                keep=keep_checkpoints,
                discriminator_path=saved.discriminator_path(run_dir),
                ema=ema,
            ),
            EpochLog(os.path.join(run_dir, "epochs.jsonl"), t.steps_per_epoch, t.epochs),
            EtaReport(max(t.epochs - initial_epoch, 0) * t.steps_per_epoch, time_limit_s),
        ]
    if time_limit_s:
        # Last: every other epoch-end callback (backup, checkpoint, log) has run when it stops.
        callbacks.append(TimeLimit(time_limit_s))
    return callbacks


def _report_skipped(run_dir: str, is_chief: bool) -> dict:
    """Lists the undecodable files the run skipped (stderr and ``skipped_files.txt``)."""
    from keras_pggan.data import pipeline as data_lib
    from keras_pggan.io_utils import write_text_atomic

    skipped = data_lib.skipped_files()
    if skipped and is_chief:
        print(
            f"keras_pggan.train: {len(skipped)} undecodable file(s) were skipped; "
            f"list in {os.path.join(run_dir, 'skipped_files.txt')}",
            file=sys.stderr,
        )
        write_text_atomic(
            os.path.join(run_dir, "skipped_files.txt"),
            "".join(f"{name}\t{reason}\n" for name, reason in sorted(skipped.items())),
        )
    return skipped


def _save_outputs(gan, history, run_dir: str, own_dir: str, is_chief: bool, ema=None) -> str:
    """Saves the float32 generator (and its EMA) and ``history.json``; returns the generator's
    path."""
    from keras_pggan.io_utils import atomic_path, write_text_atomic
    from keras_pggan.models import saved
    from keras_pggan.models.generator import as_float32

    generator_path = saved.generator_path(own_dir)
    with atomic_path(generator_path) as tmp:
        as_float32(gan.generator).save(tmp)  # float32 compute whatever the training precision
    if ema is not None:
        with atomic_path(saved.generator_path(own_dir, ema=True)) as tmp:
            ema.generator().save(tmp)
    if is_chief:
        summary = {k: [float(x) for x in v] for k, v in history.history.items()}
        write_text_atomic(
            os.path.join(run_dir, "history.json"), json.dumps(summary, indent=2) + "\n"
        )
    return generator_path
