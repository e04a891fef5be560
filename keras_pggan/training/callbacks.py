"""Training callbacks: sample grids (files and TensorBoard), generator checkpoints, the epoch
log, the speed and ETA line, the time limit, and a ``BackupAndRestore`` whose saves survive
``kill -9`` at any instant."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from keras_pggan.data.imageio import to_uint8
from keras_pggan.inference.fill import fill_holes, masked_view
from keras_pggan.io_utils import atomic_path, write_text_atomic
from keras_pggan.models.generator import as_float32
from keras_pggan.models.saved import (
    GENERATOR,
    GENERATOR_EMA,
    checkpoint_name,
    checkpoint_pattern,
)


def sample_grid(images, masks, outputs) -> np.ndarray:
    """Stacks rows of ``masked | output | truth`` into one uint8 image.

    Args:
        images: float [N,H,W,3] in [0,1], the ground truth.
        masks: float [N,H,W,1], 1 = hole.
        outputs: float [N,H,W,3] in [0,1], composited outputs.

    Returns:
        uint8 [N·H, 3·W, 3]. Holes in the masked column are drawn white.
    """
    images = np.asarray(images, np.float32)
    outputs = np.asarray(outputs, np.float32)
    rows = np.concatenate([masked_view(images, masks), outputs, images], axis=2)
    return to_uint8(np.concatenate(list(rows), axis=0))


class SampleGridLogger(keras.callbacks.Callback):
    """After every epoch, inpaints a fixed batch and writes the grid to disk and TensorBoard.

    Args:
        batch: dict ``{"image", "mask"}`` of numpy arrays (the contract), fixed for the run.
        samples_dir: where ``epoch_XXX.png`` files go.
        log_dir: TensorBoard directory; images go to ``log_dir/images``. ``None`` skips them.
    """

    def __init__(self, batch, samples_dir: str, log_dir: str | None = None):
        super().__init__()
        self.batch = {k: np.asarray(v, np.float32) for k, v in batch.items()}
        self.samples_dir = samples_dir
        self.log_dir = log_dir
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        outputs = fill_holes(self.model.generator, self.batch["image"], self.batch["mask"]).numpy()
        grid = sample_grid(self.batch["image"], self.batch["mask"], outputs)
        os.makedirs(self.samples_dir, exist_ok=True)
        path = os.path.join(self.samples_dir, f"epoch_{epoch + 1:03d}.png")
        with atomic_path(path) as tmp:
            Image.fromarray(grid).save(tmp, format="PNG")
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "images"))
            with self._writer.as_default():
                tf.summary.image("masked | output | truth", grid[None], step=epoch + 1)
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class GeneratorCheckpoint(keras.callbacks.Callback):
    """Saves ``generator-epochXXX.keras`` atomically after every epoch, keeping the newest ``keep``.

    These are inference checkpoints (generator only; with ``discriminator_path`` the newest
    discriminator too, for warm starts). Full training state for resuming lives in the
    BackupAndRestore directory. With ``ema`` (:class:`keras_pggan.training.ema.GeneratorEMA`) the
    averaged generator is saved beside each, as ``generator_ema-epochXXX.keras``.
    """

    def __init__(
        self, directory: str, keep: int = 3, discriminator_path: str | None = None, ema=None
    ):
        super().__init__()
        self.directory = directory
        self.keep = keep
        self.discriminator_path = discriminator_path
        self.ema = ema

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        saves = {GENERATOR: lambda: as_float32(self.model.generator)}
        if self.ema is not None:
            saves[GENERATOR_EMA] = self.ema.generator
        for stem, model in saves.items():
            path = os.path.join(self.directory, checkpoint_name(stem, epoch + 1))
            with atomic_path(path) as tmp:
                model().save(tmp)
            existing = sorted(glob.glob(os.path.join(self.directory, checkpoint_pattern(stem))))
            for old in existing[: -self.keep] if self.keep > 0 else []:
                os.remove(old)
        if self.discriminator_path:  # the newest only: for warm starts (train --init-from)
            with atomic_path(self.discriminator_path) as tmp:
                self.model.discriminator.save(tmp)


class EpochLog(keras.callbacks.Callback):
    """Appends one JSON line per epoch to ``path``: epoch, step, wall seconds and the logs.

    With ``epochs``, each line also holds ``s_per_step`` (this epoch's wall seconds per step:
    validation and the epoch-end saves included, and in a process's first epoch the tracing of
    the step function) and ``eta_s`` (the epochs left at that pace).

    ``wall_s`` is training time summed over every process that wrote to the file, so a run
    resumed with ``--resume`` continues its curve (a killed process loses at most the epoch it
    was in). Lines of epochs at or after the resumed epoch are dropped first, so a resumed run
    never holds two lines for one epoch.

    Args:
        path: the ``.jsonl`` file.
        steps_per_epoch: optimisation steps per epoch (for the ``step`` field).
        epochs: the run's last epoch (``fit(epochs=...)``), for ``eta_s``; ``None`` leaves out
            ``s_per_step`` and ``eta_s``.
    """

    def __init__(self, path: str, steps_per_epoch: int, epochs: int | None = None):
        super().__init__()
        self.path = path
        self.steps_per_epoch = steps_per_epoch
        self.epochs = epochs
        self._offset = None
        self._start = None
        self._epoch_start = None

    @staticmethod
    def read(path: str) -> list[dict]:
        """The lines written so far (an unreadable last line, cut by a kill, is ignored)."""
        rows = []
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:
                        break
        return rows

    def on_train_begin(self, logs=None):
        self._start = time.time()

    def on_epoch_begin(self, epoch, logs=None):
        if self._offset is None:  # the first epoch of this process
            rows = [r for r in self.read(self.path) if r["epoch"] <= epoch]
            write_text_atomic(self.path, "".join(json.dumps(r) + "\n" for r in rows))
            self._offset = rows[-1]["wall_s"] if rows else 0.0
        self._epoch_start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        now = time.time()
        row = {
            "epoch": epoch + 1,
            "step": (epoch + 1) * self.steps_per_epoch,
            "wall_s": round((self._offset or 0.0) + now - self._start, 2),
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        if self.epochs is not None and self._epoch_start is not None:
            seconds = now - self._epoch_start
            row["s_per_step"] = round(seconds / max(self.steps_per_epoch, 1), 4)
            row["eta_s"] = round(max(self.epochs - epoch - 1, 0) * seconds, 1)
        row.update({k: float(np.asarray(v).ravel()[0]) for k, v in (logs or {}).items()})
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


def format_duration(seconds: float) -> str:
    """A duration for people: ``"45 s"``, ``"12 min"``, ``"3.5 h"``, ``"22 h"``, ``"9.6 days"``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    hours = seconds / 3600
    if hours < 10:
        return f"{hours:.1f} h"
    return f"{hours:.0f} h" if hours < 72 else f"{hours / 24:.1f} days"


class EtaReport(keras.callbacks.Callback):
    """Prints the training speed and the estimated time to the end, once, on stderr.

    A process's first step traces the step function, so the speed is measured from the end of
    the first step on. The line comes after ``report_after_s`` seconds of such steps or at the
    end of the first epoch, whichever is first, e.g. ``keras_pggan.train: ~0.8 s/step
    (1.2 steps/s), 99,999 steps to go: ETA 22 h (pass --epochs / --time-limit to shorten)``. It
    counts training steps; validation and the epoch-end saves come on top (``EpochLog`` records
    whole epochs).

    Args:
        steps: the steps this process runs (epochs left × steps per epoch).
        time_limit_s: ``--time-limit`` in seconds, named when it ends the run before the ETA.
        report_after_s: seconds of measured steps after which the first epoch reports early.
        prefix: the line's first word.

    Attributes:
        seconds_per_step: the measured speed (``None`` before the line).
        line: the printed line (``None`` before).
    """

    def __init__(
        self,
        steps: int,
        time_limit_s: float | None = None,
        report_after_s: float = 60.0,
        prefix: str = "keras_pggan.train",
    ):
        super().__init__()
        self.steps = int(steps)
        self.time_limit_s = time_limit_s
        self.report_after_s = float(report_after_s)
        self.prefix = prefix
        self.seconds_per_step = None
        self.line = None
        self._start = self._first = self._last = None
        self._done = 0

    def on_train_begin(self, logs=None):
        self._start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        self._done += 1
        self._last = time.time()
        if self._done == 1:
            self._first = self._last
        elif self.line is None and self._last - self._first >= self.report_after_s:
            self._report()

    def on_epoch_end(self, epoch, logs=None):
        if self.line is None and self._done:
            self._report()

    def _report(self) -> None:
        if self._done > 1:  # steady steps only
            per_step = (self._last - self._first) / (self._done - 1)
        else:  # one step so far: tracing included
            per_step = self._last - self._start
        self.seconds_per_step = per_step
        left = max(self.steps - self._done, 0)
        eta = left * per_step
        shown = f"{per_step:.0f}" if per_step >= 10 else f"{per_step:.2g}"
        rate = f"{1 / per_step:.2g} steps/s" if per_step > 0 else "? steps/s"
        hint = " (pass --epochs / --time-limit to shorten)"
        if self.time_limit_s and self.time_limit_s - (self._last - self._start) < eta:
            hint = f" (--time-limit ends it after ~{format_duration(self.time_limit_s)})"
        self.line = (
            f"{self.prefix}: ~{shown} s/step ({rate}), {left:,} steps to go: "
            f"ETA {format_duration(eta)}{hint if left else ''}"
        )
        print(self.line, file=sys.stderr, flush=True)


class TimeLimit(keras.callbacks.Callback):
    """Stops training at the end of the first epoch that ends ``seconds`` after training began.

    Whole epochs only, so the backup, checkpoints and the epoch log stay consistent and
    ``--resume`` continues at an epoch boundary.
    """

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = float(seconds)
        self._start = None
        self.stopped_epoch = None

    def on_train_begin(self, logs=None):
        self._start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        if time.time() - self._start >= self.seconds:
            self.model.stop_training = True
            self.stopped_epoch = epoch + 1


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` with crash-safe saves (same arguments).

    Keras writes ``latest.weights.h5`` and then ``training_metadata.json`` in place. A kill while
    the weights are written leaves a truncated ``.h5`` (with ``double_checkpoint=False`` the run
    cannot resume); a kill while the JSON is written leaves it unparsable; a kill between the two
    writes pairs epoch *k*'s weights with epoch *k−1*'s metadata, and the resumed run silently
    trains epoch *k* twice.

    Here each save writes a new ``weights-epochEEEEE-batchBBBBBB.weights.h5`` (temporary file +
    rename), then commits it by atomically replacing ``training_metadata.json``, which names the
    weights file it belongs to (``{"epoch", "batch", "weights", "previous"}``). Whenever the
    process dies, the metadata names a complete weights file of the same epoch. The previous
    save is kept (``previous``) and loaded if the latest cannot be; older files are removed. A
    backup directory in Keras's own layout (no ``weights`` key) is still restored.

    ``extra_state`` (e.g. :class:`keras_pggan.training.ema.GeneratorEMA`: ``build(model)``,
    ``save_state(path)``, ``load_state(path)``, ``reset()``) is saved with each backup, as
    ``ema-epochEEEEE-batchBBBBBB.npz`` named by the same record (``"ema"``), so it is committed
    and restored together with the weights; a record without it (a backup from before the EMA
    existed) restarts it at the restored weights.

    Example:
        >>> backup = AtomicBackupAndRestore("runs/x/backup", save_freq="epoch",
        ...                                 delete_checkpoint=False)
    """

    _PREFIX = "weights-"
    _EXTRA_PREFIX = "ema-"

    def __init__(self, *args, extra_state=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra_state = extra_state

    def _metadata(self) -> dict | None:
        try:
            with open(self._training_metadata_path, encoding="utf-8") as f:
                record = json.load(f)
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        epoch, batch = int(self._current_epoch), int(self._last_batch_seen)
        name = f"{self._PREFIX}epoch{epoch:05d}-batch{batch:06d}.weights.h5"
        with atomic_path(os.path.join(self.backup_dir, name)) as tmp:
            self.model.save_weights(tmp, overwrite=True)
        record = {"epoch": epoch, "batch": batch, "weights": name}
        if self.extra_state is not None:
            extra = f"{self._EXTRA_PREFIX}epoch{epoch:05d}-batch{batch:06d}.npz"
            with atomic_path(os.path.join(self.backup_dir, extra)) as tmp:
                self.extra_state.save_state(tmp)
            record["ema"] = extra
        old = self._metadata()
        if old and old.get("weights") and old["weights"] != name and self.double_checkpoint:
            keys = ("epoch", "batch", "weights", "ema")
            record["previous"] = {k: old[k] for k in keys if k in old}
        # The commit point: before this rename the previous record (and its files) is current.
        write_text_atomic(self._training_metadata_path, json.dumps(record))
        previous = record.get("previous", {})
        keep = {name, previous.get("weights"), record.get("ema"), previous.get("ema")}
        for prefix, ext in ((self._PREFIX, ".weights.h5"), (self._EXTRA_PREFIX, ".npz")):
            for path in glob.glob(os.path.join(self.backup_dir, f"{prefix}*{ext}")):
                if os.path.basename(path) not in keep:
                    with contextlib.suppress(OSError):
                        os.remove(path)
            # Temporary files of saves killed half-way (atomic_path's ".<stem>.*" names).
            for path in glob.glob(os.path.join(self.backup_dir, f".{prefix}*.tmp*")):
                with contextlib.suppress(OSError):
                    os.remove(path)

    def _restore(self, weights_path: str) -> None:
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        self.model.load_weights(weights_path)

    def _restore_extra(self, record: dict) -> None:
        if self.extra_state is None:
            return
        self.extra_state.build(self.model)
        path = os.path.join(self.backup_dir, record["ema"]) if record.get("ema") else None
        if path is None:
            self.extra_state.reset()  # a backup from before the EMA: start it here
            return
        try:
            self.extra_state.load_state(path)
        except Exception as e:  # noqa: BLE001 - the weights are restored; restart the average
            print(
                f"keras_pggan.training.callbacks: WARNING: cannot restore {path} ({e}); the "
                "EMA restarts "
                "at the restored weights",
                file=sys.stderr,
            )
            self.extra_state.reset()

    def on_train_begin(self, logs=None):
        record = self._metadata()
        if record is None or "weights" not in record:
            return super().on_train_begin(logs)  # nothing saved yet, or Keras's own layout
        if not self.model.built:
            raise ValueError(f"{self.backup_dir}: build the model before fit() to restore it")
        candidates = [record] + ([record["previous"]] if "previous" in record else [])
        problems = []
        for candidate in candidates:
            path = os.path.join(self.backup_dir, candidate["weights"])
            try:
                self._restore(path)
            except Exception as e:  # a damaged file: fall back to the previous save
                problems.append(f"{path}: {e}")
                print(
                    f"keras_pggan.training.callbacks: WARNING: cannot restore {path} ({e})",
                    file=sys.stderr,
                )
                continue
            self.model._initial_epoch = int(candidate["epoch"])
            self._restore_extra(candidate)
            return None
        raise ValueError(f"{self.backup_dir}: no loadable backup ({'; '.join(problems)})")
