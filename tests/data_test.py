"""Input pipeline tests: sources, bad files, TFRecords, seeding (decoding: imageio_test)."""

import io
import os

import numpy as np
import pytest
from conftest import save_array, smooth_photo
from PIL import Image

from keras_pggan.config import DataConfig, MaskConfig
from keras_pggan.data import __main__ as data_cmd
from keras_pggan.data import imageio
from keras_pggan.data import pipeline as data

MASKS = MaskConfig(spec="rect:1", min_hole_ratio=0.05, max_hole_ratio=0.5)


_photo, _save = smooth_photo, save_array  # conftest.py


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
        rgb = imageio.load_rgb(p)
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        assert min(rgb.shape[:2]) >= 200


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
    assert data_cmd.main(["make-tfrecords", photo_dir, out, "--shards", "1"]) == 0
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
    assert data_cmd.main(["make-tfrecords", str(tmp_path / "missing"), str(tmp_path / "o")]) == 2
    assert data_cmd.main(["make-tfrecords", corpus_dir, str(tmp_path / "o"), "--shards", "0"]) == 2


def test_multi_scale_crops_vary_the_scale_in_training_only(tmp_path):
    # Vertical stripes of period 16 px on a 64² photo: the period after resizing to short side s
    # is 16·s/64, so the mean horizontal gradient of a crop tells its scale.
    x = np.arange(64)
    stripes = np.where((x // 8) % 2 == 0, 255, 0).astype(np.uint8)
    img = np.repeat(np.tile(stripes, (64, 1))[..., None], 3, axis=2)
    folder = tmp_path / "stripes"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(img).save(folder / f"s{i}.png")

    def gradient_energy(cfg, training):
        make = data.make_train_dataset if training else data.make_val_dataset
        (b,) = _take(make(cfg, MASKS, 16, seed=0), 1)
        return np.abs(np.diff(b["image"][..., 0], axis=2)).mean(axis=(1, 2)), b

    single = DataConfig(train=(str(folder),), image_size=16, resize_to=16, flip=False)
    multi = DataConfig(train=(str(folder),), image_size=16, resize_to=16, resize_to_max=64,
                       flip=False)  # fmt: skip
    e_single, _ = gradient_energy(single, True)
    e_multi, _ = gradient_energy(multi, True)
    assert e_single.std() < 0.01  # one scale: every crop alike
    assert e_multi.std() > 0.03 and e_multi.min() < e_single.mean() - 0.05  # coarser stripes
    _, v_single = gradient_energy(single, False)
    _, v_multi = gradient_energy(multi, False)
    np.testing.assert_array_equal(v_single["image"], v_multi["image"])  # V keeps resize_to
    with pytest.raises(ValueError, match="resize_to_max"):
        DataConfig(image_size=32, resize_to=64, resize_to_max=48)
