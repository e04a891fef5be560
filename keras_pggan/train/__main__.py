"""Train PGGAN with ``model.fit`` on one or many devices (the library: :mod:`keras_pggan.training`).

Example (no flags: the ``demo`` preset on the embedded photos, a few minutes on 2 CPU cores):

    python -m keras_pggan.train

    python -m keras_pggan.train --preset pggan-dres --data /photos/paris --image-size 256 \\
        --batch-size 16 --epochs 50 --run-dir runs/paris --mask freeform:0.5,rect:0.5
    python -m keras_pggan.train --run-dir runs/paris --resume          # after a crash
    python -m keras_pggan.train --preset tiny --strategy mirrored --cpu-replicas 2
    python -m keras_pggan.train --precision mixed_float16   # one GPU: loss scaling; XLA (auto)

A run directory holds ``config.json``, ``backup/`` (BackupAndRestore: resume state),
``checkpoints/`` (generator per epoch), ``logs/`` (TensorBoard scalars, sample grids, profiles),
``samples/`` (grid PNGs) and the final ``generator.keras``
(:func:`keras_pggan.training.run.run_training`). Exit status: 0 done, 2 a user error (one line on
stderr; nothing written), 3 a NaN/Inf stopped the run (the last good checkpoints are named), 4 a
worker of a multi-worker run was lost (named on stderr; restart every worker with ``--resume``),
130 Ctrl-C (one line: the completed epochs kept in ``backup/`` and the ``--resume`` command).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from keras_pggan import cli, cpu, errors
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
from keras_pggan.reports.model_card import warm_start_lineage
from keras_pggan.training.distribute import lost_worker_exit, make_strategy
from keras_pggan.training.run import run_training, validate_inputs
from keras_pggan.training.run_dir import check_new_run, check_resumable

DEFAULT_PRESET = "demo"
# Flag → TrainConfig field, for the flags that set one field each.
_TRAIN_FLAGS = (
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
)
_GENERATOR_FLAGS = ("block_type", "upsample", "upsample_interpolation")


def _add_experiment_flags(p: argparse.ArgumentParser) -> None:
    """What is trained on what: the preset or config and the flags that change it."""
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


def _add_run_flags(p: argparse.ArgumentParser) -> None:
    """Where and how it runs: the run directory, devices, precision, warm start, limits."""
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
    p.add_argument(
        "--verbose",
        default="auto",
        help="fit verbosity: 0, 1 (progress bar), 2 (a line per epoch) or auto (1 on a terminal, "
        "2 when stdout is redirected)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m keras_pggan.train`` argument parser."""
    p = argparse.ArgumentParser(
        prog=cli.prog("keras_pggan.train"),
        description="Train PGGAN (Demir & Unal 2018) for image inpainting with model.fit.",
        formatter_class=cli.HelpFormatter,  # (default: X) once, never None
    )
    _add_experiment_flags(p)
    _add_run_flags(p)
    return p


def _base_config(args: argparse.Namespace) -> ExperimentConfig:
    """The config the flags change: ``--config``, the resumed run's, or the preset."""
    from keras_pggan.config import get_preset

    if args.config:
        return ExperimentConfig.load(args.config)
    resumed = os.path.join(args.run_dir or "", "config.json")
    if args.resume and args.run_dir and os.path.exists(resumed):
        cfg = ExperimentConfig.load(resumed)
        if args.preset:
            raise UserError("--preset cannot change the config of a resumed run")
        return cfg
    return get_preset(args.preset or DEFAULT_PRESET)


def config_from_args(args: argparse.Namespace) -> ExperimentConfig:
    """Resolves the preset / config file / resumed config, then applies the flags."""
    cfg = _base_config(args)
    data, mask, disc = {}, {}, {}
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
    train = {key: getattr(args, f) for f, key in _TRAIN_FLAGS if getattr(args, f) is not None}
    if args.discriminator:
        disc["variant"] = args.discriminator
    gen = {k: getattr(args, k) for k in _GENERATOR_FLAGS if getattr(args, k) is not None}
    if gen and args.resume:
        raise UserError(
            "--" + " / --".join(k.replace("_", "-") for k in gen) + ": a resumed "
            "run keeps its generator's architecture; start a new run to change it"
        )
    return cfg.replace(data=data, mask=mask, train=train, discriminator=disc, generator=gen)


def _parse_profile(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        a, b = (int(x) for x in text.split(","))
    except ValueError:
        raise UserError(f"--profile-batches must be two integers A,B, got {text!r}") from None
    if not 1 <= a <= b:
        raise UserError(f"--profile-batches needs 1 <= A <= B, got {text!r}")
    return a, b


def _check_limits(args: argparse.Namespace) -> None:
    if args.keep_checkpoints < 0:
        raise UserError(f"--keep-checkpoints must be >= 0, got {args.keep_checkpoints}")
    if args.time_limit is not None and args.time_limit <= 0:
        raise UserError(f"--time-limit must be > 0 minutes, got {args.time_limit:g}")


def _configure_threads_once() -> None:
    """``KERAS_PGGAN_INTER_OP_THREADS`` → TensorFlow, unless its runtime already started."""
    try:
        cpu.configure_threads()
    except RuntimeError:  # TensorFlow already initialised (a second main() in one process)
        pass
    except ValueError as e:
        raise UserError(str(e)) from e


def _train(args: argparse.Namespace) -> int:
    # Before TensorFlow starts (a no-op for what the user's environment already sets, and for
    # what an already running TensorFlow, e.g. under pytest, fixed at its start).
    env_record = cpu.apply_training_env()
    if errors.debugging():
        import keras

        keras.config.disable_traceback_filtering()
    cfg = config_from_args(args)
    profile = _parse_profile(args.profile_batches)
    _check_limits(args)
    run_dir = args.run_dir or os.path.join("runs", f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    # Every check on the user's inputs before TensorFlow starts (a multi-worker collective
    # that exists when the process fails keeps it from exiting) and before any file is made.
    if args.resume:
        check_resumable(run_dir)
    else:
        check_new_run(run_dir)
    validate_inputs(cfg, args.resume, args.init_from, args.init_discriminator)
    # A shipped generator's model card: its training record goes into the new run's env.json.
    lineage = None if args.resume else warm_start_lineage(args.init_from, args.init_discriminator)
    _configure_threads_once()
    strategy = make_strategy(args.strategy, args.cpu_replicas)
    print(
        f"keras_pggan.train: preset {cfg.name}, {cfg.data.image_size}px, global batch "
        f"{cfg.train.global_batch_size}, {strategy.num_replicas_in_sync} replica(s), "
        f"run dir {run_dir}",
        flush=True,
    )
    # A lost peer of a multi-worker run: one line naming it, exit 4 within a bounded time.
    with lost_worker_exit(strategy, bounded_exit=True):
        result = run_training(
            cfg,
            run_dir,
            strategy=strategy,
            resume=args.resume,
            profile_batches=profile,
            verbose=_verbosity(args.verbose),
            init_from=args.init_from,
            init_discriminator=args.init_discriminator,
            env_record=env_record,
            time_limit_s=args.time_limit * 60 if args.time_limit else None,
            keep_checkpoints=args.keep_checkpoints,
            lineage=lineage,
        )
    _report(result, run_dir, demo=_is_demo(args))
    return 0


def _report(result: dict, run_dir: str, demo: bool) -> None:
    """The last lines: the run's numbers, where things are, and after the quick start's demo
    run, the shipped model at work and what to try next."""
    last = {k: round(float(v[-1]), 4) for k, v in result["history"].items() if v}
    print(f"done in {result['seconds']:.0f} s; last epoch: {json.dumps(last)}")
    tensorboard = cli.tool_command("tensorboard", "tensorboard.main")
    print(
        f"generator: {result['generator_path']}; TensorBoard: {tensorboard} --logdir "
        f"{os.path.join(run_dir, 'logs')}"
    )
    if demo:
        from keras_pggan.inference.demo import after_demo_lines

        print("\n".join(after_demo_lines(run_dir, DEFAULT_PRESET, cli.python_command())))


def _verbosity(flag: str) -> int | str:
    """``--verbose``: ``auto`` is a progress bar on a terminal and one line per epoch when
    stdout is redirected (a bar rewrites its line with control codes: 100 KB of them in a log
    file after 3 epochs)."""
    if flag.isdigit():
        return int(flag)
    if flag == "auto":
        return 1 if sys.stdout.isatty() else 2
    raise UserError(f"--verbose: expected auto, 0, 1 or 2, got {flag!r}")


def _is_demo(args: argparse.Namespace) -> bool:
    """The quick start's run: no preset, no config file, no resume."""
    return not (args.preset or args.config or args.resume)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m keras_pggan.train``; returns the exit status."""
    return cli.run(_train, build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
