"""The generator's moving average (keras_pggan.training.ema): the update rule, its state in backups
and
on resume, the float32 copy that is saved, its validation score, and the run's EMA files."""

import dataclasses
import glob
import json
import os
import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import make_batch

from keras_pggan.config import TrainConfig, get_preset
from keras_pggan.models.generator import build_generator
from keras_pggan.models.saved import newest_generator
from keras_pggan.train import __main__ as train_cmd
from keras_pggan.training import run as train
from keras_pggan.training.ema import GeneratorEMA

TINY = ["--preset", "tiny", "--steps-per-epoch", "2", "--validation-steps", "1", "--verbose", "0"]


def _holder(seed=0, precision=None):
    """A stand-in for the GAN: the callback only reads ``model.generator``."""
    if precision:
        keras.mixed_precision.set_global_policy(precision)
    try:
        keras.utils.set_random_seed(seed)
        generator = build_generator(get_preset("tiny").generator)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return types.SimpleNamespace(generator=generator)


def _shift(model, k):
    """Sets every weight of ``model.generator`` to a known function of the step ``k``."""
    new = [np.full(w.shape, np.sin(k + i), w.dtype) for i, w in enumerate(model.generator.weights)]
    model.generator.set_weights(new)
    return new


def test_the_average_follows_the_warm_up_rule():
    model = _holder()
    ema = GeneratorEMA(0.9)
    ema.set_model(model)
    ema.on_train_begin()
    want = [w.copy() for w in model.generator.get_weights()]
    for t in range(30):
        current = _shift(model, t)
        ema.on_train_batch_end(t)
        d = min(0.9, (1 + t) / (10 + t))
        want = [c + d * (a - c) for a, c in zip(want, current)]
    got = ema.average.get_weights()
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert int(ema.updates.numpy()) == 30
    # The average is not the newest weights: it lags them.
    assert max(float(np.abs(a - c).max()) for a, c in zip(got, current)) > 0.05


def test_state_round_trip_and_a_wrong_generator(tmp_path):
    model = _holder()
    ema = GeneratorEMA(0.99)
    ema.build(model)
    for t in range(5):
        _shift(model, t)
        ema.on_train_batch_end(t)
    path = str(tmp_path / "ema.npz")
    ema.save_state(path)
    saved = ema.average.get_weights()
    other = GeneratorEMA(0.99)
    other.build(_holder(seed=1))
    other.load_state(path)
    assert int(other.updates.numpy()) == 5
    for a, b in zip(other.average.get_weights(), saved):
        np.testing.assert_array_equal(a, b)
    wider = dataclasses.replace(get_preset("tiny").generator, base_filters=16)
    wide = types.SimpleNamespace(generator=build_generator(wider))
    bad = GeneratorEMA(0.99)
    bad.build(wide)
    with pytest.raises(ValueError, match="does not fit"):
        bad.load_state(path)


def test_the_saved_copy_computes_in_float32_and_is_frozen_in_time():
    model = _holder(precision="mixed_bfloat16")
    ema = GeneratorEMA(0.5)
    ema.build(model)
    _shift(model, 3)
    ema.on_train_batch_end(0)
    copy = ema.generator()
    assert {layer.dtype_policy.name for layer in copy.layers} == {"float32"}
    weights = copy.get_weights()
    for a, b in zip(weights, ema.average.get_weights()):
        np.testing.assert_array_equal(a, b)
    _shift(model, 7)
    ema.on_train_batch_end(1)
    assert any(
        not np.array_equal(a, b) for a, b in zip(copy.get_weights(), ema.average.get_weights())
    )
    for a, b in zip(copy.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_its_hole_l1_is_the_hole_l1_metric():
    from keras_pggan.models.discriminator import build_discriminator
    from keras_pggan.training.model import PGGAN

    cfg = get_preset("tiny")
    keras.utils.set_random_seed(0)
    discriminator = build_discriminator(cfg.discriminator, 32)
    gan = PGGAN(build_generator(cfg.generator), discriminator, cfg.loss)
    gan.compile()
    batches = [make_batch(n=4, size=32, seed=s) for s in range(3)]
    ds = tf.data.Dataset.from_tensor_slices(
        {k: np.concatenate([b[k] for b in batches]) for k in ("image", "mask")}
    ).batch(4)
    ema = GeneratorEMA(0.999)
    ema.build(gan)  # t = 0: the average is the generator
    want = gan.evaluate(ds, verbose=0, return_dict=True)["hole_l1"]
    assert ema.hole_l1(ds) == pytest.approx(want, rel=1e-5)
    assert ema.hole_l1(ds, steps=1) == pytest.approx(
        gan.evaluate(ds.take(1), verbose=0, return_dict=True)["hole_l1"], rel=1e-5
    )


def test_decay_is_checked():
    with pytest.raises(ValueError, match="ema_decay"):
        TrainConfig(ema_decay=1.0)
    with pytest.raises(ValueError, match="decay"):
        GeneratorEMA(0.0)
    assert TrainConfig().ema_decay == 0.999  # on by default


@pytest.mark.large
def test_a_run_saves_its_average_and_ships_it(tmp_path):
    run = str(tmp_path / "run")
    assert train_cmd.main([*TINY, "--epochs", "2", "--run-dir", run]) == 0
    ema_ckpts = sorted(glob.glob(os.path.join(run, "checkpoints", "generator_ema-epoch*.keras")))
    assert [os.path.basename(p) for p in ema_ckpts] == [
        "generator_ema-epoch001.keras",
        "generator_ema-epoch002.keras",
    ]
    raw = keras.saving.load_model(os.path.join(run, "generator.keras")).get_weights()
    avg = keras.saving.load_model(os.path.join(run, "generator_ema.keras")).get_weights()
    assert len(raw) == len(avg) and any(not np.array_equal(a, b) for a, b in zip(raw, avg))
    rows = [json.loads(line) for line in open(os.path.join(run, "epochs.jsonl"))]
    assert all(0 < r["val_ema_hole_l1"] < 1 for r in rows)
    record = json.load(open(os.path.join(run, "backup", "training_metadata.json")))
    assert record["ema"] == "ema-epoch00002-batch000000.npz"
    assert record["previous"]["ema"] == "ema-epoch00001-batch000000.npz"
    assert np.load(os.path.join(run, "backup", record["ema"]))["updates"] == 4
    # What is shipped is the average; warm starts take the raw generator.
    assert newest_generator(run, ema=True).endswith("generator_ema.keras")
    assert newest_generator(run).endswith(os.sep + "generator.keras")


@pytest.mark.large
def test_resume_from_a_backup_without_an_average_starts_one(tmp_path, capsys):
    run = tmp_path / "run"
    assert train_cmd.main([*TINY, "--epochs", "1", "--run-dir", str(run)]) == 0
    # A backup written before the EMA existed: no "ema" in the record, no .npz.
    meta = run / "backup" / "training_metadata.json"
    record = json.load(open(meta))
    record.pop("ema")
    meta.write_text(json.dumps(record))
    for path in glob.glob(str(run / "backup" / "ema-*.npz")):
        os.remove(path)
    assert (
        train_cmd.main(["--run-dir", str(run), "--resume", "--epochs", "2", "--verbose", "0"]) == 0
    )
    record = json.load(open(meta))
    assert np.load(run / "backup" / record["ema"])["updates"] == 2  # restarted at the resume
    assert "WARNING" not in capsys.readouterr().err


@pytest.mark.large
def test_ema_decay_zero_writes_no_average(tmp_path):
    run = str(tmp_path / "run")
    cfg = get_preset("tiny").replace(
        train={"steps_per_epoch": 2, "epochs": 1, "validation_steps": 1, "ema_decay": 0.0}
    )
    train.run_training(cfg, run, verbose=0)
    assert not glob.glob(os.path.join(run, "**", "generator_ema*"), recursive=True)
    assert "val_ema_hole_l1" not in json.loads(open(os.path.join(run, "epochs.jsonl")).readline())
    assert "ema" not in json.load(open(os.path.join(run, "backup", "training_metadata.json")))
    assert newest_generator(run, ema=True).endswith(os.sep + "generator.keras")
