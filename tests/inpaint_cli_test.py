"""Silent mask mistakes in ``python -m keras_pggan.inpaint`` (issue #19) and folder mode.

0/1 masks mean 1 = hole; a mostly-hole mask (inverted?) and a mask without holes are warned
about; a "mask" that looks like a photo (image and mask swapped) is refused unless ``--force``;
anti-aliased masks still pass. Folder mode names its mask rules, walks sub-folders and writes PNG.
"""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageFilter

from keras_pggan.data import imageio
from keras_pggan.inference.inpainter import Inpainter
from keras_pggan.inpaint.__main__ import build_parser, main
from keras_pggan.testing import corpus

H, W = 32, 48


# Fixtures `generator` (the tiny preset) and `model_path` (it, saved): conftest.py.


def save(path, array, **kwargs):
    Image.fromarray(array).save(path, **kwargs)
    return str(path)


def read(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def box(h=H, w=W):
    holes = np.zeros((h, w), bool)
    holes[8:20, 10:30] = True
    return holes


@pytest.fixture
def cli(model_path, capsys):
    def run(*args):
        code = main(["--model", model_path, "--quiet", *map(str, args)])
        out, err = capsys.readouterr()
        return code, out, err

    return run


# -- 1. 0/1 masks: 1 = hole, in numpy, in-graph and through the CLI --------------------------------


def test_01_mask_files_mean_1_is_hole(cli, tmp_path):
    holes = box()
    ones = holes.astype(np.uint8)
    arrays = {
        "grey": ones,
        "rgb": np.repeat(ones[..., None], 3, -1),
        "grey_alpha_opaque": np.dstack([ones, np.full((H, W), 255, np.uint8)]),
        "rgba_opaque": np.dstack([np.repeat(ones[..., None], 3, -1), np.full((H, W), 255)]),
    }
    for name, a in arrays.items():
        a = a.astype(np.uint8)
        np.testing.assert_array_equal(imageio.hole_from_array(a), holes, err_msg=name)
        got = imageio.hole_from_tensor(tf.constant(a if a.ndim == 3 else a[..., None]))
        np.testing.assert_array_equal(got.numpy(), holes, err_msg=name)
    # RGB 0/1 is read as if it were 0/255: luma of 255·(R,G,B) (red 76: known, green 150: hole).
    rgb = np.array([[[1, 0, 0], [0, 1, 0], [1, 1, 1], [0, 0, 0]]], np.uint8)
    np.testing.assert_array_equal(imageio.hole_from_array(rgb), [[0, 1, 1, 0]])
    np.testing.assert_array_equal(
        imageio.hole_from_tensor(tf.constant(rgb)).numpy(), [[0, 1, 1, 0]]
    )
    # A transparent alpha still wins; a 0..2 file is not a 0/1 file (2 < 128: no hole).
    rgba = np.dstack([np.ones((2, 2, 3)), [[0, 255], [255, 255]]]).astype(np.uint8)
    np.testing.assert_array_equal(imageio.hole_from_array(rgba), [[1, 0], [0, 0]])
    assert not imageio.hole_from_array(np.array([[0, 1, 2]], np.uint8)).any()
    # The CLI: a 0/1 mask file gives exactly the output of the same mask saved 0/255.
    photo = save(tmp_path / "photo.png", corpus.smooth_image(H, W, seed=1))
    m01 = save(tmp_path / "m01.png", ones)
    m255 = save(tmp_path / "m255.png", ones * 255)
    code, _, err = cli(photo, "--mask", m01, "-o", tmp_path / "a.png")
    assert code == 0 and "warning" not in err, err
    code, _, _ = cli(photo, "--mask", m255, "-o", tmp_path / "b.png")
    assert code == 0
    np.testing.assert_array_equal(read(tmp_path / "a.png"), read(tmp_path / "b.png"))
    assert (read(tmp_path / "a.png")[holes] != read(photo)[holes]).any()


# -- 1. mostly hole (inverted?), no hole, --invert-mask ------------------------------------------


def test_mostly_hole_mask_warns_naming_file_ratio_and_cause(cli, tmp_path):
    holes = box()
    photo = save(tmp_path / "photo.png", corpus.smooth_image(H, W, seed=2))
    inverted = save(tmp_path / "black_is_hole.png", np.where(holes, 0, 255).astype(np.uint8))
    code, out, err = cli(photo, "--mask", inverted, "-o", tmp_path / "out.png")
    ratio = f"{(~holes).mean():.0%}"  # 84%
    assert code == 0 and (tmp_path / "out.png").exists(), err
    assert err.startswith("warning: mask ") and inverted in err and ratio in err, err
    assert "white = hole" in err and "inverted" in err and "--invert-mask" in err, err
    # --invert-mask: black = hole masks give the white = hole result, without a warning.
    white = save(tmp_path / "white_is_hole.png", np.where(holes, 255, 0).astype(np.uint8))
    code, _, err = cli(photo, "--mask", inverted, "--invert-mask", "-o", tmp_path / "inv.png")
    assert code == 0 and err == "", err
    code, _, _ = cli(photo, "--mask", white, "-o", tmp_path / "white.png")
    np.testing.assert_array_equal(read(tmp_path / "inv.png"), read(tmp_path / "white.png"))
    # --invert-mask on a white = hole mask: the warning says to drop it.
    code, _, err = cli(photo, "--mask", white, "--invert-mask", "-o", tmp_path / "twice.png")
    assert code == 0 and "drop --invert-mask" in err and white in err, err


def test_mask_without_holes_warns_and_output_equals_input(cli, tmp_path):
    image = corpus.smooth_image(H, W, seed=3)
    photo = save(tmp_path / "photo.png", image)
    empty = save(tmp_path / "empty.png", np.zeros((H, W), np.uint8))
    code, _, err = cli(photo, "--mask", empty, "-o", tmp_path / "out.png")
    assert code == 0, err
    assert f"mask {empty} has no hole pixels: the output equals the input" in err, err
    np.testing.assert_array_equal(read(tmp_path / "out.png"), image)


# -- 1. photo and mask swapped ---------------------------------------------------------------


def test_photo_given_as_mask_is_refused_unless_force(cli, tmp_path):
    holes = box()
    photo = save(tmp_path / "photo.jpg", corpus.smooth_image(H, W, seed=4), quality=95)
    mask = save(tmp_path / "mask.png", np.where(holes, 255, 0).astype(np.uint8))
    out = tmp_path / "out.png"
    code, _, err = cli(mask, "--mask", photo, "-o", out)  # swapped
    assert code == 2 and not out.exists(), err
    assert f"mask {photo} looks like a photo, not a mask" in err, err
    assert "are --mask and the image" in err and mask in err and "swapped" in err, err
    assert "--force" in err
    # A grey photo (no colour) is refused too.
    grey = save(tmp_path / "grey.png", corpus.smooth_image(H, W, seed=5)[..., 1])
    code, _, err = cli(mask, "--mask", grey, "-o", out)
    assert code == 2 and "looks like a photo" in err and not out.exists(), err
    code, _, err = cli(mask, "--mask", photo, "--force", "-o", out)
    assert code == 0 and out.exists() and "used anyway (--force)" in err, err


def _soft_masks():
    """Anti-aliased, blurred and upscaled masks: grey levels at the edges only."""
    yield "mask_antialiased", corpus.mask_image("mask_antialiased")[0]
    m = np.zeros((128, 128), np.uint8)
    m[30:70, 40:100] = 255
    yy, xx = np.mgrid[:128, :128]
    m[np.hypot(yy - 95, xx - 30) < 20] = 255
    for sigma in (2, 4, 8):
        blurred = np.asarray(Image.fromarray(m).filter(ImageFilter.GaussianBlur(sigma)))
        yield f"blur{sigma}", blurred
    small = Image.fromarray(m).resize((16, 16), Image.BILINEAR)
    upscaled = np.asarray(small.resize((128, 128), Image.BILINEAR))
    yield "upscaled8x", upscaled


def test_soft_edged_masks_are_not_photos(cli, tmp_path):
    for name, grey in _soft_masks():
        assert ((grey > 16) & (grey < 240)).mean() > 0.05, name  # many mid-grey pixels
        assert imageio.mask_problems(grey) == [], name
    grey = corpus.mask_image("mask_antialiased")[0]
    h, w = grey.shape
    photo = save(tmp_path / "photo.png", corpus.smooth_image(h, w, seed=6))
    mask = save(tmp_path / "aa.png", grey)
    code, _, err = cli(photo, "--mask", mask, "-o", tmp_path / "out.png")
    assert code == 0 and err == "", err


def test_mask_problems_library_and_quiet_inpainter(generator, capsys):
    colour = corpus.smooth_image(64, 64, seed=7)
    kinds = [p.kind for p in imageio.mask_problems(colour)]
    assert kinds[0] == "photo"
    assert imageio.mask_problems(colour[..., 0])[0].kind == "photo"
    holes = box()
    white = np.where(holes, 255, 0).astype(np.uint8)
    assert imageio.mask_problems(white) == []
    (p,) = imageio.mask_problems(255 - white)
    assert p.kind == "mostly_hole" and p.hole_ratio == pytest.approx((~holes).mean())
    assert [p.kind for p in imageio.mask_problems(np.zeros((4, 4), np.uint8))] == ["no_hole"]
    # Holes given by the caller (e.g. inverted) are the ones judged.
    assert imageio.mask_problems(255 - white, ~(255 - white >= 128)) == []
    # Flat grey paint (a few levels) is no photo; transparent = hole masks never are.
    painted = np.where(holes, 200, 60).astype(np.uint8)
    assert imageio.mask_problems(painted) == []
    rgba = np.dstack([colour[:H, :W], np.where(holes, 0, 255)]).astype(np.uint8)
    assert imageio.mask_problems(rgba) == []
    # The library API stays quiet: no prints, whatever the mask.
    out = Inpainter(generator)(corpus.smooth_image(H, W), np.ones((H, W), bool))
    assert out.shape == (H, W, 3) and capsys.readouterr() == ("", "")


# -- 2. folder mode -----------------------------------------------------------------------------


def test_folder_mode_names_the_mask_rules(cli, tmp_path):
    src, masks = tmp_path / "in", tmp_path / "masks"
    src.mkdir()
    masks.mkdir()
    save(src / "a.png", corpus.smooth_image(H, W, seed=8))
    code, _, err = cli("--input-dir", src, "--output-dir", tmp_path / "out")
    assert code == 2, err
    assert str(src / "a_mask.png") in err and "--mask-dir" in err and "a.*" in err, err
    assert "transparent" in err and "pass --mask," not in err, err
    code, _, err = cli("--input-dir", src, "--output-dir", tmp_path / "out", "--mask-dir", masks)
    assert code == 2 and str(masks / "a") in err and "a_mask.*" in err, err


def test_folder_mode_is_recursive_and_skips_its_output_and_masks(cli, tmp_path):
    src = tmp_path / "in"
    (src / "sub" / "deeper").mkdir(parents=True)
    holes = box()
    white = np.where(holes, 255, 0).astype(np.uint8)
    images = {}
    for i, rel in enumerate(["a.png", "sub/b.png", "sub/deeper/c.png"]):
        images[rel] = corpus.smooth_image(H, W, seed=10 + i)
        save(src / rel, images[rel])
        save(src / (os.path.splitext(rel)[0] + "_mask.png"), white)
    out = src / "filled"  # inside the input folder
    code, stdout, err = cli("--input-dir", src, "--output-dir", out)
    assert code == 0 and "inpainted 3 of 3" in stdout, err
    for rel, image in images.items():
        got = read(out / rel)
        np.testing.assert_array_equal(got[~holes], image[~holes])
    assert sorted(os.listdir(out / "sub")) == ["b.png", "deeper"]
    # A second run does not take its own outputs (nor their sub-folders) for inputs.
    code, stdout, err = cli("--input-dir", src, "--output-dir", out, "--overwrite")
    assert code == 0 and "inpainted 3 of 3" in stdout, err
    # --mask-dir mirrors the sub-folders; a mask folder inside the input folder is not input.
    masks = src / "masks"
    (masks / "sub").mkdir(parents=True)
    save(masks / "a.png", white)
    save(masks / "sub" / "b_mask.png", white)
    for rel in ("a_mask.png", "sub/b_mask.png", "sub/deeper/c_mask.png"):
        os.remove(src / rel)
    shutil.rmtree(out)
    code, stdout, err = cli("--input-dir", src, "--output-dir", out, "--mask-dir", masks)
    assert code == 2 and "inpainted 2 of 3" in stdout, err
    assert "c.png: no mask" in err and str(masks / "sub" / "deeper" / "c") in err, err
    assert sorted(os.listdir(out)) == ["a.png", "sub"] and os.listdir(out / "sub") == ["b.png"]


def test_folder_mode_writes_png_by_default(cli, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    holes = box()
    save(src / "c.jpg", corpus.smooth_image(H, W, seed=20), quality=90)
    save(src / "c_mask.png", np.where(holes, 255, 0).astype(np.uint8))
    code, _, err = cli("--input-dir", src, "--output-dir", tmp_path / "out")
    assert code == 0 and os.listdir(tmp_path / "out") == ["c.png"], err
    with Image.open(tmp_path / "out" / "c.png") as im:
        assert im.format == "PNG"
    decoded = imageio.load_rgb(str(src / "c.jpg"))  # known pixels exact, not re-encoded
    np.testing.assert_array_equal(read(tmp_path / "out" / "c.png")[~holes], decoded[~holes])
    code, _, err = cli("--input-dir", src, "--output-dir", tmp_path / "j", "--ext", "jpg")
    with Image.open(tmp_path / "j" / "c.jpg") as im:
        assert code == 0 and im.format == "JPEG", err
    assert "default: .png" in build_parser().format_help()
    # photo.jpg and photo.png both → photo.png: the second is an error naming both.
    save(src / "c.png", corpus.smooth_image(H, W, seed=21))
    code, stdout, err = cli("--input-dir", src, "--output-dir", tmp_path / "dup")
    assert code == 2 and "inpainted 1 of 2" in stdout, err
    assert "c.png" in err and "also the output of" in err and "c.jpg" in err, err


def test_folder_mode_refuses_a_photo_mask_and_warns_per_file(cli, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    holes = box()
    save(src / "a.png", corpus.smooth_image(H, W, seed=30))
    save(src / "a_mask.png", corpus.smooth_image(H, W, seed=31))  # a photo as the mask
    save(src / "b.png", corpus.smooth_image(H, W, seed=32))
    save(src / "b_mask.png", np.where(holes, 0, 255).astype(np.uint8))  # inverted
    code, stdout, err = cli("--input-dir", src, "--output-dir", tmp_path / "out")
    assert code == 2 and "inpainted 1 of 2" in stdout, err
    assert "a_mask.png looks like a photo" in err, err
    assert "b_mask.png" in err and "--invert-mask" in err, err
    code, stdout, err = cli(
        "--input-dir", src, "--output-dir", tmp_path / "inv", "--invert-mask", "--force"
    )
    assert code == 0 and "inpainted 2 of 2" in stdout and "used anyway" in err, err


def test_bad_inputs_fail_before_tensorflow_loads(tmp_path):
    """A non-image input or an unknown --model is refused from the headers and names alone."""
    import subprocess
    import sys

    text = tmp_path / "notes.png"
    text.write_text("not an image")
    photo = tmp_path / "photo.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(photo)
    probe = (
        "import sys\n"
        "from keras_pggan.inpaint.__main__ import main\n"
        "rc = main(sys.argv[1:])\n"
        "print('rc', rc, 'tensorflow' in sys.modules)\n"
    )
    cases = [
        ([str(text), "-o", str(tmp_path / "a.png")], "notes.png: cannot decode image"),
        ([str(photo), "--mask", str(text), "-o", str(tmp_path / "b.png")],
         "notes.png: cannot decode mask image"),
        ([str(photo), "--mask", str(photo), "-o", str(tmp_path / "c.png"), "--model", "lama"],
         "lama: no such file, directory or shipped model (known: pggan_dres"),
    ]  # fmt: skip
    for argv, message in cases:
        done = subprocess.run(
            [sys.executable, "-c", probe, *argv], capture_output=True, text=True, timeout=120
        )
        assert done.stdout.strip() == "rc 2 False", (argv, done.stdout, done.stderr)
        assert message in done.stderr
    assert not any(tmp_path.glob("[abc].png"))


# -- 4. --dilate: the object's edge pixels the mask missed are filled, not kept --------------------


def test_dilate_grows_holes_by_a_disk():
    one = np.zeros((7, 7), bool)
    one[3, 3] = True
    # Euclidean disks: radius 1 is the pixel and its 4 neighbours, radius 2 adds 8 more.
    assert [int(imageio.dilate_holes(one, px).sum()) for px in (0, 1, 2, 3)] == [1, 5, 13, 29]
    edge = np.zeros((4, 6), bool)
    edge[0, 0] = True  # clipped at the border
    assert imageio.dilate_holes(edge, 1).sum() == 3
    assert not imageio.dilate_holes(np.zeros((4, 6), bool), 5).any()
    with pytest.raises(ValueError, match="dilation must be >= 0 pixels, got -1"):
        imageio.dilate_holes(one, -1)


def test_dilate_fills_the_rim_of_a_painted_object(cli, tmp_path):
    red = np.array([220, 20, 30], np.uint8)
    image = corpus.smooth_image(H, W, seed=40)
    y, x = np.mgrid[0:H, 0:W]
    distance = np.hypot(y - 16, x - 24)
    image[distance <= 9] = red  # the object to remove
    holes = distance <= 7  # the mask a hand painted: 2 px short of the object's edge
    rim = (distance <= 9) & ~holes
    photo = save(tmp_path / "photo.png", image)
    mask = save(tmp_path / "mask.png", np.where(holes, 255, 0).astype(np.uint8))
    is_red = lambda a: (a == red).all(-1)  # noqa: E731
    code, out, err = cli(photo, "--mask", mask, "-o", tmp_path / "kept.png")
    assert code == 0, err
    kept = read(tmp_path / "kept.png")
    assert is_red(kept).sum() == rim.sum() > 0  # the rim stays red around the fill
    code, out, err = cli(photo, "--mask", mask, "--dilate", "3", "-o", tmp_path / "grown.png")
    assert code == 0, err
    grown = read(tmp_path / "grown.png")
    assert not is_red(grown).any()  # no pixel of the object's colour is left
    filled = imageio.dilate_holes(holes, 3)
    assert f"{int(filled.sum())} hole pixels" in out, out
    np.testing.assert_array_equal(grown[~filled], image[~filled])  # the rest is the input's
    assert (grown[rim] != kept[rim]).any(axis=-1).all()
    code, _, err = cli(photo, "--mask", mask, "--dilate", "-2", "-o", tmp_path / "x.png")
    assert code == 2 and "--dilate must be >= 0 pixels, got -2" in err, err
