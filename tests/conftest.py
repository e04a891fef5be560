"""Shared test setup: quiet TensorFlow, two logical CPUs, tiny configs and synthetic batches."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# The suite's tolerances are measured on CPUs: on a host with a GPU, the tests run on its CPU
# (same results as on a machine without one) unless KERAS_PGGAN_TEST_GPU=1 asks for the GPU
# (scripts/gpu_check.sh does, to exercise the GPU path; tolerances there are not guaranteed).
if os.environ.get("KERAS_PGGAN_TEST_GPU") != "1":
    try:
        tf.config.set_visible_devices([], "GPU")
    except RuntimeError:
        pass

# Split the CPU into two logical devices before any op runs, so MirroredStrategy tests can
# compare 1 vs 2 replicas in one process. Single-device code keeps using /cpu:0.
_cpus = tf.config.list_physical_devices("CPU")
try:
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )
except RuntimeError:
    pass

from keras_pggan.config import get_preset  # noqa: E402


@pytest.fixture
def tiny_cfg():
    return get_preset("tiny")


# A batch of the data contract (random images, rectangle holes); child processes import it from
# keras_pggan.testing.fixtures, tests as ``from conftest import make_batch``.
from keras_pggan.testing.fixtures import make_batch  # noqa: E402


@pytest.fixture
def batch():
    return make_batch()


# The reliability tests' session fixtures (tests/reliability_fixtures.py), registered here once so
# that every tests/reliability_*_test.py shares one corpus, one exported model and one server.
from reliability_fixtures import (  # noqa: E402, F401
    rel_corpus,
    rel_inpainters,
    rel_loaded,
    rel_models,
    rel_server,
)


def smooth_photo(h=48, w=64, seed=0):
    """A smooth colour image (gradients + noise) so crops and resizes are distinguishable."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (h + w)], -1)
    img = img + rng.uniform(-20, 20, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def save_array(path, array, **kw):
    """Writes a uint8 array as an image file (folders created)."""
    from PIL import Image

    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    Image.fromarray(array).save(path, **kw)


@pytest.fixture(scope="module")
def generator():
    """The tiny preset's generator, seeded (a module may define its own)."""
    import keras

    from keras_pggan.config import get_preset
    from keras_pggan.models.generator import build_generator

    keras.utils.set_random_seed(0)
    return build_generator(get_preset("tiny").generator)


@pytest.fixture(scope="module")
def model_path(generator, tmp_path_factory):
    """``generator`` saved as a ``.keras`` file."""
    path = str(tmp_path_factory.mktemp("model") / "generator.keras")
    generator.save(path)
    return path


def pytest_collection_modifyitems(config, items):
    """Runs the ``large`` end-to-end tests first (otherwise in collection order).

    Under ``-n 2 --dist worksteal`` (the README's test command) the minutes-long tests then start
    while the many short ones fill the other worker, and an idle worker takes queued tests from a
    busy one, so the suite does not end with one worker running alone (with xdist's default
    ``load`` scheduling one worker sat idle for the last 14 of 30 minutes here). Every xdist
    worker sorts the same collection the same way, as xdist requires.
    """
    items.sort(key=lambda item: item.get_closest_marker("large") is None)
