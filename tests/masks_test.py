"""Tests for keras_pggan.masks: in-graph mask kinds, mask files, eval sets and the CLI."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_pggan.config import MaskConfig
from keras_pggan.data import masks
from keras_pggan.masks import __main__ as masks_cli

MANIFEST = "manifest.json"
SEEDS = [(0, i) for i in range(6)]


def _seed(a, b):
    return tf.constant([a, b], tf.int64)


def _save(path, array):
    Image.fromarray(array).save(path)
    return path


@pytest.fixture(scope="module")
def mask_dir(tmp_path_factory):
    """Mask files of the three conventions, each of its own shape (white/transparent = hole)."""
    d = tmp_path_factory.mktemp("mask_files")
    grey = np.zeros((40, 40), np.uint8)
    grey[5:20, 10:35] = 255  # white-on-black, square
    rgba = np.full((32, 48, 4), 255, np.uint8)
    rgba[8:24, 4:20, 3] = 0  # transparent = hole, non-square
    rgb = np.zeros((50, 50, 3), np.uint8)
    rgb[30:45, 2:12] = (255, 255, 255)
    rgb[0:10, 0:50] = (200, 30, 30)  # luma 82: not a hole
    os.makedirs(d / "sub")
    _save(str(d / "a_grey.png"), grey)
    _save(str(d / "sub" / "b_rgba.png"), rgba)
    _save(str(d / "c_rgb.png"), rgb)
    (d / "notes.txt").write_text("not a mask")
    return str(d)


def _sampler(kind, size=64, width=None, lo=0.05, hi=0.5, mask_dir=None):
    cfg = MaskConfig(spec=kind, min_hole_ratio=lo, max_hole_ratio=hi, mask_dir=mask_dir)
    return masks.MaskSampler(cfg, size, width or size)


# -- spec -------------------------------------------------------------------------------------
def test_parse_mask_spec_normalises_weights():
    assert masks.parse_mask_spec("freeform:3,rect") == (("freeform", 0.75), ("rect", 0.25))
    assert masks.parse_mask_spec(" thin ") == (("thin", 1.0),)


@pytest.mark.parametrize(
    "spec, problem",
    [
        ("blob", "unknown kind 'blob'"),
        ("rect:x", "weight 'x' of 'rect' is not a number"),
        ("rect:-1", "must be a positive number"),
        ("rect:0", "must be a positive number"),
        ("rect:nan", "must be a positive number"),
        ("rect,rect:2", "listed twice"),
        ("rect,,thin", "empty item"),
        ("", "non-empty"),
    ],
)
def test_parse_mask_spec_errors_name_spec_and_problem(spec, problem):
    with pytest.raises(ValueError) as e:
        masks.parse_mask_spec(spec)
    assert repr(spec) in str(e.value) and problem in str(e.value)


# -- every kind ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", masks.KINDS)
def test_kind_shape_binary_bounds_and_seeding(kind, mask_dir):
    sampler = _sampler(kind, mask_dir=mask_dir if kind == "folder" else None)
    drawn = [sampler(_seed(*s)).numpy() for s in SEEDS]
    for m in drawn:
        assert m.shape == (64, 64, 1) and m.dtype == np.float32
        assert set(np.unique(m)) <= {0.0, 1.0}
        assert 0.05 <= m.mean() <= 0.5
    np.testing.assert_array_equal(sampler(_seed(*SEEDS[0])).numpy(), drawn[0])
    distinct = {m.tobytes() for m in drawn}
    if kind == "center":
        assert len(distinct) == 1  # the centre square ignores the seed
        assert drawn[0][16:48, 16:48].all() and drawn[0].sum() == 32 * 32
    else:
        assert len(distinct) >= 4, f"{kind}: seeds give too few distinct masks"


@pytest.mark.parametrize("kind", masks.KINDS)
def test_kind_at_256(kind, mask_dir):
    sampler = _sampler(kind, 256, lo=0.01, hi=0.6, mask_dir=mask_dir if kind == "folder" else None)
    a, b = sampler(_seed(3, 1)).numpy(), sampler(_seed(3, 2)).numpy()
    assert a.shape == (256, 256, 1)
    assert set(np.unique(a)) <= {0.0, 1.0}
    assert 0.01 <= a.mean() <= 0.6 and 0.01 <= b.mean() <= 0.6
    np.testing.assert_array_equal(a, sampler(_seed(3, 1)).numpy())
    if kind == "center":
        assert a.sum() == 128 * 128 and a[64:192, 64:192].all()


def test_sample_mask_non_square_and_params():
    m = masks.sample_mask("thick", 48, 80, [1, 2])
    assert m.shape == (48, 80, 1) and m.dtype == tf.float32 and float(tf.reduce_max(m)) == 1.0
    c = masks.sample_mask("center", 40, 60, [0, 0], side=10).numpy()[..., 0]
    assert c.sum() == 100 and c[15:25, 25:35].all()
    r = masks.sample_mask("rect", 64, 64, [0, 5], min_rects=1, max_rects=1, min_size=0.5)
    assert float(tf.reduce_sum(r)) == 32 * 32
    with pytest.raises(ValueError, match="bad stroke parameter"):
        masks.sample_mask("thin", 32, 32, [0, 0], brush=3)
    with pytest.raises(ValueError, match="unknown mask kind"):
        masks.sample_mask("blob", 32, 32, [0, 0])


def test_stroke_rasteriser_matches_brute_force_distance():
    """Row-interval rasterisation == 'pixel centre within r of the segment' (away from ties)."""
    rng = np.random.default_rng(0)
    h, w, k = 40, 56, 12
    a, b = rng.uniform(-5, 60, (k, 2)), rng.uniform(-5, 60, (k, 2))
    b[0] = a[0] + [0.0, 7.0]  # vertical
    b[1] = a[1] + [9.0, 0.0]  # horizontal
    b[2] = a[2]  # a dot
    r = rng.uniform(0.8, 6.0, k)
    valid = np.ones(k, bool)
    valid[-1] = False
    f = lambda x: tf.constant(x, tf.float32)
    got = masks._rasterize_capsules(
        f(a[:, 0]), f(a[:, 1]), f(b[:, 0]), f(b[:, 1]), f(np.where(valid, r, -1.0)), h, w
    ).numpy()
    py, px = np.mgrid[0:h, 0:w] + 0.5
    p = np.stack([px, py], -1)[None]  # [1,H,W,2]
    d = (b - a)[:, None, None]
    t = np.clip(((p - a[:, None, None]) * d).sum(-1) / np.maximum((d * d).sum(-1), 1e-12), 0, 1)
    dist = np.linalg.norm(p - (a[:, None, None] + t[..., None] * d), axis=-1) - r[:, None, None]
    want = ((dist <= 0) & valid[:, None, None]).any(0)
    tie = (np.abs(dist) < 1e-3).any(0)
    assert want.sum() > 100
    np.testing.assert_array_equal(got[~tie], want[~tie])


# -- bounds and mixtures ---------------------------------------------------------------------------
def test_bounds_are_always_met_with_fallback():
    # Thin strokes never reach 50 %, the centre square is 25 %: both need the fallback box.
    thin = _sampler("thin", lo=0.5, hi=0.55)
    center = _sampler("center", lo=0.3125, hi=0.3125)
    for s in SEEDS[:3]:
        assert 0.5 <= thin(_seed(*s)).numpy().mean() <= 0.55
    c = center(_seed(0, 0)).numpy()[..., 0]
    assert c.sum() == 1280
    ys, xs = np.nonzero(c)
    assert abs((ys.min() + ys.max()) / 2 - 31.5) <= 1 and abs((xs.min() + xs.max()) / 2 - 31.5) <= 1
    with pytest.raises(ValueError, match="admit no mask of 3x3"):
        _sampler("rect", 3, lo=0.5, hi=0.5)


def test_mixture_follows_weights():
    sampler = _sampler("center:1,rect:3", lo=0.0, hi=1.0)
    center = masks.sample_mask("center", 64, 64, [0, 0]).numpy()
    ds = tf.data.Dataset.range(400).map(lambda i: sampler(tf.stack([tf.constant(5, tf.int64), i])))
    picks = [np.array_equal(m, center) for m in ds.as_numpy_iterator()]
    assert 0.18 <= np.mean(picks) <= 0.32  # weight 0.25


def test_eager_tf_function_and_parallel_tf_data_agree(mask_dir):
    sampler = _sampler("freeform,rect,folder", 48, 64, mask_dir=mask_dir)
    eager = np.stack([sampler(_seed(7, i)).numpy() for i in range(8)])
    fn = tf.function(lambda s: sampler(s))
    graph = np.stack([fn(_seed(7, i)).numpy() for i in range(8)])
    ds = tf.data.Dataset.range(8).map(
        lambda i: sampler(tf.stack([tf.constant(7, tf.int64), i])), num_parallel_calls=2
    )
    data = np.stack(list(ds.as_numpy_iterator()))
    np.testing.assert_array_equal(eager, graph)
    np.testing.assert_array_equal(eager, data)
    seed32 = sampler(tf.constant([7, 0], tf.int32)).numpy()
    np.testing.assert_array_equal(eager[0], seed32)


# -- mask files ----------------------------------------------------------------------------------
def test_load_mask_file_conventions(tmp_path):
    hole = np.zeros((20, 30), bool)
    hole[4:12, 6:25] = True
    grey = _save(str(tmp_path / "grey.png"), np.where(hole, 255, 0).astype(np.uint8))
    rgb = _save(
        str(tmp_path / "rgb.png"),
        np.repeat(np.where(hole, 200, 10)[..., None], 3, -1).astype(np.uint8),
    )
    rgba_arr = np.zeros((20, 30, 4), np.uint8)
    rgba_arr[..., 3] = np.where(hole, 0, 255)
    rgba = _save(str(tmp_path / "rgba.png"), rgba_arr)
    opaque_arr = np.concatenate(
        [np.repeat(np.where(hole, 255, 0)[..., None], 3, -1), np.full((20, 30, 1), 255)], -1
    )
    opaque = _save(str(tmp_path / "opaque.png"), opaque_arr.astype(np.uint8))
    for path in (grey, rgb, rgba, opaque):
        got = masks.load_mask_file(path)
        assert got.dtype == bool
        np.testing.assert_array_equal(got, hole, err_msg=path)
    # Pure red has luma 76 (< 128): not a hole; grey 128 is.
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255
    red[0, 0] = 128
    got = masks.load_mask_file(_save(str(tmp_path / "red.png"), red))
    assert got.sum() == 1 and got[0, 0]
    small = masks.load_mask_file(grey, 10, 15)
    np.testing.assert_array_equal(small, hole[1::2, 1::2])  # half-pixel centres
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="bad.png: cannot decode"):
        masks.load_mask_file(str(bad))
    with pytest.raises(ValueError, match="both height and width"):
        masks.load_mask_file(grey, 10)


def test_in_graph_reader_agrees_with_load_mask_file(tmp_path):
    hole = np.zeros((30, 30), bool)
    hole[5:20, 8:25] = True
    grey = np.where(hole, 255, 0).astype(np.uint8)
    Image.fromarray(grey).save(tmp_path / "g.bmp")
    Image.fromarray(np.stack([grey] * 3, -1)).save(tmp_path / "rgb.webp", lossless=True)
    la = np.stack([np.zeros_like(grey), np.where(hole, 0, 255).astype(np.uint8)], -1)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    pal = Image.fromarray(hole.astype(np.uint8), "P")
    pal.putpalette([0, 0, 0, 0, 0, 0])
    pal.save(tmp_path / "pal.png", transparency=1)  # palette index 1 transparent = hole
    for name in ("g.bmp", "rgb.webp", "la.png", "pal.png"):
        path = str(tmp_path / name)
        img = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
        np.testing.assert_array_equal(masks._hole_from_tensor(img).numpy(), hole, err_msg=name)
        np.testing.assert_array_equal(masks.load_mask_file(path), hole, err_msg=name)


def test_alpha_without_transparent_pixels_is_ignored_by_file_and_folder_readers(tmp_path):
    """imageio's rule: alpha counts only when some pixel is transparent (alpha < 128).

    The old masks.py rule (alpha used whenever min alpha < 255) read this file as 0 holes.
    """
    a = np.zeros((16, 16, 4), np.uint8)
    a[..., 3] = 200  # translucent everywhere, transparent nowhere
    a[6:10, 3:7] = (255, 255, 255, 255)  # an opaque-white 4x4 square on black
    folder = tmp_path / "alpha200"
    folder.mkdir()
    path = _save(str(folder / "m.png"), a)
    assert masks.load_mask_file(path).sum() == 16
    assert masks.load_mask_file(path)[6:10, 3:7].all()
    draw = masks._make_drawer("folder", 16, 16, mask_dir=str(folder))
    for i in range(4):  # flips and quarter turns keep the count; the resize is the identity
        assert int(draw(_seed(2, i)).numpy().sum()) == 16


def test_folder_kind_binarises_transforms_and_resizes(mask_dir):
    files = masks.list_mask_files(mask_dir)
    assert [os.path.relpath(f, mask_dir) for f in files] == [
        "a_grey.png",
        "c_rgb.png",
        os.path.join("sub", "b_rgba.png"),
    ]

    def variants(hole):
        out = []
        for k in (0, 1, 2, 3) if hole.shape[0] == hole.shape[1] else (0, 2):
            for fl in (hole, hole[:, ::-1], hole[::-1], hole[::-1, ::-1]):
                t = np.rot90(fl, k)
                iy = masks._nearest_index(t.shape[0], 24)
                ix = masks._nearest_index(t.shape[1], 36)
                out.append(t[iy][:, ix].tobytes())
        return set(out)

    allowed = set().union(*(variants(masks.load_mask_file(f)) for f in files))
    draw = masks._make_drawer("folder", 24, 36, mask_dir=mask_dir)
    seen = set()
    for i in range(24):
        m = draw(_seed(1, i)).numpy()
        assert m.shape == (24, 36) and m.dtype == bool
        assert m.tobytes() in allowed
        seen.add(m.tobytes())
    assert len(seen) >= 6


def test_folder_errors_name_the_folder(tmp_path):
    with pytest.raises(ValueError, match="nope.*not a directory"):
        masks.list_mask_files(str(tmp_path / "nope"))
    with pytest.raises(ValueError, match="no mask files"):
        masks.list_mask_files(str(tmp_path))
    with pytest.raises(ValueError, match="needs MaskConfig.mask_dir"):
        _sampler("folder")


# -- buckets and eval sets ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "ratio, bucket",
    [
        (0.0, "0-10%"),
        (0.0999, "0-10%"),
        (0.1, "10-20%"),
        (0.3, "30-40%"),
        (0.5999, "50-60%"),
        (0.6, "50-60%"),
        (0.6001, ">60%"),
        (1.0, ">60%"),
    ],
)
def test_hole_ratio_bucket_edges(ratio, bucket):
    assert masks.hole_ratio_bucket(ratio) == bucket


@pytest.mark.parametrize("ratio", [-0.01, 1.01, float("nan")])
def test_hole_ratio_bucket_rejects_bad_ratios(ratio):
    with pytest.raises(ValueError, match="hole ratio"):
        masks.hole_ratio_bucket(ratio)


def test_make_eval_masks_deterministic_prefix_and_default_bounds():
    a = masks.make_eval_masks("freeform", 32, 70, seed=4)  # > 64: the tf.data path
    b = masks.make_eval_masks("freeform", 32, 5, seed=4)  # the direct path
    assert a.shape == (70, 32, 32) and a.dtype == np.uint8 and set(np.unique(a)) <= {0, 1}
    np.testing.assert_array_equal(a[:5], b)
    ratios = a.reshape(70, -1).mean(1)
    assert ((ratios >= 0.01) & (ratios <= 0.6)).all()
    assert not np.array_equal(b, masks.make_eval_masks("freeform", 32, 5, seed=5))
    with pytest.raises(ValueError, match="seed must be"):
        masks.make_eval_masks("freeform", 32, 5, seed=-1)


def _read_all(d):
    return {n: open(os.path.join(d, n), "rb").read() for n in sorted(os.listdir(d))}


def test_eval_set_is_byte_reproducible_and_consistent(tmp_path):
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    path = masks.make_eval_set("medium", 48, 7, 3, one)
    masks.make_eval_set("medium", 48, 7, 3, two)
    files = _read_all(one)
    assert sorted(files) == sorted([f"mask_{i:05d}.png" for i in range(7)] + [MANIFEST])
    assert files == _read_all(two)
    masks.make_eval_set("medium", 48, 7, 3, one)  # re-run in place: same bytes, no error
    assert _read_all(one) == files

    loaded, manifest = masks.load_eval_set(one)
    assert path == os.path.join(one, "manifest.json")
    assert (manifest["kind"], manifest["size"], manifest["count"], manifest["seed"]) == (
        "medium",
        48,
        7,
        3,
    )
    np.testing.assert_array_equal(loaded, masks.make_eval_masks("medium", 48, 7, 3))
    for mask, entry in zip(loaded, manifest["masks"]):
        png = np.asarray(Image.open(os.path.join(one, entry["file"])))
        assert png.dtype == np.uint8 and set(np.unique(png)) <= {0, 255}
        assert entry["hole_ratio"] == mask.mean() == (png == 255).mean()
        assert entry["bucket"] == masks.hole_ratio_bucket(entry["hole_ratio"])
    assert sum(manifest["histogram"].values()) == 7


def test_eval_set_refuses_to_overwrite_and_checks_hashes(tmp_path):
    out = str(tmp_path / "set")
    masks.make_eval_set("rect", 32, 4, 0, out)
    with pytest.raises(ValueError, match="different mask set"):
        masks.make_eval_set("rect", 32, 3, 1, out)
    masks.make_eval_set("rect", 32, 3, 1, out, overwrite=True)
    assert sorted(os.listdir(out)) == sorted([f"mask_{i:05d}.png" for i in range(3)] + [MANIFEST])
    assert json.load(open(os.path.join(out, "manifest.json")))["seed"] == 1
    _save(os.path.join(out, "mask_00001.png"), np.zeros((32, 32), np.uint8))
    with pytest.raises(ValueError, match="mask_00001.png: sha256 differs"):
        masks.load_eval_set(out)
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("x")
    with pytest.raises(ValueError, match="different mask set"):
        masks.make_eval_set("rect", 32, 2, 0, str(other))


# -- CLI -----------------------------------------------------------------------------------------
def test_cli_make_eval_set_and_preview(tmp_path, capsys):
    out = str(tmp_path / "cli")
    argv = ["make-eval-set", "--kind", "thin", "--size", "32", "--count", "3", "--seed", "2", out]
    assert masks_cli.main(argv) == 0
    assert len(os.listdir(out)) == 4
    assert masks_cli.main(argv) == 0  # same set again
    assert masks_cli.main(argv[:-2] + ["9", out]) == 2
    assert "different mask set" in capsys.readouterr().err
    assert masks_cli.main(argv[:-2] + ["9", "--overwrite", out]) == 0
    png = str(tmp_path / "grid.png")
    assert masks_cli.main(["preview", "--kind", "rect", "--size", "16", "--count", "5", png]) == 0
    assert np.asarray(Image.open(png)).shape == (2 + 2 * 18, 2 + 3 * 18)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["make-eval-set", "--kind", "blob", "--size", "32", "--count", "2", "X"], "unknown kind"),
        (["make-eval-set", "--kind", "rect", "--size", "0", "--count", "2", "X"], "size"),
        (
            ["preview", "--kind", "rect", "--size", "8", "--max-hole-ratio", "2", "X.png"],
            "max_hole_ratio",
        ),
        (["preview", "--kind", "folder", "--size", "8", "X.png"], "mask_dir"),
        (["make-eval-set", "--kind", "rect"], "required"),
    ],
)
def test_cli_user_errors_exit_2(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert masks_cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not os.path.exists(tmp_path / "X")
