"""``evaluate --save-outputs``: one folder per method, the same image ids in each, and a study
built on them."""

import os

import numpy as np
import pytest
from PIL import Image

from keras_pggan.data.masks import load_eval_set
from keras_pggan.evaluate.__main__ import main
from keras_pggan.evaluation import saved_outputs
from keras_pggan.evaluation.evaluate import load_eval_image

SIZE = 32


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(40, 48), (32, 32), (50, 37)]):
        a = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(a).save(folder / f"img{i}.png")
    return str(folder)


def test_evaluate_saves_every_method_per_image(model_path, photos, tmp_path):
    from keras_pggan.studio.study import find_items

    out = tmp_path / "eval"
    args = ["--compare", f"pggan={model_path}", "--data", photos, "--mask-kind", "center"]
    args += ["--size", str(SIZE), "--out", str(out), "--baselines", "mean", "--quiet"]
    assert main([*args, "--save-outputs"]) == 0
    root = out / "outputs"
    assert sorted(os.listdir(root)) == ["masked", "mean", "original", "pggan"]
    for method in os.listdir(root):
        assert sorted(os.listdir(root / method)) == ["00000.png", "00001.png", "00002.png"]
    masks, _ = load_eval_set(str(out / "masks"))
    for i in range(3):
        truth = load_eval_image(os.path.join(photos, f"img{i}.png"), SIZE)
        saved = {m: np.asarray(Image.open(root / m / f"{i:05d}.png")) for m in os.listdir(root)}
        np.testing.assert_array_equal(saved["original"], truth)
        known = masks[i] == 0
        for m in ("pggan", "mean"):  # composited outputs: known pixels are the truth's
            assert saved[m].shape == (SIZE, SIZE, 3)
            np.testing.assert_array_equal(saved[m][known], truth[known])
        assert (saved["masked"][~known] == 255).all()
    methods, ids, _ = find_items(str(root))
    assert methods == ["original", "mean", "pggan"] and ids == ["00000", "00001", "00002"]


def test_reserved_or_unsafe_labels_are_refused_before_anything_runs(model_path, photos, tmp_path):
    for label in ("original", "masked", "../up", "a/b"):
        out = tmp_path / label.replace("/", "_").replace(".", "_")
        args = ["--compare", f"{label}={model_path}", "--data", photos, "--mask-kind", "center"]
        args += ["--size", str(SIZE), "--out", str(out), "--save-outputs", "--quiet"]
        assert main(args) == 2, label
        assert not out.exists(), label
    with pytest.raises(ValueError, match="reserved for the truth crops"):
        saved_outputs.check_method_names(["original"])
