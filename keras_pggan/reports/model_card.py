"""The model card: ``model_card.json`` and ``MODEL_CARD.md``, read and written here only.

``python -m keras_pggan.ship`` (:func:`keras_pggan.reports.ship.ship`) measures a model and
writes its card with :func:`write_card`; ``MODEL_CARD.md`` is always :func:`render_model_card` of
``model_card.json`` (``tests/shipped_model_test.py`` checks the shipped pair). A warm start from
a shipped generator reads the card back with :func:`card_lineage`, so the new run knows the
chain that made its starting weights (:mod:`keras_pggan.reports.lineage`). A card with a
``colour_diagnosis`` (``python -m scripts.colour_diagnosis --write-card``) renders the section
"Where the colour goes wrong" after the V tables
(:func:`keras_pggan.reports.colour.diagnosis_lines`).

Example:
    >>> from keras_pggan.reports import model_card
    >>> card = model_card.read_card("saved_models")  # doctest: +SKIP
    >>> print(model_card.render_model_card(card))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os

from keras_pggan.errors import UserError
from keras_pggan.evaluation.metrics import BLOTCH_LEVELS
from keras_pggan.io_utils import write_text_atomic
from keras_pggan.reports import colour
from keras_pggan.reports.lineage import continued_line

CARD_JSON = "model_card.json"
CARD_MD = "MODEL_CARD.md"
# The section that ``colour_diagnosis`` (scripts/colour_diagnosis.py's JSON) renders to.
COLOUR_SECTION = "## Where the colour goes wrong"

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

# What the V section names as the card's maker. Cards without ``produced_by`` were made by
# scripts/ship_model.py before the command existed, and render as they always did.
PRODUCED_BY = "`python -m keras_pggan.ship` (`keras_pggan.evaluation.evaluate.score_methods`)"
LEGACY_PRODUCED_BY = "`scripts/ship_model.py` (`keras_pggan.evaluate.score_methods`)"
# Score columns of the V tables: (score key, header, format); the chroma pair only where the
# card's scores have it (cards before issue 35 do not, and keep their tables).
COLUMNS = (
    ("psnr", "PSNR dB", "{:.2f}"),
    ("ssim", "SSIM", "{:.4f}"),
    ("l1", "L1 %", "{:.2f}"),
    ("hole_l1", "hole L1 %", "{:.2f}"),
    ("hole_colour", "hole colour err", "{:.2f}"),
)
CHROMA_COLUMNS = (
    ("hole_chroma", "hole chroma err", "{:.2f}"),
    ("hole_blotch", "blotch %", "{:.1f}"),
)


def read_card(folder: str) -> dict | None:
    """The ``model_card.json`` in ``folder``, or ``None`` when there is none."""
    path = os.path.join(folder, CARD_JSON)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_card(folder: str, card: dict) -> tuple[str, str]:
    """Writes ``model_card.json`` and its rendering ``MODEL_CARD.md`` into ``folder``.

    Returns:
        The two paths (JSON, markdown).
    """
    json_path, md_path = os.path.join(folder, CARD_JSON), os.path.join(folder, CARD_MD)
    write_text_atomic(json_path, json.dumps(card, indent=2))
    write_text_atomic(md_path, render_model_card(card))
    return json_path, md_path


def card_to_amend(folder: str, overwrite: bool, what: str = "--write-card") -> dict:
    """The card in ``folder``, read to add a section to it (:func:`write_card` writes it back).

    Amending rewrites ``model_card.json`` and re-renders ``MODEL_CARD.md``, files a user did not
    name, so it needs ``overwrite``; asked before any long measurement.

    Args:
        folder: the card's folder (``saved_models/`` for the shipped model).
        overwrite: the user passed ``--overwrite``.
        what: the flag named in the messages.

    Raises:
        UserError: no card in ``folder``, or not ``overwrite``.
    """
    card = read_card(folder)
    if card is None:
        raise UserError(f"{what}: no {CARD_JSON} in {folder}")
    if not overwrite:
        raise UserError(
            f"{what}: this rewrites {os.path.join(folder, CARD_JSON)} and re-renders "
            f"{CARD_MD} (the card's other entries are kept); pass --overwrite to do it"
        )
    return card


def card_lineage(generator_path: str | None) -> dict | None:
    """How a shipped generator was trained, from the ``model_card.json`` beside it (or ``None``).

    Returns:
        ``{"card", "weights", "averaged", "lr", "precision", "commands", "chain"}``: the card's
        path and its ``training`` record (``averaged``: whether the shipped weights are a moving
        average, ``None`` in cards before 2026-12-03; ``chain``: one row per run of its
        warm-start chain, with ``run``, ``steps``, ``hours``, ``val_hole_l1`` and, in cards from
        2026-12-02 on, ``lr``, ``precision`` and ``epochs``, the per-epoch V curve).

    Raises:
        UserError: the card exists but is not JSON with a ``training.chain`` list.
    """
    if not generator_path:
        return None
    card_path = os.path.join(os.path.dirname(os.path.abspath(generator_path)), CARD_JSON)
    if not os.path.isfile(card_path):
        return None
    try:
        with open(card_path, encoding="utf-8") as f:
            training = json.load(f)["training"]
        chain = training["chain"]
        if not isinstance(chain, list):
            raise TypeError("training.chain is not a list")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(
            f"{card_path}: not a model card with a training.chain ({type(e).__name__}: {e}); "
            "move it away to warm-start without the shipped model's history"
        ) from e
    keep = ("weights", "averaged", "lr", "precision", "commands")
    return {"card": card_path, **{k: training.get(k) for k in keep}, "chain": chain}


def warm_start_lineage(init_from: str | None, init_discriminator: str | None = None):
    """:func:`card_lineage` of the generator a warm start loads (``None`` without one).

    Raises:
        UserError: a warm-start path that does not exist, or a card that does not read.
    """
    from keras_pggan.training.warm_start import warm_start_paths

    return card_lineage(warm_start_paths(init_from, init_discriminator)[0])


def _columns(by_method: dict, kind: str) -> tuple:
    """The V table's columns: the chroma pair where every method's scores have it."""
    chroma = all(key in s[kind] for s in by_method.values() for key, _, _ in CHROMA_COLUMNS)
    return COLUMNS + CHROMA_COLUMNS if chroma else COLUMNS


def _has_chroma(scores: dict) -> bool:
    return any(
        len(_columns(by_method, kind)) > len(COLUMNS)
        for by_method in scores.values()
        for kind, _ in KINDS
    )


# The shipped model's goals (issue #35): PSNR margins in dB over Telea (centre-128) and over the
# best classical method (free-form), the hole chroma error as a share of Telea's, int8's PSNR gap
# to fp32 in dB, and the flat-colour fill's worst channel error in 8-bit levels.
GOALS = {"centre_db": 2.0, "freeform_db": 2.0, "chroma_vs_telea": 0.9, "int8_db": 0.3, "flat": 4}


def verdict(scores: dict, name: str, int8: str, flat: dict) -> list[str]:
    """The goals (:data:`GOALS`) checked on the card's numbers: one line each, 'met' or 'NOT met'.

    Per part of V: the centre-128 PSNR margin over Telea with SSIM at least Telea's; the
    free-form margin over the best classical method; per hole kind, the hole chroma error at most
    ``GOALS["chroma_vs_telea"]`` × Telea's and the blotch share at most Telea's; int8 against fp32.
    Then the flat colours.
    """
    g, out = GOALS, []
    for part, by in scores.items():
        m, t = by[name], by["OpenCV Telea"]
        c_gap = m["center"]["psnr"] - t["center"]["psnr"]
        ok = c_gap >= g["centre_db"] and m["center"]["ssim"] >= t["center"]["ssim"]
        out.append(
            f"{part}, centre-128: PSNR {m['center']['psnr']:.2f} vs Telea "
            f"{t['center']['psnr']:.2f} ({c_gap:+.2f} dB, goal ≥ +{g['centre_db']:g}), SSIM "
            f"{m['center']['ssim']:.4f} vs {t['center']['ssim']:.4f}: "
            + ("met" if ok else "NOT met")
        )
        best = max(by[b]["freeform"]["psnr"] for b in BASELINES)
        f_gap = m["freeform"]["psnr"] - best
        out.append(
            f"{part}, free-form: PSNR {m['freeform']['psnr']:.2f} vs best classical {best:.2f} "
            f"({f_gap:+.2f} dB, goal ≥ +{g['freeform_db']:g}): "
            + ("met" if f_gap >= g["freeform_db"] else "NOT met")
        )
        for kind, _ in KINDS:
            mk, tk = m[kind], t[kind]
            ratio = mk["hole_chroma"] / tk["hole_chroma"]
            ok = ratio <= g["chroma_vs_telea"] and mk["hole_blotch"] <= tk["hole_blotch"]
            out.append(
                f"{part}, {kind}: hole chroma error {mk['hole_chroma']:.2f} vs Telea "
                f"{tk['hole_chroma']:.2f} levels ({ratio:.2f}×, goal ≤ {g['chroma_vs_telea']:g}×), "
                f"blotch {mk['hole_blotch']:.1f} vs {tk['hole_blotch']:.1f} % (goal ≤ Telea's): "
                + ("met" if ok else "NOT met")
            )
        gap8 = m["center"]["psnr"] - by[int8]["center"]["psnr"]
        gap8f = m["freeform"]["psnr"] - by[int8]["freeform"]["psnr"]
        out.append(
            f"{part}: int8 within {max(gap8, gap8f):.2f} dB of fp32 (goal ≤ {g['int8_db']:g}): "
            + ("met" if max(gap8, gap8f) <= g["int8_db"] else "NOT met")
        )
    worst = max(r["max_abs_mean_error"] for r in flat.values())
    out.append(
        f"Flat colours: worst channel error of the fill's mean {worst:.1f} levels "
        f"(goal ≤ {g['flat']:g}): " + ("met" if worst <= g["flat"] else "NOT met")
    )
    return out


def render_model_card(card: dict) -> str:
    """The markdown model card from the ``model_card.json`` dict."""
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
    lines += _training_lines(card)
    lines += _evaluation_lines(card)
    lines += [
        "Samples (input | model | Telea | truth; 4 photos of each part of V):",
        "",
        f"![centre-128]({card['figures']['sheet_center']})",
        "",
        f"![free-form]({card['figures']['sheet_freeform']})",
        "",
    ]
    if card.get("colour_diagnosis"):  # cards before issue 35 have none, and render as they did
        diagnosis = colour.diagnosis_lines(card["colour_diagnosis"])
        lines += [COLOUR_SECTION, "", *diagnosis, ""]
    lines += _flat_colour_lines(card)
    lines += ["## Verdict", ""] + [f"- {x}" for x in card["verdict"]] + [""]
    lines += ["## Data licences", ""] + [f"- {x}" for x in LICENCES] + [""]
    lines += ["## Limits", ""] + [f"- {x}" for x in card["limits"]] + [""]
    return "\n".join(lines)


def _training_lines(card: dict) -> list[str]:
    """The card's training section: data, budget, commands, the chain and its curve's gaps."""
    t = card["training"]
    lines = [
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
    return lines


def _evaluation_lines(card: dict) -> list[str]:
    """The card's evaluation section: the curve, what is scored, and a table per part and holes."""
    lines = [
        "",
        f"![training curve]({card['figures']['curve']})",
        "",
        "## Evaluation on V",
        "",
        f"256² centre crops, fixed seeded mask sets (seed 0): {card['evaluation']['kinds']}. "
        "Composited outputs; L1 and hole L1 in % of the range; hole colour error = mean over "
        "channels of |hole mean colour − truth's| in 8-bit levels (`metrics.hole_colour_error`). "
        + (
            "Hole chroma error = mean over hole pixels of (|ΔCb| + |ΔCr|) / 2 in 8-bit levels "
            "(BT.601), blotch = % of hole pixels whose chroma is more than "
            f"{BLOTCH_LEVELS:g} levels off (`metrics.hole_chroma_errors`). "
            if _has_chroma(card["evaluation"]["scores"])
            else ""
        )
        + f"Produced by {card.get('produced_by', LEGACY_PRODUCED_BY)}.",
        "",
    ]
    for part, by_method in card["evaluation"]["scores"].items():
        for kind, title in KINDS:
            columns = _columns(by_method, kind)
            lines += [
                f"### {part} ({card['evaluation']['counts'][part]} photos), {title}",
                "",
                "| method | " + " | ".join(head for _, head, _ in columns) + " |",
                "|---|" + "---:|" * len(columns),
            ]
            lines += [
                f"| {m} | " + " | ".join(spec.format(s[kind][k]) for k, _, spec in columns) + " |"
                for m, s in by_method.items()
            ]
            lines.append("")
    return lines


def _flat_colour_lines(card: dict) -> list[str]:
    """The card's flat-colour table, against the previous shipped model, and its finding."""
    lines = [
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
    return lines


def _code(text: str) -> str:
    """A card field in backticks unless it already has them (older cards: a bare name)."""
    return text if "`" in text else f"`{text}`"
