"""keras_pggan.cpu: CPU facts and the measured training defaults (no TensorFlow needed)."""

from __future__ import annotations

import pytest

from keras_pggan import cpu

AVX2 = frozenset({"avx2", "fma"})
AVX512_BF16 = frozenset({"avx2", "avx512f", "avx512_vnni", "avx512_bf16"})
AMX = frozenset({"avx2", "avx512f", "amx_tile", "amx_bf16"})


def test_flags_decide_bf16_and_onednn():
    assert not cpu.bf16_supported(AVX2) and not cpu.onednn_default_on(AVX2)
    assert cpu.bf16_supported(AVX512_BF16) and cpu.onednn_default_on(AVX512_BF16)
    assert cpu.bf16_supported(AMX) and cpu.onednn_default_on(AMX)
    # AVX-512 without the neural-network extensions: TensorFlow leaves oneDNN off.
    assert not cpu.onednn_default_on(frozenset({"avx2", "avx512f"}))


def test_cpuinfo_parsing(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\nbugs\t: x\n")
    assert cpu.cpu_flags(str(info)) == frozenset({"fpu", "avx2", "avx512_bf16"})
    assert cpu.cpu_flags(str(tmp_path / "missing")) == frozenset()


def test_defaults_fill_only_what_the_user_left_unset():
    env = {"TF_ENABLE_ONEDNN_OPTS": "0"}
    record = cpu.apply_training_env(env, flags=AVX2)
    assert env["TF_ENABLE_ONEDNN_OPTS"] == "0"  # the user's choice wins
    assert record["TF_ENABLE_ONEDNN_OPTS"] == {"value": "0", "source": "user"}
    env = {}
    record = cpu.apply_training_env(env, flags=AVX2)
    assert record[cpu.NATIVE_DILATION_ENV] == {"value": "1", "source": "default"}


def test_nothing_set_on_unmeasured_cpus():
    env = {}
    record = cpu.apply_training_env(env, flags=frozenset({"neon"}))
    assert env == {} and all(r["source"] == "unset" for r in record.values())


def test_thread_settings_are_validated():
    assert cpu.configure_threads({}) is None
    assert cpu.configure_threads({cpu.INTER_OP_ENV: "0"}) is None
    with pytest.raises(ValueError, match=cpu.INTER_OP_ENV):
        cpu.configure_threads({cpu.INTER_OP_ENV: "two"})
    with pytest.raises(ValueError, match=">= 0"):
        cpu.configure_threads({cpu.INTRA_OP_ENV: "-1"})


def test_started_as_training_cli():
    assert cpu.started_as_training_cli(["python", "-m", "keras_pggan.train", "--resume"])
    assert not cpu.started_as_training_cli(["python", "-m", "keras_pggan.inpaint", "x.jpg"])
    assert not cpu.started_as_training_cli(["python", "-m", "pytest", "-m", "large"])
    assert not cpu.started_as_training_cli(["python", "script.py"])


def test_native_dilation_follows_onednn():
    env = {"TF_ENABLE_ONEDNN_OPTS": "0"}
    record = cpu.apply_training_env(env, flags=AVX512_BF16)
    assert cpu.NATIVE_DILATION_ENV not in env  # no dilated gradients without oneDNN
    assert record[cpu.NATIVE_DILATION_ENV]["source"] == "unset"
    env = {}
    cpu.apply_training_env(env, flags=AVX2)
    assert env == {"TF_ENABLE_ONEDNN_OPTS": "1", cpu.NATIVE_DILATION_ENV: "1"}


def test_started_as_cli():
    assert cpu.started_as_cli(["python", "-m", "keras_pggan.inpaint", "x.jpg"]) == "inpaint"
    assert cpu.started_as_cli(["python", "-X", "importtime", "-m", "keras_pggan.train"]) == "train"
    assert cpu.started_as_cli(["python", "-u", "-m", "keras_pggan.serving", "serve"]) == "serving"
    assert cpu.started_as_cli(["python", "-mkeras_pggan.masks", "preview"]) == "masks"
    # Console scripts (setup.cfg): python /venv/bin/keras-pggan-<tool> ...
    assert cpu.started_as_cli(["/venv/bin/python", "/venv/bin/keras-pggan-train"]) == "train"
    assert cpu.started_as_training_cli(["/venv/bin/python3", "/venv/bin/keras-pggan-train", "-h"])
    assert cpu.started_as_cli(["python", "-m", "pytest", "-m", "keras_pggan.train"]) is None
    assert cpu.started_as_cli(["python", "-c", "import keras_pggan", "-m", "x"]) is None
    assert cpu.started_as_cli(["python", "script.py", "-m", "keras_pggan.train"]) is None
    assert cpu.started_as_cli(["python"]) is None and cpu.started_as_cli([]) is None


def test_cli_env_quiets_tensorflow_unless_the_user_says():
    env = {}
    record = cpu.apply_cli_env(env)
    assert env == {cpu.LOG_LEVEL_ENV: "2"}
    assert record[cpu.LOG_LEVEL_ENV] == {"value": "2", "source": "default"}
    env = {cpu.LOG_LEVEL_ENV: "0"}
    record = cpu.apply_cli_env(env)
    assert env == {cpu.LOG_LEVEL_ENV: "0"}  # the user's choice wins
    assert record[cpu.LOG_LEVEL_ENV] == {"value": "0", "source": "user"}
    # The run's env record names the log level too (here: TensorFlow is already loaded).
    assert cpu.LOG_LEVEL_ENV in cpu.apply_training_env()


def test_startup_lines_filter():
    text = (
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        b"I0000 00:00:1796142096.773969   32746 port.cc:153] oneDNN custom operations are on.\n"
        b"I0000 00:00:1796142096.774560   32746 cudart_stub.cc:31] Could not find cuda drivers on "
        b"your machine, GPU will not be used.\n"
        b"W0000 00:00:1796142096.8   32746 remapper.cc:12] a warning\n"
        b"E0000 00:00:1796142099.933159   32746 cuda_platform.cc:52] failed call to cuInit: x\n"
        b"E0000 00:00:1796142099.933159   32746 op.cc:5] a real error\n"
        b"/x/y.py:3: UserWarning: a Python warning\n"
    )
    assert cpu.filter_startup_lines(text, 0) == text
    level1 = cpu.filter_startup_lines(text, 1).splitlines()
    assert len(level1) == 4 and level1[0].startswith(b"W0000")
    level2 = cpu.filter_startup_lines(text, 2)
    assert level2 == b"E0000 00:00:1796142099.933159   32746 op.cc:5] a real error\n" + (
        b"/x/y.py:3: UserWarning: a Python warning\n"
    )
    assert cpu.filter_startup_lines(text, 3) == b"/x/y.py:3: UserWarning: a Python warning\n"
    # With a CUDA driver present, a failed cuInit is a real error and stays.
    with_driver = text.replace(b"Could not find cuda drivers", b"Found a driver")
    assert b"cuInit" in cpu.filter_startup_lines(with_driver, 2)


def test_bf16_training_needs_a_gpu_or_cpu_bfloat16():
    from keras_pggan.errors import UserError

    cpu.check_precision("mixed_bfloat16", flags=AVX512_BF16, gpus=0)
    cpu.check_precision("mixed_bfloat16", flags=AMX, gpus=0)
    cpu.check_precision("mixed_bfloat16", flags=AVX2, gpus=1)
    for precision in ("float32", "mixed_float16"):
        cpu.check_precision(precision, flags=AVX2, gpus=0)
    with pytest.raises(UserError, match="flags avx2 fma.*use --precision float32"):
        cpu.check_precision("mixed_bfloat16", flags=AVX2, gpus=0)
