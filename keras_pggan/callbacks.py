"""Training callbacks: sample grids (files and TensorBoard) and generator checkpoints."""

from __future__ import annotations

import glob
import os

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from keras_pggan.generator import inpaint
from keras_pggan.io_utils import atomic_path


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
    masks = np.asarray(masks, np.float32)
    outputs = np.asarray(outputs, np.float32)
    masked = images * (1.0 - masks) + masks
    rows = np.concatenate([masked, outputs, images], axis=2)
    grid = np.concatenate(list(rows), axis=0)
    return np.clip(np.round(grid * 255.0), 0, 255).astype(np.uint8)


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
        outputs = inpaint(self.model.generator, self.batch["image"], self.batch["mask"]).numpy()
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

    These are inference checkpoints (generator only). Full training state for resuming lives in
    the BackupAndRestore directory.
    """

    def __init__(self, directory: str, keep: int = 3):
        super().__init__()
        self.directory = directory
        self.keep = keep

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, f"generator-epoch{epoch + 1:03d}.keras")
        with atomic_path(path) as tmp:
            self.model.generator.save(tmp)
        existing = sorted(glob.glob(os.path.join(self.directory, "generator-epoch*.keras")))
        for old in existing[: -self.keep] if self.keep > 0 else []:
            os.remove(old)
