"""keras_pggan.reports.lineage (what python -m keras_pggan.ship records of the training): the
warm-start chain, its cut at the shipped weights, and the V-curve trend that decides "flat for
the last 2 h"."""

import json

import numpy as np
import pytest

from keras_pggan.reports import lineage as lineage_lib
from keras_pggan.reports.document import REPO


def _link(hours, values, start_s=0.0):
    rows = [
        {"epoch": i + 1, "step": 100 * (i + 1), "wall_s": start_s + 3600 * h, "val_hole_l1": v}
        for i, (h, v) in enumerate(zip(hours, values))
    ]
    return {"rows": rows, "wall_s": rows[-1]["wall_s"], "steps": rows[-1]["step"]}


def test_a_falling_curve_is_falling_and_its_fit_is_exact():
    hours = np.linspace(0, 4, 81)
    chain = [_link(hours, 0.10 - 0.002 * hours)]  # -0.2 % points per hour
    t = lineage_lib.curve_trend(chain, window_h=2.0)
    assert t["epochs"] == 41 and t["window_h"] == pytest.approx(2.0)
    assert t["first"] == pytest.approx(9.6, abs=1e-3) and t["last"] == pytest.approx(9.2, abs=1e-3)
    assert t["change_pct"] == pytest.approx(100 * -0.4 / 9.6, abs=0.01)
    assert t["two_se_pct"] == pytest.approx(0.0, abs=1e-6) and t["falling"] is True
    assert "still falling" in lineage_lib.trend_line(t)


def test_noise_around_a_level_is_flat_even_when_it_fell_before_the_window():
    rng = np.random.default_rng(0)
    hours = np.linspace(0, 6, 121)
    values = np.where(hours < 4, 0.12 - 0.005 * hours, 0.10) + rng.normal(0, 0.002, hours.size)
    t = lineage_lib.curve_trend([_link(hours, values)], window_h=2.0)
    assert t["falling"] is False and abs(t["change_pct"]) < t["two_se_pct"]
    assert lineage_lib.trend_line(t).endswith(": flat")
    # Over the whole run it fell.
    assert lineage_lib.curve_trend([_link(hours, values)], window_h=6.0)["falling"] is True


def test_the_window_spans_the_links_of_a_warm_start_chain():
    # 1 h in a source run, then 1.5 h in the long run: a 2 h window takes epochs of both.
    a = _link(np.linspace(0.05, 1.0, 20), np.full(20, 0.11))
    b = _link(np.linspace(0.05, 1.5, 30), 0.10 - 0.01 * np.linspace(0.05, 1.5, 30))
    t = lineage_lib.curve_trend([a, b], window_h=2.0)
    assert t["epochs"] == 30 + sum(1 for h in np.linspace(0.05, 1.0, 20) if h >= 0.5)
    assert lineage_lib.curve_trend([a], window_h=2.0)["falling"] is False  # constant: no fall


def test_too_few_epochs_give_no_trend():
    assert lineage_lib.curve_trend([_link([0.1, 0.2], [0.1, 0.09])]) == {}
    assert lineage_lib.curve_trend([]) == {}
    assert "too few" in lineage_lib.trend_line({})


def test_learning_rates_name_the_runs_only_when_they_differ():
    a = {"name": "ship_v2", "lr": (2e-4, 2e-4)}
    b = {"name": "ship_v2_low_lr", "lr": (5e-5, 5e-5)}
    assert lineage_lib.learning_rates([a, dict(a, name="x")]) == "G 0.0002, D 0.0002"
    assert lineage_lib.learning_rates([a, b]) == (
        "G 0.0002, D 0.0002 in `ship_v2`; G 5e-05, D 5e-05 in `ship_v2_low_lr`"
    )
    assert lineage_lib.learning_rates([dict(a, name="hw"), a, b]) == (
        "G 0.0002, D 0.0002 in `hw`, `ship_v2`; G 5e-05, D 5e-05 in `ship_v2_low_lr`"
    )
    assert "config.json" in lineage_lib.learning_rates([{"name": "old", "lr": None}])


def test_ema_note_counts_steps_over_the_chain():
    train = {"steps_per_epoch": 100, "ema_decay": 0.999}
    source = _link([0.1, 0.2], [0.1, 0.1])  # 200 steps
    long_run = _link([0.1, 0.2, 0.3], [0.1, 0.1, 0.1])  # 300 steps, the average from step 100
    for r in long_run["rows"][1:]:
        r["val_ema_hole_l1"] = 0.09
    note = lineage_lib.ema_note(
        "/r/checkpoints/generator_ema-epoch003.keras", [source, long_run], train
    )
    assert "kept from step 300 of the 500" in note and "about the last 1,000 steps" in note
    assert "previous run's moving average" not in note
    # A run warm-started from the previous run's average keeps its own from its first step.
    for r in long_run["rows"]:
        r["val_ema_hole_l1"] = 0.09
    long_run["init_from"] = "/r/ship_v2/generator_ema.keras"
    note = lineage_lib.ema_note("/r/generator_ema.keras", [source, long_run], train)
    assert "kept from step 200 of the 500" in note and "previous run's moving average" in note
    raw = lineage_lib.ema_note("/r/generator.keras", [source, long_run], train)
    assert "no moving average" in raw


def test_training_chain_follows_warm_starts_and_reads_each_runs_learning_rates(tmp_path):
    def run(name, lr, init_from=None):
        d = tmp_path / name
        (d / "checkpoints").mkdir(parents=True)
        (d / "config.json").write_text(
            json.dumps({"train": {"g_learning_rate": lr, "d_learning_rate": lr}})
        )
        proc = {"init_from": {"generator": init_from}} if init_from else {}
        (d / "env.json").write_text(json.dumps({"processes": [proc]}))
        rows = [{"epoch": 1, "step": 100, "wall_s": 60.0, "val_hole_l1": 0.1}]
        (d / "epochs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        return d

    a = run("a", 2e-4)
    b = run("b", 2e-4, str(a / "checkpoints" / "generator-epoch001.keras"))
    c = run("c", 5e-5, str(b / "generator_ema.keras"))
    chain = lineage_lib.training_chain(str(c))
    assert [link["run_dir"] for link in chain] == [str(a), str(b), str(c)]
    assert [link["name"] for link in chain] == ["a", "b", "c"]
    assert [link["lr"] for link in chain] == [(2e-4, 2e-4), (2e-4, 2e-4), (5e-5, 5e-5)]
    assert chain[0]["init_from"] is None and chain[2]["init_from"].endswith("generator_ema.keras")
    assert sum(link["steps"] for link in chain) == 300


def test_the_trend_of_a_shipped_average_fits_the_averages_series():
    hours = np.linspace(0, 3, 61)
    link = _link(hours, np.full(61, 0.09))  # raw: flat
    for r, h in zip(link["rows"], hours):
        if h >= 0.5:  # the average kept from 0.5 h on, falling
            r["val_ema_hole_l1"] = 0.085 - 0.001 * h
    flat = lineage_lib.curve_trend([link], window_h=2.0)
    assert flat["series"] == "raw" and flat["falling"] is False
    t = lineage_lib.curve_trend([link], window_h=2.0, averaged=True)
    assert t["series"] == "moving average" and t["falling"] is True
    assert t["last"] == pytest.approx(100 * (0.085 - 0.003), abs=1e-3)
    assert "(moving average of the weights)" in lineage_lib.trend_line(t)
    # A window reaching before the average began falls back to the raw series.
    assert lineage_lib.curve_trend([link], window_h=3.0, averaged=True)["series"] == "raw"


def test_a_smooth_series_gets_a_wider_error_than_white_noise():
    # The same noise, smoothed like a moving average: each point is the mean of the last 10.
    rng = np.random.default_rng(1)
    hours = np.linspace(0, 2, 200)
    noise = rng.normal(0, 0.002, hours.size + 9)
    smooth = np.convolve(noise, np.ones(10) / 10, mode="valid")
    white = lineage_lib.curve_trend([_link(hours, 0.09 + noise[9:])], window_h=2.0)
    smoothed = lineage_lib.curve_trend([_link(hours, 0.09 + smooth)], window_h=2.0)
    assert abs(white["lag1_autocorrelation"]) < 0.2 < 0.6 < smoothed["lag1_autocorrelation"]
    # Without the correction a smooth series' error would be 2-3 times too small.
    y = 100 * (0.09 + smooth)
    slope, intercept = np.polyfit(hours, y, 1)
    resid = y - (slope * hours + intercept)
    se = np.sqrt(resid @ resid / (len(y) - 2) / np.sum((hours - hours.mean()) ** 2))
    naive_two_se_pct = 100 * 2 * se * 2.0 / intercept  # the fitted value at t = 0
    assert smoothed["two_se_pct"] > 2 * naive_two_se_pct
    assert lineage_lib.lag1_autocorrelation([1.0, 1.0]) == 0.0


def test_a_run_warm_started_from_a_shipped_file_continues_the_cards_chain(tmp_path):
    """The run directories before a warm start from saved_models/ may be gone with a machine:
    the chain, its learning rates, precisions, V curve and hours come from the card's record."""
    old_row = {"run": "first", "steps": 500, "hours": 0.5, "val_hole_l1": "10.67 %"}
    new_row = {
        "run": "second",
        "steps": 200,
        "hours": 1.0,
        "val_hole_l1": "9.00 %",
        "lr": [5e-5, 5e-5],
        "precision": "mixed_bfloat16",
        "epochs": [[100, 1800.0, 0.095, None], [200, 3600.0, 0.09, 0.089]],
    }
    lineage = {
        "card": "/gone/saved_models/model_card.json",
        "weights": "an exponential moving average of the generator's weights (...)",
        "lr": "G 0.0002, D 0.0002 in `first`; G 5e-05, D 5e-05 in `second`",
        "precision": "mixed_bfloat16",
        "commands": ["python -m keras_pggan.train ..."],
        "chain": [old_row, new_row],
    }
    d = tmp_path / "third"
    d.mkdir()
    (d / "config.json").write_text(
        json.dumps({"train": {"g_learning_rate": 5e-5, "d_learning_rate": 5e-5}})
    )  # no precision: float32, the config's default
    init = {"generator": "saved_models/pggan_dres.keras", "lineage": lineage}
    (d / "env.json").write_text(json.dumps({"processes": [{"init_from": init}]}))
    rows = [{"epoch": 1, "step": 100, "wall_s": 900.0, "val_hole_l1": 0.08}]
    (d / "epochs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    chain = lineage_lib.training_chain(str(d))
    assert [link["name"] for link in chain] == ["first", "second", "third"]
    assert [link["run_dir"] for link in chain] == [None, None, str(d)]
    assert sum(link["steps"] for link in chain) == 800
    assert sum(link["wall_s"] for link in chain) == pytest.approx(1.5 * 3600 + 900)
    assert [link["lr"] for link in chain] == [(2e-4, 2e-4), (5e-5, 5e-5), (5e-5, 5e-5)]
    assert lineage_lib.precisions(chain) == (
        "`mixed_bfloat16` in `first`, `second`; `float32` in `third`"
    )
    assert chain[2]["source_averaged"] and not chain[1]["source_averaged"]
    # A card's boolean wins over its sentence (cards from 2026-12-03 on carry one).
    shipped = "saved_models/pggan_dres.keras"
    assert not lineage_lib.source_averaged(shipped, {**lineage, "averaged": False})
    assert lineage_lib.source_averaged(shipped, {"averaged": True})
    assert not lineage_lib.source_averaged(shipped, None)
    assert lineage_lib.source_averaged("runs/a/checkpoints/generator_ema-epoch003.keras", None)
    assert [r["val_hole_l1"] for r in chain[1]["rows"]] == [0.095, 0.09]
    assert "val_ema_hole_l1" not in chain[1]["rows"][0]
    assert chain[1]["rows"][1]["val_ema_hole_l1"] == 0.089

    # What the next card records reads back as the same chain (a second machine loss).
    rows_out = lineage_lib.chain_rows(chain)
    assert [r["val_hole_l1"] for r in rows_out] == ["10.67 %", "9.00 %", "8.00 %"]
    assert rows_out[2]["epochs"] == [[100, 900.0, 0.08, None]] and rows_out[0]["epochs"] == []
    again = lineage_lib.lineage_links({**lineage, "chain": rows_out})
    for before, after in zip(chain, again):
        assert after["rows"] == [
            {k: r[k] for k in ("step", "wall_s", "val_hole_l1", "val_ema_hole_l1") if k in r}
            for r in before["rows"]
        ]
        assert (after["steps"], after["lr"], after["precision"]) == (
            before["steps"],
            before["lr"],
            before["precision"],
        )
        assert after["wall_s"] == pytest.approx(before["wall_s"])
    # The trend's window reaches back into the card's curve (hours continue across links).
    trend = lineage_lib.curve_trend(chain, window_h=1.0)
    assert trend["epochs"] == 3


def test_a_generator_file_from_outside_any_run_starts_the_chain(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    init = {"generator": str(tmp_path / "elsewhere" / "g.keras"), "lineage": None}
    (d / "env.json").write_text(json.dumps({"processes": [{"init_from": init}]}))
    (d / "epochs.jsonl").write_text(json.dumps({"step": 100, "wall_s": 9.0}) + "\n")
    chain = lineage_lib.training_chain(str(d))
    assert [link["name"] for link in chain] == ["run"]


def _live_link(run_dir, name, epochs, init_from=None):
    rows = [
        {
            "epoch": e,
            "step": 100 * e,
            "wall_s": 360.0 * e,
            "val_hole_l1": 0.08,
            "val_ema_hole_l1": 0.079 - 0.001 * (e == 4),
        }
        for e in range(1, epochs + 1)
    ]
    return {
        "run_dir": str(run_dir),
        "name": name,
        "rows": rows,
        "steps": rows[-1]["step"],
        "wall_s": rows[-1]["wall_s"],
        "init_from": init_from,
        "val_hole_l1": "8.00 %",
    }


def test_reshipping_the_file_a_run_started_from_puts_that_run_after_the_shipped_weights():
    """Training past the shipped file that was no better: the card keeps the chain that made the
    weights (steps, hours, what a warm start from them continues) and records the rest apart."""
    old = {
        "run_dir": None,
        "name": "old",
        "rows": [],
        "steps": 900,
        "wall_s": 7200.0,
        "init_from": None,
        "val_hole_l1": "8.50 %",
    }
    new = _live_link("/runs/new", "new", 5, init_from="saved_models/pggan_dres.keras")
    shipped = f"{REPO}/saved_models/pggan_dres.keras"
    before, after = lineage_lib.split_chain([old, new], shipped)
    assert [link["name"] for link in before] == ["old"]
    assert [link["name"] for link in after] == ["new"]
    rec = lineage_lib.continued(after)
    assert rec == {
        "runs": ["new"],
        "steps": 500,
        "hours": 0.5,
        "series": "moving average",
        "first": 7.9,
        "last": 7.9,
        "best": 7.8,
    }
    line = lineage_lib.continued_line(rec)
    assert "500 steps (0.50 h, `new`" in line and "7.90 → 7.90 % (lowest 7.80 %)" in line
    # A file that nothing in the chain started from or checkpointed: nothing follows it.
    assert lineage_lib.split_chain([old, new], "/elsewhere/g.keras") == ([old, new], [])
    assert lineage_lib.continued([]) is None


def test_shipping_an_epoch_checkpoint_cuts_its_run_there(tmp_path):
    link = _live_link(tmp_path, "run", 5)
    ckpt = tmp_path / "checkpoints" / "generator_ema-epoch003.keras"
    before, after = lineage_lib.split_chain([link], str(ckpt))
    assert [r["epoch"] for r in before[0]["rows"]] == [1, 2, 3]
    assert (before[0]["steps"], before[0]["wall_s"]) == (300, 1080.0)
    assert [(r["step"], r["wall_s"]) for r in after[0]["rows"]] == [(100, 360.0), (200, 720.0)]
    assert (after[0]["steps"], after[0]["wall_s"]) == (200, 720.0)
    assert after[0]["init_from"] == str(ckpt)
    assert link["steps"] == 500 and len(link["rows"]) == 5  # the chain itself is not changed
    # The newest checkpoint: the whole run made the shipped weights.
    last = tmp_path / "checkpoints" / "generator-epoch005.keras"
    assert lineage_lib.split_chain([link], str(last)) == ([link], [])
    # The records of both halves add up to the run.
    rows = lineage_lib.chain_rows(before) + lineage_lib.chain_rows(after)
    assert sum(r["steps"] for r in rows) == 500
    assert sum(r["hours"] for r in rows) == pytest.approx(0.5)


def test_reshipping_a_file_reshipped_since_a_run_started_from_it_cuts_where_its_card_says(tmp_path):
    """The v3 case: `a` started from the shipped path when it held older weights; the file was
    then replaced by `b`'s epoch 3, and `b` trained on. The card's own record (b, 300 steps)
    places the weights, not the warm start from the path."""
    old = {"run_dir": None, "name": "old", "rows": [], "steps": 900, "wall_s": 7200.0}
    old.update(init_from=None, val_hole_l1="8.50 %")
    a = _live_link(tmp_path / "a", "a", 2, init_from="saved_models/pggan_dres.keras")
    b = _live_link(tmp_path / "b", "b", 5)
    shipped = f"{REPO}/saved_models/pggan_dres.keras"
    before, after = lineage_lib.split_chain([old, a, b], shipped, shipped_at=("b", 300))
    assert [link["name"] for link in before] == ["old", "a", "b"]
    assert [r["epoch"] for r in before[-1]["rows"]] == [1, 2, 3]
    assert [link["name"] for link in after] == ["b"]
    assert after[0]["steps"] == 200 and [r["step"] for r in after[0]["rows"]] == [100, 200]
    # Without the card's record the path rule would put `a` and `b` after the weights.
    assert [link["name"] for link in lineage_lib.split_chain([old, a, b], shipped)[1]] == ["a", "b"]
    # The card's last run ended at the shipped weights: nothing of it follows.
    before, after = lineage_lib.split_chain([old, a, b], shipped, shipped_at=("b", 500))
    assert [link["name"] for link in before] == ["old", "a", "b"] and after == []
