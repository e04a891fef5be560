"""Image and mask I/O (keras_pggan.data.imageio): decoding, EXIF, bomb guard, array conventions.

Mask files in every encoding are checked against every entry point in mask_agreement_test.py.
"""

import io

import numpy as np
import pytest
from conftest import save_array, smooth_photo
from PIL import Image

from keras_pggan.data import imageio

_photo, _save = smooth_photo, save_array  # conftest.py


# -- decoding images ------------------------------------------------------------------------------
def _encode(im, **kw):
    buf = io.BytesIO()
    im.save(buf, **kw)
    return buf.getvalue()


def test_decode_every_colour_mode_to_rgb():
    rgb = _photo(seed=7)
    grey = rgb[..., 0]
    cases = {
        "grey": (Image.fromarray(grey), np.repeat(grey[..., None], 3, -1)),
        "rgba": (Image.fromarray(np.dstack([rgb, np.full(grey.shape, 7, np.uint8)])), rgb),
        "16bit": (Image.fromarray(grey.astype(np.uint16) * 257), np.repeat(grey[..., None], 3, -1)),
    }
    for name, (im, want) in cases.items():
        got = imageio.decode_rgb(_encode(im, format="PNG"), name)
        np.testing.assert_array_equal(got, want, err_msg=name)
    pal = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.info["transparency"] = 0
    got = imageio.decode_rgb(_encode(pal, format="PNG", transparency=0), "palette")
    np.testing.assert_array_equal(got, np.asarray(pal.convert("RGB")))
    cmyk = Image.fromarray(rgb).convert("CMYK")
    got = imageio.decode_rgb(_encode(cmyk, format="JPEG", quality=95), "cmyk")
    assert got.shape == rgb.shape and np.abs(got.astype(int) - rgb).mean() < 12


def test_decode_applies_exif_orientation():
    rgb = _photo(30, 50, seed=3)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    raw = _encode(Image.fromarray(rgb), format="JPEG", quality=98, exif=exif.tobytes())
    got = imageio.decode_rgb(raw, "exif.jpg")
    assert got.shape == (50, 30, 3)
    with Image.open(io.BytesIO(raw)) as im:  # the stored pixels, before orientation
        stored = np.asarray(im.convert("RGB"))
    np.testing.assert_array_equal(got, np.rot90(stored, k=-1))
    assert np.abs(got.astype(int) - np.rot90(rgb, k=-1)).mean() < 10


def test_decode_errors_name_the_file():
    with pytest.raises(ValueError, match=r"x\.jpg: empty file"):
        imageio.decode_rgb(b"", "x.jpg")
    with pytest.raises(ValueError, match=r"y\.png: cannot decode"):
        imageio.decode_rgb(b"hello", "y.png")
    bomb = _encode(Image.new("L", (1, 1)), format="PNG")
    # Patch the IHDR width/height to 30000 x 30000 (header only: the bomb guard must refuse it).
    bomb = bomb[:16] + (30000).to_bytes(4, "big") + (30000).to_bytes(4, "big") + bomb[24:]
    with pytest.raises(ValueError, match="bomb"):
        imageio.decode_rgb(bomb, "bomb.png")


def test_jpeg_draft_decoding_keeps_the_short_side(tmp_path):
    path = str(tmp_path / "big.jpg")
    _save(path, _photo(600, 900, seed=1), quality=90)
    small = imageio.load_rgb(path, min_side=128)
    assert min(small.shape[:2]) >= 128 and small.shape[0] < 600


# -- arrays ----------------------------------------------------------------------------------------
def test_float01_and_uint8_round_trip():
    rgb = _photo(8, 10, seed=2)
    f = imageio.as_float01(rgb)
    assert f.dtype == np.float32 and f.shape == (8, 10, 3) and f.max() <= 1.0
    np.testing.assert_array_equal(imageio.to_uint8(f), rgb)
    np.testing.assert_array_equal(imageio.as_uint8_image(f), rgb)
    assert imageio.as_uint8_image(rgb) is rgb
    grey = imageio.as_float01(rgb[..., 0])
    np.testing.assert_array_equal(grey[..., 0], grey[..., 2])
    np.testing.assert_array_equal(imageio.to_uint8(np.array([-0.5, 0.5, 2.0])), [0, 128, 255])
    with pytest.raises(ValueError, match="NaN"):
        imageio.as_float01(np.full((2, 2, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match="dtype"):
        imageio.as_float01(np.zeros((2, 2, 3), np.int32))
    with pytest.raises(ValueError, match="shape"):
        imageio.as_float01(np.zeros((2, 2, 5), np.uint8))


def test_as_hole_mask_conventions():
    np.testing.assert_array_equal(imageio.as_hole_mask(np.array([[0, 1]], np.float32)), [[0, 1]])
    np.testing.assert_array_equal(imageio.as_hole_mask(np.array([[127, 128]], np.uint8)), [[0, 1]])
    np.testing.assert_array_equal(imageio.as_hole_mask(np.array([[[0.2], [0.7]]])), [[0, 1]])
    with pytest.raises(ValueError, match="shape"):
        imageio.as_hole_mask(np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        imageio.as_hole_mask(np.array([[np.nan]]))


def test_hole_from_array_alpha_rule():
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., :3] = 255  # white everywhere
    rgba[..., 3] = 255
    assert imageio.hole_from_array(rgba).all()  # opaque: luma rule, white = hole
    rgba[0, 0, 3] = 127  # one transparent pixel: the alpha channel is the mask
    np.testing.assert_array_equal(imageio.hole_from_array(rgba), [[1, 0, 0], [0, 0, 0]])
    rgba[0, 0, 3] = 128  # nearly transparent but not below 128: luma rule again
    assert imageio.hole_from_array(rgba).all()
    with pytest.raises(ValueError, match="shape"):
        imageio.hole_from_array(np.zeros((2, 2, 5), np.uint8))


def test_mask_file_errors_name_the_file(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.png: cannot decode mask image \(empty"):
        imageio.load_mask_file(str(empty))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"bad\.png: cannot decode mask image"):
        imageio.load_mask_file(str(bad))
    with pytest.raises(ValueError, match="not a file"):
        imageio.load_mask_file(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="missing.png"):
        imageio.load_mask_file(str(tmp_path / "missing.png"))


def test_mask_file_is_read_as_displayed(tmp_path):
    holes = np.zeros((4, 6), np.uint8)
    holes[0, :] = 255  # top row of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90° clockwise: the top row becomes the right column
    path = str(tmp_path / "m.png")
    Image.fromarray(holes).save(path, exif=exif.tobytes())
    got = imageio.load_mask_file(path)
    assert got.shape == (6, 4)
    np.testing.assert_array_equal(got, np.rot90(holes >= 128, k=-1))


def test_save_image_and_format(tmp_path):
    rgb = _photo(6, 7, seed=4)
    path = str(tmp_path / "out.png")
    imageio.save_image(rgb, path)
    np.testing.assert_array_equal(imageio.load_rgb(path), rgb)
    with pytest.raises(ValueError, match=r"out\.xyz: unknown or unwritable"):
        imageio.image_format(str(tmp_path / "out.xyz"))
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(imageio.encode_png(rgb)))), rgb)


@pytest.mark.parametrize("subsampling", [0, 1, 2])  # 4:4:4, 4:2:2, 4:2:0
def test_in_graph_decoder_gives_pillows_pixels_for_jpegs(subsampling):
    import io

    import skimage.data
    import tensorflow as tf
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()[::2, ::2]).save(
        buf, "JPEG", quality=85, subsampling=subsampling
    )
    data = buf.getvalue()
    pillow = imageio.decode_rgb(data, "a.jpg")
    graph = imageio.decode_image_tensor(tf.constant(data)).numpy()
    np.testing.assert_array_equal(graph, pillow)
    png = io.BytesIO()
    Image.fromarray(pillow).save(png, "PNG")
    np.testing.assert_array_equal(imageio.decode_image_tensor(tf.constant(png.getvalue())).numpy(),
                                  pillow)  # fmt: skip


def test_header_size_and_uint8_conversions_are_the_one_owners():
    data = imageio.encode_png(np.zeros((5, 7, 3), np.uint8))
    assert imageio.image_header(data) == ("PNG", 7, 5)
    with pytest.raises((OSError, ValueError)):
        imageio.image_header(b"not an image")
    levels = np.arange(256, dtype=np.uint8).reshape(2, 2, 64)  # any shape
    as01 = imageio.uint8_to_float01(levels)
    assert as01.dtype == np.float32 and as01.shape == levels.shape
    np.testing.assert_array_equal(imageio.to_uint8(as01), levels)
    assert imageio.uint8_to_float01(levels, np.float64).dtype == np.float64
    np.testing.assert_array_equal(np.asarray(imageio.to_uint8_tensor(as01)), imageio.to_uint8(as01))
    # The bomb guard is the ceiling of the servers' stricter limits.
    from keras_pggan.serving.server import DEFAULT_MAX_PIXELS as serving_limit
    from keras_pggan.studio.web import DEFAULT_MAX_PIXELS as studio_limit

    assert serving_limit == 1 << 24 and studio_limit == 40_000_000
    assert max(serving_limit, studio_limit) <= imageio.MAX_IMAGE_PIXELS
