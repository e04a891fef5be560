"""scripts/compare_checkpoints.py (keras_pggan.reports.checkpoints): V scores of several
generator files, and the pick."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from keras_pggan.config import get_preset
from keras_pggan.models.generator import build_generator
from keras_pggan.reports import checkpoints
from scripts import compare_checkpoints as compare


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A run directory whose V is two folders of 2 photos, and two tiny generators."""
    root = tmp_path_factory.mktemp("cmp")
    rng = np.random.default_rng(0)
    val = []
    for part in ("val_a", "val_b"):
        folder = root / part
        folder.mkdir()
        for i in range(2):
            img = rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)
            Image.fromarray(img).save(folder / f"{i}.png")
        val.append(str(folder))
    run = root / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"data": {"val": val}}))
    files = []
    for seed in (0, 1):
        keras.utils.set_random_seed(seed)
        path = root / f"g{seed}.keras"
        build_generator(get_preset("tiny").generator).save(path)
        files.append(str(path))
    return run, files


def test_the_table_is_score_methods_and_the_pick_is_the_highest_mean(setup, tmp_path):
    from keras_pggan.evaluation.evaluate import score_methods

    run, files = setup
    out = tmp_path / "cmp.md"
    argv = ["--run-dir", str(run), "--size", "32", "--out", str(out), *files]
    assert compare.main(argv) == 0
    text = out.read_text()
    direct = {
        f: {
            part: score_methods(
                {"m": f}, sorted(str(p) for p in (run.parent / part).glob("*.png")), size=32
            )["m"]
            for part in ("val_a", "val_b")
        }
        for f in files
    }
    means = {
        f: np.mean([direct[f][p][k]["psnr"] for p in direct[f] for k in ("center", "freeform")])
        for f in files
    }
    top = max(means, key=means.get)
    assert f"Best by mean PSNR: `{top}`" in text
    for f in files:
        row = next(line for line in text.splitlines() if f"`{f}`" in line and line.startswith("|"))
        assert row.endswith(f"| {means[f]:.3f} |")
        last = direct[f]["val_b"]["freeform"]
        cell = f"{last['psnr']:.2f} / {last['ssim']:.4f} / {last['hole_chroma']:.2f} / "
        assert f"| {cell}{last['hole_blotch']:.1f} |" in row
    assert f"**`{top}`**" in text
    # An existing --out is kept unless --overwrite.
    out.write_text("mine")
    assert compare.main(argv) == 2 and out.read_text() == "mine"


def test_bad_input_is_named(setup, tmp_path, capsys):
    run, files = setup
    assert compare.main(["--run-dir", str(tmp_path), *files]) == 2
    assert "config.json: no such file" in capsys.readouterr().err
    assert compare.main(["--run-dir", str(run), str(tmp_path / "nope.keras")]) == 2
    assert "nope.keras: no such file" in capsys.readouterr().err
    (tmp_path / "config.json").write_text(json.dumps({"data": {}}))
    assert compare.main(["--run-dir", str(tmp_path), *files]) == 2
    assert "no usable data.val" in capsys.readouterr().err


def test_cells_show_chroma_and_blotch_and_mark_missing_scores():
    scores = {"psnr": 24.5, "ssim": 0.91234, "hole_chroma": 3.456, "hole_blotch": 12.34}
    both = {"v": {"center": scores, "freeform": dict(scores, psnr=26.5)}}
    old = {"v": {k: {"psnr": 20.0, "ssim": 0.8} for k in ("center", "freeform")}}
    text = checkpoints.table({"a.keras": both, "b.keras": old})
    head, _, row_a, row_b = text.splitlines()
    assert "v center PSNR / SSIM / chroma / blotch %" in head
    assert row_a == (
        "| **`a.keras`** | 24.50 / 0.9123 / 3.46 / 12.3 | 26.50 / 0.9123 / 3.46 / 12.3 | 25.500 |"
    )
    assert row_b == "| `b.keras` | 20.00 / 0.8000 / – / – | 20.00 / 0.8000 / – / – | 20.000 |"
    assert checkpoints.best({"a.keras": both, "b.keras": old}) == "a.keras"
