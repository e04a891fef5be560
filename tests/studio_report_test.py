"""The perceptual study report: statistics against hand-computed constants, the order of the
figure, the files it writes and its refusal to overwrite them."""

import json

import pytest
from PIL import Image

from keras_pggan.studio import report, votes
from keras_pggan.studio.__main__ import main as studio_main
from keras_pggan.studio.votes import Vote


def test_mean_and_t_interval_against_hand_computed_constants():
    # 1..5: mean 3, sd sqrt(2.5) = 1.58114, se 0.70711, t(0.975, 4) = 2.776445 -> ±1.963243.
    r = report.mean_ci([1, 2, 3, 4, 5])
    assert (r["n"], r["mean"]) == (5, 3.0)
    assert r["sd"] == pytest.approx(1.5811388, abs=1e-7)
    assert r["ci95_low"] == pytest.approx(3 - 1.9632432, abs=1e-6)
    assert r["ci95_high"] == pytest.approx(3 + 1.9632432, abs=1e-6)
    same = report.mean_ci([4, 4, 4])
    assert (same["ci95_low"], same["ci95_high"]) == (4.0, 4.0)
    one = report.mean_ci([2])
    assert one == {"n": 1, "mean": 2.0, "sd": None, "ci95_low": None, "ci95_high": None}
    with pytest.raises(ValueError, match="no scores"):
        report.mean_ci([])


def test_summary_order_counts_and_voters():
    rows = [
        Vote("a", "1", "pggan", 4, "t"),
        Vote("b", "1", "pggan", 3, "t"),
        Vote("a", "2", "original", 5, "t"),
        Vote("a", "1", "ce", 1, "t"),
    ]
    s = report.summarise(rows)
    assert list(s) == ["original", "ce", "pggan"]
    assert (s["pggan"]["n"], s["pggan"]["voters"], s["pggan"]["images"]) == (2, 2, 1)
    assert s["pggan"]["mean"] == 3.5 and s["ce"]["ci95_low"] is None
    assert list(report.summarise(rows, order=["pggan", "original"])) == ["pggan", "original", "ce"]


def test_cli_writes_the_report_and_refuses_to_overwrite(tmp_path, capsys):
    db = str(tmp_path / "votes.db")
    votes.init_db(db)
    for voter, method, score in [("a", "original", 5), ("b", "original", 4), ("a", "pggan", 3)]:
        votes.add_vote(db, voter, "00000", method, score)
    assert studio_main(["report", db]) == 0  # default --out: <votes>_report beside the votes file
    out = capsys.readouterr().out
    assert "3 votes by 2 voters" in out and "4.50" in out and "[" in out
    folder = tmp_path / "votes_report"
    result = json.loads((folder / "report.json").read_text())
    assert result["methods"]["original"]["mean"] == 4.5
    assert result["methods"]["pggan"]["ci95_high"] is None
    assert "| original | 2 | 2 | 1 | 4.50 |" in (folder / "report.md").read_text()
    with Image.open(folder / "perceptual.png") as im:
        assert im.format == "PNG" and im.size[1] == 460
    before = (folder / "report.json").read_text()
    votes.add_vote(db, "c", "00000", "pggan", 1)
    assert studio_main(["report", db]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert (folder / "report.json").read_text() == before
    assert studio_main(["report", db, "--overwrite"]) == 0
    assert json.loads((folder / "report.json").read_text())["votes"] == 4
    assert studio_main(["report", str(tmp_path / "missing.db")]) == 2
    assert "no such votes database" in capsys.readouterr().err
