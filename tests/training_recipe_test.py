"""The recipe tables' configs and ``python -m scripts.training_recipe config`` (no training)."""

import dataclasses
import json
import os

import pytest

from keras_pggan.config import ExperimentConfig
from keras_pggan.reports import training_recipe as tr
from scripts import training_recipe as script


def test_each_v3_recipe_is_the_shipped_recipe_with_only_its_own_changes():
    base = tr.recipe_config("v3-base", bf16=False).to_dict()
    for name, (_, overrides) in tr.RECIPES_V3.items():
        cfg = tr.recipe_config(name, bf16=True).to_dict()  # v3 fixes float32 whatever bf16 says
        assert cfg["train"]["precision"] == "float32" and cfg["name"] == f"recipe-{name}"
        assert cfg["train"]["g_learning_rate"] == 5e-5
        # Same 136 validation images whatever the batch.
        assert cfg["train"]["validation_steps"] * cfg["train"]["global_batch_size"] == 136
        changed = {
            (section, key)
            for section, values in cfg.items()
            if isinstance(values, dict)
            for key, value in values.items()
            if base[section][key] != value
        }
        asked = {(s, k) for s, values in overrides.items() for k in values}
        asked.discard(("train", "validation_steps"))
        changed.discard(("train", "validation_steps"))
        assert changed <= asked, (name, changed - asked)


@pytest.mark.parametrize(
    "name, lever", [("v3-ycbcr-256", "v3-ycbcr"), ("v3-lowpass-256", "v3-lowpass")]
)
def test_the_long_run_recipes_join_a_colour_lever_and_the_evaluation_scale(name, lever):
    cfg = tr.recipe_config(name, bf16=False)
    colour, stage = tr.recipe_config(lever, False), tr.recipe_config("v3-stage256", False)
    assert cfg.loss == colour.loss and cfg.loss != stage.loss
    assert cfg.data == stage.data and cfg.data.image_size == 256
    assert cfg.mask == stage.mask and cfg.train.global_batch_size == 4


def test_the_lowpass_recipe_keeps_the_rgb_l1_whole():
    cfg = tr.recipe_config("v3-lowpass-256", bf16=False)
    assert cfg.loss.colour_space == "rgb" and cfg.loss.colour_lowpass_weight == 2.0


@pytest.mark.parametrize("name, weight", [("v3-fm-256", 0.1), ("v3-fm1-256", 1.0)])
def test_the_feature_matching_recipes_are_the_lowpass_recipe_plus_the_term(name, weight):
    fm, lp = (tr.recipe_config(n, bf16=False) for n in (name, "v3-lowpass-256"))
    assert fm.loss.feature_matching_weight == weight and lp.loss.feature_matching_weight == 0.0
    assert dataclasses.replace(fm.loss, feature_matching_weight=0.0) == lp.loss
    assert (fm.data, fm.mask, fm.train, fm.generator) == (lp.data, lp.mask, lp.train, lp.generator)


def test_the_wide_recipe_warm_starts_exactly_from_the_shipped_generator():
    import numpy as np

    from keras_pggan.models.generator import build_generator
    from keras_pggan.models.saved import load_generator
    from keras_pggan.training.warm_start import widen_inner_layers

    wide, lp = (tr.recipe_config(n, bf16=False) for n in ("v3-wide-256", "v3-lowpass-256"))
    assert (wide.data, wide.mask, wide.train, wide.loss) == (lp.data, lp.mask, lp.train, lp.loss)
    assert dataclasses.replace(wide.generator, residual_filters=None) == lp.generator
    shipped = load_generator(os.path.join(tr.REPO, tr.V3_INIT))
    g = build_generator(wide.generator)
    assert g.get_layer("res1_1_conv").filters == 2 * shipped.get_layer("res1_1_conv").filters
    assert len(widen_inner_layers(g, shipped)) == 2 * len(wide.generator.dilation_rates)
    rng = np.random.default_rng(0)
    x = {
        "image": rng.uniform(-1, 1, (1, 32, 32, 3)).astype("float32"),
        "mask": np.pad(np.ones((1, 16, 16, 1), "float32"), ((0, 0), (8, 8), (8, 8), (0, 0))),
    }
    np.testing.assert_allclose(g(x).numpy(), shipped(x).numpy(), atol=1e-4)


def test_config_command_writes_a_loadable_config_and_keeps_an_existing_file(tmp_path, capsys):
    out = tmp_path / "long.json"
    assert script.main(["config", "v3-ycbcr-256", "--out", str(out)]) == 0
    cfg = ExperimentConfig.load(str(out))
    assert cfg == tr.recipe_config("v3-ycbcr-256", bf16=False)
    out.write_text("{}")
    assert script.main(["config", "v3-ycbcr", "--out", str(out)]) == 2
    assert "--out" in capsys.readouterr().err and json.loads(out.read_text()) == {}
    assert script.main(["config", "v3-ycbcr", "--out", str(out), "--overwrite"]) == 0
    assert ExperimentConfig.load(str(out)).loss.chroma_weight == 3.0


@pytest.mark.parametrize("name", ["v3-nope", ""])
def test_config_command_names_the_known_recipes_for_an_unknown_one(tmp_path, capsys, name):
    assert script.main(["config", name, "--out", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert f"unknown recipe {name!r}" in err and "v3-ycbcr-256" in err
    assert not (tmp_path / "x.json").exists()
