"""The command lines' rough edges: console scripts, fast and quiet start-up, help texts, the local
server's defaults (localhost, access log) and the clients' wrong-port messages."""

import configparser
import importlib
import logging
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from keras_pggan import cli
from keras_pggan.config import get_preset
from keras_pggan.export.saved_model import export_saved_model
from keras_pggan.models.generator import build_generator
from keras_pggan.serving import GrpcClient, RestClient, ServingError, serve_locally
from keras_pggan.serving.__main__ import build_parser as serving_parser
from keras_pggan.serving.__main__ import main as serving_main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = (
    "train",
    "inpaint",
    "evaluate",
    "export",
    "serving",
    "ship",
    "masks",
    "data",
    "splits",
    "studio",
    "batch",
)
NAME = "tiny"


def _env(**extra):
    """The test process's environment without what conftest.py adds (TF_CPP_MIN_LOG_LEVEL)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return {**env, **extra}


# -- 1. console scripts ------------------------------------------------------------------------


def _console_scripts() -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, "setup.cfg"), encoding="utf-8")
    lines = parser["options.entry_points"]["console_scripts"].strip().splitlines()
    return dict((part.strip() for part in line.split("=", 1)) for line in lines)


def test_console_scripts_name_every_tool_and_import():
    scripts = _console_scripts()
    assert sorted(scripts) == sorted(f"keras-pggan-{tool}" for tool in TOOLS)
    for name, target in scripts.items():
        module, _, attr = target.partition(":")
        assert cli.script_name(module) == name  # keras-pggan-<tool>: python -m keras_pggan.<tool>
        assert callable(getattr(importlib.import_module(module), attr)), target


def test_console_script_prog(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/venv/bin/keras-pggan-inpaint", "--help"])
    assert cli.prog("keras_pggan.inpaint") == "keras-pggan-inpaint"
    monkeypatch.setattr(sys, "argv", ["/work/keras_pggan/inference/inpainter.py", "--help"])
    assert cli.prog("keras_pggan.inpaint") == "python -m keras_pggan.inpaint"


# -- 2. fast, quiet start-up -------------------------------------------------------------------


@pytest.mark.parametrize("tool", TOOLS)
def test_help_imports_no_tensorflow(tool):
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", f"keras_pggan.{tool}", "--help"],
        capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "usage:" in run.stdout
    imported = [line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines()]
    heavy = [name for name in imported if name.split(".")[0] in ("tensorflow", "keras")]
    assert not heavy, heavy[:5]


def test_package_import_is_light_and_lazy():
    code = (
        "import sys, keras_pggan\n"
        "assert 'tensorflow' not in sys.modules\n"
        "assert set(keras_pggan.__all__) <= set(dir(keras_pggan))\n"
        "assert keras_pggan.get_preset('tiny').name\n"
        "assert 'tensorflow' not in sys.modules\n"
        "assert keras_pggan.load_generator.__module__ == 'keras_pggan.models.saved'\n"
        "assert 'tensorflow' not in sys.modules\n"  # TensorFlow comes with the first load
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]


def test_saved_generators_load_after_importing_keras_pggan_generator(tmp_path):
    # Every .keras load goes through keras_pggan.models.saved, which registers the baselines'
    # (CE) layers before loading.
    from keras_pggan.training.build import build_gan

    path = str(tmp_path / "ce.keras")
    build_gan(get_preset("ce")).generator.save(path)
    code = (
        "import keras_pggan.models.saved as saved\n"
        f"saved.load_model({path!r})\n"
        "import keras_pggan\n"
        f"keras_pggan.load_generator({path!r})\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]


def test_inpaint_run_prints_no_tensorflow_noise(model_path, tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (30, 45, 3), dtype=np.uint8)).save(tmp_path / "in.png")
    holes = np.zeros((30, 45), np.uint8)
    holes[5:15, 5:20] = 255
    Image.fromarray(holes).save(tmp_path / "mask.png")
    run = subprocess.run(
        [sys.executable, "-m", "keras_pggan.inpaint", "--model", model_path,
         str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"),
         "-o", str(tmp_path / "out.png")],
        capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert os.path.exists(tmp_path / "out.png")
    noise = [
        line
        for line in run.stderr.splitlines()
        if "onednn" in line.lower() or "cuda" in line.lower() or "rebuild TensorFlow" in line
    ]
    assert not noise, noise


# -- 3. help texts -----------------------------------------------------------------------------


def _helps(tool: str):
    """(argument prefixes: the tool and each of its subcommands, the tool's ``main``)."""
    module = importlib.import_module(f"keras_pggan.{tool}.__main__")
    subcommands = {
        "export": ["saved-model", "tflite"],
        "serving": ["predict", "metadata", "serve"],
        "masks": ["make-eval-set", "preview"],
        "data": ["make-tfrecords"],
        "studio": ["study", "report"],
    }
    return [[], *([name] for name in subcommands.get(tool, []))], module.main


@pytest.mark.parametrize("tool", TOOLS)
def test_help_shows_each_default_once(tool, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "1000")  # one line per option
    prefixes, main = _helps(tool)
    for prefix in prefixes:
        assert main([*prefix, "--help"]) == 0  # the runner returns argparse's status
        text = capsys.readouterr().out
        assert "usage:" in text
        for line in text.splitlines():
            assert "(default: None)" not in line, (tool, prefix, line)
            assert line.count("(default:") <= 1, (tool, prefix, line)


def test_help_formatter():
    import argparse

    p = argparse.ArgumentParser(formatter_class=cli.HelpFormatter)
    p.add_argument("--a", type=int, default=3, help="three")
    p.add_argument("--b", default=None, help="unset")
    p.add_argument("--c", default="x", help="named (default: the crop size)")
    p.add_argument("--d", action="store_true", help="a flag")
    text = " ".join(p.format_help().split())
    assert "three (default: 3)" in text
    assert "unset --c" in text and "(default: None)" not in text
    assert "named (default: the crop size) --d" in text and "(default: False)" not in text


# -- 3b. one runner: errors to exit statuses ----------------------------------------------------


def test_exit_statuses_of_errors():
    import grpc
    import tensorflow as tf

    from keras_pggan.errors import UserError, error_line, exit_status
    from keras_pggan.export.saved_model import SavedModelCheckError
    from keras_pggan.export.tflite import TFLiteCheckError
    from keras_pggan.training.guards import NonFiniteLossError

    nan = NonFiniteLossError("printed by the guard", {"g_loss": float("nan")}, 1, 0, {})
    op = tf.errors.InvalidArgumentError(None, None, "Graph execution error:\n\nbad dilation\n")
    cases = [
        (UserError("--epochs must be > 0"), 2, "--epochs must be > 0"),
        (FileNotFoundError("x.png: no such file"), 2, "x.png: no such file"),
        (FileExistsError("out exists"), 2, "out exists"),
        (ValueError("mask is 3x4"), 2, "mask is 3x4"),
        (op, 2, "bad dilation"),
        (SavedModelCheckError("weights stored twice"), 1, "weights stored twice"),
        (TFLiteCheckError("Flex ops"), 1, "Flex ops"),
        (
            ServingError(grpc.StatusCode.NOT_FOUND, "no model"),
            1,
            "NOT_FOUND: no model",
        ),
        (nan, 3, None),
        (KeyError("a bug"), None, "'a bug'"),
        (RuntimeError("a bug"), None, "a bug"),
    ]
    for exc, status, line in cases:
        assert (exit_status(exc), error_line(exc)) == (status, line), exc


def test_runner_maps_errors_and_debug_reraises(monkeypatch, capsys):
    import argparse

    from keras_pggan.errors import UserError

    parser = argparse.ArgumentParser(prog="tool")
    parser.add_argument("--n", type=int, default=0)

    def command(args):
        if args.n == 1:
            raise UserError("--n: one is not allowed")
        if args.n == 2:
            raise KeyError("a bug")
        return 5 if args.n == 5 else None

    monkeypatch.delenv("KERAS_PGGAN_DEBUG", raising=False)
    assert cli.run(command, parser, []) == 0
    assert cli.run(command, parser, ["--n", "5"]) == 5
    assert cli.run(command, parser, ["--help"]) == 0 and "usage: tool" in capsys.readouterr().out
    assert cli.run(command, parser, ["--n", "x"]) == 2  # argparse's usage error
    assert "invalid int value" in capsys.readouterr().err
    assert cli.run(command, parser, ["--n", "1"]) == 2
    assert capsys.readouterr().err == "error: --n: one is not allowed\n"
    with pytest.raises(KeyError):
        cli.run(command, parser, ["--n", "2"])
    monkeypatch.setenv("KERAS_PGGAN_DEBUG", "1")
    with pytest.raises(UserError, match="one is not allowed"):
        cli.run(command, parser, ["--n", "1"])


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    import argparse

    from keras_pggan.errors import Interrupted

    def command(args):
        if args.said:
            raise Interrupted("training stopped (Ctrl-C); 2 completed epoch(s) are saved")
        raise KeyboardInterrupt

    parser = argparse.ArgumentParser(prog="tool")
    parser.add_argument("--said", action="store_true")
    monkeypatch.delenv("KERAS_PGGAN_DEBUG", raising=False)
    assert cli.run(command, parser, []) == 130
    assert capsys.readouterr().err == "error: interrupted (Ctrl-C)\n"
    assert cli.run(command, parser, ["--said"]) == 130
    assert capsys.readouterr().err == (
        "error: training stopped (Ctrl-C); 2 completed epoch(s) are saved\n"
    )
    monkeypatch.setenv("KERAS_PGGAN_DEBUG", "1")
    with pytest.raises(KeyboardInterrupt):
        cli.run(command, parser, [])


# -- 4. the local server: localhost by default, one access line per request --------------------


@pytest.fixture(scope="module")
def model_base(tmp_path_factory):
    keras.utils.set_random_seed(2)
    base = tmp_path_factory.mktemp("serving") / NAME
    export_saved_model(build_generator(get_preset("tiny").generator), str(base), version=1)
    return str(base)


def _inputs(h=16, w=20):
    image = np.random.default_rng(0).uniform(size=(1, h, w, 3)).astype(np.float32)
    mask = np.zeros((1, h, w, 1), np.float32)
    mask[:, 4:10, 5:12] = 1
    return {"image": image, "mask": mask}


def test_serve_binds_localhost_by_default(model_base):
    args = serving_parser().parse_args(["serve", "--model-base-path", model_base])
    assert args.host == "127.0.0.1" and args.access_log
    with serve_locally(model_base, warm_up=False) as server:
        assert server._http.server_address[0] == "127.0.0.1"
        assert server.grpc_address.startswith("127.0.0.1:")


def test_access_log_one_line_per_request(model_base, capsys, caplog):
    x = _inputs()
    with caplog.at_level(logging.INFO, logger="keras_pggan.serving.access"):
        with serve_locally(model_base, warm_up=False, access_log=True) as server:
            capsys.readouterr()
            with GrpcClient(server.grpc_address, NAME, retries=0) as client:
                client.predict(x)
                with pytest.raises(ServingError):
                    client.predict(x, signature="nope")
                client.metadata()
            with RestClient(server.rest_url, NAME, retries=0) as client:
                client.predict(x)
                client.status()
                with pytest.raises(ServingError):
                    client.predict({"image": x["image"]})  # missing input: 400
    lines = [line for line in capsys.readouterr().err.splitlines() if " ms" in line]
    assert len(lines) == 6, lines
    want = [
        "gRPC Predict serving_default OK",
        "gRPC Predict nope FAILED_PRECONDITION",
        "gRPC GetModelMetadata - OK",
        f"REST POST /v1/models/{NAME}:predict serving_default 200",
        f"REST GET /v1/models/{NAME} - 200",
        f"REST POST /v1/models/{NAME}:predict serving_default 400",
    ]
    for line, part in zip(lines, want):
        assert part in line and line.startswith("20") and "127.0.0.1" in line, (line, part)
    logged = [r.getMessage() for r in caplog.records if r.name == "keras_pggan.serving.access"]
    assert len(logged) == 6 and all(part in m for m, part in zip(logged, want))


# -- 5. a client on the other API's port says so -----------------------------------------------


def test_client_on_the_wrong_port_names_the_protocol(model_base, capsys):
    with serve_locally(model_base, warm_up=False) as server:
        with GrpcClient(f"127.0.0.1:{server.rest_port}", NAME, retries=3) as client:
            with pytest.raises(ServingError) as info:
                client.predict(_inputs())
        assert "speaks HTTP/1.1 (TF Serving's REST API)" in info.value.message
        assert "RestClient" in info.value.message and "--rest" in info.value.message
        assert client.last_attempts == 1  # no retries: they cannot help
        with RestClient(f"127.0.0.1:{server.grpc_port}", NAME, retries=3) as client:
            with pytest.raises(ServingError) as info:
                client.status()
        assert "speaks HTTP/2 (gRPC" in info.value.message and "GrpcClient" in info.value.message
        assert client.last_attempts == 1
        rc = serving_main(["metadata", "--server", f"127.0.0.1:{server.rest_port}"])
        assert rc == 1 and "use RestClient (--rest" in capsys.readouterr().err
        # The right ports still work, and nothing listening is still "unavailable", retried.
        with GrpcClient(server.grpc_address, NAME, retries=0) as client:
            assert client.metadata()["name"] == NAME
    with GrpcClient(f"127.0.0.1:{server.grpc_port}", NAME, retries=1, backoff=0.01) as client:
        with pytest.raises(ServingError) as info:
            client.metadata()
    assert "speaks" not in info.value.message and client.last_attempts == 2


def test_probe_protocol_on_a_closed_port():
    import socket

    from keras_pggan.serving.client import probe_protocol

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert probe_protocol("127.0.0.1", port, timeout=0.5) is None
