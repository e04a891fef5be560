"""scripts/paper_table.py end to end on generated photos: every method trains, scores and times
(keras_pggan.reports.paper_table)."""

import json
import os
import re

import numpy as np
import pytest
from PIL import Image

from keras_pggan.reports import paper_table as pt
from scripts import paper_table as script


def _photos(folder, n, seed):
    os.makedirs(folder)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:56, 0:72] / 56.0
    for i in range(n):
        a, b, c = rng.uniform(0.5, 4.0, 3)
        img = np.stack([np.sin(a * xx + i), np.cos(b * yy), np.sin(c * (xx + yy))], -1)
        img = (127.5 * (img + 1) + rng.normal(0, 8, img.shape)).clip(0, 255).astype(np.uint8)
        Image.fromarray(img).save(os.path.join(folder, f"p{i}.png"))
    return folder


def test_argument_errors_are_one_line(tmp_path, capsys):
    data = _photos(str(tmp_path / "train"), 2, 0)
    assert script.main(["--methods", "ce,nps", "--data", data, "--val-data", data]) == 2
    assert "unknown ['nps']" in capsys.readouterr().err
    assert script.main(["--data", data, "--val-data", data]) == 2
    assert "must not be training data" in capsys.readouterr().err
    assert script.main(["--steps", "3", "--steps-per-epoch", "2", "--data", data]) == 2
    assert "not a multiple" in capsys.readouterr().err


@pytest.mark.large
def test_smoke_table_1_has_every_method_then_table_2_fine_tunes_its_runs(tmp_path, capsys):
    """Table 1's smoke run, then ``scripts/paper_table_512.py --quick`` on the same photos and
    ``--out``: Table 2's base runs are Table 1's (reused, not trained again), as in the docs'
    order of the two commands."""
    train = _photos(str(tmp_path / "train"), 6, 1)
    val = _photos(str(tmp_path / "val"), 2, 2)
    doc = str(tmp_path / "doc" / "paper_table.md")
    argv = [
        *("--steps", "2", "--steps-per-epoch", "1", "--batch-size", "2"),
        *("--size", "32", "--resize-to", "40", "--eval-size", "32"),
        *("--data", train, "--val-data", val, "--count", "2"),
        *("--timing-sizes", "32", "--timing-repeats", "1", "--sheets", "1"),
        *("--out", str(tmp_path / "runs"), "--doc", doc),
    ]
    assert script.main(argv) == 0, capsys.readouterr().err
    text = open(doc, encoding="utf-8").read()
    assert "Smoke run (2 steps per method)" in text
    results = json.load(open(os.path.join(os.path.dirname(doc), "paper_table", "results.json")))
    for method in pt.METHODS:
        run = results["runs"][method]
        assert run["steps"] == 2 and run["seconds_per_step"] > 0
        assert set(run["env"]) == set(pt.SPEED_ENV)
        net = results["networks"][method]
        assert net["params"] > 0 and net["gflops"] > 0 and net["ms"]["32"] > 0
        for label, _ in pt.MASK_SETS:
            m = results["metrics"][label][method]
            assert 0 < m["ssim"] <= 1 and 0 <= m["l1"] < 100 and 5 < m["psnr"] < 100
        row = next(line for line in text.splitlines() if line.startswith(f"| {pt.TITLES[method]}"))
        numbers = re.findall(r"\| (-?\d+\.\d+)", row)
        assert len(numbers) >= 8, row  # GFLOPs, 2 × (PSNR, SSIM, L1), ms, s/step
    assert "Telea (classical reference)" in text
    assert "Training speed settings" in text and "best on" in text
    # The sheets are copied next to the document and linked from it.
    for kind in ("center", "freeform"):
        assert os.path.exists(os.path.join(os.path.dirname(doc), "paper_table", f"{kind}_00.png"))
        assert f"(paper_table/{kind}_00.png)" in text
    # Run again, each method reuses its finished run (no training): the same facts come back.
    # (Through train_method, the step of table() that decides it: a second whole table would
    # score and time every network again, half of this test's time.)
    args = script.build_parser().parse_args(argv)
    pt.check_run_args(args)
    capsys.readouterr()
    for method in pt.METHODS:
        assert pt.train_method(method, args) == results["runs"][method]
    assert capsys.readouterr().out.count("reusing the finished run") == len(pt.METHODS)
    _table2_quick_on_table1_runs(train, val, str(tmp_path / "runs"), capsys)


def _table2_quick_on_table1_runs(train, val, out, capsys):
    """Table 2 (``--quick``: Table 1's smoke options) over Table 1's runs in ``out``."""
    from keras_pggan.reports import paper_table_512 as t2
    from scripts import paper_table_512 as script_512

    with open(t2.DOC, "rb") as f:
        committed = f.read()
    argv = ["--quick", "--methods", "ce,pggan-dres", "--data", train, "--val-data", val]
    assert script_512.main([*argv, "--out", out]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert printed.count("reusing the finished run") == 2  # the base runs: Table 1's
    assert "warm start from generator" in printed and "discriminator (new)" in printed
    text = open(os.path.join(out, "paper_table_512.md"), encoding="utf-8").read()
    assert text.startswith("<!-- paper_table:512 -->\n## Table 2 at 64²")
    assert "Smoke run (2 + 1 steps per method)" in text
    for title in ("Context Encoder (Pathak et al. 2016), fine-tuned", "PGGAN-DRes before"):
        row = next(line for line in text.splitlines() if line.startswith(f"| {title}"))
        numbers = [float(v) for v in re.findall(r"\| (-?\d+\.\d+)", row)]
        assert len(numbers) >= 6 and all(0 <= v < 100 for v in numbers), row
    assert "Telea (classical reference)" in text and "Fine-tuning at 64² vs none" in text
    results = json.load(open(os.path.join(out, "paper_table", "512", "results.json")))
    run = results["finetune_runs"]["pggan-dres"]
    assert run["steps"] == 1 and run["init_from"].endswith(
        os.path.join("pggan-dres", "generator.keras")
    )
    assert results["networks"]["pggan-dres"]["ms"]["64"] > 0
    assert set(results["metrics"]["centre"]) >= {"ce", "pggan-dres", t2.BEFORE}
    with open(t2.DOC, "rb") as f:
        assert f.read() == committed


def test_ranking_orders_each_score_and_counts_wins():

    def scores(psnr, ssim, l1):
        return {"psnr": psnr, "ssim": ssim, "l1": l1}

    metrics = {
        "centre": {"ce": scores(20, 0.7, 4), "pggan-dres": scores(22, 0.8, 3)},
        "free-form": {"ce": scores(25, 0.75, 2), "pggan-dres": scores(24, 0.9, 2.5)},
    }
    lines = pt.ranking(metrics, ["ce", "pggan-dres"])
    assert lines[0] == "- centre PSNR: PGGAN-DRes > Context Encoder"
    assert lines[2] == "- centre L1: PGGAN-DRes > Context Encoder"  # lower L1 is better
    assert lines[3] == "- free-form PSNR: Context Encoder > PGGAN-DRes"
    assert lines[5] == "- free-form L1: Context Encoder > PGGAN-DRes"
    assert lines[-1] == "- A PGGAN variant is best on 4 of 6 scores; Context Encoder on 2."
