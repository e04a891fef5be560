"""write_tfrecords / make-tfrecords with --short-side and --quality: a pack of re-encoded JPEGs.

The GPU run (scripts/gpu_train.sh --pack) carries such a pack instead of the photos; these tests
check that what it holds is what the training pipeline would have made of the originals.
"""

import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_pggan.config import DataConfig, MaskConfig
from keras_pggan.data import __main__ as data_cmd
from keras_pggan.data import pipeline
from keras_pggan.data.imageio import decode_rgb


def _smooth(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A photo-like uint8 image: smooth colour gradients plus mild noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([np.sin(3 * x + c) * np.cos(2 * y - c) for c in (0.0, 1.0, 2.0)], -1)
    noisy = 127.5 + 100 * base + rng.normal(0, 4, (h, w, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _records(shards) -> list[dict]:
    out = []
    for shard in shards:
        for raw in tf.data.TFRecordDataset(shard):
            ex = tf.train.Example.FromString(raw.numpy())
            out.append({k: v.bytes_list.value[0] for k, v in ex.features.feature.items()})
    return out


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(_smooth(200, 300, 1)).save(folder / "wide.png")  # short side 200
    Image.fromarray(_smooth(40, 50, 2)).save(folder / "small.jpg", quality=95)  # below 64
    (folder / "broken.jpg").write_bytes(b"not an image")
    return str(folder)


def test_short_side_and_quality_reencode_to_the_pipelines_size(photos, tmp_path):
    report = pipeline.write_tfrecords(
        [photos], str(tmp_path / "pack"), shards=2, short_side=64, quality=90
    )
    assert report["written"] == 2
    assert list(report["skipped"]) == [os.path.join(photos, "broken.jpg")]
    records = {r["image/filename"].decode(): r for r in _records(report["shards"])}
    assert sorted(records) == ["small.jpg", "wide.png"]
    assert report["bytes"] == sum(len(r["image/encoded"]) for r in records.values())
    for r in records.values():
        assert r["image/format"] == b"jpeg"
        assert r["image/encoded"][:2] == b"\xff\xd8"  # a JPEG, whatever the source format
    wide = decode_rgb(records["wide.png"]["image/encoded"])
    assert wide.shape == (64, 96, 3)  # 200×300 → short side 64, aspect kept
    # Never enlarged: the 40×50 photo keeps its size.
    assert decode_rgb(records["small.jpg"]["image/encoded"]).shape == (40, 50, 3)
    # The pixels are the pipeline's resize of the original (tf bilinear, antialiased), up to
    # the JPEG's error: the pack trains on what the photos would have given.
    original = _smooth(200, 300, 1).astype(np.float32)
    resized = tf.image.resize(original, (64, 96), method="bilinear", antialias=True).numpy()
    assert np.abs(wide.astype(np.float32) - resized).mean() < 3.0


def test_lower_quality_is_smaller_and_originals_stay_without_options(photos, tmp_path):
    low = pipeline.write_tfrecords([photos], str(tmp_path / "q30"), shards=1, quality=30)
    high = pipeline.write_tfrecords([photos], str(tmp_path / "q95"), shards=1, quality=95)
    assert 0 < low["bytes"] < 0.6 * high["bytes"]
    # quality alone re-encodes at full size.
    wide = [r for r in _records(low["shards"]) if r["image/filename"] == b"wide.png"][0]
    assert decode_rgb(wide["image/encoded"]).shape == (200, 300, 3)
    plain = pipeline.write_tfrecords([photos], str(tmp_path / "plain"), shards=1)
    with open(os.path.join(photos, "wide.png"), "rb") as f:
        original = f.read()
    records = {r["image/filename"]: r for r in _records(plain["shards"])}
    assert records[b"wide.png"]["image/encoded"] == original
    assert records[b"wide.png"]["image/format"] == b"png"


@pytest.mark.parametrize(
    "kwargs", [{"quality": 0}, {"quality": 96}, {"short_side": 0}, {"shards": 0}]
)
def test_out_of_range_options_are_refused(photos, tmp_path, kwargs):
    with pytest.raises(ValueError):
        pipeline.write_tfrecords([photos], str(tmp_path / "x"), **kwargs)
    assert not os.path.exists(tmp_path / "x")


def test_command_packs_and_the_pipeline_trains_on_the_pack(photos, tmp_path):
    out = str(tmp_path / "pack")
    argv = ["make-tfrecords", photos, out, "--shards", "1", "--short-side", "48"]
    assert data_cmd.main(argv) == 0
    shards = [os.path.join(out, f) for f in os.listdir(out)]
    images = [decode_rgb(r["image/encoded"]) for r in _records(shards)]
    assert sorted(im.shape for im in images) == [(40, 50, 3), (48, 72, 3)]
    bad = ["make-tfrecords", photos, str(tmp_path / "bad"), "--quality", "100"]
    assert data_cmd.main(bad) == 2
    data = DataConfig(train=(os.path.join(out, "*.tfrecord"),), image_size=32, resize_to=48)
    batch = next(iter(pipeline.make_train_dataset(data, MaskConfig(spec="rect:1"), 2, seed=0)))
    assert batch["image"].shape == (2, 32, 32, 3)
    assert 0.0 <= float(tf.reduce_min(batch["image"])) <= float(tf.reduce_max(batch["image"]))
    assert float(tf.reduce_max(batch["image"])) <= 1.0
