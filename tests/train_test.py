import glob
import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_pggan import cpu
from keras_pggan.config import ExperimentConfig, get_preset
from keras_pggan.errors import op_error_line
from keras_pggan.train import __main__ as train_cmd
from keras_pggan.training import run as train
from keras_pggan.training.build import build_gan, compile_gan
from keras_pggan.training.warm_start import warm_start

# 32² tiny model, embedded photos, 2 steps/epoch: seconds per run.
TINY = ["--preset", "tiny", "--steps-per-epoch", "2", "--validation-steps", "1", "--verbose", "0"]


def _weights(path):
    return [w.numpy() for w in keras.saving.load_model(path).weights]


def _assert_same_weights(a, b, atol=1e-5):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=atol)


@pytest.mark.large
def test_cli_writes_the_run_directory(tmp_path):
    run = str(tmp_path / "run")
    assert train_cmd.main([*TINY, "--epochs", "2", "--run-dir", run, "--seed", "3"]) == 0
    cfg = ExperimentConfig.load(os.path.join(run, "config.json"))
    assert cfg == get_preset("tiny").replace(
        train={"steps_per_epoch": 2, "epochs": 2, "validation_steps": 1, "seed": 3}
    )
    assert os.path.exists(os.path.join(run, "backup", "training_metadata.json"))
    assert train.completed_epochs(os.path.join(run, "backup")) == 2
    assert sorted(os.listdir(os.path.join(run, "samples"))) == ["epoch_001.png", "epoch_002.png"]
    assert len(glob.glob(os.path.join(run, "checkpoints", "generator-epoch*.keras"))) == 2
    assert glob.glob(os.path.join(run, "logs", "train", "events.out.tfevents.*"))
    assert glob.glob(os.path.join(run, "logs", "images", "events.out.tfevents.*"))
    hist = json.load(open(os.path.join(run, "history.json")))
    assert {"g_loss", "d_loss", "g_l1", "val_hole_l1"} <= set(hist) and len(hist["g_loss"]) == 2
    from PIL import Image

    grid = np.asarray(Image.open(os.path.join(run, "samples", "epoch_002.png")))
    n = get_preset("tiny").train.num_samples
    assert grid.shape == (n * 32, 3 * 32, 3)
    # generator.keras equals the last checkpoint.
    _assert_same_weights(
        _weights(os.path.join(run, "generator.keras")),
        _weights(os.path.join(run, "checkpoints", "generator-epoch002.keras")),
        atol=0,
    )


def test_cli_user_errors_exit_2_and_lose_nothing(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("precious")
    assert train_cmd.main([*TINY, "--run-dir", str(run)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (run / "notes.txt").read_text() == "precious"
    assert train_cmd.main([*TINY, "--run-dir", str(tmp_path / "none"), "--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert train_cmd.main([*TINY, "--image-size", "36", "--run-dir", str(tmp_path / "x")]) == 2
    assert "DataConfig.image_size" in capsys.readouterr().err
    assert train_cmd.main([*TINY, "--profile-batches", "3", "--run-dir", str(tmp_path / "y")]) == 2
    assert "--profile-batches" in capsys.readouterr().err


def test_resume_equals_uninterrupted(tmp_path):
    cfg = get_preset("tiny").replace(
        train={"epochs": 2, "steps_per_epoch": 3, "validation_steps": 0}
    )
    full = train.run_training(cfg, str(tmp_path / "full"), verbose=0)["model"]
    part = str(tmp_path / "part")
    train.run_training(cfg.replace(train={"epochs": 1}), part, verbose=0)
    resumed = train.run_training(cfg, part, resume=True, verbose=0)
    assert resumed["initial_epoch"] == 1
    model = resumed["model"]
    for opt in ("g_optimizer", "d_optimizer"):
        assert int(getattr(model, opt).iterations.numpy()) == 6
        assert int(getattr(full, opt).iterations.numpy()) == 6
    _assert_same_weights([w.numpy() for w in full.weights], [w.numpy() for w in model.weights])
    # The optimiser moments were restored too (not re-initialised at the resume).
    _assert_same_weights(
        [v.numpy() for v in full.g_optimizer.variables],
        [v.numpy() for v in model.g_optimizer.variables],
    )


def test_cli_strategy_flags_reach_run_training(tmp_path, monkeypatch):
    """--strategy mirrored --cpu-replicas 2 trains on a 2-replica MirroredStrategy; that this
    equals one device is contracts_test.py's (every variant)."""
    import tensorflow as tf

    class Stop(Exception):
        pass

    seen = {}

    def fake_run_training(cfg, run_dir, strategy=None, **kwargs):
        seen.update(cfg=cfg, run_dir=run_dir, strategy=strategy)
        raise Stop  # not a UserError/ValueError: main lets it through

    monkeypatch.setattr(train_cmd, "run_training", fake_run_training)
    run = str(tmp_path / "b")
    with pytest.raises(Stop):
        train_cmd.main([*TINY, "--strategy", "mirrored", "--cpu-replicas", "2", "--run-dir", run])
    assert isinstance(seen["strategy"], tf.distribute.MirroredStrategy)
    assert seen["strategy"].num_replicas_in_sync == 2
    assert all("CPU" in d for d in seen["strategy"].extended.worker_devices)
    assert seen["run_dir"] == run and seen["cfg"].name == "tiny"
    with pytest.raises(Stop):
        train_cmd.main([*TINY, "--strategy", "default", "--run-dir", run])
    assert seen["strategy"].num_replicas_in_sync == 1


def test_make_strategy_choices():
    import tensorflow as tf

    assert train.make_strategy("default").num_replicas_in_sync == 1
    # cpu_replicas > 1 mirrors over logical CPUs even where GPUs exist (the same on any host).
    mirrored = train.make_strategy("mirrored", cpu_replicas=2)
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert mirrored.num_replicas_in_sync == 2
    assert [d.split(":")[-2] for d in mirrored.extended.worker_devices] == ["CPU", "CPU"]
    auto = train.make_strategy("auto", cpu_replicas=2)
    assert auto.num_replicas_in_sync == 2 and auto.extended.worker_devices == (
        mirrored.extended.worker_devices
    )
    with pytest.raises(train.UserError, match="--strategy"):
        train.make_strategy("tpu")


@pytest.mark.large
def test_multi_worker_two_processes_end_identical(tmp_path):
    import socket

    ports = []
    for _ in range(2):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        ports.append(s.getsockname()[1])
        s.close()
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    run = str(tmp_path / "mw")
    procs = []
    for i in range(2):
        env = dict(
            os.environ,
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
            TF_CPP_MIN_LOG_LEVEL="2",
        )
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "keras_pggan.train",
                    *TINY,
                    "--epochs",
                    "2",
                    "--validation-steps",
                    "0",
                    "--strategy",
                    "multi-worker",
                    "--run-dir",
                    run,
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    try:
        outs = [p.communicate(timeout=300)[0] for p in procs]
    finally:
        for p in procs:  # a crashed peer leaves the other worker waiting forever
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], outs
    assert "2 replica(s)" in outs[0]
    chief = _weights(os.path.join(run, "generator.keras"))
    worker = _weights(os.path.join(run, "worker1", "generator.keras"))
    _assert_same_weights(chief, worker, atol=0)
    init = [w.numpy() for w in build_gan(get_preset("tiny")).generator.weights]
    assert any(not np.allclose(a, b) for a, b in zip(chief, init))  # it did train


def _write_photos(folder, n=6, bad=()):
    from PIL import Image

    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        img = rng.integers(0, 255, (40 + i, 48, 3), dtype=np.uint8)
        Image.fromarray(img).save(os.path.join(folder, f"p{i}.jpg"), quality=90)
    for name in bad:
        with open(os.path.join(folder, name), "wb") as f:
            f.write(b"")


@pytest.mark.large
def test_cli_trains_from_a_folder_and_from_tfrecords(tmp_path):
    from keras_pggan.data import __main__ as data_cmd
    from keras_pggan.data import pipeline as data

    photos = str(tmp_path / "photos")
    _write_photos(photos, bad=("broken.jpg",))
    data.reset_skipped_files()
    run_a = str(tmp_path / "folder_run")
    args = [*TINY, "--epochs", "1", "--mask", "freeform:0.5,rect:0.5"]
    assert train_cmd.main([*args, "--data", photos, "--val-data", photos, "--run-dir", run_a]) == 0
    assert os.path.exists(os.path.join(run_a, "generator.keras"))
    cfg = ExperimentConfig.load(os.path.join(run_a, "config.json"))
    assert cfg.data.train == (photos,) and cfg.mask.spec == "freeform:0.5,rect:0.5"
    skipped = open(os.path.join(run_a, "skipped_files.txt")).read().splitlines()
    assert [os.path.basename(line.split("\t")[0]) for line in skipped] == ["broken.jpg"]

    shards = str(tmp_path / "shards")
    assert data_cmd.main(["make-tfrecords", photos, shards, "--shards", "2"]) == 0
    run_b = str(tmp_path / "tfrecord_run")
    glob_arg = os.path.join(shards, "*.tfrecord")
    assert train_cmd.main([*args, "--data", glob_arg, "--run-dir", run_b]) == 0
    hist = json.load(open(os.path.join(run_b, "history.json")))
    assert np.isfinite(hist["g_loss"][0]) and np.isfinite(hist["d_loss"][0])


@pytest.mark.large
def test_init_from_run_dir_and_keras_file(tmp_path, capsys):
    """--init-from: weights of the source run, fresh optimisers; errors name the file."""
    src = str(tmp_path / "src")
    assert train_cmd.main([*TINY, "--epochs", "1", "--run-dir", src]) == 0
    g_src = _weights(os.path.join(src, "generator.keras"))
    d_src = _weights(os.path.join(src, "discriminator.keras"))

    # 0 epochs of training is impossible, so compare against what a warm start loads.
    cfg = get_preset("tiny")
    gan = build_gan(cfg)
    compile_gan(gan, cfg)
    loaded = warm_start(gan, src)
    assert loaded["generator"].endswith(".keras") and loaded["discriminator"].endswith(
        "discriminator.keras"
    )
    _assert_same_weights([w.numpy() for w in gan.generator.weights], g_src, atol=0)
    _assert_same_weights([w.numpy() for w in gan.discriminator.weights], d_src, atol=0)
    assert int(gan.g_optimizer.iterations.numpy()) == 0

    # A warm-started run differs from a cold one with the same seed after one epoch. The cold
    # one is the source run itself (same seed, data and steps: a run is deterministic, see
    # test_resume_equals_uninterrupted), so the source stands in for it; warm went 2 steps further.
    warm = str(tmp_path / "warm")
    gen = os.path.join(src, "generator.keras")
    assert train_cmd.main([*TINY, "--epochs", "1", "--run-dir", warm, "--init-from", gen]) == 0
    w = _weights(os.path.join(warm, "generator.keras"))
    assert max(float(np.abs(a - b).max()) for a, b in zip(w, g_src)) > 1e-5
    env = json.load(open(os.path.join(warm, "env.json")))
    assert env["processes"][0]["init_from"]["generator"] == gen

    capsys.readouterr()
    bad = str(tmp_path / "bad")
    assert train_cmd.main([*TINY, "--preset", "demo", "--run-dir", bad, "--init-from", gen]) == 2
    assert gen in capsys.readouterr().err
    assert (
        train_cmd.main(["--run-dir", warm, "--resume", "--init-from", gen, "--verbose", "0"]) == 2
    )
    assert "--init-from starts a new run" in capsys.readouterr().err
    missing = str(tmp_path / "nope.keras")
    assert train_cmd.main([*TINY, "--run-dir", str(tmp_path / "m"), "--init-from", missing]) == 2
    assert missing in capsys.readouterr().err


def test_bf16_training_saves_float32_generators(tmp_path, monkeypatch):
    # Runs on every CPU: without CPU bfloat16 the tiny model is emulated (slow but seconds);
    # under pytest the dilated convolutions take the SpaceToBatch path, which has gradients.
    monkeypatch.setattr(cpu, "bf16_supported", lambda flags=None: True)
    run = str(tmp_path / "run")
    assert (
        train_cmd.main([*TINY, "--epochs", "1", "--run-dir", run, "--precision", "mixed_bfloat16"])
        == 0
    )
    cfg = ExperimentConfig.load(os.path.join(run, "config.json"))
    assert cfg.train.precision == "mixed_bfloat16"
    for path in (
        os.path.join(run, "generator.keras"),
        os.path.join(run, "checkpoints", "generator-epoch001.keras"),
    ):
        model = keras.saving.load_model(path)
        assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    assert keras.config.dtype_policy().name == "float32"  # the global policy came back
    hist = json.load(open(os.path.join(run, "history.json")))
    assert np.isfinite(hist["g_loss"][-1]) and hist["g_loss"][-1] > 0


def test_bf16_model_computes_in_bf16_with_float32_logits():
    cfg = get_preset("tiny").replace(train={"precision": "mixed_bfloat16"})
    gan = build_gan(cfg)
    assert gan.generator.get_layer("stem_conv").compute_dtype == "bfloat16"
    assert all(v.dtype == "float32" for v in gan.generator.weights)
    out = gan.discriminator(np.zeros((1, 32, 32, 3), "float32"))
    assert {str(v.dtype) for v in out.values()} == {"<dtype: 'float32'>"}
    g = gan.generator(
        {"image": np.zeros((1, 32, 32, 3), "float32"), "mask": np.ones((1, 32, 32, 1), "float32")}
    )
    assert str(g.dtype) == "<dtype: 'float32'>"


@pytest.mark.large
def test_epoch_log_and_time_limit_across_resume(tmp_path):
    run = str(tmp_path / "run")
    # A limit shorter than one epoch stops after the first epoch.
    assert train_cmd.main([*TINY, "--epochs", "5", "--run-dir", run, "--time-limit", "0.0001"]) == 0
    assert train.completed_epochs(os.path.join(run, "backup")) == 1
    assert train_cmd.main(["--epochs", "3", "--run-dir", run, "--resume", "--verbose", "0"]) == 0
    from keras_pggan.training.callbacks import EpochLog

    rows = EpochLog.read(os.path.join(run, "epochs.jsonl"))
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert [r["step"] for r in rows] == [2, 4, 6]
    walls = [r["wall_s"] for r in rows]
    assert walls == sorted(walls) and walls[0] > 0  # the resumed process continues the clock
    assert {"g_loss", "val_hole_l1"} <= set(rows[-1])
    env = json.load(open(os.path.join(run, "env.json")))
    assert [p["resume"] for p in env["processes"]] == [False, True]


def test_bf16_without_a_gpu_or_cpu_bfloat16_is_refused_before_anything_is_written(
    tmp_path, monkeypatch, capsys
):
    import tensorflow as tf

    monkeypatch.setattr(cpu, "bf16_supported", lambda flags=None: False)
    real = tf.config.list_logical_devices
    monkeypatch.setattr(
        tf.config, "list_logical_devices", lambda kind=None: [] if kind == "GPU" else real(kind)
    )
    run = tmp_path / "run"
    assert train_cmd.main([*TINY, "--run-dir", str(run), "--precision", "mixed_bfloat16"]) == 2
    err = capsys.readouterr().err
    assert "mixed_bfloat16 needs a GPU or a CPU with AVX512_BF16" in err
    assert "use --precision float32" in err
    assert not run.exists()


def test_an_op_error_reports_the_kernels_message_not_the_graph_banner():
    message = (
        "Graph execution error:\n\nDetected at node gradient_tape/g/res2_conv/Conv2DBackpropFilter "
        'defined at (most recent call last):\n  File "/x/train.py", line 1, in <module>\n\n'
        "    main()\n\n\nCurrent CPU implementations do not yet support dilation rates larger "
        "than 1.\n\t [[{{node gradient_tape/g/res2_conv/Conv2DBackpropFilter}}]] [Op:__inf_1]"
    )
    assert op_error_line(message) == (
        "Current CPU implementations do not yet support dilation rates larger than 1."
    )
    assert op_error_line("ValueError: no decodable image in the data sources\n") == (
        "no decodable image in the data sources"
    )


@pytest.mark.large
def test_a_warm_start_from_a_shipped_file_keeps_its_cards_training_record(tmp_path, capsys):
    src = str(tmp_path / "src")
    assert train_cmd.main([*TINY, "--epochs", "1", "--run-dir", src]) == 0
    shipped = tmp_path / "saved_models"
    shipped.mkdir()
    gen = str(shipped / "pggan_dres.keras")
    shutil.copyfile(os.path.join(src, "generator.keras"), gen)
    chain = [{"run": "src", "steps": 2, "hours": 0.01, "val_hole_l1": "9.00 %"}]
    training = {"lr": "G 0.0002, D 0.0002", "precision": "float32", "averaged": True}
    card = {"training": {**training, "chain": chain}}
    (shipped / "model_card.json").write_text(json.dumps(card))
    run = str(tmp_path / "warm")
    assert train_cmd.main([*TINY, "--epochs", "1", "--run-dir", run, "--init-from", gen]) == 0
    env = json.load(open(os.path.join(run, "env.json")))
    lineage = env["processes"][0]["init_from"]["lineage"]
    assert lineage["chain"] == chain and lineage["lr"] == "G 0.0002, D 0.0002"
    assert lineage["averaged"] is True
    assert lineage["card"] == str(shipped / "model_card.json")

    # A card that is not one: a clear error naming it, and no run directory.
    (shipped / "model_card.json").write_text("{not json")
    capsys.readouterr()
    bad = tmp_path / "bad"
    assert train_cmd.main([*TINY, "--run-dir", str(bad), "--init-from", gen]) == 2
    err = capsys.readouterr().err
    assert "model_card.json: not a model card" in err and not bad.exists()
