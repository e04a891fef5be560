"""The quick start's ending: the shipped model repairing an embedded photo; --verbose auto."""

import numpy as np
import pytest
import skimage.data
from PIL import Image

from keras_pggan.errors import UserError
from keras_pggan.inference import demo
from keras_pggan.train import __main__ as train_cmd


def test_scratch_demo_repairs_only_the_scratches_and_keeps_earlier_files(tmp_path):
    out = tmp_path / "demo"
    paths = demo.scratch_demo(str(out), model="pggan_dres-int8")
    photo = skimage.data.astronaut()
    holes = np.asarray(Image.open(paths["mask"]).convert("L")) >= 128
    repaired = np.asarray(Image.open(paths["repaired"]))
    scratched = np.asarray(Image.open(paths["scratched"]))
    assert paths["hole_pixels"] == holes.sum() and 0.01 < holes.mean() < 0.1
    np.testing.assert_array_equal(repaired[~holes], photo[~holes])  # known pixels kept
    assert (scratched[holes] == 255).all()
    # The fill is close to the truth in the scratches: thin holes are what the model does best.
    err = np.abs(repaired[holes].astype(int) - photo[holes].astype(int)).mean()
    white = np.abs(255 - photo[holes].astype(int)).mean()
    assert err < 0.2 * white, (err, white)
    sheet = np.asarray(Image.open(paths["before_after"]))
    assert sheet.shape == (512, 1032, 3)
    with pytest.raises(UserError, match="overwrite"):
        demo.scratch_demo(str(out), model="pggan_dres-int8")
    np.testing.assert_array_equal(demo.scratch_mask(64, 48, seed=3), demo.scratch_mask(64, 48, 3))


def test_verbose_auto_is_a_line_per_epoch_when_redirected(monkeypatch):
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    assert train_cmd._verbosity("auto") == 2
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert train_cmd._verbosity("auto") == 1
    assert train_cmd._verbosity("0") == 0
    with pytest.raises(UserError, match="--verbose"):
        train_cmd._verbosity("loud")


def test_after_demo_lines_name_the_image_and_the_interpreter(tmp_path, monkeypatch):
    written = {"before_after": str(tmp_path / "x.png"), "hole_pixels": 1234}
    monkeypatch.setattr(demo, "scratch_demo", lambda out: {**written, "out": out})
    lines = demo.after_demo_lines(str(tmp_path), "demo", "/venv/bin/python")
    assert lines[2].endswith(f"(1,234 hole pixels): {tmp_path / 'x.png'}")
    assert [ln.split()[0] for ln in lines[-3:]] == ["/venv/bin/python"] * 3

    def missing(out):
        raise FileNotFoundError("saved_models/pggan_dres.keras: not here")

    monkeypatch.setattr(demo, "scratch_demo", missing)
    lines = demo.after_demo_lines(str(tmp_path), "demo")
    assert lines[2] == "(no shipped-model demo: saved_models/pggan_dres.keras: not here)"
    assert lines[-1].split()[:3] == ["python", "-m", "keras_pggan.train"]
