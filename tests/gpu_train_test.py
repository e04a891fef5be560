"""scripts/gpu_train.sh: its argument checks (fast) and the whole run as a CPU dry run (large).

The script is meant for a GPU machine; here ``--dry-run`` packs the embedded photos, trains the
recipe with tiny widths at 64² for 3 epochs of 2 steps from a tiny warm start, scores V and
copies the results to ``$OUT``: the same stages, files and report as on a GPU. Nothing it does
may change the checkout.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "gpu_train.sh")

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def _run(args, tmp_path, timeout=30, **env):
    return subprocess.run(
        ["bash", SCRIPT, *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "GPU_TRAIN_PYTHON": sys.executable, "TMPDIR": str(tmp_path), **env},
    )  # fmt: skip


def test_unknown_argument_and_existing_pack_are_refused(tmp_path):
    assert _run(["--help"], tmp_path).returncode == 0
    assert _run(["--bogus"], tmp_path).returncode == 2
    assert os.listdir(tmp_path) == []  # neither made a work folder
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "mine.txt").write_text("keep")
    run = _run(["--pack", str(pack)], tmp_path)
    assert run.returncode == 2, run.stderr
    assert os.listdir(pack) == ["mine.txt"]  # refused before anything was written
    assert (pack / "mine.txt").read_text() == "keep"


@pytest.mark.large
def test_dry_run_trains_scores_and_copies_to_out(tmp_path):
    before = _git_status()
    out = tmp_path / "out"
    t0 = time.time()
    run = _run(["--dry-run"], tmp_path, timeout=600, OUT=str(out))
    took = time.time() - t0
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert _git_status() == before  # nothing in the checkout changed

    # What comes back from a GPU machine: at most 8 files, 16 MiB each, one folder down.
    files = sorted(
        os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs
    )
    assert files == sorted(
        ["gpu_train.json", "gpu_train.log"]
        + [f"run/{f}" for f in ("config.json", "env.json", "epochs.jsonl", "history.json",
                                "generator.keras", "generator_ema.keras")]
    )  # fmt: skip
    assert all(os.path.getsize(out / f) <= 16 * 2**20 for f in files)

    report = json.loads((out / "gpu_train.json").read_text())
    assert report["mode"] == "dry" and report["recipe"] == "v3-lowpass-256"
    assert all(s["status"].startswith(("ok", "skipped")) for s in report["stages"]), report
    train = report["train"]
    assert train["steps"] == 6 and train["epochs"] == 3  # 3 epochs of 2 steps
    assert train["steps_per_s"] > 0 and train["steps_per_s_overall"] > 0
    assert train["images_per_s"] == pytest.approx(2 * train["steps_per_s"], rel=0.01)
    assert train["precision"] == "mixed_float16" and train["image_size"] == 64
    # The recipe trained: its low-pass colour term, warm-started from the tiny generator the dry
    # run made.
    config = json.loads((out / "run" / "config.json").read_text())
    assert config["loss"]["colour_space"] == "rgb" and config["loss"]["colour_lowpass_weight"] == 2
    env = json.loads((out / "run" / "env.json").read_text())
    assert env["processes"][0]["init_from"] is not None
    pack = report["pack"]
    assert pack["train"]["photos"] == pack["train"]["of"] == 10
    assert pack["val"]["photos"] == {"cmp_facade_val": 2, "imagenet_holdout": 2}

    v = report["v"]
    assert v["photos"] == {"cmp_facade_val": 2, "imagenet_holdout": 2}
    assert os.path.basename(v["models"]["trained"]) == "generator_ema.keras"
    for part in v["photos"]:
        for arm in ("warm_start", "trained"):
            for kind in ("center", "freeform"):
                s = v["scores"][part][arm][kind]
                assert 5 < s["psnr"] < 100, (part, arm, kind, s)
                assert s["hole_chroma"] >= 0 and 0 <= s["ssim"] <= 1
    print(f"dry run: {took:.0f} s")
