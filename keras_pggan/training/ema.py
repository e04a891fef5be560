"""An exponential moving average (EMA) of the generator's weights, kept beside training.

GAN generators oscillate from step to step: consecutive checkpoints of one run differ visibly
(measured on the shipped run: the flat-colour error of epochs 94, 95 and 96 was 10.9, 17.1 and
13.2 levels; the plain mean of the three, 9.0 levels, and +0.11 / +0.17 dB PSNR on the ImageNet
hold-out's centre / free-form holes over the newest). ProGAN and StyleGAN therefore evaluate and
ship an averaged copy of the generator. :class:`GeneratorEMA` is that copy as a Keras callback:

* after every training step, ``ema ← w + d·(ema − w)`` with ``d = min(decay, (1 + t) / (10 + t))``
  after ``t`` updates (the warm-up of ``tf.train.ExponentialMovingAverage``'s ``num_updates``, so
  that a short run is not an average dominated by the random initial weights);
* after every epoch, with validation data, its hole L1 on the validation batches is logged as
  ``val_ema_hole_l1`` (same formula as ``hole_l1``; callbacks after it see it: TensorBoard, the
  epoch log);
* its state (weights and ``t``) is part of every backup of
  :class:`keras_pggan.training.callbacks.AtomicBackupAndRestore` (``extra_state``), written before
  the
  backup's commit point, so ``--resume`` continues the same average;
* :meth:`GeneratorEMA.generator` is a float32 generator with the averaged weights: the run's
  ``generator_ema.keras`` and ``checkpoints/generator_ema-epochNNN.keras``.

The raw generator keeps training unchanged: the EMA never feeds back into the updates.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


class GeneratorEMA(keras.callbacks.Callback):
    """Keeps an exponential moving average of ``model.generator``'s weights.

    Args:
        decay: the EMA decay in (0, 1) (``TrainConfig.ema_decay``).
        val_data: a ``{"image", "mask"}`` dataset to score the average on after each epoch
            (``None``: no ``val_ema_hole_l1``).
        val_steps: batches of ``val_data`` per score.

    Example:
        >>> ema = GeneratorEMA(0.999, val_ds, 4)
        >>> gan.fit(train_ds, callbacks=[ema, ...])
        >>> ema.generator().save("generator_ema.keras")
    """

    def __init__(self, decay: float, val_data=None, val_steps: int | None = None):
        super().__init__()
        if not 0 < decay < 1:
            raise ValueError(f"GeneratorEMA: decay must be in (0, 1), got {decay!r}")
        self.decay = float(decay)
        self.val_data = val_data
        self.val_steps = val_steps
        self.average: keras.Model | None = None
        self.updates: tf.Variable | None = None
        self._update_fn = None
        self._fill_fn = None

    # -- state ---------------------------------------------------------------------------------
    def build(self, model=None) -> None:
        """Creates the averaged copy (from the generator's current weights) if it does not exist."""
        if model is not None and self.model is None:
            self.set_model(model)
        if self.average is not None:
            return
        source = self.model.generator
        self.average = keras.models.clone_model(source)
        self.average.set_weights(source.get_weights())
        self.updates = tf.Variable(0, dtype=tf.int64, trainable=False, name="ema_updates")
        pairs = list(zip(self.average.weights, source.weights))
        decay = tf.constant(self.decay, tf.float32)

        @tf.function
        def update():
            t = tf.cast(self.updates, tf.float32)
            d = tf.minimum(decay, (1.0 + t) / (10.0 + t))
            for avg, w in pairs:
                w = tf.cast(w, avg.dtype)
                avg.assign(w + tf.cast(d, avg.dtype) * (avg - w))
            self.updates.assign_add(1)

        self._update_fn = update

    def reset(self) -> None:
        """Restarts the average at the generator's current weights (``t`` = 0)."""
        self.build()
        self.average.set_weights(self.model.generator.get_weights())
        self.updates.assign(0)

    def save_state(self, path: str) -> None:
        """Writes the averaged weights and ``t`` to ``path`` (``.npz``)."""
        self.build()
        arrays = {f"w{i:04d}": np.asarray(w) for i, w in enumerate(self.average.get_weights())}
        with open(path, "wb") as f:
            np.savez(f, updates=np.int64(self.updates.numpy()), **arrays)

    def load_state(self, path: str) -> None:
        """Reads :meth:`save_state`'s file.

        Raises:
            ValueError: the file does not hold weights of this generator's shapes.
        """
        self.build()
        with np.load(path) as f:
            names = sorted(k for k in f.files if k.startswith("w"))
            weights = [f[k] for k in names]
            updates = int(f["updates"])
        want = [tuple(w.shape) for w in self.average.weights]
        if [w.shape for w in weights] != want:
            raise ValueError(f"{path}: EMA state does not fit this generator")
        self.average.set_weights(weights)
        self.updates.assign(updates)

    def generator(self) -> keras.Model:
        """The averaged generator, computing in float32 (a new model; safe to save)."""
        from keras_pggan.models.generator import as_float32

        self.build()
        model = as_float32(self.average)
        if model is self.average:  # already float32: a copy, so later updates do not leak
            model = keras.models.clone_model(self.average)
            model.set_weights(self.average.get_weights())
        return model

    # -- callback hooks ------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self.build()  # AtomicBackupAndRestore may already have built and loaded it

    def on_train_batch_end(self, batch, logs=None):
        self._update_fn()

    def on_epoch_end(self, epoch, logs=None):
        if self.val_data is None or logs is None:
            return
        logs["val_ema_hole_l1"] = self.hole_l1(self.val_data, self.val_steps)

    def hole_l1(self, dataset, steps: int | None = None) -> float:
        """Mean hole L1 ([0,1] scale) of the averaged generator over ``steps`` batches."""
        from keras_pggan.inference.fill import fill_holes, to_model_range
        from keras_pggan.training.model import batch_dict, hole_l1_per_example

        self.build()
        if self._fill_fn is None:
            average = self.average

            @tf.function
            def fill(image, mask):
                # The one fill (keras_pggan.inference.fill), scored like the hole_l1 metric.
                image = tf.cast(image, tf.float32)
                masks = tf.cast(mask, tf.float32)
                filled = fill_holes(average, image, masks)
                per = hole_l1_per_example(to_model_range(image), to_model_range(filled), masks)
                return tf.reduce_sum(per), tf.cast(tf.shape(per)[0], tf.float32)

            self._fill_fn = fill
        total = count = 0.0
        for batch in dataset.take(steps) if steps else dataset:
            batch = batch_dict(batch)
            s, n = self._fill_fn(batch["image"], batch["mask"])
            total, count = total + float(s), count + float(n)
        return total / count if count else float("nan")
