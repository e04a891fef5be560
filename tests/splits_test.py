"""The fixed train / V split: the rule, the committed list files, and the training configs."""

from __future__ import annotations

import glob
import os

import pytest

from keras_pggan.config import ExperimentConfig
from keras_pggan.data import splits
from keras_pggan.data.pipeline import resolve_sources
from keras_pggan.splits import __main__ as splits_cmd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LISTS = os.path.join(ROOT, "scripts", "configs", "splits")
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "train"))


def _entries(name):
    with open(os.path.join(LISTS, name), encoding="utf-8") as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]


def _rel(entries):
    """``folder/file`` of each list entry (the part below the collection root)."""
    return ["/".join(e.split("/")[-2:]) for e in entries]


def test_rule_on_names():
    names = [f"imagenet_samples/n{i:03d}.jpg" for i in range(25)]
    names += ["cmp_facade_val/a.jpg", "cmp_facade_train/b.jpg", "bsds432/c.jpg"]
    s = splits.split_files(names)
    assert s.val["imagenet_samples"] == tuple(f"imagenet_samples/n{i:03d}.jpg" for i in (0, 10, 20))
    assert s.val["cmp_facade_val"] == ("cmp_facade_val/a.jpg",)
    assert len(s.train) == 22 + 2
    assert not set(s.train) & set(s.val_all)
    assert set(s.train) | set(s.val_all) == set(names)


def test_write_split_refuses_to_overwrite(tmp_path):
    root = tmp_path / "photos"
    for folder, n in (("imagenet_samples", 12), ("cmp_facade_val", 2), ("camvid", 3)):
        (root / folder).mkdir(parents=True)
        for i in range(n):
            (root / folder / f"{i:02d}.jpg").write_bytes(b"x")
    out = tmp_path / "lists"
    paths = splits.write_split(str(root), str(out))
    train, _ = resolve_sources([paths["train"]])
    val, _ = resolve_sources([paths["cmp_facade_val"], paths["imagenet_samples"]])
    assert len(train) == 3 + 10 and len(val) == 2 + 2
    assert all(os.path.exists(p) for p in train + val)  # relative entries resolve
    assert not set(train) & set(val)
    before = (out / "train.txt").read_text()
    with pytest.raises(FileExistsError, match="--overwrite"):
        splits.write_split(str(root), str(out))
    assert (out / "train.txt").read_text() == before
    assert splits_cmd.main([str(root), str(out)]) == 2
    assert splits_cmd.main([str(root), str(out), "--overwrite"]) == 0


def test_committed_lists_follow_the_rule():
    train = _rel(_entries("train.txt"))
    val_cmp = _rel(_entries("val_cmp_facade.txt"))
    val_in = _rel(_entries("val_imagenet.txt"))
    assert (len(train), len(val_cmp), len(val_in)) == (2330, 37, 100)
    assert not set(train) & (set(val_cmp) | set(val_in))
    assert not any(p.startswith("cmp_facade_val/") for p in train)
    imagenet = sorted([p for p in train if p.startswith("imagenet_samples/")] + val_in)
    assert len(imagenet) == 1000 and val_in == imagenet[::10]
    # Training lists name no file of V even by its base name (no copies in other folders).
    base = {p.split("/")[-1] for p in val_cmp + val_in}
    assert not base & {p.split("/")[-1] for p in train}


@pytest.mark.skipif(not os.path.isdir(SHARED), reason="the shared photo collection is not here")
def test_committed_lists_match_the_collection():
    s = splits.split_photos(SHARED)
    assert _rel(_entries("train.txt")) == list(s.train)
    assert _rel(_entries("val_cmp_facade.txt")) == list(s.val["cmp_facade_val"])
    assert _rel(_entries("val_imagenet.txt")) == list(s.val["imagenet_samples"])


@pytest.mark.parametrize(
    "path", sorted(glob.glob(os.path.join(ROOT, "scripts", "configs", "*.json")))
)
def test_configs_on_the_split_never_train_on_v(path):
    """Every shipped/recipe config that names the split's lists trains on ``train.txt`` only."""
    cfg = ExperimentConfig.load(path)
    train = [os.path.basename(s) for s in cfg.data.train]
    if not any(s.endswith(".txt") for s in cfg.data.train):
        pytest.skip("config predates the split (folders)")
    assert train == ["train.txt"], train
    assert sorted(os.path.basename(s) for s in cfg.data.val) == [
        "val_cmp_facade.txt",
        "val_imagenet.txt",
    ]
    if os.path.isdir(SHARED):  # the stream's files, resolved as training resolves them
        cwd = os.getcwd()
        try:
            os.chdir(ROOT)
            files, _ = resolve_sources(cfg.data.train)
            val, _ = resolve_sources(cfg.data.val)
        finally:
            os.chdir(cwd)
        assert len(files) == 2330 and len(val) == 137
        assert not {os.path.realpath(f) for f in files} & {os.path.realpath(f) for f in val}
