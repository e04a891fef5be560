import dataclasses
import json

import pytest

from keras_pggan import config as C


@pytest.mark.parametrize("name", sorted(C.PRESETS))
def test_presets_round_trip_json(name):
    cfg = C.get_preset(name)
    back = C.ExperimentConfig.from_json(cfg.to_json())
    assert back == cfg
    assert isinstance(back.generator.dilation_rates, tuple)
    assert json.loads(cfg.to_json())["name"] == cfg.name


def test_paper_presets_shape():
    dres, res = C.get_preset("pggan-dres"), C.get_preset("pggan-res")
    assert (dres.generator.variant, dres.generator.num_downsamplings) == ("dres", 2)
    assert (res.generator.variant, res.generator.num_downsamplings) == ("res", 3)
    assert dres.data.image_size == res.data.image_size == 256
    assert list(dres.generator.dilation_rates[:4]) == [1, 2, 4, 8]
    assert set(res.generator.dilation_rates) == {1}
    # The paper's loss weights.
    assert (dres.loss.l1_weight, dres.loss.global_adv_weight, dres.loss.patch_adv_weight) == (
        0.995,
        0.0025,
        0.0025,
    )


@pytest.mark.parametrize(
    "sections, field",
    [
        ({"generator": {"variant": "unet"}}, "GeneratorConfig.variant"),
        ({"generator": {"base_filters": 0}}, "GeneratorConfig.base_filters"),
        (
            {"generator": {"variant": "res", "dilation_rates": [1, 2]}},
            "GeneratorConfig.dilation_rates",
        ),
        ({"discriminator": {"variant": "both"}}, "DiscriminatorConfig.variant"),
        ({"loss": {"adversarial": "wgan"}}, "LossConfig.adversarial"),
        ({"loss": {"l1_weight": -1}}, "LossConfig.l1_weight"),
        ({"data": {"image_size": 100}}, "DataConfig.image_size"),
        ({"mask": {"min_hole_ratio": 0.6, "max_hole_ratio": 0.5}}, "MaskConfig.max_hole_ratio"),
        ({"train": {"global_batch_size": 0}}, "TrainConfig.global_batch_size"),
        ({"train": {"seed": -3}}, "TrainConfig.seed"),
    ],
)
def test_bad_config_names_the_field(sections, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        C.get_preset("pggan-dres").replace(**sections)


def test_unknown_field_and_bad_json_are_rejected():
    d = C.get_preset("tiny").to_dict()
    d["train"]["epoch"] = 3
    with pytest.raises(
        ValueError, match=r"ExperimentConfig\.train: unknown field\(s\) \['epoch'\]"
    ):
        C.ExperimentConfig.from_dict(d)
    with pytest.raises(ValueError, match="not valid JSON"):
        C.ExperimentConfig.from_json("{")
    with pytest.raises(ValueError, match="unknown preset 'x'"):
        C.get_preset("x")


def test_load_names_the_file(tmp_path):
    p = tmp_path / "config.json"
    p.write_text('{"train": {"epochs": 0}}')
    with pytest.raises(ValueError, match=r"config\.json: TrainConfig\.epochs"):
        C.ExperimentConfig.load(str(p))


def test_replace_and_frozen():
    cfg = C.get_preset("tiny").replace(train={"epochs": 7}, name="x")
    assert cfg.train.epochs == 7 and cfg.name == "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.train.epochs = 3
    assert C.get_preset("pggan-res").generator.pad_multiple == 8
    assert C.get_preset("pggan-dres").discriminator.patch_stride == 16


def test_presets_live_in_their_own_module_and_stay_importable_from_config():
    import keras_pggan
    from keras_pggan import presets

    assert C.get_preset is presets.get_preset is keras_pggan.get_preset
    assert C.PRESETS is presets.PRESETS
    assert presets.get_preset("tiny") == C.get_preset("tiny")
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        C.nothing  # noqa: B018
