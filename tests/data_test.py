"""Input pipeline tests: sources, decoding of every colour mode, bad files, TFRecords, seeding."""

import io
import os

import numpy as np
import pytest
from PIL import Image

from keras_pggan import data
from keras_pggan.config import DataConfig, MaskConfig

MASKS = MaskConfig(spec="rect:1", min_hole_ratio=0.05, max_hole_ratio=0.5)


def _photo(h=48, w=64, seed=0):
    """A smooth colour image (gradients + noise) so crops and resizes are distinguishable."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (h + w)], -1)
    img = img + rng.uniform(-20, 20, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _save(path, array, **kw):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path, **kw)


@pytest.fixture
def photo_dir(tmp_path):
    root = tmp_path / "photos"
    for i in range(5):
        _save(str(root / f"a{i}.jpg"), _photo(seed=i), quality=95)
    _save(str(root / "sub" / "deep" / "b.PNG"), _photo(40, 56, seed=9))
    (root / "notes.txt").write_text("not an image")
    return str(root)


@pytest.fixture
def corpus_dir(tmp_path):
    """Three good oddities (grey, RGBA, 16-bit) and three bad files."""
    root = tmp_path / "corpus"
    root.mkdir()
    _save(str(root / "good.jpg"), _photo(seed=1), quality=95)
    _save(str(root / "grey.png"), _photo(seed=2)[..., 0])
    rgba = np.concatenate([_photo(seed=3), np.full((48, 64, 1), 128, np.uint8)], -1)
    _save(str(root / "rgba.png"), rgba)
    Image.fromarray(_photo(seed=4)[..., 0].astype(np.uint16) * 257).save(str(root / "sixteen.png"))
    buf = io.BytesIO()
    Image.fromarray(_photo(seed=5)).save(buf, format="JPEG")
    (root / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
    (root / "empty.jpg").write_bytes(b"")
    (root / "text.png").write_text("this is not a png")
    return str(root)


# -- sources -------------------------------------------------------------------------------------
def test_resolve_sources_folder_is_recursive_and_case_insensitive(photo_dir):
    files, records = data.resolve_sources([photo_dir])
    assert records == []
    names = [os.path.relpath(f, photo_dir) for f in files]
    assert names == ["a0.jpg", "a1.jpg", "a2.jpg", "a3.jpg", "a4.jpg", "sub/deep/b.PNG"]


def test_resolve_sources_list_file_is_relative_to_itself(photo_dir, tmp_path):
    lst = tmp_path / "train.txt"
    lst.write_text("# my split\nphotos/a1.jpg\n\nphotos/sub/deep/b.PNG  # comment\n")
    files, _ = data.resolve_sources([str(lst)])
    assert files == [
        os.path.join(str(tmp_path), "photos/a1.jpg"),
        os.path.join(str(tmp_path), "photos/sub/deep/b.PNG"),
    ]


def test_resolve_sources_errors_name_the_source(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        data.resolve_sources([str(tmp_path / "nowhere")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no images"):
        data.resolve_sources([str(tmp_path / "empty")])
    with pytest.raises(FileNotFoundError, match="no TFRecord files match"):
        data.resolve_sources([str(tmp_path / "x-*.tfrecord")])


def test_default_photos_are_embedded_colour_images():
    paths = data.default_photo_paths()
    assert len(paths) >= 8
    for p in paths[:3]:
        rgb = data.load_rgb(p)
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        assert min(rgb.shape[:2]) >= 200


# -- decoding --------------------------------------------------------------------------------------
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
        got = data.decode_rgb(_encode(im, format="PNG"), name)
        np.testing.assert_array_equal(got, want, err_msg=name)
    pal = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.info["transparency"] = 0
    got = data.decode_rgb(_encode(pal, format="PNG", transparency=0), "palette")
    np.testing.assert_array_equal(got, np.asarray(pal.convert("RGB")))
    cmyk = Image.fromarray(rgb).convert("CMYK")
    got = data.decode_rgb(_encode(cmyk, format="JPEG", quality=95), "cmyk")
    assert got.shape == rgb.shape and np.abs(got.astype(int) - rgb).mean() < 12


def test_decode_applies_exif_orientation():
    rgb = _photo(30, 50, seed=3)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    raw = _encode(Image.fromarray(rgb), format="JPEG", quality=98, exif=exif.tobytes())
    got = data.decode_rgb(raw, "exif.jpg")
    assert got.shape == (50, 30, 3)
    with Image.open(io.BytesIO(raw)) as im:  # the stored pixels, before orientation
        stored = np.asarray(im.convert("RGB"))
    np.testing.assert_array_equal(got, np.rot90(stored, k=-1))
    assert np.abs(got.astype(int) - np.rot90(rgb, k=-1)).mean() < 10


def test_decode_errors_name_the_file():
    with pytest.raises(ValueError, match=r"x\.jpg: empty file"):
        data.decode_rgb(b"", "x.jpg")
    with pytest.raises(ValueError, match=r"y\.png: cannot decode"):
        data.decode_rgb(b"hello", "y.png")
    bomb = _encode(Image.new("L", (1, 1)), format="PNG")
    # Patch the IHDR width/height to 30000 x 30000 (header only: the bomb guard must refuse it).
    bomb = bomb[:16] + (30000).to_bytes(4, "big") + (30000).to_bytes(4, "big") + bomb[24:]
    with pytest.raises(ValueError, match="bomb"):
        data.decode_rgb(bomb, "bomb.png")


def test_jpeg_draft_decoding_keeps_the_short_side(tmp_path):
    path = str(tmp_path / "big.jpg")
    _save(path, _photo(600, 900, seed=1), quality=90)
    small = data.load_rgb(path, min_side=128)
    assert min(small.shape[:2]) >= 128 and small.shape[0] < 600


# -- pipelines ----------------------------------------------------------------------------------
def _take(ds, n):
    return [{k: v.numpy() for k, v in b.items()} for b in ds.take(n)]


def test_train_batches_follow_the_contract(photo_dir):
    cfg = DataConfig(train=(photo_dir,), image_size=32)
    (b,) = _take(data.make_train_dataset(cfg, MASKS, 4, seed=0), 1)
    assert b["image"].shape == (4, 32, 32, 3) and b["image"].dtype == np.float32
    assert b["mask"].shape == (4, 32, 32, 1) and b["mask"].dtype == np.float32
    assert 0.0 <= b["image"].min() and b["image"].max() <= 1.0 and b["image"].std() > 0.05
    assert set(np.unique(b["mask"])) <= {0.0, 1.0}
    ratio = b["mask"].mean(axis=(1, 2, 3))
    assert np.all(ratio >= 0.05 - 1e-6) and np.all(ratio <= 0.5 + 1e-6)


def test_train_stream_is_a_function_of_seed_and_position(photo_dir):
    cfg = DataConfig(train=(photo_dir,), image_size=32, crop="random_crop")
    a = _take(data.make_train_dataset(cfg, MASKS, 2, seed=3), 5)
    b = _take(data.make_train_dataset(cfg, MASKS, 2, seed=3), 5)
    c = _take(data.make_train_dataset(cfg, MASKS, 2, seed=4), 5)
    resumed = _take(data.make_train_dataset(cfg, MASKS, 2, seed=3, start_step=3), 2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x["image"], y["image"])
        np.testing.assert_array_equal(x["mask"], y["mask"])
    assert any(not np.array_equal(x["image"], y["image"]) for x, y in zip(a, c))
    for x, y in zip(a[3:], resumed):  # resume at step 3 == steps 3, 4 of the full stream
        np.testing.assert_array_equal(x["image"], y["image"])
        np.testing.assert_array_equal(x["mask"], y["mask"])


def test_val_pipeline_is_deterministic_and_repeats(photo_dir):
    cfg = DataConfig(train=(photo_dir,), image_size=32)
    ds = data.make_val_dataset(cfg, MASKS, 3, seed=0)
    first = _take(ds, 4)  # 6 files, batch 3: the pass repeats after 2 batches
    again = _take(ds, 2)
    np.testing.assert_array_equal(first[0]["image"], first[2]["image"])
    np.testing.assert_array_equal(first[1]["mask"], first[3]["mask"])
    np.testing.assert_array_equal(first[0]["image"], again[0]["image"])


def test_bad_files_are_skipped_counted_and_named(corpus_dir, capfd):
    data.reset_skipped_files()
    cfg = DataConfig(train=(corpus_dir,), image_size=32, crop="random_crop")
    batches = _take(data.make_train_dataset(cfg, MASKS, 4, seed=0), 3)
    assert all(b["image"].shape == (4, 32, 32, 3) for b in batches)
    assert all(b["mask"].shape == (4, 32, 32, 1) for b in batches)
    bad = {os.path.basename(k): v for k, v in data.skipped_files().items()}
    assert sorted(bad) == ["empty.jpg", "text.png", "truncated.jpg"]
    assert "empty" in bad["empty.jpg"]
    err = capfd.readouterr().err
    assert err.count("WARNING: skipping") == 3  # one line per file, not per epoch
    assert "3 undecodable files skipped so far" in err


def test_tfrecord_round_trip_gives_the_folder_pixels(photo_dir, tmp_path):
    out = str(tmp_path / "shards")
    assert data.main(["make-tfrecords", photo_dir, out, "--shards", "1"]) == 0
    cfg_folder = DataConfig(train=(photo_dir,), image_size=32)
    cfg_rec = DataConfig(train=(os.path.join(out, "*.tfrecord"),), image_size=32)
    a = _take(data.make_val_dataset(cfg_folder, MASKS, 6, seed=0), 1)[0]
    b = _take(data.make_val_dataset(cfg_rec, MASKS, 6, seed=0), 1)[0]
    np.testing.assert_array_equal(a["image"], b["image"])
    np.testing.assert_array_equal(a["mask"], b["mask"])
    # The training stream reads shards too, reproducibly.
    t1 = _take(data.make_train_dataset(cfg_rec, MASKS, 4, seed=0), 3)
    t2 = _take(data.make_train_dataset(cfg_rec, MASKS, 4, seed=0), 3)
    assert t1[0]["image"].shape == (4, 32, 32, 3)
    for x, y in zip(t1, t2):
        np.testing.assert_array_equal(x["image"], y["image"])
        np.testing.assert_array_equal(x["mask"], y["mask"])


def test_make_tfrecords_shards_and_skips(corpus_dir, tmp_path):
    report = data.write_tfrecords([corpus_dir], str(tmp_path / "s"), shards=2)
    assert report["written"] == 4 and len(report["skipped"]) == 3
    assert all(os.path.getsize(p) > 0 for p in report["shards"])
    assert data.main(["make-tfrecords", str(tmp_path / "missing"), str(tmp_path / "o")]) == 2
    assert data.main(["make-tfrecords", corpus_dir, str(tmp_path / "o"), "--shards", "0"]) == 2
