"""Nothing is overwritten without --overwrite; smoke and bench runs never write into tracked files.

One rule for every entry point (``keras_pggan.io_utils.check_writable`` / ``refuse_shipped``): an
existing output file, a non-empty output folder or an existing model version is replaced only
with ``--overwrite``; exports into the repository's shipped ``saved_models/`` are refused without
it; benchmarks and ``scripts/readme_examples.py`` write into a temporary or user-named folder,
never into ``bench/results/`` or ``docs/`` unless a flag asks for it. No test here touches the
real ``saved_models/``, ``bench/results/`` or ``docs/``: the constants naming them point into
``tmp_path``, and no real benchmark runs (the expensive parts are replaced).
"""

from __future__ import annotations

import glob
import importlib
import os
import subprocess
import tempfile

import numpy as np
import pytest
from PIL import Image

from bench import common, run_all
from bench import profile_step as bench_profile_step
from keras_pggan import io_utils
from keras_pggan.errors import UserError

SENTINEL = b"the committed file\n"


def _sentinel(path) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(SENTINEL)
    return str(path)


def _unchanged(path) -> bool:
    with open(path, "rb") as f:
        return f.read() == SENTINEL


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A stand-in for the repository's saved_models/ with one shipped version and builds."""
    folder = tmp_path / "saved_models"
    _sentinel(folder / "pggan_dres" / "1" / "saved_model.pb")
    _sentinel(folder / "pggan_dres-fp32.tflite")
    monkeypatch.setattr(io_utils, "SHIPPED_MODELS_DIR", str(folder), raising=False)
    return folder


@pytest.fixture
def tracked(tmp_path, monkeypatch):
    """Stand-ins for bench/results/ and docs/images/; temporary folders go under tmp_path."""
    results = tmp_path / "bench_results"
    _sentinel(results / "summary.md")
    docs = tmp_path / "docs"
    _sentinel(docs / "images" / "examples.png")
    monkeypatch.setattr(common, "RESULTS", str(results))
    monkeypatch.setattr(run_all, "RESULTS", str(results))
    monkeypatch.setattr(common, "DOCS", str(docs), raising=False)
    monkeypatch.setattr(common, "machine_facts", lambda: {"cpu": "test"})
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return {"results": results, "docs": docs, "tmp": tmp}


def _listing(folder) -> list[str]:
    return sorted(os.path.relpath(p, folder) for p in glob.glob(f"{folder}/**", recursive=True))


# -- the helpers ------------------------------------------------------------------------------


def test_check_writable(tmp_path):
    io_utils.check_writable(str(tmp_path / "new.png"), False, "-o")  # new: fine
    io_utils.check_writable(str(tmp_path), False, "--out")  # empty folder: fine
    existing = _sentinel(tmp_path / "old.png")
    with pytest.raises(UserError, match=r"^-o: .*old\.png exists; pass --overwrite"):
        io_utils.check_writable(existing, False, "-o")
    with pytest.raises(UserError, match="--out: .*folder with files in it.*--overwrite"):
        io_utils.check_writable(str(tmp_path), False, "--out")
    io_utils.check_writable(existing, True, "-o")
    io_utils.check_writable(str(tmp_path), True, "--out")


def test_refuse_shipped(shipped, tmp_path):
    for path in (shipped, shipped / "pggan_dres", shipped / "pggan_dres-int8.tflite"):
        with pytest.raises(UserError, match="shipped models folder.*runs/.*--overwrite"):
            io_utils.refuse_shipped(str(path), False, "--out")
        io_utils.refuse_shipped(str(path), True, "--out")
    io_utils.refuse_shipped(str(tmp_path / "runs" / "pggan_dres"), False, "--out")
    io_utils.refuse_shipped(str(tmp_path / "saved_models_mine"), False, "--out")  # a sibling


# -- python -m keras_pggan.export tflite --------------------------------------------------------


def test_export_tflite_refuses_the_shipped_folder(shipped, model_path, capsys):
    from keras_pggan.export.__main__ import main

    before = _listing(shipped)
    for modes in ("fp32", "dynamic"):  # an existing build, and a new one next to the shipped
        argv = ["--model", model_path, "--out", str(shipped / "pggan_dres"), "--modes", modes]
        assert main(["tflite", *argv]) == 2
        err = capsys.readouterr().err
        assert "shipped models folder" in err and "runs/" in err, err
        assert len(err.strip().splitlines()) == 1, err
    assert _listing(shipped) == before
    assert _unchanged(shipped / "pggan_dres-fp32.tflite")


def test_export_tflite_refuses_existing_builds(model_path, tmp_path, capsys):
    from keras_pggan.export.__main__ import main

    prefix = str(tmp_path / "mine" / "g")
    existing = _sentinel(f"{prefix}-fp32.tflite")
    argv = ["tflite", "--model", model_path, "--out", prefix, "--modes", "dynamic,fp32"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "g-fp32.tflite exists; pass --overwrite" in err, err
    assert _unchanged(existing)
    # Checked before converting anything: the new dynamic build was not written either.
    assert sorted(os.listdir(tmp_path / "mine")) == ["g-fp32.tflite"]


# -- python -m keras_pggan.export saved-model, and the library ------------------------------------


def test_export_saved_model_refuses_the_shipped_folder(shipped, model_path, capsys):
    from keras_pggan.export.__main__ import main

    before = _listing(shipped)
    # Without --version it would add version 2, which serve/inpaint would then pick up.
    argv = ["saved-model", "--model", model_path, "--out", str(shipped / "pggan_dres")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "shipped models folder" in err and "runs/" in err, err
    assert _listing(shipped) == before


def test_export_saved_model_library_refuses_the_shipped_folder(shipped, model_path):
    from keras_pggan.export.saved_model import export_saved_model

    before = _listing(shipped)
    with pytest.raises(UserError, match="shipped models folder"):
        export_saved_model(model_path, str(shipped / "pggan_dres"), warmup=False)
    assert _listing(shipped) == before


# -- evaluate --out ---------------------------------------------------------------------------


def test_evaluate_refuses_a_non_empty_out(model_path, tmp_path, capsys):
    from keras_pggan.evaluate.__main__ import main

    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(data / "a.png")
    out = tmp_path / "eval"
    report = _sentinel(out / "report.md")
    argv = ["--model", model_path, "--data", str(data), "--mask-kind", "center", "--size", "32"]
    argv += ["--baselines", "mean", "--sheets", "0", "--quiet", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "--overwrite" in err and str(out) in err, err
    assert _unchanged(report) and os.listdir(out) == ["report.md"]
    assert main([*argv, "--overwrite"]) == 0
    assert not _unchanged(report) and (out / "metrics.json").exists()


# -- serving predict -o -----------------------------------------------------------------------


class _FakeClient:
    """Stands in for GrpcClient: answers every request with a black image."""

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def inpaint_files(self, image_path, mask_path, signature=None, version=None):
        return np.zeros((8, 8, 3), np.uint8)


def test_serving_predict_refuses_an_existing_output(tmp_path, monkeypatch, capsys):
    from keras_pggan.serving import __main__ as serving
    from keras_pggan.serving import client as clients

    monkeypatch.setattr(clients, "GrpcClient", _FakeClient)
    image, mask = str(tmp_path / "photo.png"), str(tmp_path / "mask.png")
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(image)
    Image.fromarray(np.eye(8, dtype=np.uint8) * 255).save(mask)
    out = _sentinel(tmp_path / "out.png")
    argv = ["predict", "--server", "127.0.0.1:1", image, mask, "-o", out]
    assert serving.main(argv) == 2
    err = capsys.readouterr().err
    assert "-o" in err and "out.png exists; pass --overwrite" in err, err
    assert _unchanged(out)
    assert serving.main([*argv, "--overwrite"]) == 0
    assert np.asarray(Image.open(out)).max() == 0


# -- python -m bench --------------------------------------------------------------------------


def _fake_run_bench(calls):
    def run_bench(name, quick, out):
        calls.append((name, quick, out))
        return {"returncode": 0, "seconds": 0.0, "log": os.path.join(out, "logs", f"{name}.log")}

    return run_bench


def test_bench_quick_writes_a_temporary_folder(tracked, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(run_all, "run_bench", _fake_run_bench(calls))
    before = _listing(tracked["results"])
    assert run_all.main(["--quick", "--only", "roofline"]) == 0
    assert _listing(tracked["results"]) == before and _unchanged(tracked["results"] / "summary.md")
    ((name, quick, out),) = calls
    assert quick and os.path.dirname(out) == str(tracked["tmp"]), out
    assert os.path.exists(os.path.join(out, "summary.md"))
    assert out in capsys.readouterr().out  # the user is told where the results went


def test_bench_out_and_write_results(tracked, monkeypatch, tmp_path, capsys):
    calls = []
    monkeypatch.setattr(run_all, "run_bench", _fake_run_bench(calls))
    mine = _sentinel(tmp_path / "mine" / "summary.md")
    assert run_all.main(["--quick", "--only", "roofline", "--out", str(tmp_path / "mine")]) == 2
    assert "--overwrite" in capsys.readouterr().err and _unchanged(mine) and not calls
    # The explicit flag is what refreshes the committed results.
    assert run_all.main(["--only", "roofline", "--write-results"]) == 0
    assert calls[-1] == ("roofline", False, str(tracked["results"]))
    assert not _unchanged(tracked["results"] / "summary.md")


def test_bench_children_get_the_checked_folder(tracked, monkeypatch, tmp_path):
    """run_all hands each program the folder it checked (plus --overwrite), not a path --name."""
    cmds = []

    def fake_run(cmd, *args, **kwargs):
        cmds.append(cmd)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(run_all.subprocess, "run", fake_run)
    out = str(tmp_path / "suite")
    run_all.run_bench("roofline", True, out)
    (cmd,) = cmds
    assert cmd[1:3] == ["-m", "bench.roofline"]
    # The child, given these flags, writes <out>/roofline.md (its file is not checked twice).
    _sentinel(os.path.join(out, "roofline.md"))
    assert _where_it_writes(monkeypatch, "roofline", cmd[3:]) == os.path.join(out, "roofline")


# -- the benchmark programs -------------------------------------------------------------------


def test_profile_step_quick_writes_a_temporary_folder(tracked, monkeypatch):
    summary = {"types": [], "ops": [], "busy_ms_per_step": 1.0, "trace": "t.xplane.pb"}
    monkeypatch.setattr(bench_profile_step, "profile_training", lambda *a: dict(summary))
    before = _listing(tracked["results"])
    assert bench_profile_step.main(["--quick"]) == 0
    assert _listing(tracked["results"]) == before
    written = glob.glob(str(tracked["tmp"] / "*" / "profile.md"))
    assert len(written) == 1 and os.path.exists(written[0][: -len(".md")] + ".json"), written


BENCH_SCRIPTS = [
    ("inference", ["--quick"]),
    ("input_pipeline", []),
    ("optimizations", ["--quick"]),
    ("profile_step", ["--quick"]),
    ("roofline", ["--quick"]),
    ("serving", []),
    ("serving_load", []),
    ("tflite", ["--quick"]),
    ("train_step", ["--quick"]),
]


class _Stop(Exception):
    pass


def _where_it_writes(monkeypatch, script: str, argv: list[str]) -> str:
    """Runs a bench program until it has chosen (and checked) its report path; returns it."""
    module = importlib.import_module(f"bench.{script}")
    assert hasattr(module, "report_prefix_or_none"), f"bench/{script}.py: no checked report path"
    chosen = []

    def choose_then_stop(args):
        chosen.append(common.report_prefix(args))
        raise _Stop

    with monkeypatch.context() as m:
        m.setattr(module, "report_prefix_or_none", choose_then_stop)
        with pytest.raises(_Stop):
            module.main(argv)
    (prefix,) = chosen
    return prefix


@pytest.mark.parametrize("script,argv", BENCH_SCRIPTS, ids=[s for s, _ in BENCH_SCRIPTS])
def test_bench_program_writes_where_it_is_told(script, argv, tracked, monkeypatch, capsys):
    results = str(tracked["results"])
    prefix = _where_it_writes(monkeypatch, script, argv)
    assert os.path.dirname(os.path.dirname(prefix)) == str(tracked["tmp"]), prefix
    assert os.path.dirname(prefix) in capsys.readouterr().out  # printed
    prefix = _where_it_writes(monkeypatch, script, [*argv, "--write-results", "--name", "x"])
    assert prefix == os.path.join(results, "x")
    # An existing report in --out is kept unless --overwrite; results/ only when named.
    mine = tracked["tmp"] / "mine"
    _sentinel(mine / "x.json")
    module = importlib.import_module(f"bench.{script}")
    assert module.main([*argv, "--out", str(mine), "--name", "x"]) == 2
    assert "x.json exists; pass --overwrite" in capsys.readouterr().err
    assert _unchanged(mine / "x.json")
    argv_mine = [*argv, "--out", str(mine), "--name", "x", "--overwrite"]
    assert _where_it_writes(monkeypatch, script, argv_mine) == str(mine / "x")
    name = os.path.join(results, "sneaky")
    assert module.main([*argv, "--name", name]) == 2
    assert "--write-results" in capsys.readouterr().err


def test_write_report_writes_at_its_prefix(tracked, tmp_path):
    before = _listing(tracked["results"])
    prefix = str(tmp_path / "out" / "r")
    md = common.write_report(prefix, "T", ["a"], [[1]], {"cpu": "x"})
    assert md == prefix + ".md" and os.path.exists(prefix + ".json")
    assert _listing(tracked["results"]) == before


# -- scripts/readme_examples.py ---------------------------------------------------------------


@pytest.fixture
def readme_examples(tracked, monkeypatch):
    module = importlib.import_module("scripts.readme_examples")
    monkeypatch.setattr(module, "OUT", str(tracked["docs"] / "images"))
    real_run = subprocess.run

    def fake_run(cmd, *args, **kwargs):
        if "keras_pggan.inpaint" not in cmd:
            return real_run(cmd, *args, **kwargs)
        src, out = cmd[cmd.index("-m") + 2], cmd[cmd.index("-o") + 1]
        Image.open(src).save(out)  # stands in for the shipped model
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    return module


def test_readme_examples_write_a_temporary_folder(readme_examples, tracked, capsys):
    images = tracked["docs"] / "images"
    assert readme_examples.main([]) == 0
    assert os.listdir(images) == ["examples.png"] and _unchanged(images / "examples.png")
    (folder,) = glob.glob(str(tracked["tmp"] / "*"))
    assert "examples.png" in os.listdir(folder) and len(os.listdir(folder)) == 7
    assert folder in capsys.readouterr().out


def test_readme_examples_docs_only_when_asked(readme_examples, tracked, capsys):
    images = tracked["docs"] / "images"
    assert readme_examples.main(["--out", str(images)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert os.listdir(images) == ["examples.png"] and _unchanged(images / "examples.png")
    assert readme_examples.main(["--write-docs"]) == 0
    assert not _unchanged(images / "examples.png") and len(os.listdir(images)) == 7
