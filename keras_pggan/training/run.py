"""Train PGGAN with ``model.fit`` on one or many devices.

Example (no flags: the ``demo`` preset on the embedded photos, a few minutes on 2 CPU cores):

    python -m keras_pggan.train

    python -m keras_pggan.train --preset pggan-dres --data /photos/paris --image-size 256 \\
        --batch-size 16 --epochs 50 --run-dir runs/paris --mask freeform:0.5,rect:0.5
    python -m keras_pggan.train --run-dir runs/paris --resume          # after a crash
    python -m keras_pggan.train --preset tiny --strategy mirrored --cpu-replicas 2
    python -m keras_pggan.train --precision mixed_float16   # one GPU: loss scaling; XLA (auto)

A run directory holds ``config.json``, ``backup/`` (BackupAndRestore: resume state),
``checkpoints/`` (generator per epoch), ``logs/`` (TensorBoard scalars, sample grids, profiles),
``samples/`` (grid PNGs) and the final ``generator.keras``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from keras_pggan import cli, cpu
from keras_pggan.config import (
    BLOCK_TYPES,
    DISCRIMINATOR_VARIANTS,
    INTERPOLATIONS,
    JIT_COMPILE,
    PRECISIONS,
    PRESETS,
    STRATEGIES,
    UPSAMPLES,
    ExperimentConfig,
)
from keras_pggan.errors import UserError
from keras_pggan.training.distribute import (  # noqa: F401 (make_strategy: re-exported)
    check_jit_compile,
    configure_cpu_replicas,
    make_strategy,
    worker_info,
)
from keras_pggan.training.run_dir import (  # noqa: F401 (completed_epochs: re-exported)
    check_new_run,
    check_resumable,
    completed_epochs,
)
from keras_pggan.training.run_dir import prepare as prepare_run_dir
from keras_pggan.training.warm_start import card_lineage, warm_start, warm_start_paths

DEFAULT_PRESET = "demo"


# -- the training run ---------------------------------------------------------------------------
def validate_inputs(
    cfg, resume: bool = False, init_from: str | None = None, init_discriminator: str | None = None
) -> None:
    """Read-only checks of what a run reads, before anything is created (no TensorFlow op).

    The data sources resolve to files, the mask spec parses, the ``folder`` kind's mask
    directory holds mask files, the warm-start files exist and a shipped generator's model
    card (keras_pggan.training.warm_start.card_lineage) reads.

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
        card_lineage(warm_start_paths(init_from, init_discriminator)[0])


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
) -> dict:
    """Trains ``cfg`` into ``run_dir`` and returns a summary dict.

    Args:
        cfg: the experiment.
        run_dir: output directory (see module docstring). Unless ``resume``, it must be new,
            empty or hold only the files of a start that completed no epoch (removed first, see
            :mod:`keras_pggan.training.run_dir`). Nothing is written there before the data sources,
            the
            model and the warm start are set up.
        strategy: a ``tf.distribute`` strategy; the default strategy when ``None``.
        resume: continue from ``run_dir/backup`` (the config is read from ``run_dir/config.json``
            by the CLI); training restarts at the last completed epoch with the same data order.
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

    Returns:
        ``{"run_dir", "history", "initial_epoch", "seconds", "generator_path"}``.

    Raises:
        UserError: when ``run_dir`` already holds a run (or files this package did not write)
            and ``resume`` is false, a warm start is asked for together with ``resume`` or
            does not fit the config, or ``jit_compile="true"`` meets several CPU replicas
            (:func:`keras_pggan.training.distribute.check_jit_compile`).
    """
    import tensorflow as tf

    from keras_pggan.training import build as models

    strategy = strategy or tf.distribute.get_strategy()
    check_jit_compile(strategy, cfg.train.jit_compile)
    cpu.check_precision(cfg.train.precision)
    is_chief, task_id = worker_info(strategy)
    # Non-chief workers of a multi-worker run keep their own state in run_dir/worker<i>/ so
    # that no two processes write the same file; only the chief writes samples and checkpoints.
    own_dir = run_dir if is_chief else os.path.join(run_dir, f"worker{task_id}")
    backup_dir = os.path.join(own_dir, "backup")
    if resume and (init_from or init_discriminator):
        raise UserError("--init-from starts a new run; --resume continues one from its backup")
    leftovers = check_new_run(run_dir) if is_chief and not resume else []

    # Everything that can fail on the user's inputs (data sources, masks, warm-start files,
    # the first batch) runs before anything is written to the run directory.
    t = cfg.train
    initial_epoch = completed_epochs(backup_dir) if resume else 0
    train_ds, val_ds = _datasets(cfg, strategy, initial_epoch)
    with strategy.scope():
        gan = models.build_gan(cfg)
        models.compile_gan(gan, cfg)
        warm = None
        if (init_from or init_discriminator) and initial_epoch == 0:
            warm = warm_start(gan, init_from, init_discriminator)
    sample = None
    if is_chief:
        sample = next(iter((val_ds if val_ds is not None else train_ds).take(1)))
        sample = {k: v[: t.num_samples].numpy() for k, v in sample.items()}

    prepare_run_dir(cfg, run_dir, is_chief, leftovers)
    if is_chief:
        _record_env(run_dir, env_record, warm, resume)
    ema = None
    if t.ema_decay:
        from keras_pggan.training.ema import GeneratorEMA

        ema = GeneratorEMA(t.ema_decay, val_ds if is_chief else None, t.validation_steps)
    callbacks = _callbacks(
        cfg,
        run_dir,
        own_dir,
        is_chief,
        sample,
        ema,
        profile_batches=profile_batches,
        keep_checkpoints=keep_checkpoints,
        time_limit_s=time_limit_s,
        initial_epoch=initial_epoch,
    )

    start = time.time()
    history = gan.fit(
        train_ds,
        epochs=t.epochs,
        steps_per_epoch=t.steps_per_epoch,
        validation_data=val_ds,
        validation_steps=t.validation_steps or None,
        callbacks=callbacks,
        shuffle=False,
        verbose=verbose,
    )
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
                discriminator_path=os.path.join(run_dir, "discriminator.keras"),
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
    from keras_pggan.models.generator import as_float32

    generator_path = os.path.join(own_dir, "generator.keras")
    with atomic_path(generator_path) as tmp:
        as_float32(gan.generator).save(tmp)  # float32 compute whatever the training precision
    if ema is not None:
        with atomic_path(os.path.join(own_dir, "generator_ema.keras")) as tmp:
            ema.generator().save(tmp)
    if is_chief:
        summary = {k: [float(x) for x in v] for k, v in history.history.items()}
        write_text_atomic(
            os.path.join(run_dir, "history.json"), json.dumps(summary, indent=2) + "\n"
        )
    return generator_path


# -- CLI -----------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The ``python -m keras_pggan.train`` argument parser."""
    p = argparse.ArgumentParser(
        prog=cli.prog("keras_pggan.train"),
        description="Train PGGAN (Demir & Unal 2018) for image inpainting with model.fit.",
        formatter_class=cli.HelpFormatter,  # (default: X) once, never None
    )
    p.add_argument(
        "--preset",
        default=None,
        choices=sorted(PRESETS),
        help=f"model/training preset (default: {DEFAULT_PRESET}, or the run's "
        "config.json with --resume)",
    )
    p.add_argument("--config", default=None, help="JSON config file (overrides --preset)")
    p.add_argument(
        "--data",
        action="append",
        default=None,
        help="training source, repeatable: image folder, list file or TFRecord glob "
        "(default: the embedded photos)",
    )
    p.add_argument("--val-data", action="append", default=None, help="validation source")
    p.add_argument("--mask", default=None, help="mask mixture, e.g. freeform:0.5,rect:0.5")
    p.add_argument("--mask-dir", default=None, help="mask files for the 'folder' mask kind")
    p.add_argument("--image-size", type=int, default=None, help="square crop size")
    p.add_argument(
        "--resize-to",
        type=int,
        default=None,
        help="resize the short side to this before cropping (default: the crop size)",
    )
    p.add_argument("--batch-size", type=int, default=None, help="GLOBAL batch size")
    p.add_argument("--steps-per-epoch", type=int, default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--validation-steps", type=int, default=None)
    p.add_argument(
        "--discriminator",
        default=None,
        choices=DISCRIMINATOR_VARIANTS,
        help="pggan (both heads), global (G-GAN only) or patch (PatchGAN only)",
    )
    p.add_argument(
        "--block-type",
        default=None,
        choices=BLOCK_TYPES,
        help="which 3×3 convolutions of each residual block are dilated (GeneratorConfig)",
    )
    p.add_argument("--upsample", default=None, choices=UPSAMPLES, help="decoder up-sampling")
    p.add_argument(
        "--upsample-interpolation", default=None, choices=INTERPOLATIONS, help="for resize_conv"
    )
    p.add_argument("--g-lr", type=float, default=None, help="generator learning rate")
    p.add_argument("--d-lr", type=float, default=None, help="discriminator learning rate")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument(
        "--nan-policy",
        default=None,
        choices=("stop", "skip"),
        help="on a NaN/Inf: stop before saving (keeps the last good checkpoint) or skip the step",
    )
    p.add_argument(
        "--run-dir", default=None, help="output directory (default: runs/<preset>-<timestamp>)"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --run-dir from its last completed epoch",
    )
    p.add_argument("--strategy", default="auto", choices=STRATEGIES)
    p.add_argument(
        "--cpu-replicas",
        type=int,
        default=0,
        help="split the CPU into N logical devices for MirroredStrategy (N > 1: mirror over "
        "them even where GPUs exist)",
    )
    p.add_argument(
        "--profile-batches",
        default=None,
        help="A,B: trace batches A..B of the first epoch for TensorBoard's profiler",
    )
    p.add_argument(
        "--init-from",
        default=None,
        help="warm start a new run: a .keras generator or a run directory (newest generator "
        "and discriminator)",
    )
    p.add_argument(
        "--init-discriminator", default=None, help="a .keras discriminator for the warm start"
    )
    p.add_argument(
        "--precision",
        default=None,
        choices=PRECISIONS,
        help="layer compute dtype (mixed_float16: GPUs with tensor cores, with loss scaling; "
        "mixed_bfloat16: GPUs, CPUs with AVX512_BF16/AMX); saved models stay float32",
    )
    p.add_argument(
        "--jit-compile",
        default=None,
        choices=JIT_COMPILE,
        help="XLA for the training step; auto: on with one GPU, off on CPU and with "
        "several replicas",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="minutes: stop after the first epoch that ends this long after training began "
        "(resume with --resume)",
    )
    p.add_argument(
        "--keep-checkpoints",
        type=int,
        default=3,
        help="newest generator checkpoints (checkpoints/generator-epochXXX.keras) to keep; 0: all",
    )
    p.add_argument("--verbose", default="auto", help="fit verbosity: auto, 0, 1 or 2")
    return p


def config_from_args(args: argparse.Namespace) -> ExperimentConfig:
    """Resolves the preset / config file / resumed config, then applies the flags."""
    from keras_pggan.config import get_preset

    if args.config:
        cfg = ExperimentConfig.load(args.config)
    elif args.resume and args.run_dir and os.path.exists(os.path.join(args.run_dir, "config.json")):
        cfg = ExperimentConfig.load(os.path.join(args.run_dir, "config.json"))
        if args.preset:
            raise UserError("--preset cannot change the config of a resumed run")
    else:
        cfg = get_preset(args.preset or DEFAULT_PRESET)
    data, mask, train, disc = {}, {}, {}, {}
    if args.data:
        data["train"] = list(args.data)
    if args.val_data:
        data["val"] = list(args.val_data)
    if args.image_size is not None:
        data["image_size"] = args.image_size
    if args.resize_to is not None:
        data["resize_to"] = args.resize_to
    if args.mask:
        mask["spec"] = args.mask
    if args.mask_dir:
        mask["mask_dir"] = args.mask_dir
    for flag, key in (
        ("batch_size", "global_batch_size"),
        ("steps_per_epoch", "steps_per_epoch"),
        ("epochs", "epochs"),
        ("validation_steps", "validation_steps"),
        ("g_lr", "g_learning_rate"),
        ("d_lr", "d_learning_rate"),
        ("seed", "seed"),
        ("nan_policy", "nan_policy"),
        ("precision", "precision"),
        ("jit_compile", "jit_compile"),
    ):
        if getattr(args, flag) is not None:
            train[key] = getattr(args, flag)
    if args.discriminator:
        disc["variant"] = args.discriminator
    flags = ("block_type", "upsample", "upsample_interpolation")
    gen = {k: getattr(args, k) for k in flags if getattr(args, k) is not None}
    if gen and args.resume:
        raise UserError(
            "--" + " / --".join(k.replace("_", "-") for k in gen) + ": a resumed "
            "run keeps its generator's architecture; start a new run to change it"
        )
    return cfg.replace(data=data, mask=mask, train=train, discriminator=disc, generator=gen)


def _configure_threads_once() -> None:
    """``KERAS_PGGAN_INTER_OP_THREADS`` → TensorFlow, unless its runtime already started."""
    try:
        cpu.configure_threads()
    except RuntimeError:  # TensorFlow already initialised (a second main() in one process)
        pass
    except ValueError as e:
        raise UserError(str(e)) from e


def op_error_line(message: str) -> str:
    """The line of a TensorFlow op error that says what went wrong (at most 500 characters).

    A step that fails in graph mode reports "Graph execution error:", then "Detected at node
    ... defined at (most recent call last):" and an indented Python traceback, then the kernel's
    own message, then ``[[{{node ...}}]]``; an error raised inside tf.data (e.g. data.py's "no
    decodable image in the data sources") is one line, ``ValueError: ...``.
    """
    skip = ("Graph execution error", "Detected at node", "[[", "File ", "Traceback")
    lines = [
        line.strip()
        for line in message.splitlines()
        if line.strip() and not line[:1].isspace() and not line.strip().startswith(skip)
    ]
    first = lines[0] if lines else message.strip()
    return first.split("ValueError: ")[-1][:500]


def _parse_profile(text: str | None):
    if not text:
        return None
    try:
        a, b = (int(x) for x in text.split(","))
    except ValueError:
        raise UserError(f"--profile-batches must be two integers A,B, got {text!r}") from None
    if not 1 <= a <= b:
        raise UserError(f"--profile-batches needs 1 <= A <= B, got {text!r}")
    return a, b


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m keras_pggan.train``; returns the exit code."""
    args = build_parser().parse_args(argv)
    # Before TensorFlow starts (a no-op for what the user's environment already sets, and for
    # what an already running TensorFlow, e.g. under pytest, fixed at its start).
    env_record = cpu.apply_training_env()
    from keras_pggan.training.guards import NonFiniteLossError  # imports TensorFlow: after --help

    if os.environ.get("KERAS_PGGAN_DEBUG"):
        import keras

        keras.config.disable_traceback_filtering()
    try:
        cfg = config_from_args(args)
        profile = _parse_profile(args.profile_batches)
        if args.keep_checkpoints < 0:
            raise UserError(f"--keep-checkpoints must be >= 0, got {args.keep_checkpoints}")
        if args.time_limit is not None and args.time_limit <= 0:
            raise UserError(f"--time-limit must be > 0 minutes, got {args.time_limit:g}")
        run_dir = args.run_dir or os.path.join(
            "runs", f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        )
        # Every check on the user's inputs before TensorFlow starts (a multi-worker collective
        # that exists when the process fails keeps it from exiting) and before any file is made.
        if args.resume:
            check_resumable(run_dir)
        else:
            check_new_run(run_dir)
        validate_inputs(cfg, args.resume, args.init_from, args.init_discriminator)
        verbose = int(args.verbose) if args.verbose.isdigit() else args.verbose
        _configure_threads_once()
        strategy = make_strategy(args.strategy, args.cpu_replicas)
        print(
            f"keras_pggan.train: preset {cfg.name}, {cfg.data.image_size}px, global batch "
            f"{cfg.train.global_batch_size}, {strategy.num_replicas_in_sync} replica(s), "
            f"run dir {run_dir}",
            flush=True,
        )
        result = run_training(
            cfg,
            run_dir,
            strategy=strategy,
            resume=args.resume,
            profile_batches=profile,
            verbose=verbose,
            init_from=args.init_from,
            init_discriminator=args.init_discriminator,
            env_record=env_record,
            time_limit_s=args.time_limit * 60 if args.time_limit else None,
            keep_checkpoints=args.keep_checkpoints,
        )
    except NonFiniteLossError:
        return 3  # the guard printed what happened and the last good checkpoint
    except (UserError, ValueError, FileNotFoundError) as e:
        if os.environ.get("KERAS_PGGAN_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        # Errors raised inside tf.data (e.g. data.py: "no decodable image in the data sources")
        # arrive as tf.errors.InvalidArgumentError: one line, exit code 2.
        import tensorflow as tf

        if os.environ.get("KERAS_PGGAN_DEBUG") or not isinstance(e, tf.errors.InvalidArgumentError):
            raise
        print(f"error: {op_error_line(e.message)}", file=sys.stderr)
        return 2
    hist = result["history"]
    last = {k: round(float(v[-1]), 4) for k, v in hist.items() if v}
    print(f"done in {result['seconds']:.0f} s; last epoch: {json.dumps(last)}")
    print(
        f"generator: {result['generator_path']}; TensorBoard: tensorboard --logdir "
        f"{os.path.join(run_dir, 'logs')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
