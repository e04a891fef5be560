"""The training CLI's dead ends and hangs (issue #19): multi-worker without ``TF_CONFIG``, run
directories left by a failed start, mirrored on one device, the ETA line, and the metric names
README.md gives for TensorBoard.

The item tests go through the command's ``main`` (``keras_pggan.train.__main__``),
``make_strategy`` and the CLI in a subprocess only, so they run (and fail) against the code before
the fix too; ``keras_pggan.training.run_dir`` is imported inside the tests that need it.
"""

import contextlib
import glob
import io
import json
import os
import re
import subprocess
import sys

import pytest

from keras_pggan.config import get_preset
from keras_pggan.errors import UserError
from keras_pggan.train import __main__ as train
from keras_pggan.training.distribute import make_strategy
from keras_pggan.training.run_dir import completed_epochs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# 32² tiny model, embedded photos, 2 steps/epoch: seconds per run.
TINY = ["--preset", "tiny", "--steps-per-epoch", "2", "--validation-steps", "1", "--verbose", "0"]


def _failed_start(run_dir, workers=()) -> None:
    """The files a start that died in its first epoch leaves (as before the fix, any failure)."""
    os.makedirs(os.path.join(run_dir, "logs", "train"))
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        f.write(get_preset("tiny").to_json() + "\n")
    with open(os.path.join(run_dir, "env.json"), "w") as f:
        json.dump({"processes": [{"cpu": {}, "init_from": None, "resume": False}]}, f)
    open(os.path.join(run_dir, "epochs.jsonl"), "w").close()
    with open(os.path.join(run_dir, "logs", "train", "events.out.tfevents.1.vm.1.0.v2"), "wb") as f:
        f.write(b"\x00" * 78)
    for i in workers:
        logs = os.path.join(run_dir, f"worker{i}", "logs", "train")
        os.makedirs(logs)
        open(os.path.join(logs, "events.out.tfevents.2.vm.2.0.v2"), "wb").close()


def _a_run(run_dir) -> None:
    """The layout of a run with completed epochs (as ~/.cache/keras_pggan/runs/ship_v2)."""
    _failed_start(run_dir)
    with open(os.path.join(run_dir, "epochs.jsonl"), "w") as f:
        f.write(json.dumps({"epoch": 1, "step": 2, "wall_s": 1.0}) + "\n")
    for sub in ("backup", "checkpoints", "samples"):
        os.makedirs(os.path.join(run_dir, sub))
    with open(os.path.join(run_dir, "backup", "training_metadata.json"), "w") as f:
        json.dump(
            {"epoch": 1, "batch": 1, "weights": "weights-epoch00001-batch000001.weights.h5"}, f
        )
    for name in (
        "generator.keras",
        "discriminator.keras",
        "history.json",
        "checkpoints/generator-epoch001.keras",
        "samples/epoch_001.png",
    ):
        with open(os.path.join(run_dir, name), "w") as f:
            f.write("x")


def _tree(folder) -> dict:
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = f.read()
    return out


class _Stop(Exception):
    pass


def _main_until_training(monkeypatch, argv) -> dict:
    """Runs the command's ``main`` through every check, up to its call of ``run_training``."""
    seen = {}

    def fake_run_training(cfg, run_dir, strategy=None, **kwargs):
        seen.update(cfg=cfg, run_dir=run_dir, strategy=strategy, **kwargs)
        raise _Stop  # not a UserError/ValueError: main lets it through

    monkeypatch.setattr(train, "run_training", fake_run_training)
    with pytest.raises(_Stop):
        train.main(argv)
    return seen


# -- 1. --strategy multi-worker without TF_CONFIG -------------------------------------------------
def test_multi_worker_without_tf_config_exits_2_at_once(tmp_path):
    """Before: "error: Expected scalar shape, saw shape: (1,)." and the process never exited."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    run = tmp_path / "mw"
    cmd = [sys.executable, "-m", "keras_pggan.train", *TINY, "--epochs", "1"]
    try:
        proc = subprocess.run(
            [*cmd, "--strategy", "multi-worker", "--run-dir", str(run)],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,  # before: a hang; now: the time to import TensorFlow
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"--strategy multi-worker without TF_CONFIG hangs: {e.stderr!r}")
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--strategy multi-worker needs TF_CONFIG" in errors[0], errors
    assert "README" in errors[0]
    assert not run.exists()  # nothing was created


@pytest.mark.parametrize(
    "tf_config, problem",
    [
        (None, "not set"),
        ("{not json", "not JSON"),
        (
            '{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 0}}',
            "1 task",
        ),
        ('{"cluster": {"worker": ["a:1", "b:1"]}}', "no task"),
        (
            '{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}',
            "not in",
        ),
    ],
)
def test_multi_worker_needs_a_cluster(monkeypatch, tf_config, problem):
    """Refused before any MultiWorkerMirroredStrategy (and its collectives) exists."""
    import tensorflow as tf

    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    created = []
    monkeypatch.setattr(
        tf.distribute, "MultiWorkerMirroredStrategy", lambda *a, **k: created.append(1)
    )
    with pytest.raises(UserError, match=problem):
        make_strategy("multi-worker")
    assert not created


# -- 2. a failed start blocks neither a new start nor the error messages ---------------------------
def test_a_wrong_data_path_creates_nothing(tmp_path, capsys):
    """Before: config.json was written first, and the corrected command was refused."""
    run = tmp_path / "run"
    missing = str(tmp_path / "no_such_photos")
    assert train.main([*TINY, "--data", missing, "--run-dir", str(run)]) == 2
    assert missing in capsys.readouterr().err
    assert not run.exists()
    masks = ["--mask", "folder:1", "--mask-dir", str(tmp_path / "no_masks")]
    assert train.main([*TINY, *masks, "--run-dir", str(run)]) == 2
    assert "no_masks" in capsys.readouterr().err and not run.exists()
    assert train.main([*TINY, "--init-from", missing + ".keras", "--run-dir", str(run)]) == 2
    assert "no_such_photos.keras" in capsys.readouterr().err and not run.exists()
    assert train.main([*TINY, "--val-data", missing, "--run-dir", str(run)]) == 2
    assert missing in capsys.readouterr().err and not run.exists()


def test_resume_of_a_failed_start_says_to_start_it(tmp_path, capsys):
    run = str(tmp_path / "run")
    _failed_start(run)
    before = _tree(run)
    assert train.main(["--run-dir", run, "--resume", "--verbose", "0"]) == 2
    err = capsys.readouterr().err
    assert "nothing to resume" in err and "run without --resume" in err
    assert _tree(run) == before


def test_a_run_or_unknown_files_still_refuse_a_new_start(tmp_path, capsys):
    """Never deleted: a backup, checkpoints, an epoch log with rows, anything unknown."""
    cases = {
        "run": _a_run,
        "backup": lambda d: (_failed_start(d), os.makedirs(os.path.join(d, "backup"))),
        "checkpoints": lambda d: (_failed_start(d), os.makedirs(os.path.join(d, "checkpoints"))),
        "notes": lambda d: (_failed_start(d), open(os.path.join(d, "notes.txt"), "w").close()),
        "profile": lambda d: (
            _failed_start(d),
            os.makedirs(os.path.join(d, "logs", "plugins", "profile")),
            open(os.path.join(d, "logs", "plugins", "profile", "x.xplane.pb"), "w").close(),
        ),
        "rows": lambda d: (
            _failed_start(d),
            open(os.path.join(d, "epochs.jsonl"), "w").write('{"epoch": 1}\n'),
        ),
        "foreign_config": lambda d: open(os.path.join(d, "config.json"), "w").write("[1]"),
    }
    for name, make in cases.items():
        run = str(tmp_path / name)
        os.makedirs(run, exist_ok=True)
        make(run)
        before = _tree(run)
        assert train.main([*TINY, "--run-dir", run]) == 2, name
        assert "already exists; pass --resume" in capsys.readouterr().err, name
        assert _tree(run) == before, name


def test_run_dir_layout_of_a_run_in_progress_resumes(tmp_path, monkeypatch):
    """The layout of ~/.cache/keras_pggan/runs/ship_v2 passes every check of --resume."""
    run = str(tmp_path / "ship_v2")
    _a_run(run)
    seen = _main_until_training(monkeypatch, ["--run-dir", run, "--resume", "--verbose", "0"])
    assert seen["resume"] is True and seen["run_dir"] == run and seen["cfg"].name == "tiny"
    from keras_pggan.training import run_dir

    run_dir.check_resumable(run)
    assert run_dir.failed_start_files(run) is None
    with pytest.raises(UserError, match="already exists"):
        run_dir.check_new_run(run)


def test_ctrl_c_says_what_was_kept_and_how_to_go_on(tmp_path, monkeypatch, capsys):
    import keras

    from keras_pggan.training import run as run_lib

    class CtrlC(keras.callbacks.Callback):  # Ctrl-C before the first step (nothing traced)
        def on_train_batch_begin(self, batch, logs=None):
            raise KeyboardInterrupt

    fit = run_lib._fit
    monkeypatch.setattr(
        run_lib, "_fit", lambda gan, cfg, tr, va, cbs, v: fit(gan, cfg, tr, va, [*cbs, CtrlC()], v)
    )
    monkeypatch.delenv("KERAS_PGGAN_DEBUG", raising=False)
    run = str(tmp_path / "run")
    assert train.main([*TINY, "--epochs", "2", "--run-dir", run]) == 130
    err = capsys.readouterr().err
    assert err.endswith(
        f"error: training stopped (Ctrl-C) before its first epoch ended: nothing to resume; "
        f"the same command starts again in {run}\n"
    ), err
    assert "Traceback" not in err
    # With completed epochs in backup/ the line gives their number and the command to go on.
    _a_run(str(tmp_path / "done"))
    line = run_lib.interrupted_line(str(tmp_path / "done"))
    assert line.startswith("training stopped (Ctrl-C); 1 completed epoch(s) are saved in ")
    assert line.endswith(f"-m keras_pggan.train --run-dir {tmp_path / 'done'} --resume")


def test_failed_start_files_lists_only_what_a_start_leaves(tmp_path):
    from keras_pggan.training import run_dir

    run = str(tmp_path / "run")
    _failed_start(run, workers=(1,))
    found = run_dir.failed_start_files(run)
    names = {os.path.relpath(p, run) for p in found}
    assert {"config.json", "env.json", "epochs.jsonl", "logs", "worker1"} <= names
    assert os.path.join("logs", "train", "events.out.tfevents.1.vm.1.0.v2") in names
    # Folders come after their contents, so removing in order empties each before its rmdir.
    for i, path in enumerate(found):
        assert not any(q.startswith(path + os.sep) for q in found[i + 1 :]), path
    run_dir.clear_failed_start(run, run_dir.check_new_run(run))
    assert os.listdir(run) == []
    assert run_dir.check_new_run(str(tmp_path / "new")) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="not a directory"):
        run_dir.check_new_run(str(tmp_path / "file"))


# -- 3. --strategy mirrored on one device ---------------------------------------------------------
def test_mirrored_on_one_device_warns(capsys):
    """Before: silently one replica."""
    import tensorflow as tf

    if len(tf.config.list_logical_devices("GPU")) > 1:
        pytest.skip("mirrored without --cpu-replicas uses every GPU: more than one here")
    strategy = make_strategy("mirrored", cpu_replicas=0)
    assert strategy.num_replicas_in_sync == 1
    err = capsys.readouterr().err
    assert "WARNING" in err and "1 device" in err and "--cpu-replicas N" in err
    two = make_strategy("mirrored", cpu_replicas=2)  # two logical CPUs, GPUs or not
    assert two.num_replicas_in_sync == 2
    assert all("CPU" in d for d in two.extended.worker_devices)
    assert "WARNING" not in capsys.readouterr().err


# -- 4. and 5.: one tiny run after a failed start: ETA line, TensorBoard names ---------------------
@pytest.fixture(scope="module")
def restarted_run(tmp_path_factory):
    """A failed start's directory, then ``--epochs 2`` of the tiny preset into it (2 × 2 steps)."""
    run = str(tmp_path_factory.mktemp("restart") / "run")
    _failed_start(run, workers=(1,))
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = train.main([*TINY, "--epochs", "2", "--run-dir", run])
    return {"run": run, "code": code, "err": err.getvalue(), "out": out.getvalue()}


def test_a_failed_start_is_restarted_in_place(restarted_run):
    """Before: "run directory already exists; pass --resume" (and --resume: nothing to resume)."""
    run = restarted_run["run"]
    assert restarted_run["code"] == 0, restarted_run["err"]
    assert "no epoch completed there; removing" in restarted_run["out"]
    env = json.load(open(os.path.join(run, "env.json")))
    assert len(env["processes"]) == 1 and "started" in env["processes"][0]  # the old one went
    assert not os.path.exists(os.path.join(run, "worker1"))
    assert completed_epochs(os.path.join(run, "backup")) == 2
    assert not glob.glob(os.path.join(run, "logs", "train", "events.out.tfevents.1.vm.*"))


def test_training_prints_speed_and_eta_once(restarted_run):
    """Before: no estimate at all."""
    lines = [line for line in restarted_run["err"].splitlines() if "ETA" in line]
    assert len(lines) == 1, restarted_run["err"]
    assert re.fullmatch(
        r"keras_pggan\.train: ~[0-9.]+ s/step \([0-9.e+-]+ steps/s\), 2 steps to go: "
        r"ETA [0-9.]+ (s|min|h) \(pass --epochs / --time-limit to shorten\)",
        lines[0],
    ), lines[0]
    from keras_pggan.training.callbacks import EpochLog

    rows = EpochLog.read(os.path.join(restarted_run["run"], "epochs.jsonl"))
    assert [r["epoch"] for r in rows] == [1, 2]
    assert all(r["s_per_step"] > 0 for r in rows)
    assert rows[0]["eta_s"] == pytest.approx(2 * rows[0]["s_per_step"], rel=0.01, abs=0.2)
    assert rows[1]["eta_s"] == 0


def test_eta_report_measures_steady_steps(monkeypatch, capsys):
    from keras_pggan.training import callbacks

    clock = iter([0.0, 30.0, 30.8, 31.6, 32.4]).__next__
    monkeypatch.setattr(callbacks.time, "time", clock)
    eta = callbacks.EtaReport(100_000, report_after_s=2.0)
    eta.on_train_begin()
    for batch in range(4):  # ends at 30 (tracing), 30.8, 31.6, 32.4: 0.8 s per steady step
        eta.on_train_batch_end(batch)
    assert eta.seconds_per_step == pytest.approx(0.8)
    assert eta.line.endswith(
        "99,996 steps to go: ETA 22 h (pass --epochs / --time-limit to shorten)"
    )
    eta.on_epoch_end(0)  # printed once
    assert capsys.readouterr().err.count("ETA") == 1
    assert callbacks.format_duration(45) == "45 s" and callbacks.format_duration(3 * 86400) == (
        "3.0 days"
    )
    limited = callbacks.EtaReport(10_000, time_limit_s=3600)
    limited._start, limited._first, limited._last, limited._done = 0.0, 1.0, 2.0, 2
    limited._report()
    assert "--time-limit ends it after ~60 min" in limited.line


def _scalar_tags(folder) -> set[str]:
    import tensorflow as tf

    tags = set()
    for path in glob.glob(os.path.join(folder, "events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            tags.update(v.tag for v in event.summary.value)
    return tags


def test_readme_names_the_scalars_tensorboard_shows(restarted_run):
    """Before: README said ``g_loss``; TensorBoard shows ``epoch_g_loss``."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    match = re.search(r"TensorBoard\s+scalars\s+`([^`]+)`", readme)
    assert match, "README.md: the run directory paragraph names TensorBoard's scalars"
    named = set(match.group(1).split())
    logs = os.path.join(restarted_run["run"], "logs")
    train_tags = _scalar_tags(os.path.join(logs, "train"))
    val_tags = _scalar_tags(os.path.join(logs, "validation"))
    assert train_tags and val_tags
    assert train_tags == named, (train_tags, named)
    # Validation-only: the generator's moving average (keras_pggan.training.ema).
    extra = re.search(r"in\s+`validation`\s+also\s+`([^`]+)`", readme)
    assert extra, "README.md: the run directory paragraph names the validation-only scalars"
    assert val_tags == named | set(extra.group(1).split()), val_tags


def test_generator_option_flags_reach_the_config_and_a_resume_refuses_them(tmp_path, monkeypatch):
    run = str(tmp_path / "opts")
    argv = [*TINY, "--run-dir", run, "--block-type", "dilated_second", "--upsample", "transposed"]
    seen = _main_until_training(monkeypatch, argv)
    g = seen["cfg"].generator
    assert (g.block_type, g.upsample, g.upsample_interpolation) == (
        "dilated_second",
        "transposed",
        "bilinear",
    )
    seen = _main_until_training(
        monkeypatch, [*TINY, "--run-dir", run + "2", "--upsample-interpolation", "bicubic"]
    )
    assert seen["cfg"].generator.upsample_interpolation == "bicubic"
    args = train.build_parser().parse_args(["--run-dir", run, "--resume", "--block-type", "both"])
    with pytest.raises(UserError, match="--block-type: a resumed run keeps its generator"):
        train.config_from_args(args)
