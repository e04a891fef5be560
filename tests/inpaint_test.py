"""Inpainter (Keras / SavedModel / TFLite), the any-size strategy and the inpaint CLI."""

import os

import numpy as np
import pytest
from PIL import Image

from keras_pggan.data.imageio import load_rgb
from keras_pggan.inference.backends import BACKEND_TOLERANCE_U8, KerasBackend
from keras_pggan.inference.fill import fill_holes
from keras_pggan.inference.inpainter import Inpainter
from keras_pggan.inference.regions import plan_regions
from keras_pggan.inpaint.__main__ import main

pytestmark = pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")


# Fixtures `generator` (the tiny preset) and `model_path` (it, saved): conftest.py.


class RecordingBackend:
    """Wraps a backend and records the [B,H,W] of every network run."""

    def __init__(self, backend):
        self.inner, self.name, self.pad_multiple = backend, "recording", backend.pad_multiple
        self.shapes = []

    def run(self, image01, mask01):
        self.shapes.append(image01.shape[:3])
        return self.inner.run(image01, mask01)


def smooth_image(h, w, seed=0):
    """A photo-like uint8 image (gradients and waves) of any size."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        fy, fx = rng.uniform(0.002, 0.02, 2)
        img[..., c] = 0.5 + 0.35 * np.sin(fy * yy + fx * xx + c)
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)


def save(path, array, **kwargs):
    Image.fromarray(array).save(path, **kwargs)
    return str(path)


def read(path):
    with Image.open(path) as im:
        return np.asarray(im)


def test_known_pixels_are_byte_identical_and_holes_filled(generator):
    image = smooth_image(40, 56, seed=1)
    mask = np.zeros((40, 56), bool)
    mask[10:25, 12:40] = True
    inpainter = Inpainter(generator)
    out = inpainter(image, mask)
    assert out.dtype == np.uint8 and out.shape == image.shape
    np.testing.assert_array_equal(out[~mask], image[~mask])
    assert (out[mask] != image[mask]).mean() > 0.5  # the holes hold the network's fill
    # The fill is the generator's composited output (40×56 is a multiple of 4: no padding).
    ref = fill_holes(generator, image[None] / 255.0, mask[None, ..., None].astype("float32"))
    ref = np.round(np.clip(ref.numpy()[0], 0, 1) * 255).astype(np.uint8)
    assert np.abs(out.astype(int) - ref).max() <= 1
    # {0,1} float, uint8 0/255 and [H,W,1] masks mean the same; predict_batch agrees.
    for m in (mask.astype(np.float32), mask.astype(np.uint8) * 255, mask[..., None]):
        np.testing.assert_array_equal(inpainter(image, m), out)
    np.testing.assert_array_equal(inpainter.predict_batch(image[None], mask[None])[0], out)
    with pytest.raises(ValueError, match="mask is 56x39"):
        inpainter(image, mask[:39])


def test_non_square_odd_size_round_trips_at_its_own_size(generator, model_path, tmp_path):
    image = smooth_image(333, 517, seed=2)
    mask = np.zeros((333, 517), np.uint8)
    mask[100:180, 200:330] = 255
    src = save(tmp_path / "odd.png", image)
    mask_path = save(tmp_path / "odd_mask.png", mask)
    out_path = str(tmp_path / "out.png")
    assert main(["--model", model_path, src, "--mask", mask_path, "-o", out_path]) == 0
    out = read(out_path)
    assert out.shape == (333, 517, 3)
    holes = mask > 0
    np.testing.assert_array_equal(out[~holes], image[~holes])
    # 517 > 512 px: the CLI ran one 333×512 crop around the hole. The whole image in one run
    # (working_size=None) is mirror-padded to the multiple (4), 336×520, and cropped back.
    rec = RecordingBackend(KerasBackend(generator))
    whole = Inpainter(rec, working_size=None)(image, holes)
    assert rec.shapes == [(1, 333, 517)]
    np.testing.assert_array_equal(whole[~holes], image[~holes])
    pad = ((0, 3), (0, 3))
    x = np.pad(image / 255.0, (*pad, (0, 0)), mode="symmetric")[None]
    m = np.pad(holes.astype("float32"), pad, mode="symmetric")[None, ..., None]
    ref = fill_holes(generator, x, m).numpy()[0, :333, :517]
    ref = np.round(np.clip(ref, 0, 1) * 255).astype(np.uint8)
    assert np.abs(whole.astype(int) - ref).max() <= 1


def test_mask_as_grey_rgb_and_alpha_give_the_same_result(model_path, tmp_path):
    image = smooth_image(48, 60, seed=3)
    holes = np.zeros((48, 60), bool)
    holes[5:20, 30:55] = True
    holes[30:44, 4:12] = True
    grey = save(tmp_path / "grey.png", holes.astype(np.uint8) * 255)
    rgb = np.zeros((48, 60, 3), np.uint8)
    rgb[holes] = (255, 255, 255)
    rgb[~holes] = (0, 40, 0)  # dark but not black: still "known"
    rgb_path = save(tmp_path / "rgb.png", rgb)
    src = save(tmp_path / "photo.png", image)
    rgba = np.dstack([image, np.where(holes, 0, 255).astype(np.uint8)])
    rgba_path = save(tmp_path / "photo_rgba.png", rgba)
    outs = []
    for i, args in enumerate(([src, "--mask", grey], [src, "--mask", rgb_path], [rgba_path])):
        out_path = str(tmp_path / f"out{i}.png")
        assert main(["--model", model_path, *args, "-o", out_path]) == 0
        outs.append(read(out_path))
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])
    np.testing.assert_array_equal(outs[0][~holes], image[~holes])
    assert (outs[0][holes] != image[holes]).any()


def test_large_image_with_small_hole_takes_the_crop_path(generator):
    image = smooth_image(2000, 3000, seed=4)
    holes = np.zeros((2000, 3000), bool)
    holes[1200:1230, 2100:2160] = True
    rec = RecordingBackend(KerasBackend(generator))
    inpainter = Inpainter(rec)
    (region,) = inpainter.plan(holes)
    assert (region.height, region.width, region.scale) == (512, 512, 1.0)
    assert region.top <= 1200 and region.top + 512 >= 1230
    assert region.left <= 2100 and region.left + 512 >= 2160
    out = inpainter(image, holes)
    assert rec.shapes == [(1, 512, 512)]
    np.testing.assert_array_equal(out[~holes], image[~holes])
    # The pasted fill is exactly what the crop alone gives: no offset, no resampling.
    rows, cols = region.slices
    crop_out = Inpainter(generator, working_size=None)(image[rows, cols], holes[rows, cols])
    np.testing.assert_array_equal(out[rows, cols], crop_out)


def test_large_hole_is_downscaled_and_far_holes_run_separately(generator):
    image = smooth_image(1200, 1600, seed=5)
    holes = np.zeros((1200, 1600), bool)
    holes[100:900, 200:1000] = True  # 800² hole: its crop must be downscaled
    holes[1150:1170, 1550:1580] = True  # far away: a separate full-resolution run
    rec = RecordingBackend(KerasBackend(generator))
    inpainter = Inpainter(rec, working_size=256)
    regions = inpainter.plan(holes)
    assert len(regions) == 2
    big, small = sorted(regions, key=lambda r: r.scale)
    assert big.scale < 1 and max(big.network_size) == 256
    assert small.scale == 1 and (small.height, small.width) == (256, 256)
    out = inpainter(image, holes)
    assert all(max(s[1:]) <= 256 for s in rec.shapes) and len(rec.shapes) == 2
    np.testing.assert_array_equal(out[~holes], image[~holes])
    assert (out[holes] != image[holes]).mean() > 0.5
    assert plan_regions(np.zeros((10, 10), bool)) == []


def test_exif_orientation_is_respected(model_path, tmp_path):
    stored = smooth_image(40, 64, seed=6)  # stored 64 wide, 40 high; displayed rotated
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise for display
    src = save(tmp_path / "rotated.jpg", stored, exif=exif, quality=95)
    shown = load_rgb(src)
    assert shown.shape == (64, 40, 3)
    holes = np.zeros((64, 40), bool)
    holes[10:30, 5:20] = True
    good = save(tmp_path / "good_mask.png", holes.astype(np.uint8) * 255)
    bad = save(tmp_path / "bad_mask.png", holes.T.astype(np.uint8) * 255)
    out_path = str(tmp_path / "out.png")
    assert main(["--model", model_path, src, "--mask", good, "-o", out_path]) == 0
    out = read(out_path)
    assert out.shape == (64, 40, 3)
    np.testing.assert_array_equal(out[~holes], shown[~holes])
    assert main(["--model", model_path, src, "--mask", bad, "-o", str(tmp_path / "b.png")]) == 2


def test_cli_errors_exit_2_and_never_overwrite(model_path, tmp_path, capsys):
    image = smooth_image(32, 48, seed=7)
    src = save(tmp_path / "in.png", image)
    mask = save(tmp_path / "m.png", np.full((20, 30), 255, np.uint8))
    out = tmp_path / "out.png"

    def run(*args):
        code = main(["--model", model_path, *args])
        return code, capsys.readouterr().err

    code, err = run(src, "--mask", mask, "-o", str(out))
    assert code == 2 and "m.png is 30x20 (WxH)" in err and "in.png is 48x32" in err
    code, err = run(str(tmp_path / "missing.png"), "--mask", mask, "-o", str(out))
    assert code == 2 and "missing.png" in err
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image at all")
    code, err = run(str(broken), "--mask", mask, "-o", str(out))
    assert code == 2 and "broken.png" in err and "decode" in err
    code, err = run(src, "-o", str(out))
    assert code == 2 and "no transparent pixels" in err
    opaque = save(tmp_path / "opaque.png", np.dstack([image, np.full((32, 48), 255, np.uint8)]))
    code, err = run(opaque, "-o", str(out))  # an all-opaque alpha is not a mask
    assert code == 2 and "opaque.png: no mask given" in err
    code, err = run(src, "--mask", mask, "-o", str(tmp_path / "out.xyz"))
    assert code == 2 and "out.xyz" in err
    # Never over the input, nor over an existing output, without --overwrite.
    good_mask = save(tmp_path / "g.png", np.pad(np.full((8, 8), 255, np.uint8), ((4, 20), (8, 32))))
    with open(src, "rb") as f:
        before = f.read()
    code, err = run(src, "--mask", good_mask, "-o", src)
    with open(src, "rb") as f:
        assert code == 2 and "--overwrite" in err and f.read() == before
    out.write_bytes(b"keep me")
    code, err = run(src, "--mask", good_mask, "-o", str(out))
    assert code == 2 and "exists" in err and out.read_bytes() == b"keep me"
    code, _ = run(src, "--mask", good_mask, "-o", str(out), "--overwrite")
    assert code == 0 and read(str(out)).shape == (32, 48, 3)
    # JPEG output from the extension.
    code, _ = run(src, "--mask", good_mask, "-o", str(tmp_path / "out.jpg"))
    with Image.open(tmp_path / "out.jpg") as im:
        assert code == 0 and im.format == "JPEG"
    code, err = run(src)
    assert code == 2 and "-o/--output is required" in err


def test_folder_mode_matches_masks_and_reports_failures(model_path, tmp_path, capsys):
    src, masks, out = tmp_path / "in", tmp_path / "masks", tmp_path / "out"
    src.mkdir()
    masks.mkdir()
    holes = np.zeros((32, 40), bool)
    holes[8:20, 10:30] = True
    images = {name: smooth_image(32, 40, seed=i) for i, name in enumerate("abcd")}
    save(src / "a.png", images["a"])
    save(src / "a_mask.png", holes.astype(np.uint8) * 255)
    save(src / "b.png", np.dstack([images["b"], np.where(holes, 0, 255).astype(np.uint8)]))
    save(src / "c.jpg", images["c"], quality=95)
    save(src / "d.png", images["d"])  # no mask anywhere: an error, the others still run
    save(masks / "c.png", holes.astype(np.uint8) * 255)
    code = main(
        ["--model", model_path, "--input-dir", str(src), "--output-dir", str(out), "--quiet"]
    )
    captured = capsys.readouterr()
    assert code == 2 and "d.png" in captured.err and "inpainted 2 of 4" in captured.out
    assert sorted(os.listdir(out)) == ["a.png", "b.png"]
    for name in "ab":
        got = read(str(out / f"{name}.png"))[..., :3]
        np.testing.assert_array_equal(got[~holes], images[name][~holes])
    code = main(
        [
            "--model",
            model_path,
            "--input-dir",
            str(src),
            "--output-dir",
            str(out),
            "--quiet",
            "--mask-dir",
            str(masks),
            "--ext",
            "png",
        ]
    )
    captured = capsys.readouterr()
    # a/b exist already (not overwritten), d has no mask: only c is new.
    assert code == 2 and "inpainted 1 of 4" in captured.out
    assert sorted(os.listdir(out)) == ["a.png", "b.png", "c.png"]


def test_from_path_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.keras"):
        Inpainter.from_path(str(tmp_path / "nope.keras"))
    other = tmp_path / "model.onnx"
    other.write_bytes(b"x")
    with pytest.raises(ValueError, match="expected a .keras file"):
        Inpainter.from_path(str(other))
    with pytest.raises(ValueError, match="neither a SavedModel"):
        Inpainter.from_path(str(tmp_path))


@pytest.mark.large
def test_backends_agree_keras_saved_model_tflite(generator, model_path, tmp_path):
    from keras_pggan.export.saved_model import export_saved_model
    from keras_pggan.export.tflite import export_tflite

    export_saved_model(generator, str(tmp_path / "sm"), version=1, warmup=False)
    export_tflite(generator, str(tmp_path / "g.tflite"), mode="fp32")
    image = smooth_image(45, 70, seed=8)  # not a multiple of 4: every backend pads
    holes = np.zeros((45, 70), bool)
    holes[10:30, 20:50] = True
    keras_out = Inpainter.from_path(model_path)
    outs = {"keras": keras_out(image, holes)}
    for name, path in (("saved_model", tmp_path / "sm"), ("tflite", tmp_path / "g.tflite")):
        inpainter = Inpainter.from_path(str(path))
        assert inpainter.backend_name == name
        outs[name] = inpainter(image, holes)
        batch = inpainter.predict_batch(np.stack([image, image]), np.stack([holes, holes]))
        np.testing.assert_array_equal(batch[1], outs[name])
    assert keras_out.backend_name == "keras"
    for name, out in outs.items():
        np.testing.assert_array_equal(out[~holes], image[~holes])
        diff = np.abs(out.astype(int) - outs["keras"])
        assert diff.max() <= BACKEND_TOLERANCE_U8, name
        assert (diff[holes] == 0).mean() > 0.9, name


# -- the fill's contracts (keras_pggan.inference.fill) and SavedModel versions ---------------------
def test_value_ranges_and_compositing_contracts():
    from keras_pggan.inference import fill

    x = np.array([0.0, 0.25, 1.0], np.float32)
    np.testing.assert_array_equal(fill.to_model_range(x), [-1.0, -0.5, 1.0])
    np.testing.assert_array_equal(fill.from_model_range(fill.to_model_range(x)), x)
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(1, 2, 3, 3)
    holes = np.array([[[1, 0, 0], [0, 0, 1]]], bool)  # [B,H,W]
    out = fill.composite_np(np.uint8(200), image, holes)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[holes], 200)
    np.testing.assert_array_equal(out[~holes], image[~holes])  # the input's bytes
    # The in-graph blend equals the select for a binary mask.
    image01 = image / 255.0
    fill01 = np.full_like(image01, 0.5)
    m = holes[..., None].astype(np.float64)
    np.testing.assert_array_equal(
        fill.composite(fill01, image01, m), fill.composite_np(fill01, image01, m)
    )
    white = fill.masked_view(image, holes[..., None])
    np.testing.assert_array_equal(white[holes], 255)
    assert fill.masked_view(image01, holes)[holes].min() == 1.0
    assert [fill.round_up(n, 4) for n in (0, 1, 4, 5, 8)] == [0, 4, 4, 8, 8]
    a, b = fill.pad_to_multiple(np.zeros((1, 5, 7, 3)), np.zeros((1, 5, 7, 1)), 4)
    assert a.shape == (1, 8, 8, 3) and b.shape == (1, 8, 8, 1)


def test_latest_version_counts_numeric_folders_and_complete_ones(tmp_path):
    from keras_pggan.inference.backends import is_version, latest_version

    assert latest_version(str(tmp_path / "missing")) is None
    for name in ("1", "2", "10", "abc", "３"):  # a full-width digit is no version
        (tmp_path / name).mkdir()
    (tmp_path / "2" / "saved_model.pb").write_bytes(b"")
    (tmp_path / "11").write_text("a file, not a version")
    assert latest_version(str(tmp_path)) == 10
    assert latest_version(str(tmp_path), complete=True) == 2
    assert is_version("12") and not is_version("12\n") and not is_version("３")
