"""Contracts every model variant (dres, res, ce, glgan) keeps: plain helpers, run by contracts_test.

Imported as ``from contracts import ...`` (like ``from conftest import make_batch``): pytest puts
``tests/`` on the import path. Each helper asserts; it returns nothing.

- :func:`check_generator_contract`: fully convolutional on non-square inputs, hole pixels never
  reach the network, ``fill_holes`` composites (known pixels exact, any size with
  ``pad_multiple``, empty batches), the ``.keras`` file round trip.
- :func:`check_mirrored_equals_one_device`: ``fit`` under ``MirroredStrategy`` on the two logical
  CPUs that ``conftest.py`` configures equals one device with the same global batch.
"""

import keras
import numpy as np
import tensorflow as tf
from conftest import make_batch

from keras_pggan.config import ExperimentConfig, get_preset
from keras_pggan.inference.fill import fill_holes, pad_to_multiple
from keras_pggan.models.generator import pad_multiple_of
from keras_pggan.training.build import build_gan, compile_gan

_ONE_EPOCH = {"steps_per_epoch": 1, "epochs": 1, "validation_steps": 0}

# The smallest configs of each variant: a few thousand parameters at 32².
_TINY = {
    "dres": lambda: get_preset("tiny"),
    "res": lambda: get_preset("tiny").replace(
        generator={"variant": "res", "num_downsamplings": 3, "dilation_rates": [1]}
    ),
    "ce": lambda: get_preset("ce").replace(
        generator={"base_filters": 4, "max_filters": 8, "num_downsamplings": 3},
        discriminator={"base_filters": 4, "max_filters": 8},
        data={"image_size": 32, "shuffle_buffer": 8},
        train={"global_batch_size": 4, **_ONE_EPOCH},
    ),
    "glgan": lambda: get_preset("glgan").replace(
        generator={"base_filters": 4, "max_filters": 8, "dilation_rates": [2, 4]},
        discriminator={"base_filters": 4, "max_filters": 8},
        data={"image_size": 32, "shuffle_buffer": 8},
        train={"global_batch_size": 4, **_ONE_EPOCH},
    ),
}
VARIANTS = tuple(_TINY)


def tiny_config(variant: str, **sections) -> ExperimentConfig:
    """The tiny config of a generator variant, with ``ExperimentConfig.replace`` overrides."""
    cfg = _TINY[variant]()
    return cfg.replace(**sections) if sections else cfg


def _raw(generator, image11, mask):
    return np.asarray(generator({"image": image11, "mask": mask}))


def check_generator_contract(generator, height, width, multiple, tmp_path, odd_size=(37, 45)):
    """What every generator keeps, checked on a ``height``×``width`` (non-square) batch.

    Args:
        generator: dict inputs ``image`` in [-1,1] and ``mask`` (1 = hole), tanh output.
        height, width: a non-square size, both multiples of ``multiple``.
        multiple: the generator's pad multiple (product of its convolution strides).
        tmp_path: a folder for the ``.keras`` round trip.
        odd_size: a size that is not a multiple, for ``fill_holes(pad_multiple=...)``.
    """
    assert height != width and not height % multiple and not width % multiple
    assert pad_multiple_of(generator) == multiple

    # Fully convolutional: any multiple of the pad multiple, square or not, in the tanh range.
    for h, w in [(height, width), (width, height), (2 * multiple, width)]:
        out = _raw(generator, tf.zeros([2, h, w, 3]), tf.ones([2, h, w, 1]))
        assert out.shape == (2, h, w, 3), (h, w)
        assert np.isfinite(out).all() and np.abs(out).max() <= 1.0, (h, w)

    data = make_batch(n=2, size=height, width=width, seed=11)
    image01, mask = data["image"], data["mask"]
    assert 0 < mask.mean() < 1
    x = image01 * 2 - 1
    hole = np.broadcast_to(mask, x.shape) > 0
    want = _raw(generator, x, mask)

    # Hole pixels never reach the network: any content in the holes gives the same output...
    rng = np.random.default_rng(12)
    for other in (
        np.where(hole, rng.uniform(-1, 1, x.shape).astype("float32"), x),
        x + mask * 7.0,  # out of range too
    ):
        np.testing.assert_array_equal(_raw(generator, other, mask), want)
    # ...while the known pixels do matter.
    flipped = np.where(hole, x, -x)
    assert np.abs(_raw(generator, flipped, mask) - want).max() > 1e-4

    # fill_holes: scale to [-1,1], run, composite: known pixels exact, holes the generator's.
    out = fill_holes(generator, image01, mask).numpy()
    assert out.shape == image01.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[~hole], image01[~hole])
    np.testing.assert_allclose(out[hole], ((want + 1) / 2)[hole], atol=1e-6)
    assert out.min() >= 0.0 and out.max() <= 1.0
    # Already a multiple, or an empty-batch guard on a full batch: nothing changes.
    for kwargs in ({"pad_multiple": multiple}, {"allow_empty_batch": True}):
        np.testing.assert_allclose(
            fill_holes(generator, image01, mask, **kwargs).numpy(), out, atol=1e-6
        )

    # pad_multiple: any size; the in-graph mirror padding is the host twin's (pad_to_multiple).
    oh, ow = odd_size
    assert oh % multiple and ow % multiple
    odd = make_batch(n=1, size=oh, width=ow, seed=13)
    got = fill_holes(generator, odd["image"], odd["mask"], pad_multiple=multiple).numpy()
    assert got.shape == (1, oh, ow, 3)
    known = np.broadcast_to(odd["mask"], got.shape) == 0
    np.testing.assert_array_equal(got[known], odd["image"][known])
    assert got.min() >= 0.0 and got.max() <= 1.0
    padded = fill_holes(generator, *pad_to_multiple(odd["image"], odd["mask"], multiple)).numpy()
    np.testing.assert_allclose(got, padded[:, :oh, :ow], atol=1e-6)

    # allow_empty_batch: 0 images in, 0 images out (also with padding).
    for h, w, kwargs in [(height, width, {}), (oh, ow, {"pad_multiple": multiple})]:
        empty = fill_holes(
            generator,
            np.zeros((0, h, w, 3), "float32"),
            np.zeros((0, h, w, 1), "float32"),
            allow_empty_batch=True,
            **kwargs,
        )
        assert tuple(empty.shape) == (0, h, w, 3)

    # The .keras round trip: no custom_objects (every layer is registered), same function.
    path = str(tmp_path / "generator.keras")
    generator.save(path)
    loaded = keras.saving.load_model(path)
    for a, b in zip(generator.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(_raw(loaded, x, mask), want, atol=1e-6)
    np.testing.assert_allclose(fill_holes(loaded, image01, mask).numpy(), out, atol=1e-6)


def _weights(gan):
    return [v.numpy().copy() for v in gan.generator.weights + gan.discriminator.weights]


def check_mirrored_equals_one_device(cfg, gan_class, metric_names, steps=3, atol=1e-5):
    """``fit`` on two mirrored CPU replicas equals one device with the same global batch.

    Both runs start from ``build_gan(cfg)`` (seeded) and train ``steps`` batches of
    ``cfg.train.global_batch_size`` images; the one-device reference runs eagerly (the same
    arithmetic without a second trace: a ``MirroredStrategy`` step is traced once per replica)
    on ``/cpu:0``, so a GPU host compares CPU with CPU too.
    The two logical CPUs come from ``conftest.py``; ``train.make_strategy`` keeps one
    ``MirroredStrategy`` per process (a second instance's all-reduces fail).

    Args:
        cfg: the experiment (its generator and discriminator variants pick the GAN).
        gan_class: the wrapper ``build_gan`` must choose (``PGGAN`` or ``BaselineGAN``).
        metric_names: the logs the wrapper reports.
        steps: optimiser steps (one epoch).
        atol: tolerance on the weights after training.
    """
    from keras_pggan.training import run as train

    batch = cfg.train.global_batch_size
    data = make_batch(n=steps * batch, size=cfg.data.image_size, seed=5)

    def run(strategy, eager):
        with strategy.scope():
            gan = build_gan(cfg)
            compile_gan(gan, cfg)
        assert type(gan) is gan_class
        gan.run_eagerly = eager
        start = _weights(gan)
        ds = tf.data.Dataset.from_tensor_slices(data).batch(batch)
        hist = gan.fit(ds, epochs=1, verbose=0, shuffle=False).history
        assert gan.distribute_strategy.num_replicas_in_sync == strategy.num_replicas_in_sync
        for opt in (gan.g_optimizer, gan.d_optimizer):
            assert int(opt.iterations.numpy()) == steps
        assert set(hist) == set(metric_names)
        return start, _weights(gan), hist

    with tf.device("/cpu:0"):  # the replicas' device kind, on a GPU host too
        start1, one, h1 = run(tf.distribute.get_strategy(), eager=True)
    # cpu_replicas=2 mirrors over two logical CPUs even where GPUs exist.
    mirrored = train.make_strategy("mirrored", cpu_replicas=2)
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert mirrored.num_replicas_in_sync == 2
    assert all("CPU" in d for d in mirrored.extended.worker_devices)
    start2, two, h2 = run(mirrored, eager=False)

    for a, b in zip(start1, start2, strict=True):
        np.testing.assert_array_equal(a, b)  # the same seeded start
    # Training moved the weights far more than the tolerance: the equality below means something.
    assert max(float(np.abs(a - b).max()) for a, b in zip(start1, one)) > 10 * atol
    for a, b in zip(one, two, strict=True):
        np.testing.assert_allclose(a, b, atol=atol)
    for k in h1:
        np.testing.assert_allclose(h2[k][0], h1[k][0], rtol=1e-4, atol=1e-6, err_msg=k)
