"""scripts/gpu_check.sh: its report from stage files, and the whole check as a CPU dry run.

The script is meant for a machine with an NVIDIA GPU; here it is checked as far as a CPU allows:
``--report-only`` rebuilds the report from a folder of fake stage files (fast), and ``--dry-run``
runs every stage with the tiny preset at 64² (large: a few minutes on 2 cores). Neither may
write into the committed bench/results/.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "gpu_check.sh")
RESULTS = os.path.join(ROOT, "bench", "results")

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _section(md: str, heading: str) -> str:
    return md.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]


def _table(md: str, heading: str) -> list[list[str]]:
    """The rows (header first) of the first table in section ``heading``."""
    rows = [ln for ln in _section(md, heading).splitlines() if ln.startswith("|")]
    cells = [[c.strip() for c in ln.strip("|").split("|")] for ln in rows]
    return [cells[0], *(r for r in cells[2:])]


def _results_snapshot() -> dict:
    return {f: os.stat(os.path.join(RESULTS, f)).st_mtime_ns for f in os.listdir(RESULTS)}


def _case(preset, batch, precision, xla, seconds=None, error=None, peak=None):
    case = {
        "preset": preset,
        "size": 256,
        "global_batch": batch,
        "replicas": 1,
        "device": "GPU:0 (NVIDIA H200)",
        "precision": precision,
        "jit_compile": "true" if xla else "false",
    }
    if error:
        return {**case, "xla": None, "error": error}
    return {
        **case,
        "xla": xla,
        "seconds_per_step": seconds,
        "images_per_second": batch / seconds,
        "peak_gpu_mib": peak,
    }


def _fake_run(work) -> None:
    """A gpu_check folder as a GPU run leaves it, with one failed stage and one failed case."""
    os.makedirs(work / "stages")
    os.makedirs(work / "logs")
    os.makedirs(work / "bench")
    (work / "mode").write_text("gpu\n")
    (work / "started.json").write_text(json.dumps({"date": "2026-12-01 12:00 UTC"}))
    stages = [
        ("nvidia_smi", "ok", 1, 20),
        ("install", "ok", 150, 240),
        ("tf_facts", "ok", 9, 60),
        ("train_step_dres", "ok", 80, 110),
        ("tests", "timed out after 90 s", 90, 90),
        ("train_step_res", "failed (exit 1)", 60, 90),
        ("input_pipeline", "skipped: out of time (5 s left of the 465 s budget)", 0, 60),
    ]
    for i, (name, status, seconds, budget) in enumerate(stages, 1):
        (work / "stages" / f"{i:02d}_{name}.status").write_text(
            f"{name}|{status}|{seconds}|{budget}\n"
        )
    (work / "nvidia_smi.csv").write_text("NVIDIA H200, 580.159.04, 143771 MiB, 9.0\n")
    (work / "tf.json").write_text(
        json.dumps(
            {
                "tensorflow": "2.21.0",
                "keras": "3.15.1",
                "python": "3.12.3",
                "cuda_build": "12.5.1",
                "cudnn_build": "9",
                "gpus": ["NVIDIA H200"],
                "cores": 16,
            }
        )
    )
    dres = [
        _case("pggan-dres", 8, "float32", False, 0.100, peak=5000.0),
        _case("pggan-dres", 8, "float32", True, 0.080, peak=4800.0),
        _case("pggan-dres", 8, "mixed_float16", False, 0.050, peak=3000.0),
        _case("pggan-dres", 8, "mixed_float16", True, 0.040, peak=2900.0),
        _case("pggan-dres", 32, "float32", False, 0.400, peak=17000.0),
    ]
    (work / "bench" / "train_step_dres.json").write_text(json.dumps({"cases": dres}))
    res = [_case("pggan-res", 8, "mixed_float16", True, error="InternalError: boom")]
    (work / "bench" / "train_step_res.json").write_text(json.dumps({"cases": res}))
    (work / "bench" / "inference.json").write_text(
        json.dumps(
            {
                "header": ["path", "256²", "512²"],
                "rows": [["Keras (tf.function)", "3.1", "9.0"], ["LiteRT fp32", "170.0", "700"]],
                "notes": ["Model: shipped."],
            }
        )
    )
    (work / "logs" / "tests.log").write_text("..........s.... [ 40%]\n......\n")
    (work / "logs" / "train_step_res.log").write_text("Traceback\nInternalError: boom\n")


def test_script_is_valid_bash_and_has_help():
    subprocess.run(["bash", "-n", SCRIPT], check=True)
    out = subprocess.run(
        ["bash", SCRIPT, "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--dry-run" in out and "bench/results/gpu.md" in out
    bad = subprocess.run(["bash", SCRIPT, "--bogus"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown argument --bogus" in bad.stderr


def test_report_from_stage_files_has_every_case_stage_and_failure(tmp_path):
    before = _results_snapshot()
    work = tmp_path / "run"
    _fake_run(work)
    proc = subprocess.run(
        ["bash", SCRIPT, "--report-only", str(work)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    md = (work / "gpu.md").read_text(encoding="utf-8")
    assert "**NVIDIA H200**, driver 580.159.04, 143771 MiB, compute capability 9.0" in md
    assert "TensorFlow 2.21.0 (built for CUDA 12.5.1, cuDNN 9)" in md
    assert "Dry run" not in md

    stages = {r[0]: r[1] for r in _table(md, "Stages")[1:]}
    assert list(stages) == [
        "nvidia_smi",
        "install",
        "tf_facts",
        "train_step_dres",
        "tests",
        "train_step_res",
        "input_pipeline",
    ]
    assert stages["tests"] == "timed out after 90 s"
    assert stages["input_pipeline"].startswith("skipped: out of time")

    header, *rows = _table(md, "Train step")
    assert header == [
        "preset",
        "size",
        "batch",
        "device",
        "precision",
        "XLA",
        "ms/step",
        "img/s",
        "speed-up vs float32",
        "peak GPU MiB",
    ]
    got = {(r[0], r[2], r[4], r[5]): (r[6], r[7], r[8], r[9]) for r in rows}
    assert got == {
        ("pggan-dres", "8", "float32", "off"): ("100.0", "80.0", "1.00×", "5,000"),
        ("pggan-dres", "8", "float32", "on"): ("80.0", "100.0", "1.25×", "4,800"),
        ("pggan-dres", "8", "mixed_float16", "off"): ("50.0", "160.0", "2.00×", "3,000"),
        ("pggan-dres", "8", "mixed_float16", "on"): ("40.0", "200.0", "2.50×", "2,900"),
        ("pggan-dres", "32", "float32", "off"): ("400.0", "80.0", "1.00×", "17,000"),
        ("pggan-res", "8", "mixed_float16", "(true)"): ("error", "–", "–", "–"),
    }
    assert "- error: pggan-res batch 8 mixed_float16 jit_compile true: `InternalError: boom`" in md

    assert _table(md, "Inference")[1] == ["Keras (tf.function)", "3.1", "9.0"]
    assert "Not measured" in _section(md, "Input pipeline")
    # No summary line (timed out): counted from pytest's progress dots.
    assert "14 passed, 0 failed, 0 errors, 1 skipped" in _section(md, "Tests")
    failures = _section(md, "Failures")
    assert "### tests: timed out after 90 s" in failures
    assert "### train_step_res: failed (exit 1)" in failures and "InternalError: boom" in failures
    assert "input_pipeline" not in failures  # skipped is not a failure
    data = json.loads((work / "gpu.json").read_text(encoding="utf-8"))
    assert len(data["train_step"]) == 6 and data["mode"] == "gpu"
    assert _results_snapshot() == before


def test_report_only_refuses_a_folder_that_is_not_a_run(tmp_path):
    proc = subprocess.run(
        ["bash", SCRIPT, "--report-only", str(tmp_path)], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "not a gpu_check folder" in proc.stderr


@pytest.mark.large
def test_dry_run_runs_the_stages_on_cpu_and_leaves_bench_results_alone(tmp_path):
    before = _results_snapshot()
    out = tmp_path / "out"
    env = dict(
        os.environ,
        OUT=str(out),
        TMPDIR=str(tmp_path),
        GPU_CHECK_PYTHON=sys.executable,
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    proc = subprocess.run(
        ["bash", SCRIPT, "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    md = (out / "gpu.md").read_text(encoding="utf-8")
    assert "**Dry run on CPU**" in md
    stages = {r[0]: r[1] for r in _table(md, "Stages")[1:]}
    assert stages["install"].startswith("skipped: GPU_CHECK_PYTHON=")
    assert list(stages) == [
        "nvidia_smi",
        "install",
        "tf_facts",
        "train_step_dres",
        "train_step_res",
        "tests",
        "train_step_dres_xla",
        "train_step_res_xla",
        "input_pipeline",
        "inference",
    ]
    same = {"train_step_res", "train_step_res_xla"}  # the dres stages' tiny preset again
    for name in list(stages)[2:]:
        want = "skipped: dry run: the tiny preset, as in the dres stage" if name in same else "ok"
        assert stages[name] == want, (name, stages[name], md[-3000:])
    rows = _table(md, "Train step")[1:]
    # Without XLA: float32 and mixed_float16; with XLA: mixed_float16.
    combos = sorted((r[0], r[2], r[3], r[4], r[5]) for r in rows)
    plain = [("tiny", "2", "CPU", p, "off") for p in ("float32", "mixed_float16")]
    assert combos == sorted([*plain, ("tiny", "2", "CPU", "mixed_float16", "on")])
    assert all(re.fullmatch(r"\d+\.\d", r[6]) for r in rows), rows
    pipeline = {r[0]: r[1] for r in _table(md, "Input pipeline")[1:]}
    assert float(pipeline["headroom: pipeline ÷ step img/s"]) > 0
    assert [r[0] for r in _table(md, "Inference")[1:]] == [
        "Keras (tf.function)",
        "TF SavedModel serving_default",
        "LiteRT fp32",
    ]
    assert "tests collected" in _section(md, "Tests")
    assert sorted(os.listdir(out)) == ["gpu.json", "gpu.md", "gpu_check.log"]
    data = json.loads((out / "gpu.json").read_text(encoding="utf-8"))
    assert data["mode"] == "dry" and data["inference"]["rows"] and data["input_pipeline"]["rows"]
    assert _results_snapshot() == before
