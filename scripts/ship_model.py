"""Turns a training run into the shipped model: SavedModel, TFLite builds, .keras, MODEL_CARD.md.

Example (the command used for the shipped model; see saved_models/MODEL_CARD.md):

  python scripts/ship_model.py --run-dir ~/.cache/keras_pggan/runs/ship_v2 --overwrite

When training went on past the shipped weights and was no better on V, ship them again with
the longer run, so that the card records what followed (:func:`split_chain`):

  python scripts/ship_model.py --run-dir RUN --checkpoint saved_models/pggan_dres.keras --overwrite

Writes into ``--out`` (default ``saved_models/``; existing files are replaced only with
``--overwrite``):

* ``<name>/1/``            SavedModel with ``serving_default`` and ``serving_bytes``;
* ``<name>-fp32.tflite``, ``<name>-int8.tflite``  TFLite builds (int8 calibrated on the embedded
  photos unless ``--calibration-data``);
* ``<name>.keras``         the Keras generator;
* ``MODEL_CARD.md``        data and licences, steps, hours, commands, the V table, the training
  curve, sample sheets, the flat-colour check and the verdict, rendered from ``model_card.json``
  (also written) by :func:`render_model_card`. Figures go to ``docs/model_card/``.

V is the run config's validation lists (``scripts/configs/splits/val_*.txt``: ``cmp_facade_val``
and the ImageNet hold-out), each part scored separately at 256² with the fixed seeded centre-128
and free-form sets (``keras_pggan.evaluation.evaluate.score_methods``), next to Telea,
Navier–Stokes and
mean fill on the same masks.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "scripts"))

KINDS = (("center", "centred 128² square"), ("freeform", "free-form strokes"))
BASELINES = {"OpenCV Telea": "telea", "OpenCV Navier–Stokes": "ns", "mean fill": "mean"}
PART_NAMES = {"val_cmp_facade": "cmp_facade_val", "val_imagenet": "ImageNet hold-out"}
LICENCES = (
    "CMP Facade Database (Tyleček & Šára, GCPR 2013), BSDS500 (Arbelaez et al., TPAMI 2011), "
    "Paris Art Deco facades (Gadde, Marlet & Paragios, IJCV 2016): research data sets, cite the "
    "papers.",
    "ImageNet (ILSVRC 2012 validation images): ImageNet terms, **non-commercial research only**.",
    "CamVid (Brostow et al., PRL 2009): CC BY-NC, **non-commercial**.",
    "Because the training data include ImageNet and CamVid, this model is for non-commercial "
    "research use.",
)


def regression_metrics(model_path: str, count: int = 4, size: int = 256) -> dict:
    """PSNR/SSIM/L1 of ``model_path`` on the first embedded photos with fixed masks.

    The embedded photos ship with scikit-image, so ``tests/shipped_model_test.py`` recomputes
    these numbers on any machine and compares them with ``model_card.json``: the card cannot
    drift from the shipped files unnoticed.
    """
    import numpy as np

    from keras_pggan.data import masks as masks_lib
    from keras_pggan.data.pipeline import default_photo_paths
    from keras_pggan.evaluation import metrics as M
    from keras_pggan.evaluation.evaluate import load_eval_image
    from keras_pggan.inference.inpainter import Inpainter

    inpainter = Inpainter.from_path(model_path)
    out = {}
    for kind, _ in KINDS:
        masks = masks_lib.make_eval_masks(kind, size, count, seed=0)
        rows = []
        for path, mask in zip(default_photo_paths()[:count], masks):
            truth = load_eval_image(path, size)
            pred = inpainter(truth, mask.astype(bool))
            rows.append(M.image_metrics(pred, truth, mask))
        out[kind] = {k: float(np.mean([r[k] for r in rows])) for k in ("psnr", "ssim", "l1")}
    return out


def v_parts(cfg: dict) -> dict[str, list[str]]:
    """``{part label: files}`` of the run config's validation sources (list files or folders)."""
    from keras_pggan.data.pipeline import resolve_sources

    parts = {}
    for source in cfg["data"]["val"]:
        stem = os.path.splitext(os.path.basename(source.rstrip("/")))[0]
        path = source if os.path.isabs(source) else os.path.join(ROOT, source)
        parts[PART_NAMES.get(stem, stem)] = resolve_sources([path])[0]
    return parts


def training_chain(run_dir: str) -> list[dict]:
    """The run and the runs it was warm-started from (``env.json``), oldest first.

    The chain follows each run's warm start back to the run directory that made its generator.
    Where a run was warm-started from a shipped generator (one with a ``model_card.json``
    beside it), the runs before it come from the card's record that the warm start kept
    (``init_from.lineage``, keras_pggan.training.warm_start.card_lineage): their directories may be
    gone
    with an earlier machine. Such links have ``run_dir`` ``None`` and the per-epoch log the card
    kept (none in cards before 2026-12-02).

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
                "source_averaged": bool(source) and _source_averaged(source, lineage),
                "val_hole_l1": _last_val(rows),
            }
        )
        if lineage:
            chain.extend(_lineage_links(lineage)[::-1])
            break
        if not source:
            break
        parent = os.path.dirname(source)
        run_dir = os.path.dirname(parent) if os.path.basename(parent) == "checkpoints" else parent
        if not os.path.exists(os.path.join(run_dir, "epochs.jsonl")):
            break  # a file from outside any run (and without a card): the chain starts here
    return chain[::-1]


def _source_averaged(source: str, lineage: dict | None) -> bool:
    """Whether a warm start's generator file holds moving-average weights
    (keras_pggan.training.ema).

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


def _lineage_links(lineage: dict) -> list[dict]:
    """The links of a shipped generator's card record
    (keras_pggan.training.warm_start.card_lineage)."""
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
    :func:`curve_png` and :func:`curve_trend` to redraw the chain after a warm start from the
    shipped file on a machine where the run directories are gone.
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
    return os.path.realpath(path if os.path.isabs(path) else os.path.join(ROOT, path))


def split_chain(chain: list[dict], generator_path: str) -> tuple[list[dict], list[dict]]:
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

    Returns:
        ``(before, after)``: links (copies, a link cut at the checkpoint gets its rows up to
        it and its totals there; its rest starts ``after``, with steps and hours from the cut).
    """
    real = os.path.realpath(generator_path)
    m = re.fullmatch(r"generator(?:_ema)?-epoch(\d+)\.keras", os.path.basename(generator_path))
    for i, link in enumerate(chain):
        if link.get("init_from") and _abs(link["init_from"]) == real:
            return chain[:i], chain[i:]
        ckpts = os.path.join(link["run_dir"], "checkpoints") if link.get("run_dir") else None
        if m and ckpts and os.path.realpath(os.path.dirname(real)) == os.path.realpath(ckpts):
            epoch = int(m.group(1))
            head = [r for r in link["rows"] if r.get("epoch", 0) <= epoch]
            tail = [r for r in link["rows"] if r.get("epoch", 0) > epoch]
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
    return list(chain), []


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


def curve_png(chain: list[dict], path: str, shipped_step: int | None = None) -> str:
    """V hole L1 (the in-training validation on V, 128² crops) against total steps.

    Args:
        chain: :func:`training_chain`.
        path: the PNG to write.
        shipped_step: where the shipped weights are, in total steps, when training went on past
            them (:func:`split_chain`): drawn as a vertical marker.
    """
    from plotting import line_plot

    series, offset = [], 0
    for link in chain:
        rows = [r for r in link["rows"] if "val_hole_l1" in r]
        xs = [offset + r["step"] for r in rows]
        ys = [100 * r["val_hole_l1"] for r in rows]
        label = link["name"]
        if link.get("lr") and chain[0].get("lr") and link["lr"] != chain[0]["lr"]:
            label += f" (lr {link['lr'][0]:g})"
        if rows:  # a link known only by its totals (an old card's record) draws nothing
            series.append((label, xs, ys))
        averaged = [r for r in rows if "val_ema_hole_l1" in r]
        if averaged:
            series.append(
                (
                    f"{link['name']}: weight average",
                    [offset + r["step"] for r in averaged],
                    [100 * r["val_ema_hole_l1"] for r in averaged],
                )
            )
        offset += link["steps"]
    if shipped_step is not None and series:
        ys_all = [y for _, _, ys in series for y in ys]
        series.append(
            (
                f"shipped weights (step {shipped_step:,})",
                [shipped_step, shipped_step],
                [min(ys_all), max(ys_all)],
            )
        )
    return line_plot(
        series,
        path,
        "V (137 photos, 128-px crops at 256-px scale, training masks): hole L1 % by step",
        "generator steps (total)",
        "hole L1 %",
    )


def ema_note(generator_path: str, chain: list[dict], train_cfg: dict) -> str:
    """What the shipped weights are: the raw generator or its moving average
    (keras_pggan.training.ema)."""
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
    """True for a moving-average generator file (``generator_ema*.keras``,
    keras_pggan.training.ema)."""
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


def sample_sheets(model_path: str, parts: dict, out_dir: str, per_part: int = 4) -> dict:
    """8 V photos (4 per part) × kinds: input | model | Telea | truth, one PNG per kind."""
    import numpy as np
    from PIL import Image

    from keras_pggan.data import masks as masks_lib
    from keras_pggan.evaluation.classical import get_baseline
    from keras_pggan.evaluation.evaluate import comparison_sheet, load_eval_image, masked_input
    from keras_pggan.inference.inpainter import Inpainter

    model, telea = Inpainter.from_path(model_path), get_baseline("telea")
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for kind, _ in KINDS:
        rows = []
        for files in parts.values():
            masks = masks_lib.make_eval_masks(kind, 256, len(files), seed=0)
            step = max(1, len(files) // per_part)
            for i in list(range(0, len(files), step))[:per_part]:
                truth, mask = load_eval_image(files[i], 256), masks[i].astype(bool)
                cols = [
                    ("input", masked_input(truth, mask)),
                    ("PGGAN-DRes (ours)", model(truth, mask)),
                    ("OpenCV Telea", telea(truth, mask)),
                    ("truth", truth),
                ]
                rows.append(comparison_sheet(cols, min_side=192))
        sheet = np.concatenate(rows, axis=0)
        small = Image.fromarray(sheet)
        small = small.resize((small.width * 2 // 3, small.height * 2 // 3), Image.LANCZOS)
        paths[kind] = os.path.join(out_dir, f"sheet_{kind}.jpg")
        small.save(paths[kind], quality=88)
    return paths


def _cell(s: dict) -> str:
    return (
        f"{s['psnr']:.2f} | {s['ssim']:.4f} | {s['l1']:.2f} | {s['hole_l1']:.2f} | "
        f"{s['hole_colour']:.2f}"
    )


def verdict(scores: dict, name: str, int8: str, flat: dict) -> list[str]:
    """The issue's done-when checks, computed: one line each, 'met' or 'NOT met'."""
    out = []
    for part, by in scores.items():
        m, t = by[name], by["OpenCV Telea"]
        c_gap = m["center"]["psnr"] - t["center"]["psnr"]
        ok = c_gap >= 1.5 and m["center"]["ssim"] >= t["center"]["ssim"]
        out.append(
            f"{part}, centre-128: PSNR {m['center']['psnr']:.2f} vs Telea "
            f"{t['center']['psnr']:.2f} ({c_gap:+.2f} dB, goal ≥ +1.5), SSIM "
            f"{m['center']['ssim']:.4f} vs {t['center']['ssim']:.4f}: "
            + ("met" if ok else "NOT met")
        )
        best = max(by[b]["freeform"]["psnr"] for b in BASELINES)
        f_gap = m["freeform"]["psnr"] - best
        out.append(
            f"{part}, free-form: PSNR {m['freeform']['psnr']:.2f} vs best classical {best:.2f} "
            f"({f_gap:+.2f} dB, goal ≥ +0.7): " + ("met" if f_gap >= 0.7 else "NOT met")
        )
        for kind, _ in KINDS:
            mc, tc = m[kind]["hole_colour"], t[kind]["hole_colour"]
            out.append(
                f"{part}, {kind}: hole colour error {mc:.2f} vs Telea {tc:.2f} levels: "
                + ("met" if mc <= tc else "NOT met")
            )
        gap8 = m["center"]["psnr"] - by[int8]["center"]["psnr"]
        gap8f = m["freeform"]["psnr"] - by[int8]["freeform"]["psnr"]
        out.append(
            f"{part}: int8 within {max(gap8, gap8f):.2f} dB of fp32 (goal ≤ 0.3): "
            + ("met" if max(gap8, gap8f) <= 0.3 else "NOT met")
        )
    worst = max(r["max_abs_mean_error"] for r in flat.values())
    out.append(
        f"Flat colours: worst channel error of the fill's mean {worst:.1f} levels (goal ≤ 4): "
        + ("met" if worst <= 4 else "NOT met")
    )
    return out


def render_model_card(card: dict) -> str:
    """The markdown model card from the ``model_card.json`` dict."""
    t = card["training"]
    lines = [
        f"# Model card: `{card['name']}` (PGGAN-DRes)",
        "",
        "Image inpainting generator, PGGAN-DRes (Demir & Unal 2018) as built by keras_pggan "
        "(layer widths and counts are our defaults; the paper's tables were not available). "
        f"This build: {card['architecture']}.",
        "",
        "## Files",
        "",
        "| file | what | size |",
        "|---|---|---:|",
    ]
    for f in card["files"]:
        lines.append(f"| `{f['path']}` | {f['what']} | {f['bytes'] / 1e6:.1f} MB |")
    lines += [
        "",
        "## Training",
        "",
        f"- Data: {t['data']} (the fixed split, `python -m keras_pggan.splits`); V, never "
        f"trained on: {t['val']}.",
        f"- Crops {t['image_size']}² of photos resized to a {t['resize_to']}-px short side; "
        f"masks `{t['mask']}`; reconstruction `{t['reconstruction']}`; global batch "
        f"{t['batch_size']}; Adam lr {t['lr']}; precision {_code(t['precision'])}; "
        f"seed {t['seed']}.",
        f"- **{t['steps']} generator steps in {t['hours']:.2f} h** of training on {t['machine']} "
        "(all links of the warm-start chain below"
        + (", up to the shipped weights)." if t.get("continued") else ")."),
        *([f"- Weights: {t['weights']}."] if t.get("weights") else []),
        f"- Losses: λ1·L1 + λ2·adv(G-GAN) + λ3·adv(PatchGAN), λ = {t['loss_weights']} (the "
        "paper's), non-saturating BCE.",
        "",
        "Commands (in order):",
        "",
        "```bash",
        *t["commands"],
        "```",
        "",
        "| run | steps | hours | last V hole L1 (128² val) |",
        "|---|---:|---:|---:|",
    ]
    for link in t["chain"]:
        lines.append(
            f"| `{link['run']}` | {link['steps']} | {link['hours']:.2f} | {link['val_hole_l1']} |"
        )
    for link in t.get("continued_chain") or []:
        lines.append(
            f"| `{link['run']}` (after the shipped weights) | {link['steps']} | "
            f"{link['hours']:.2f} | {link['val_hole_l1']} |"
        )
    if t.get("continued"):
        lines += ["", continued_line(t["continued"])]
    unlogged = [
        f"`{link['run']}`" for link in t["chain"] if link["steps"] and link.get("epochs") == []
    ]
    if unlogged:
        lines += [
            "",
            f"The per-epoch V logs of {', '.join(unlogged)} were lost with their machine (the "
            "card that recorded them kept only the totals above), so the curve starts after "
            "them; their curve is the previous versions of `docs/model_card/training_curve.png` "
            "in the git history.",
        ]
    lines += [
        "",
        f"![training curve]({card['figures']['curve']})",
        "",
        "## Evaluation on V",
        "",
        f"256² centre crops, fixed seeded mask sets (seed 0): {card['evaluation']['kinds']}. "
        "Composited outputs; L1 and hole L1 in % of the range; hole colour error = mean over "
        "channels of |hole mean colour − truth's| in 8-bit levels (`metrics.hole_colour_error`). "
        "Produced by `scripts/ship_model.py` (`keras_pggan.evaluation.evaluate.score_methods`).",
        "",
    ]
    for part, by_method in card["evaluation"]["scores"].items():
        for kind, title in KINDS:
            lines += [
                f"### {part} ({card['evaluation']['counts'][part]} photos), {title}",
                "",
                "| method | PSNR dB | SSIM | L1 % | hole L1 % | hole colour err |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            lines += [f"| {m} | {_cell(s[kind])} |" for m, s in by_method.items()]
            lines.append("")
    lines += [
        "Samples (input | model | Telea | truth; 4 photos of each part of V):",
        "",
        f"![centre-128]({card['figures']['sheet_center']})",
        "",
        f"![free-form]({card['figures']['sheet_freeform']})",
        "",
        "## Flat colours",
        "",
        "A centred 64² hole in a flat 256² image; signed error of the fill's mean per channel "
        "(R, G, B) and the 99th percentile of the per-pixel error, in 8-bit levels.",
        "",
        "| colour | RGB | this model: mean error | p99 | previous shipped model: mean error |",
        "|---|---|---|---:|---|",
    ]
    prev = card.get("flat_colours_previous") or {}
    for name, r in card["flat_colours"].items():
        before = prev.get(name, {}).get("mean_error", "–")
        lines.append(
            f"| {name} | {tuple(r['rgb'])} | {r['mean_error']} | {r['p99_pixel_error']} "
            f"| {before} |"
        )
    lines += ["", card["flat_colour_finding"], ""]
    lines += ["## Verdict", ""] + [f"- {x}" for x in card["verdict"]] + [""]
    lines += ["## Data licences", ""] + [f"- {x}" for x in LICENCES] + [""]
    lines += ["## Limits", ""] + [f"- {x}" for x in card["limits"]] + [""]
    return "\n".join(lines)


def _code(text: str) -> str:
    """A card field in backticks unless it already has them (older cards: a bare name)."""
    return text if "`" in text else f"`{text}`"


def _files_table(out: str, sm_base: str, tfl: dict, keras_path: str) -> list[dict]:
    files = []
    for path, what in [
        (os.path.join(sm_base, "1"), "SavedModel (TF Serving): serving_default, serving_bytes"),
        (tfl["fp32"], "TFLite fp32"),
        (tfl["int8"], "TFLite int8 (full integer, float I/O)"),
        (keras_path, "Keras generator"),
    ]:
        size = (
            sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
            if os.path.isdir(path)
            else os.path.getsize(path)
        )
        files.append({"path": os.path.relpath(path, out), "what": what, "bytes": size})
    return files


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run-dir", required=True)
    p.add_argument("--out", default=os.path.join(ROOT, "saved_models"))
    p.add_argument("--figures", default=os.path.join(ROOT, "docs", "model_card"))
    p.add_argument("--name", default="pggan_dres")
    p.add_argument("--calibration-data", default=None)
    p.add_argument("--command", action="append", default=[], help="a training command (repeat)")
    p.add_argument("--machine", default="2 CPU cores")
    p.add_argument("--finding", default="", help="the flat-colour finding, for the card")
    p.add_argument("--limit", action="append", default=[], help="an extra limits line")
    p.add_argument(
        "--checkpoint",
        default=None,
        help="generator file to ship (default: the run's newest generator)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace the shipped files")
    args = p.parse_args(argv)

    from keras_pggan.evaluation.evaluate import flat_colour_check, score_methods
    from keras_pggan.export.saved_model import export_saved_model
    from keras_pggan.export.tflite import export_tflite
    from keras_pggan.inference.inpainter import Inpainter
    from keras_pggan.training.warm_start import card_lineage, newest_generator

    run = args.run_dir
    gen = args.checkpoint or newest_generator(run, ema=True)
    if not gen or not os.path.exists(gen):
        print(f"error: {run}: no generator to ship", file=sys.stderr)
        return 2
    out = args.out
    keras_path = os.path.join(out, f"{args.name}.keras")
    if os.path.exists(keras_path) and not args.overwrite:
        print(f"error: {keras_path} exists; pass --overwrite to replace it", file=sys.stderr)
        return 2
    same = os.path.exists(keras_path) and os.path.samefile(gen, keras_path)
    # Reshipping the shipped file (training after it was no better): its card's record of how
    # it was made, read before the card is rewritten.
    lineage = card_lineage(gen)
    previous = None
    if same:  # nothing is replaced: the previous shipped model is still the card's
        card_path = os.path.join(out, "model_card.json")
        if os.path.exists(card_path):
            with open(card_path, encoding="utf-8") as f:
                previous = json.load(f).get("flat_colours_previous")
    elif os.path.exists(keras_path):  # the flat-colour numbers of what is being replaced
        previous = flat_colour_check(Inpainter.from_path(keras_path))
    os.makedirs(out, exist_ok=True)
    sm_base = os.path.join(out, args.name)
    tfl = {m: os.path.join(out, f"{args.name}-{m}.tflite") for m in ("fp32", "int8")}
    if not same:
        shutil.copyfile(gen, keras_path)
    export_saved_model(keras_path, sm_base, version=1, overwrite=True)
    for mode, path in tfl.items():
        kw = {"calibration_data": args.calibration_data} if mode == "int8" else {}
        export_tflite(keras_path, path, mode=mode, **kw)

    cfg = json.load(open(os.path.join(run, "config.json"), encoding="utf-8"))
    parts = v_parts(cfg)
    int8 = f"{args.name} int8 TFLite"
    methods = {f"{args.name} (fp32 Keras)": keras_path, int8: tfl["int8"]}
    methods.update({k: f"baseline:{v}" for k, v in BASELINES.items()})
    cache: dict = {}
    scores = {part: score_methods(methods, files, images=cache) for part, files in parts.items()}
    flat = flat_colour_check(Inpainter.from_path(keras_path))
    os.makedirs(args.figures, exist_ok=True)
    chain = training_chain(run)
    before, after = split_chain(chain, gen)
    averaged = _source_averaged(gen, lineage)
    trend = curve_trend(chain, averaged=averaged)
    rel = os.path.relpath(args.figures, out)
    curve = curve_png(
        chain,
        os.path.join(args.figures, "training_curve.png"),
        shipped_step=sum(link["steps"] for link in before) if after else None,
    )
    sheets = sample_sheets(keras_path, parts, args.figures)
    tc, dc, gc, lc = cfg["train"], cfg["data"], cfg["generator"], cfg["loss"]
    hours = sum(link["wall_s"] for link in before) / 3600
    after_record = continued(after)
    card = {
        "name": args.name,
        "architecture": f"{gc['num_downsamplings']} down-samplings, residual blocks with "
        f"dilation rates {tuple(gc['dilation_rates'])}, {gc['base_filters']}–"
        f"{gc['max_filters']} filters (narrower than the `pggan-dres` preset's 64–256: the "
        "wider net's four formats would not fit the 60 MB repository budget)",
        "files": _files_table(out, sm_base, tfl, keras_path),
        "training": {
            "data": ", ".join(f"`{s}`" for s in dc["train"]),
            "val": ", ".join(f"`{s}`" for s in dc["val"]),
            "image_size": dc["image_size"],
            "resize_to": dc.get("resize_to") or dc["image_size"],
            "mask": cfg["mask"]["spec"],
            "reconstruction": lc["reconstruction"],
            "batch_size": tc["global_batch_size"],
            "lr": learning_rates(chain),
            "precision": precisions(chain),
            "seed": tc["seed"],
            "steps": sum(link["steps"] for link in before),
            "hours": hours,
            "machine": args.machine,
            "loss_weights": [lc["l1_weight"], lc["global_adv_weight"], lc["patch_adv_weight"]],
            "weights": (lineage or {}).get("weights") or ema_note(gen, before, tc),
            "averaged": averaged,
            "commands": args.command or ["(see the runs' config.json and env.json)"],
            "chain": chain_rows(before),
            "continued": after_record,
            "continued_chain": chain_rows(after) if after else [],
        },
        "evaluation": {
            "kinds": ", ".join(title for _, title in KINDS),
            "counts": {part: len(files) for part, files in parts.items()},
            "scores": scores,
        },
        "figures": {
            "curve": os.path.join(rel, os.path.basename(curve)),
            "sheet_center": os.path.join(rel, os.path.basename(sheets["center"])),
            "sheet_freeform": os.path.join(rel, os.path.basename(sheets["freeform"])),
        },
        "flat_colours": flat,
        "flat_colours_previous": previous,
        "flat_colour_finding": args.finding,
        "curve_trend": trend,
        "verdict": verdict(scores, f"{args.name} (fp32 Keras)", int8, flat)
        + [trend_line(trend)]
        + ([continued_line(after_record)] if after_record else []),
        "limits": [
            f"Trained for {hours:.1f} h on CPU: far less than the paper's training; large holes "
            "get plausible colour and coarse structure, not sharp detail.",
            "Trained at 256-px scale on facades, natural scenes, street frames and ImageNet "
            "photos; other content and scales will do worse. Not for faces or for removing "
            "people in consequential settings.",
            "int8 build: see its rows; quantisation error adds to the model's.",
            *args.limit,
        ],
        "regression": {
            "what": "first 4 embedded photos, 256² centre crops, eval masks seed 0",
            "keras": regression_metrics(keras_path),
        },
        "generated": time.strftime("%Y-%m-%d"),
    }
    with open(os.path.join(out, "model_card.json"), "w", encoding="utf-8") as f:
        json.dump(card, f, indent=2)
    with open(os.path.join(out, "MODEL_CARD.md"), "w", encoding="utf-8") as f:
        f.write(render_model_card(card))
    print(render_model_card(card))
    return 0


if __name__ == "__main__":
    sys.exit(main())
