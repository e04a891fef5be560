"""A shipped model's training history: the warm-start chain of runs, its V curve and trend.

A shipped generator is usually the last link of a chain of runs, each warm-started from the one
before (``env.json``'s ``init_from``). :func:`training_chain` follows it back; where the chain
passes through a shipped file, the runs before it come from the model card's record
(:func:`keras_pggan.reports.model_card.card_lineage`), since their directories may be gone with
an earlier machine. :func:`split_chain` cuts the chain at the weights that ship,
:func:`curve_trend` says whether V hole L1 still falls, and the ``*_line`` / ``*_note``
functions are the card's sentences about them.

Example:
    >>> from keras_pggan.reports import lineage
    >>> chain = lineage.training_chain("runs/ship_v2")  # doctest: +SKIP
    >>> lineage.trend_line(lineage.curve_trend(chain))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re

from keras_pggan.reports.document import REPO


def training_chain(run_dir: str) -> list[dict]:
    """The run and the runs it was warm-started from (``env.json``), oldest first.

    The chain follows each run's warm start back to the run directory that made its generator.
    Where a run was warm-started from a shipped generator (one with a ``model_card.json``
    beside it), the runs before it come from the card's record that the warm start kept
    (``init_from.lineage``, :func:`keras_pggan.reports.model_card.card_lineage`): their
    directories may be gone with an earlier machine. Such links have ``run_dir`` ``None`` and
    the per-epoch log the card kept (none in cards before 2026-12-02).

    Returns:
        ``[{"run_dir", "name", "rows" (epoch log), "wall_s", "steps", "processes", "lr",
        "precision", "init_from", "source_averaged", "val_hole_l1"}]``: ``name`` is the run
        directory's base name, ``lr`` the run's ``(G, D)`` learning rates and ``precision`` its
        compute precision (``None`` where unknown), ``init_from`` the generator file it was
        warm-started from (``None`` for the first link), ``source_averaged`` whether that file
        holds moving-average weights, ``val_hole_l1`` the last V hole L1 as the card shows it.
    """
    from keras_pggan.training.callbacks import EpochLog

    chain, seen = [], set()
    while run_dir and run_dir not in seen:
        seen.add(run_dir)
        rows = EpochLog.read(os.path.join(run_dir, "epochs.jsonl"))
        env_path = os.path.join(run_dir, "env.json")
        env = json.load(open(env_path, encoding="utf-8")) if os.path.exists(env_path) else {}
        processes = env.get("processes", [])
        warm = (processes[0].get("init_from") or {}) if processes else {}
        source, lineage = warm.get("generator"), warm.get("lineage")
        cfg_path = os.path.join(run_dir, "config.json")
        train = (
            json.load(open(cfg_path, encoding="utf-8"))["train"]
            if os.path.exists(cfg_path)
            else None
        )
        chain.append(
            {
                "run_dir": run_dir,
                "name": os.path.basename(run_dir.rstrip("/")),
                "rows": rows,
                "wall_s": rows[-1]["wall_s"] if rows else 0.0,
                "steps": rows[-1]["step"] if rows else 0,
                "processes": processes,
                "lr": (train["g_learning_rate"], train["d_learning_rate"]) if train else None,
                "precision": train.get("precision", "float32") if train else None,
                "init_from": source,
                "source_averaged": bool(source) and source_averaged(source, lineage),
                "val_hole_l1": _last_val(rows),
            }
        )
        if lineage:
            chain.extend(lineage_links(lineage)[::-1])
            break
        if not source:
            break
        parent = os.path.dirname(source)
        run_dir = os.path.dirname(parent) if os.path.basename(parent) == "checkpoints" else parent
        if not os.path.exists(os.path.join(run_dir, "epochs.jsonl")):
            break  # a file from outside any run (and without a card): the chain starts here
    return chain[::-1]


def source_averaged(source: str, lineage: dict | None) -> bool:
    """Whether a warm start's generator file holds moving-average weights (training.ema).

    A shipped file is named after the model, not the checkpoint: its card says what it holds
    (``averaged``; cards before 2026-12-03 only in the ``weights`` sentence).
    """
    if is_average(source):
        return True
    if not lineage:
        return False
    if lineage.get("averaged") is not None:
        return bool(lineage["averaged"])
    return str(lineage.get("weights") or "").startswith("an exponential")


def _last_val(rows: list[dict]) -> str:
    return f"{100 * rows[-1]['val_hole_l1']:.2f} %" if rows and "val_hole_l1" in rows[-1] else "–"


def lineage_links(lineage: dict) -> list[dict]:
    """The links of a shipped generator's card record (:func:`training_chain`'s form).

    Args:
        lineage: :func:`keras_pggan.reports.model_card.card_lineage`.
    """
    text_lr = _parse_lr_text(lineage.get("lr") or "")
    links = []
    for row in lineage["chain"]:
        epochs = row.get("epochs") or []
        rows = [
            {
                "step": e[0],
                "wall_s": e[1],
                "val_hole_l1": e[2],
                **({"val_ema_hole_l1": e[3]} if e[3] is not None else {}),
            }
            for e in epochs
        ]
        lr = row.get("lr") or text_lr.get(row["run"])
        links.append(
            {
                "run_dir": None,
                "name": row["run"],
                "rows": rows,
                "wall_s": row["hours"] * 3600,
                "steps": row["steps"],
                "processes": [],
                "lr": tuple(lr) if lr else None,
                "precision": row.get("precision") or lineage.get("precision"),
                "init_from": None,
                "source_averaged": False,
                "val_hole_l1": row.get("val_hole_l1", "–"),
            }
        )
    return links


def _parse_lr_text(text: str) -> dict[str, tuple[float, float]]:
    """``{run: (G, D)}`` from a card's ``lr`` text (:func:`learning_rates`), where it names runs."""
    found = {}
    for part in text.split(";"):
        m = re.match(r"\s*G ([0-9.e+-]+), D ([0-9.e+-]+) in (.+)", part)
        if m:
            for run in re.findall(r"`([^`]+)`", m.group(3)):
                found[run] = (float(m.group(1)), float(m.group(2)))
    return found


def chain_rows(chain: list[dict]) -> list[dict]:
    """The card's record of the chain: per run its totals, settings and V curve (``epochs``).

    ``epochs`` is ``[[step, wall_s, val_hole_l1, val_ema_hole_l1 or None], ...]``, enough for
    :func:`keras_pggan.reports.ship.curve_png` and :func:`curve_trend` to redraw the chain after
    a warm start from the shipped file on a machine where the run directories are gone.
    """
    return [
        {
            "run": link["name"],
            "steps": link["steps"],
            "hours": link["wall_s"] / 3600,
            "val_hole_l1": link["val_hole_l1"],
            "lr": list(link["lr"]) if link.get("lr") else None,
            "precision": link.get("precision"),
            "epochs": [
                [
                    r["step"],
                    round(r["wall_s"], 2),
                    round(r["val_hole_l1"], 6),
                    round(r["val_ema_hole_l1"], 6) if "val_ema_hole_l1" in r else None,
                ]
                for r in link["rows"]
                if "val_hole_l1" in r
            ],
        }
        for link in chain
    ]


def _abs(path: str) -> str:
    """A path as a run's ``env.json`` records it (relative to where it ran: the project root)."""
    return os.path.realpath(path if os.path.isabs(path) else os.path.join(REPO, path))


def split_chain(
    chain: list[dict], generator_path: str, shipped_at: tuple[str, int] | None = None
) -> tuple[list[dict], list[dict]]:
    """Splits the chain at the shipped weights: the training that made them, and what followed.

    A run can go on past the weights that ship, e.g. when its later checkpoints were no better
    on V than the shipped file it was warm-started from. The card then records the training up
    to the shipped weights (steps, hours, the chain a warm start from the shipped file continues)
    and, apart, the training after them, whose V curve says whether more of it would help.

    Args:
        chain: :func:`training_chain`.
        generator_path: the file to ship: an epoch checkpoint of one link
            (``<run>/checkpoints/generator[_ema]-epochNNN.keras``), the file a link was
            warm-started from, or any other file (the newest generator: nothing follows it).
        shipped_at: ``(run name, steps)`` where the file's own card says its weights were made
            (the last row of its chain: :func:`keras_pggan.reports.model_card.card_lineage`),
            for a reship of the shipped file. It comes first: a link warm-started from the
            shipped *path* may have started from earlier weights that the file held then.

    Returns:
        ``(before, after)``: links (copies, a link cut at the checkpoint gets its rows up to
        it and its totals there; its rest starts ``after``, with steps and hours from the cut).
    """
    real = os.path.realpath(generator_path)
    if shipped_at:
        name, steps = shipped_at
        for i, link in enumerate(chain):
            if link.get("name") == name:
                head = [r for r in link["rows"] if r.get("step", 0) <= steps]
                return _cut(chain, i, head, generator_path)
    m = re.fullmatch(r"generator(?:_ema)?-epoch(\d+)\.keras", os.path.basename(generator_path))
    for i, link in enumerate(chain):
        if link.get("init_from") and _abs(link["init_from"]) == real:
            return chain[:i], chain[i:]
        ckpts = os.path.join(link["run_dir"], "checkpoints") if link.get("run_dir") else None
        if m and ckpts and os.path.realpath(os.path.dirname(real)) == os.path.realpath(ckpts):
            epoch = int(m.group(1))
            head = [r for r in link["rows"] if r.get("epoch", 0) <= epoch]
            return _cut(chain, i, head, generator_path)
    return list(chain), []


def _cut(chain: list[dict], i: int, head: list[dict], generator_path: str):
    """:func:`split_chain` of ``chain`` inside link ``i``, after its rows ``head``."""
    link = chain[i]
    tail = link["rows"][len(head) :]
    if not tail:
        return chain[: i + 1], chain[i + 1 :]
    step0, wall0 = (head[-1]["step"], head[-1]["wall_s"]) if head else (0, 0.0)
    cut = dict(link, rows=head, steps=step0, wall_s=wall0, val_hole_l1=_last_val(head))
    rest = dict(
        link,
        rows=[dict(r, step=r["step"] - step0, wall_s=r["wall_s"] - wall0) for r in tail],
        steps=link["steps"] - step0,
        wall_s=link["wall_s"] - wall0,
        init_from=generator_path,
    )
    return chain[:i] + [cut], [rest] + chain[i + 1 :]


def continued(after: list[dict]) -> dict | None:
    """The card's record of the training after the shipped weights (:func:`split_chain`).

    Returns:
        ``None`` when nothing followed; else ``{"runs", "steps", "hours", "series", "first",
        "last", "best"}``: V hole L1 (%) of the moving average where every epoch has it (the raw
        generator's otherwise) at its first and last epoch and its lowest.
    """
    rows = [r for link in after for r in link["rows"] if "val_hole_l1" in r]
    if not rows:
        return None
    ema = all("val_ema_hole_l1" in r for r in rows)
    ys = [100 * r["val_ema_hole_l1" if ema else "val_hole_l1"] for r in rows]
    return {
        "runs": [link["name"] for link in after],
        "steps": sum(link["steps"] for link in after),
        "hours": round(sum(link["wall_s"] for link in after) / 3600, 2),
        "series": "moving average" if ema else "raw",
        "first": round(ys[0], 3),
        "last": round(ys[-1], 3),
        "best": round(min(ys), 3),
    }


def continued_line(record: dict) -> str:
    """The card's sentence for :func:`continued`."""
    series = "its moving average's" if record["series"] == "moving average" else "its"
    runs = ", ".join(f"`{r}`" for r in record["runs"])
    return (
        f"Training went on past these weights for {record['steps']:,} steps "
        f"({record['hours']:.2f} h, {runs}; drawn after the marker in the curve): {series} V hole "
        f"L1 {record['first']:.2f} → {record['last']:.2f} % (lowest {record['best']:.2f} %); the "
        "verdict's trend covers the chain's last 2 h, this stretch included."
    )


def ema_note(generator_path: str, chain: list[dict], train_cfg: dict) -> str:
    """What the shipped weights are: the raw generator or its moving average (training.ema)."""
    if not is_average(generator_path):
        return "the generator's weights at the checkpoint (no moving average)"
    rows = chain[-1]["rows"] if chain else []
    first = next((r["step"] for r in rows if "val_ema_hole_l1" in r), None)
    start = first - train_cfg["steps_per_epoch"] if first else None
    offset = sum(link["steps"] for link in chain[:-1])
    since = ""
    if start is not None:
        since = f", kept from step {offset + start:,} of the {offset + rows[-1]['step']:,}"
        averaged = chain[-1].get("source_averaged", is_average(chain[-1].get("init_from") or ""))
        if start == 0 and averaged:
            since += ", where the last run started from the previous run's moving average"
    decay = train_cfg.get("ema_decay", 0.999)
    return (
        "an exponential moving average of the generator's weights "
        "(`keras_pggan.training.ema`, decay "
        f"{decay:g}: about the last {round(1 / (1 - decay)):,} steps{since}), not the newest "
        "raw weights"
    )


def is_average(generator_path: str) -> bool:
    """True for a moving-average generator file (``generator_ema*.keras``, training.ema)."""
    return os.path.basename(generator_path).startswith("generator_ema")


def learning_rates(chain: list[dict]) -> str:
    """The Adam learning rates of the chain, with the runs that used each when they differ."""
    return _by_runs(
        chain, "lr", lambda lr: f"G {lr[0]:g}, D {lr[1]:g}", "(see the runs' config.json)"
    )


def precisions(chain: list[dict]) -> str:
    """The compute precision of the chain, with the runs that used each when they differ."""
    return _by_runs(chain, "precision", lambda p: f"`{p}`", "(see the runs' config.json)")


def _by_runs(chain: list[dict], key: str, fmt, unknown: str) -> str:
    groups: list[tuple] = []  # consecutive runs with the same value
    for link in chain:
        if not link.get(key):
            continue
        if groups and groups[-1][0] == link[key]:
            groups[-1][1].append(link["name"])
        else:
            groups.append((link[key], [link["name"]]))
    if not groups:
        return unknown
    if len({value for value, _ in groups}) == 1:
        return fmt(groups[0][0])
    return "; ".join(
        fmt(value) + " in " + ", ".join(f"`{run}`" for run in runs) for value, runs in groups
    )


def curve_trend(chain: list[dict], window_h: float = 2.0, averaged: bool = False) -> dict:
    """Whether V hole L1 still falls: a least-squares line over the last ``window_h`` hours.

    The issue's stopping rule is "the curve flat for the last 2 hours". Each epoch's V hole L1 is
    noisy (random training masks on 137 photos), so the trend is the slope of a straight line
    fitted to every epoch in the window (wall-clock hours of training, all links of the chain),
    with its standard error; the curve counts as still falling while the fitted change over the
    window is below zero by more than two standard errors. Consecutive epochs are not independent
    (the moving average spans ~10 epochs), so the standard error is widened for the residuals'
    lag-1 autocorrelation ``r`` by ``sqrt((1 + r) / (1 - r))`` (the AR(1) effective sample size),
    otherwise a smooth series would call any tiny slope significant.

    Args:
        chain: :func:`training_chain`.
        window_h: the window, hours of training before the last epoch.
        averaged: fit the moving average's V hole L1 (``val_ema_hole_l1``, what ships when the
            shipped weights are the average) where every epoch in the window has it; the raw
            generator's (``val_hole_l1``) otherwise.

    Returns:
        ``{"window_h", "epochs", "first", "last" (V hole L1 % of the fitted line at the window's
        ends), "change_pct" (relative change over the window, %), "two_se_pct", "falling",
        "series" ("moving average" or "raw")}``, or ``{}`` with fewer than 3 epochs in the
        window.
    """
    import numpy as np

    hours, raw, ema, offset = [], [], [], 0.0
    for link in chain:
        for r in link["rows"]:
            if "val_hole_l1" in r:
                hours.append((offset + r["wall_s"]) / 3600)
                raw.append(100 * r["val_hole_l1"])
                ema.append(100 * r["val_ema_hole_l1"] if "val_ema_hole_l1" in r else np.nan)
        offset += link["wall_s"]
    if not hours:
        return {}
    t = np.asarray(hours)
    keep = t >= t[-1] - window_h
    t, raw, ema = t[keep], np.asarray(raw)[keep], np.asarray(ema)[keep]
    if len(t) < 3:
        return {}
    use_ema = averaged and not np.isnan(ema).any()
    y = ema if use_ema else raw
    slope, intercept = np.polyfit(t, y, 1)
    resid = y - (slope * t + intercept)
    se = np.sqrt(resid @ resid / (len(t) - 2) / np.sum((t - t.mean()) ** 2))
    r = lag1_autocorrelation(resid)
    se *= np.sqrt((1 + r) / (1 - r)) if r > 0 else 1.0
    first = slope * t[0] + intercept
    span = t[-1] - t[0]
    return {
        "window_h": round(float(span), 2),
        "epochs": int(len(t)),
        "first": round(float(first), 3),
        "last": round(float(slope * t[-1] + intercept), 3),
        "change_pct": round(float(100 * slope * span / first), 2),
        "two_se_pct": round(float(100 * 2 * se * span / first), 2),
        "falling": bool(slope * span + 2 * se * span < 0),
        "series": "moving average" if use_ema else "raw",
        "lag1_autocorrelation": round(float(r), 3),
    }


def lag1_autocorrelation(resid) -> float:
    """The lag-1 autocorrelation of a residual series, clipped to [-0.99, 0.99]."""
    import numpy as np

    resid = np.asarray(resid, dtype=float) - np.mean(resid)
    denom = float(resid @ resid)
    if len(resid) < 3 or denom == 0.0:
        return 0.0
    return float(np.clip(resid[1:] @ resid[:-1] / denom, -0.99, 0.99))


def trend_line(trend: dict) -> str:
    """The verdict's line for :func:`curve_trend`."""
    if not trend:
        return "V curve: too few epochs to fit a trend"
    state = "still falling: keep training" if trend["falling"] else "flat"
    series = " (moving average of the weights)" if trend.get("series") == "moving average" else ""
    return (
        f"V curve{series} over the last {trend['window_h']:.1f} h of training "
        f"({trend['epochs']} epochs): "
        f"fitted hole L1 {trend['first']:.2f} → {trend['last']:.2f} % "
        f"({trend['change_pct']:+.1f} % ± {trend['two_se_pct']:.1f} %, 2 SE): {state}"
    )
