"""python -m keras_pggan.ship (keras_pggan.reports.ship): a run shipped with its model card."""

import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

from keras_pggan.config import get_preset
from keras_pggan.models.generator import build_generator
from keras_pggan.reports import model_card
from keras_pggan.ship.__main__ import main


def _run(tmp_path, photos_per_part: int = 2):
    """A finished tiny run: config.json naming two V folders, an epoch log, its generator."""
    rng = np.random.default_rng(0)
    val = []
    for part in ("val_cmp_facade", "val_imagenet"):
        folder = tmp_path / part
        folder.mkdir()
        for i in range(photos_per_part):
            img = rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)
            Image.fromarray(img).save(folder / f"{i}.png")
        val.append(str(folder))
    run = tmp_path / "run"
    run.mkdir()
    cfg = get_preset("tiny").replace(data={"val": val})
    (run / "config.json").write_text(cfg.to_json())
    rows = [
        {"epoch": e, "step": 10 * e, "wall_s": 600.0 * e, "val_hole_l1": 0.1 - 0.001 * e}
        for e in range(1, 5)
    ]
    (run / "epochs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    keras.utils.set_random_seed(0)
    build_generator(cfg.generator).save(run / "generator.keras")
    return run


def test_nothing_is_shipped_without_a_generator_or_over_a_shipped_one(tmp_path, capsys):
    assert main(["--run-dir", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "no generator to ship" in capsys.readouterr().err
    run = tmp_path / "run"
    run.mkdir()
    (run / "generator.keras").write_bytes(b"g")
    out = tmp_path / "out"
    out.mkdir()
    (out / "g.keras").write_bytes(b"shipped")
    assert main(["--run-dir", str(run), "--out", str(out), "--name", "g"]) == 2
    assert "g.keras exists; pass --overwrite" in capsys.readouterr().err
    assert (out / "g.keras").read_bytes() == b"shipped" and os.listdir(out) == ["g.keras"]


@pytest.mark.large
def test_ship_writes_every_format_and_a_card_that_renders_from_its_json(tmp_path, capsys):
    run = _run(tmp_path)
    out, figures = tmp_path / "shipped", tmp_path / "figures"
    argv = ["--run-dir", str(run), "--out", str(out), "--figures", str(figures), "--name", "g"]
    assert main([*argv, "--command", "python -m keras_pggan.train ..."]) == 0
    printed = capsys.readouterr().out
    card = model_card.read_card(str(out))
    md = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert md == model_card.render_model_card(card) and printed.strip() == md.strip()
    assert {f["path"] for f in card["files"]} == {
        os.path.join("g", "1"),
        "g-fp32.tflite",
        "g-int8.tflite",
        "g.keras",
    }
    assert all(f["bytes"] > 0 for f in card["files"])
    # V: the two parts, every method and both hole kinds, with the colour score.
    scores = card["evaluation"]["scores"]
    assert list(scores) == ["cmp_facade_val", "ImageNet hold-out"]
    methods = ["g (fp32 Keras)", "g int8 TFLite", "OpenCV Telea", "OpenCV Navier–Stokes"]
    assert list(scores["cmp_facade_val"]) == [*methods, "mean fill"]
    for by_method in scores.values():
        for s in by_method.values():
            for kind in ("center", "freeform"):
                assert 0 <= s[kind]["hole_chroma"] < 255 and 0 <= s[kind]["hole_blotch"] <= 100
    assert "| hole chroma err | blotch % |" in md
    assert "Produced by `python -m keras_pggan.ship`" in md
    # The chain: one run of 40 steps in 40 minutes, nothing after the shipped weights.
    t = card["training"]
    assert (t["steps"], round(t["hours"], 3), t["continued"]) == (40, round(2400 / 3600, 3), None)
    assert t["commands"] == ["python -m keras_pggan.train ..."]
    for figure in card["figures"].values():
        assert os.path.exists(os.path.join(out, figure))
    assert set(card["regression"]["keras"]) == {"center", "freeform"}


@pytest.mark.parametrize(
    "loss, text",
    [
        ({"reconstruction": "weighted"}, "weighted"),
        (
            {"reconstruction": "weighted", "colour_space": "rgb", "colour_lowpass_weight": 2.0},
            "weighted + low-pass colour term ×2",
        ),
        (
            {"reconstruction": "weighted", "colour_space": "ycbcr", "chroma_weight": 3.0},
            "weighted in ycbcr (chroma ×3)",
        ),
        (
            {"reconstruction": "l1", "colour_space": "rgb", "colour_lowpass_weight": 0.0},
            "l1",
        ),
        (
            {
                "reconstruction": "weighted",
                "colour_lowpass_weight": 2,
                "feature_matching_weight": 0.1,
            },
            "weighted + low-pass colour term ×2 + feature matching ×0.1",
        ),
    ],
)
def test_the_card_names_the_colour_terms_of_the_recipe(loss, text):
    from keras_pggan.reports.ship import reconstruction_text

    assert reconstruction_text(loss) == text


def test_a_reship_of_the_same_weights_keeps_the_sections_measured_on_them(tmp_path):
    from keras_pggan.reports.ship import kept_sections

    out = tmp_path / "shipped"
    out.mkdir()
    shipped = out / "pggan_dres.keras"
    shipped.write_bytes(b"weights")
    diagnosis = {"model": "saved_models/pggan_dres.keras", "photos": 3}
    card = {"name": "pggan_dres", "training": {"chain": []}, "colour_diagnosis": diagnosis}
    (out / model_card.CARD_JSON).write_text(json.dumps(card), encoding="utf-8")
    # The shipped file itself (also through another path to it): the diagnosis is of these weights.
    assert kept_sections(str(shipped), str(shipped), str(out)) == {"colour_diagnosis": diagnosis}
    os.symlink(shipped, tmp_path / "link.keras")
    assert kept_sections(str(tmp_path / "link.keras"), str(shipped), str(out)) == {
        "colour_diagnosis": diagnosis
    }
    # Other weights (even byte-identical ones in another file): the card's measurements go.
    other = tmp_path / "generator_ema.keras"
    other.write_bytes(b"weights")
    assert kept_sections(str(other), str(shipped), str(out)) == {}
    # A first ship: nothing to keep.
    assert kept_sections(str(other), str(tmp_path / "none.keras"), str(out)) == {}
