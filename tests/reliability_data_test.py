"""Bad input to the training data (keras_pggan.data, keras_pggan.masks): the input pipeline and
the ``folder`` mask kind with every image and mask case of the corpus, and sources that hold no
decodable file (an error, not a hang).

The corpus is :mod:`keras_pggan.testing.corpus`; docs/reliability.md holds the table case →
behaviour per entry point → test.
"""

import os
import shutil
import threading

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from reliability_fixtures import CROP

from keras_pggan.config import DataConfig, MaskConfig
from keras_pggan.data import masks as masks_lib
from keras_pggan.data import pipeline as data_lib
from keras_pggan.testing import corpus

# -- entry point 1: the training data pipeline ------------------------------------------------


def _take(ds, n):
    return [{k: v.numpy() for k, v in b.items()} for b in ds.take(n)]


@pytest.mark.parametrize("case", [*corpus.IMAGE_CASES, *corpus.MASK_CASES, "empty_batch"])
def test_data_pipeline(rel_corpus, tmp_path, case):
    folder = tmp_path / "photos"
    folder.mkdir()
    data_lib.reset_skipped_files()
    if case == "empty_batch":
        shutil.copy(rel_corpus.image_path, folder)
        cfg = DataConfig(train=(str(folder),), image_size=CROP)
        with pytest.raises(ValueError, match="batch_size must be >= 1"):
            data_lib.make_train_dataset(cfg, MaskConfig(), 0, seed=0)
        with pytest.raises(ValueError, match="batch_size must be >= 1"):
            data_lib.make_val_dataset(cfg, MaskConfig(), 0, seed=0)
        return
    if case in corpus.MASK_CASES:
        # Mask files feed the "folder" mask kind: resized (nearest) to the crop, binarised.
        shutil.copy(rel_corpus.image_path, folder)
        mask_dir = tmp_path / "masks"
        mask_dir.mkdir()
        shutil.copy(rel_corpus.masks[case].path, mask_dir)
        mask_cfg = MaskConfig(
            spec="folder", mask_dir=str(mask_dir), min_hole_ratio=0.0, max_hole_ratio=1.0
        )
        cfg = DataConfig(train=(str(folder),), image_size=CROP, shuffle_buffer=4)
        masks = np.concatenate([b["mask"] for b in _take(make_train(cfg, mask_cfg), 2)])
        assert masks.shape == (4, CROP, CROP, 1)
        assert set(np.unique(masks)) <= {0.0, 1.0}
        _, holes = corpus.mask_image(case)
        if case == "mask_all_hole":
            assert masks.min() == 1.0
        elif case == "mask_no_hole":
            assert masks.max() == 0.0
        else:  # resized and flipped: the hole fraction survives
            assert abs(masks.mean() - holes.mean()) < 0.05, (masks.mean(), holes.mean())
        return
    item = rel_corpus.images[case]
    if item.expected is None:
        # Undecodable: skipped with a warning naming the file; the good file keeps the stream.
        shutil.copy(rel_corpus.image_path, folder / "a_good.png")
        bad = folder / os.path.basename(item.path)
        shutil.copy(item.path, bad)
        cfg = DataConfig(train=(str(folder),), image_size=CROP, shuffle_buffer=4)
        batches = _take(make_train(cfg), 3) + _take(make_val(cfg), 1)
        for b in batches:
            assert b["image"].shape == (2, CROP, CROP, 3)
            assert np.isfinite(b["image"]).all() and 0 <= b["image"].min() <= b["image"].max() <= 1
        skipped = data_lib.skipped_files()
        assert list(skipped) == [str(bad)], skipped
        assert item.problem in skipped[str(bad)].lower(), skipped
        return
    # Decodable: the pipeline sees exactly the expected RGB pixels (EXIF applied, 16-bit scaled,
    # CMYK / palette / grey / RGBA converted), resized up when smaller than the crop.
    shutil.copy(item.path, folder)
    reference = tmp_path / "reference"
    reference.mkdir()
    Image.fromarray(item.expected).save(reference / "expected.png")
    got = _take(make_val(DataConfig(train=(str(folder),), image_size=CROP), batch=1), 1)[0]
    want = _take(make_val(DataConfig(train=(str(reference),), image_size=CROP), batch=1), 1)[0]
    np.testing.assert_allclose(got["image"], want["image"], atol=1e-6)
    train = _take(make_train(DataConfig(train=(str(folder),), image_size=CROP)), 1)[0]
    assert train["image"].shape == (2, CROP, CROP, 3) and np.isfinite(train["image"]).all()
    assert data_lib.skipped_files() == {}


def make_train(cfg, mask_cfg=None, batch=2):
    return data_lib.make_train_dataset(cfg, mask_cfg or MaskConfig(), batch, seed=0)


def make_val(cfg, mask_cfg=None, batch=2):
    return data_lib.make_val_dataset(cfg, mask_cfg or MaskConfig(), batch, seed=0)


@pytest.mark.parametrize("which", ["train", "val"])
def test_data_pipeline_with_no_decodable_file_fails_instead_of_hanging(rel_corpus, tmp_path, which):
    for name in corpus.UNDECODABLE:
        shutil.copy(rel_corpus.images[name].path, tmp_path)
    cfg = DataConfig(train=(str(tmp_path),), image_size=CROP, shuffle_buffer=4)
    ds = make_train(cfg) if which == "train" else make_val(cfg)
    outcome = {}

    def pull():
        try:
            next(iter(ds))
        except Exception as e:
            outcome["error"] = e

    thread = threading.Thread(target=pull, daemon=True)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the stream hangs on sources that are all undecodable"
    assert isinstance(outcome.get("error"), tf.errors.InvalidArgumentError), outcome
    assert "no decodable image in the data sources" in str(outcome["error"])


def test_folder_mask_kind_skips_undecodable_mask_files(rel_corpus, tmp_path, capsys):
    shutil.copy(rel_corpus.masks["mask_all_hole"].path, tmp_path)
    for name in corpus.UNDECODABLE:
        shutil.copy(rel_corpus.images[name].path, tmp_path)
    sampler = masks_lib.MaskSampler(
        MaskConfig(spec="folder", mask_dir=str(tmp_path), min_hole_ratio=0, max_hole_ratio=1),
        CROP,
        CROP,
    )
    err = capsys.readouterr().err
    for name in corpus.UNDECODABLE:
        assert os.path.basename(rel_corpus.images[name].path) in err, err
    for i in range(4):  # only the good (all-hole) file is drawn
        assert sampler(tf.constant([0, i], tf.int64)).numpy().min() == 1.0
    only_bad = tmp_path / "only_bad"
    only_bad.mkdir()
    shutil.copy(rel_corpus.images["text_as_png"].path, only_bad)
    with pytest.raises(ValueError, match="no decodable mask file"):
        masks_lib.MaskSampler(MaskConfig(spec="folder", mask_dir=str(only_bad)), CROP, CROP)
