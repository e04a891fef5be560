"""The shipped model (saved_models/): every format loads, they agree, the card matches the files."""

import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = os.path.join(ROOT, "saved_models")
KERAS = os.path.join(SHIPPED, "pggan_dres.keras")
pytestmark = pytest.mark.skipif(
    not os.path.exists(KERAS), reason="no shipped model in this checkout (saved_models/)"
)


@pytest.fixture(scope="module")
def photo_and_mask():
    from keras_pggan.data import masks as masks_lib
    from keras_pggan.data.pipeline import default_photo_paths
    from keras_pggan.evaluation.evaluate import load_eval_image

    path = [p for p in default_photo_paths() if p.endswith("chelsea.png")][0]
    image = load_eval_image(path, 256)
    mask = masks_lib.make_eval_masks("freeform", 256, 1, seed=3)[0].astype(bool)
    return image, mask


@pytest.fixture(scope="module")
def keras_output(photo_and_mask):
    from keras_pggan.inference.inpainter import Inpainter

    return Inpainter.from_path(KERAS)(*photo_and_mask)


@pytest.mark.parametrize(
    "path, max_level, max_mean",
    [
        ("pggan_dres", 1, 0.05),  # SavedModel: same float graph, rounding only
        ("pggan_dres-fp32.tflite", 1, 0.05),
        ("pggan_dres-int8.tflite", 64, 4.0),  # full-integer quantisation, in uint8 levels
    ],
)
def test_formats_agree_and_keep_known_pixels(
    photo_and_mask, keras_output, path, max_level, max_mean
):
    from keras_pggan.inference.inpainter import Inpainter

    image, mask = photo_and_mask
    out = Inpainter.from_path(os.path.join(SHIPPED, path))(image, mask)
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[~mask], image[~mask])
    diff = np.abs(out.astype(int) - keras_output.astype(int))[mask]
    assert diff.max() <= max_level and diff.mean() <= max_mean, (diff.max(), diff.mean())


def test_keras_output_fills_the_hole(photo_and_mask, keras_output):
    image, mask = photo_and_mask
    np.testing.assert_array_equal(keras_output[~mask], image[~mask])
    assert not np.array_equal(keras_output[mask], image[mask])


def test_shipped_size_budget():
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(SHIPPED) for f in fs)
    assert total <= 60e6, total


def test_model_card_markdown_is_the_rendering_of_its_json():
    from keras_pggan.reports.model_card import read_card, render_model_card

    md = open(os.path.join(SHIPPED, "MODEL_CARD.md"), encoding="utf-8").read()
    assert md == render_model_card(read_card(SHIPPED))


@pytest.mark.large
def test_model_card_numbers_are_regenerated_from_the_files():
    from keras_pggan.reports.model_card import read_card
    from keras_pggan.reports.ship import regression_metrics

    card = read_card(SHIPPED)
    got = regression_metrics(KERAS)
    for kind, want in card["regression"]["keras"].items():
        for metric, value in want.items():
            assert got[kind][metric] == pytest.approx(value, abs=1e-3), (kind, metric)
