"""scripts/ship_model.py's pure parts: the V-curve trend that decides "flat for the last 2 h"."""

import importlib.util
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def ship():
    spec = importlib.util.spec_from_file_location(
        "ship_model", os.path.join(ROOT, "scripts", "ship_model.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _link(hours, values, start_s=0.0):
    rows = [
        {"epoch": i + 1, "step": 100 * (i + 1), "wall_s": start_s + 3600 * h, "val_hole_l1": v}
        for i, (h, v) in enumerate(zip(hours, values))
    ]
    return {"rows": rows, "wall_s": rows[-1]["wall_s"], "steps": rows[-1]["step"]}


def test_a_falling_curve_is_falling_and_its_fit_is_exact(ship):
    hours = np.linspace(0, 4, 81)
    chain = [_link(hours, 0.10 - 0.002 * hours)]  # -0.2 % points per hour
    t = ship.curve_trend(chain, window_h=2.0)
    assert t["epochs"] == 41 and t["window_h"] == pytest.approx(2.0)
    assert t["first"] == pytest.approx(9.6, abs=1e-3) and t["last"] == pytest.approx(9.2, abs=1e-3)
    assert t["change_pct"] == pytest.approx(100 * -0.4 / 9.6, abs=0.01)
    assert t["two_se_pct"] == pytest.approx(0.0, abs=1e-6) and t["falling"] is True
    assert "still falling" in ship.trend_line(t)


def test_noise_around_a_level_is_flat_even_when_it_fell_before_the_window(ship):
    rng = np.random.default_rng(0)
    hours = np.linspace(0, 6, 121)
    values = np.where(hours < 4, 0.12 - 0.005 * hours, 0.10) + rng.normal(0, 0.002, hours.size)
    t = ship.curve_trend([_link(hours, values)], window_h=2.0)
    assert t["falling"] is False and abs(t["change_pct"]) < t["two_se_pct"]
    assert ship.trend_line(t).endswith(": flat")
    # Over the whole run it fell.
    assert ship.curve_trend([_link(hours, values)], window_h=6.0)["falling"] is True


def test_the_window_spans_the_links_of_a_warm_start_chain(ship):
    # 1 h in a source run, then 1.5 h in the long run: a 2 h window takes epochs of both.
    a = _link(np.linspace(0.05, 1.0, 20), np.full(20, 0.11))
    b = _link(np.linspace(0.05, 1.5, 30), 0.10 - 0.01 * np.linspace(0.05, 1.5, 30))
    t = ship.curve_trend([a, b], window_h=2.0)
    assert t["epochs"] == 30 + sum(1 for h in np.linspace(0.05, 1.0, 20) if h >= 0.5)
    assert ship.curve_trend([a], window_h=2.0)["falling"] is False  # constant: no fall


def test_too_few_epochs_give_no_trend(ship):
    assert ship.curve_trend([_link([0.1, 0.2], [0.1, 0.09])]) == {}
    assert ship.curve_trend([]) == {}
    assert "too few" in ship.trend_line({})
