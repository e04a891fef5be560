"""Turns a training run into the shipped model: SavedModel, TFLite builds, .keras and the card.

:func:`ship` is the body of ``python -m keras_pggan.ship`` (see its ``--help``). It copies the
run's generator into the output folder, exports it (:mod:`keras_pggan.export`), scores every
format on V next to the classical baselines, draws the training curve and sample sheets, and
writes the model card (:mod:`keras_pggan.reports.model_card`).

V is the run config's validation lists (``scripts/configs/splits/val_*.txt``: ``cmp_facade_val``
and the ImageNet hold-out), each part scored separately at 256² with the fixed seeded centre-128
and free-form sets (:func:`keras_pggan.evaluation.evaluate.score_methods`), next to Telea,
Navier–Stokes and mean fill on the same masks.

Example:
    >>> from keras_pggan.reports.ship import ship
    >>> card = ship("runs/ship_v2", out="runs/shipped")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import time

from keras_pggan.errors import UserError
from keras_pggan.io_utils import SHIPPED_MODELS_DIR
from keras_pggan.reports import lineage as L
from keras_pggan.reports import model_card as card_lib
from keras_pggan.reports.document import REPO
from keras_pggan.reports.model_card import BASELINES, KINDS, PART_NAMES

FIGURES_DIR = os.path.join(REPO, "docs", "model_card")


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
        path = source if os.path.isabs(source) else os.path.join(REPO, source)
        parts[PART_NAMES.get(stem, stem)] = resolve_sources([path])[0]
    return parts


def curve_png(chain: list[dict], path: str, shipped_step: int | None = None) -> str:
    """V hole L1 (the in-training validation on V, 128² crops) against total steps.

    Args:
        chain: :func:`keras_pggan.reports.lineage.training_chain`.
        path: the PNG to write.
        shipped_step: where the shipped weights are, in total steps, when training went on past
            them (:func:`keras_pggan.reports.lineage.split_chain`): drawn as a vertical marker.
    """
    from keras_pggan.reports.plotting import line_plot

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


def sample_sheets(model_path: str, parts: dict, out_dir: str, per_part: int = 4) -> dict:
    """8 V photos (4 per part) × kinds: input | model | Telea | truth, one PNG per kind."""
    import numpy as np
    from PIL import Image

    from keras_pggan.data import masks as masks_lib
    from keras_pggan.evaluation.classical import get_baseline
    from keras_pggan.evaluation.evaluate import load_eval_image
    from keras_pggan.evaluation.sheets import comparison_sheet, masked_input
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


def files_table(out: str, sm_base: str, tfl: dict, keras_path: str) -> list[dict]:
    """The card's files: path (relative to ``out``), what it is, size in bytes."""
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


def ship(
    run_dir: str,
    *,
    out: str = SHIPPED_MODELS_DIR,
    figures: str = FIGURES_DIR,
    name: str = "pggan_dres",
    checkpoint: str | None = None,
    calibration_data: str | None = None,
    commands: tuple[str, ...] = (),
    machine: str = "2 CPU cores",
    finding: str = "",
    limits: tuple[str, ...] = (),
    overwrite: bool = False,
) -> dict:
    """Ships a run's generator into ``out`` with its exports and model card.

    Writes ``<name>/1/`` (SavedModel with ``serving_default`` and ``serving_bytes``),
    ``<name>-fp32.tflite`` and ``<name>-int8.tflite`` (int8 calibrated on the embedded photos
    unless ``calibration_data``), ``<name>.keras`` and the card (``model_card.json`` and
    ``MODEL_CARD.md``); the curve and sample sheets go to ``figures``.

    Reshipping the shipped file itself (``checkpoint`` is ``<out>/<name>.keras``: training after
    it was no better) keeps the card's record of how it was made, its previous-model flat
    colours and the sections measured on these weights (:func:`kept_sections`: the colour
    diagnosis), and records the training after it
    (:func:`keras_pggan.reports.lineage.split_chain`).

    Args:
        run_dir: the training run (its ``config.json`` names V; its ``env.json`` the chain).
        out: the output folder.
        figures: where the curve and the sample sheets go (the card links them relatively).
        name: the files' base name.
        checkpoint: the generator file to ship (default: the run's newest moving-average
            generator, else its newest generator).
        calibration_data: photos for the int8 build's calibration.
        commands: the training commands, for the card (in order).
        machine: what trained it, for the card.
        finding: the flat-colour finding, for the card.
        limits: extra lines for the card's limits.
        overwrite: replace an existing ``<out>/<name>.keras`` (and everything shipped with it).

    Returns:
        The card (what ``model_card.json`` holds).

    Raises:
        UserError: no generator to ship, or ``<name>.keras`` exists and not ``overwrite``.
    """
    from keras_pggan.evaluation.metrics import flat_colour_check
    from keras_pggan.inference.inpainter import Inpainter
    from keras_pggan.models.saved import newest_generator

    gen = checkpoint or newest_generator(run_dir, ema=True)
    if not gen or not os.path.exists(gen):
        raise UserError(f"{run_dir}: no generator to ship")
    keras_path = os.path.join(out, f"{name}.keras")
    if os.path.exists(keras_path) and not overwrite:
        raise UserError(f"{keras_path} exists; pass --overwrite to replace it")
    # Reshipping the shipped file (training after it was no better): its card's record of how
    # it was made, read before the card is rewritten.
    lineage = card_lib.card_lineage(gen)
    kept = kept_sections(gen, keras_path, out)
    previous = _place(gen, keras_path, out)
    sm_base, tfl = _export(keras_path, out, name, calibration_data)

    with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    parts = v_parts(cfg)
    fp32, int8 = f"{name} (fp32 Keras)", f"{name} int8 TFLite"
    scores = _scores({fp32: keras_path, int8: tfl["int8"]}, parts)
    flat = flat_colour_check(Inpainter.from_path(keras_path))
    os.makedirs(figures, exist_ok=True)
    chain = L.training_chain(run_dir)
    # A reship of the shipped file: its card says where in the chain its weights were made.
    shipped_at = None
    if reships_the_shipped_file(gen, keras_path) and (lineage or {}).get("chain"):
        last = lineage["chain"][-1]
        shipped_at = (last.get("run"), int(last.get("steps") or 0))
    before, after = L.split_chain(chain, gen, shipped_at=shipped_at)
    averaged = L.source_averaged(gen, lineage)
    trend = L.curve_trend(chain, averaged=averaged)
    shipped_step = sum(link["steps"] for link in before) if after else None
    figure_files = _figures(chain, shipped_step, keras_path, parts, figures, out)
    training = _training(
        cfg, chain, (before, after), gen, lineage, averaged=averaged, machine=machine,
        commands=commands,
    )  # fmt: skip
    card = {
        "name": name,
        "architecture": _architecture(cfg["generator"]),
        "files": files_table(out, sm_base, tfl, keras_path),
        "training": training,
        "evaluation": {
            "kinds": ", ".join(title for _, title in KINDS),
            "counts": {part: len(files) for part, files in parts.items()},
            "scores": scores,
        },
        "produced_by": card_lib.PRODUCED_BY,
        "figures": figure_files,
        "flat_colours": flat,
        "flat_colours_previous": previous,
        "flat_colour_finding": finding,
        "curve_trend": trend,
        "verdict": card_lib.verdict(scores, fp32, int8, flat)
        + [L.trend_line(trend)]
        + ([L.continued_line(training["continued"])] if training["continued"] else []),
        "limits": [*_limits(training["hours"]), *limits],
        "regression": {
            "what": "first 4 embedded photos, 256² centre crops, eval masks seed 0",
            "keras": regression_metrics(keras_path),
        },
        "generated": time.strftime("%Y-%m-%d"),
        **kept,
    }
    card_lib.write_card(out, card)
    return card


def _export(keras_path: str, out: str, name: str, calibration_data: str | None):
    """The SavedModel (version 1) and the fp32 and int8 TFLite builds of ``keras_path``."""
    from keras_pggan.export.saved_model import export_saved_model
    from keras_pggan.export.tflite import export_tflite

    sm_base = os.path.join(out, name)
    tfl = {m: os.path.join(out, f"{name}-{m}.tflite") for m in ("fp32", "int8")}
    export_saved_model(keras_path, sm_base, version=1, overwrite=True)
    for mode, path in tfl.items():
        kw = {"calibration_data": calibration_data} if mode == "int8" else {}
        export_tflite(keras_path, path, mode=mode, **kw)
    return sm_base, tfl


def _training(
    cfg: dict, chain: list, split: tuple, gen: str, lineage, *, averaged: bool, machine: str,
    commands,
) -> dict:  # fmt: skip
    """The card's ``training`` record: the run's settings and the chain up to the weights."""
    before, after = split
    tc, dc, lc = cfg["train"], cfg["data"], cfg["loss"]
    return {
        "data": ", ".join(f"`{s}`" for s in dc["train"]),
        "val": ", ".join(f"`{s}`" for s in dc["val"]),
        "image_size": dc["image_size"],
        "resize_to": dc.get("resize_to") or dc["image_size"],
        "mask": cfg["mask"]["spec"],
        "reconstruction": reconstruction_text(lc),
        "batch_size": tc["global_batch_size"],
        "lr": L.learning_rates(chain),
        "precision": L.precisions(chain),
        "seed": tc["seed"],
        "steps": sum(link["steps"] for link in before),
        "hours": sum(link["wall_s"] for link in before) / 3600,
        "machine": machine,
        "loss_weights": [lc["l1_weight"], lc["global_adv_weight"], lc["patch_adv_weight"]],
        "weights": (lineage or {}).get("weights") or L.ema_note(gen, before, tc),
        "averaged": averaged,
        "commands": list(commands) or ["(see the runs' config.json and env.json)"],
        "chain": L.chain_rows(before),
        "continued": L.continued(after),
        "continued_chain": L.chain_rows(after) if after else [],
    }


def reconstruction_text(loss_cfg: dict) -> str:
    """The card's name of the reconstruction term of a run's ``loss`` config.

    ``weighted`` for the v2 recipe's (RGB, no colour term); a v3 recipe adds its colour space
    and chroma weight, its low-pass colour term's weight and its feature-matching weight.
    """
    text = loss_cfg["reconstruction"]
    space = loss_cfg.get("colour_space", "rgb")
    if space != "rgb":
        text += f" in {space} (chroma ×{loss_cfg.get('chroma_weight', 1.0):g})"
    if loss_cfg.get("colour_lowpass_weight"):
        text += f" + low-pass colour term ×{loss_cfg['colour_lowpass_weight']:g}"
    if loss_cfg.get("feature_matching_weight"):
        text += f" + feature matching ×{loss_cfg['feature_matching_weight']:g}"
    return text


def _scores(models: dict, parts: dict) -> dict:
    """``{part: score_methods(...)}``: ``models`` and the classical baselines on each V part."""
    from keras_pggan.evaluation.evaluate import score_methods

    methods = {**models, **{k: f"baseline:{v}" for k, v in BASELINES.items()}}
    cache: dict = {}
    return {part: score_methods(methods, files, images=cache) for part, files in parts.items()}


def reships_the_shipped_file(gen: str, keras_path: str) -> bool:
    """Whether ``gen`` is the shipped file ``keras_path`` itself (also through another path)."""
    return os.path.exists(keras_path) and os.path.samefile(gen, keras_path)


# Sections other tools add to the card (``--write-card``), each a measurement of the weights.
WEIGHT_SECTIONS = ("colour_diagnosis",)


def kept_sections(gen: str, keras_path: str, out: str) -> dict:
    """The card sections a reship keeps: those measured on the same weights.

    Reshipping the shipped file itself (``gen`` is ``keras_path``) keeps what other tools added
    to its card (:data:`WEIGHT_SECTIONS`, e.g. the colour diagnosis): they measured these very
    weights. New weights drop them, since they described the model being replaced.

    Returns:
        ``{section: value}`` from the card in ``out`` (empty for new weights or no card).
    """
    if not reships_the_shipped_file(gen, keras_path):
        return {}
    card = card_lib.read_card(out) or {}
    return {k: card[k] for k in WEIGHT_SECTIONS if card.get(k)}


def _place(gen: str, keras_path: str, out: str) -> dict | None:
    """Copies ``gen`` to ``keras_path`` (unless it is that file); returns the flat-colour
    numbers of the model it replaces (the card's "previous model"), ``None`` for a first ship."""
    from keras_pggan.evaluation.metrics import flat_colour_check
    from keras_pggan.inference.inpainter import Inpainter

    if reships_the_shipped_file(gen, keras_path):
        # Nothing is replaced: the previous shipped model is still the card's.
        return (card_lib.read_card(out) or {}).get("flat_colours_previous")
    previous = None
    if os.path.exists(keras_path):  # the flat-colour numbers of what is being replaced
        previous = flat_colour_check(Inpainter.from_path(keras_path))
    os.makedirs(out, exist_ok=True)
    shutil.copyfile(gen, keras_path)
    return previous


def _figures(chain, shipped_step, keras_path: str, parts: dict, figures: str, out: str) -> dict:
    """Draws the training curve and the sample sheets into ``figures``; returns the card's links
    to them (relative to ``out``)."""
    rel = os.path.relpath(figures, out)
    curve = curve_png(chain, os.path.join(figures, "training_curve.png"), shipped_step=shipped_step)
    sheets = sample_sheets(keras_path, parts, figures)
    return {
        "curve": os.path.join(rel, os.path.basename(curve)),
        "sheet_center": os.path.join(rel, os.path.basename(sheets["center"])),
        "sheet_freeform": os.path.join(rel, os.path.basename(sheets["freeform"])),
    }


def _architecture(gc: dict) -> str:
    """The card's one-line description of the generator config ``gc``."""
    inner = gc.get("residual_filters")
    return (
        f"{gc['num_downsamplings']} down-samplings, residual blocks with dilation rates "
        f"{tuple(gc['dilation_rates'])}{f' ({inner} filters inside)' if inner else ''}, "
        f"{gc['base_filters']}–{gc['max_filters']} filters "
        "(narrower than the `pggan-dres` preset's 64–256: the wider net's four formats would not "
        "fit the 60 MB repository budget)"
    )


def _limits(hours: float) -> list[str]:
    """The card's standing limits, with the training time."""
    return [
        f"Trained for {hours:.1f} h on CPU: far less than the paper's training; large holes get "
        "plausible colour and coarse structure, not sharp detail.",
        "Trained at 256-px scale on facades, natural scenes, street frames and ImageNet photos; "
        "other content and scales will do worse. Not for faces or for removing people in "
        "consequential settings.",
        "int8 build: see its rows; quantisation error adds to the model's.",
    ]
