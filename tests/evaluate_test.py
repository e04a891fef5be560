"""The evaluate CLI end to end, same masks for every row, baselines, and input handling."""

import csv
import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

from keras_pggan.config import get_preset
from keras_pggan.data.masks import load_eval_set, make_eval_set
from keras_pggan.evaluate.__main__ import main
from keras_pggan.evaluation import classical as baselines
from keras_pggan.evaluation import metrics as M
from keras_pggan.evaluation.evaluate import (
    EvalConfig,
    load_eval_image,
    mask_digest,
    parse_model_args,
    run_evaluation,
)
from keras_pggan.inference.inpainter import Inpainter
from keras_pggan.models.generator import build_generator

SIZE = 32


@pytest.fixture(scope="module")
def generators():
    keras.utils.set_random_seed(0)
    cfg = get_preset("tiny").generator
    return build_generator(cfg), build_generator(cfg)


@pytest.fixture(scope="module")
def files(generators, tmp_path_factory):
    """Two tiny generators saved as .keras and 4 generated photo-like images of varied sizes."""
    root = tmp_path_factory.mktemp("eval")
    paths = []
    for i, g in enumerate(generators):
        paths.append(str(root / f"g{i}.keras"))
        g.save(paths[-1])
    data = root / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(40, 48), (32, 32), (64, 37), (50, 90)]):
        yy, xx = np.mgrid[:h, :w]
        img = 127 + 100 * np.sin(yy / (3 + i) + xx / 5.0)[..., None] * rng.uniform(0.3, 1, 3)
        img = img + rng.normal(0, 4, img.shape)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(data / f"img{i}.png")
    return {"models": paths, "data": str(data), "root": root}


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_cli_end_to_end_matches_metrics_on_the_same_arrays(generators, files, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["--model", files["models"][0], "--data", files["data"], "--mask-kind", "rect"]
    args += ["--seed", "3", "--size", str(SIZE), "--out", str(out), "--quiet"]
    assert main(args) == 0
    assert "wrote" in capsys.readouterr().out
    for name in ("report.md", "metrics.json", "per_image.csv", "sheets/sheet_00003.png"):
        assert (out / name).is_file(), name
    result = json.loads((out / "metrics.json").read_text())
    names = ["g0", "telea", "ns", "mean"]
    assert list(result["methods"]) == names
    rows = read_csv(out / "per_image.csv")
    assert len(rows) == 4 * len(names)
    assert [r["method"] for r in rows[:4]] == ["g0"] * 4

    # Recompute the model's rows with metrics.py on the same arrays.
    masks, manifest = load_eval_set(str(out / "masks"))
    assert (manifest["kind"], manifest["seed"], len(masks)) == ("rect", 3, 4)
    paths = sorted(os.path.join(files["data"], f) for f in os.listdir(files["data"]))
    truth = np.stack([load_eval_image(p, SIZE) for p in paths])
    pred = Inpainter(generators[0]).predict_batch(truth, masks)
    model_rows = [r for r in rows if r["method"] == "g0"]
    for i, r in enumerate(model_rows):
        ref = M.image_metrics(pred[i], truth[i], masks[i])
        assert r["file"] == f"img{i}.png"
        for key in M.METRIC_KEYS:
            assert float(r[key]) == pytest.approx(ref[key], abs=1e-9), (i, key)
    mean_rows = [r for r in rows if r["method"] == "mean"]
    for i, r in enumerate(mean_rows):
        ref = M.image_metrics(baselines.mean_fill(truth[i], masks[i]), truth[i], masks[i])
        assert float(r["psnr"]) == pytest.approx(ref["psnr"], abs=1e-9)
    # metrics.json overall = mean of the CSV rows; the report shows the same numbers.
    overall = result["methods"]["g0"]["overall"]
    for key in M.METRIC_KEYS:
        assert overall[key] == pytest.approx(np.mean([float(r[key]) for r in model_rows]))
    report = (out / "report.md").read_text()
    line = next(x for x in report.splitlines() if x.startswith("| `g0`"))
    assert f"{overall['psnr']:.2f}" in line and f"{overall['ssim']:.4f}" in line
    assert "OpenCV Telea" in report and "By hole ratio" in report
    buckets = result["methods"]["g0"]["buckets"]
    assert sum(b["count"] for b in buckets.values()) == 4
    assert set(buckets) == {e["bucket"] for e in manifest["masks"]}


def test_every_row_uses_the_manifest_masks(files, tmp_path):
    mask_dir = str(tmp_path / "set")
    make_eval_set("thick", SIZE, 6, 1, mask_dir)
    masks, manifest = load_eval_set(mask_dir)
    cfg = EvalConfig(
        models=parse_model_args(None, [f"a={files['models'][0]}", f"b={files['models'][1]}"]),
        data_dir=files["data"],
        out_dir=str(tmp_path / "out"),
        size=SIZE,
        masks_dir=mask_dir,
        baselines=("telea", "mean"),
        num_sheets=1,
    )
    result = run_evaluation(cfg, progress=False)
    rows = read_csv(tmp_path / "out" / "per_image.csv")
    assert {r["method"] for r in rows} == {"a", "b", "telea", "mean"} and len(rows) == 16
    for r in rows:
        i = int(r["index"])
        assert r["mask_sha256"] == manifest["masks"][i]["sha256"]
        assert r["mask_digest"] == mask_digest(masks[i])
        assert r["bucket"] == manifest["masks"][i]["bucket"]
    shas = {m["masks_sha256"] for m in result["methods"].values()}
    assert len(shas) == 1 and shas == {result["mask_set"]["masks_sha256"]}
    assert result["mask_set"]["used"] == 4 and result["mask_set"]["count_in_set"] == 6
    # Two different generators in one table (--compare): their rows differ.
    a, b = result["methods"]["a"]["overall"], result["methods"]["b"]["overall"]
    assert a["hole_l1"] != b["hole_l1"]
    assert sorted(os.listdir(tmp_path / "out" / "sheets")) == ["sheet_00000.png"]


def test_missing_opencv_skips_its_rows_with_a_note(files, tmp_path, monkeypatch):
    monkeypatch.setattr(baselines, "opencv_available", lambda: False)
    cfg = EvalConfig(
        models=(),
        data_dir=files["data"],
        out_dir=str(tmp_path),
        size=SIZE,
        mask_kind="center",
        count=2,
        num_sheets=0,
    )
    result = run_evaluation(cfg, progress=False)
    assert list(result["methods"]) == ["mean"]
    assert set(result["skipped"]) == {"telea", "ns"}
    report = (tmp_path / "report.md").read_text()
    assert "OpenCV Telea skipped" in report and "opencv-python-headless" in report
    assert len(read_csv(tmp_path / "per_image.csv")) == 2
    assert not (tmp_path / "sheets").exists()


def test_cli_errors_exit_2(files, tmp_path, capsys):
    base = ["--data", files["data"], "--size", str(SIZE), "--out", str(tmp_path / "o")]
    mask_dir = str(tmp_path / "set48")
    make_eval_set("center", 48, 4, 0, mask_dir)
    cases = [
        (["--model", files["models"][0], "--masks", mask_dir], "48 px but --size is 32"),
        (["--model", str(tmp_path / "nope.keras"), "--mask-kind", "rect"], "nope.keras"),
        (["--compare", *files["models"][:1] * 2, "--mask-kind", "rect"], "share the label"),
        (["--model", files["models"][0], "--mask-kind", "rect", "--baselines", "x"], "'x'"),
    ]
    for args, message in cases:
        assert main([*base, *args, "--quiet"]) == 2, args
        assert message in capsys.readouterr().err, message
    assert (
        main(
            [
                "--model",
                files["models"][0],
                "--data",
                str(tmp_path / "none"),
                "--out",
                str(tmp_path / "o"),
                "--mask-kind",
                "rect",
                "--quiet",
            ]
        )
        == 2
    )
    assert "no such data directory" in capsys.readouterr().err


def test_count_above_the_images_uses_all_of_them(files, tmp_path, capsys):
    # --help says "the first N": with fewer images there, all of them (it used to exit 2).
    out = tmp_path / "o"
    argv = ["--data", files["data"], "--size", str(SIZE), "--out", str(out), "--quiet"]
    argv += ["--model", files["models"][0], "--mask-kind", "rect", "--count", "9"]
    argv += ["--baselines", "none", "--sheets", "0"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "--count 9" in err and "holds 4 images; using all" in err
    assert len(read_csv(out / "per_image.csv")) == 4


def test_load_eval_image_resizes_short_side_and_centre_crops(tmp_path):
    image = np.arange(40 * 64 * 3, dtype=np.uint32).reshape(40, 64, 3) % 251
    path = tmp_path / "x.png"
    Image.fromarray(image.astype(np.uint8)).save(path)
    # Short side already at the size: a pure centre crop, no resampling.
    np.testing.assert_array_equal(load_eval_image(str(path), 40), image[:, 12:52].astype(np.uint8))
    small = load_eval_image(str(path), 20)
    assert small.shape == (20, 20, 3) and small.dtype == np.uint8


def smooth(h=48, w=48):
    yy, xx = np.mgrid[:h, :w]
    return np.stack([yy * 4, xx * 4, (yy + xx) * 2], axis=-1).astype(np.uint8)


def test_baselines_fill_only_holes_and_opencv_beats_mean_on_gradients():
    image = smooth()
    mask = np.zeros((48, 48), bool)
    mask[18:30, 20:28] = True
    errs = {}
    for name in baselines.BASELINES:
        out = baselines.get_baseline(name)(image, mask)
        np.testing.assert_array_equal(out[~mask], image[~mask])
        errs[name] = M.hole_l1(out, image, mask)
    known = image[~mask].mean(axis=0)
    np.testing.assert_array_equal(baselines.mean_fill(image, mask)[20, 22], np.round(known))
    assert errs["telea"] < errs["mean"] / 2 and errs["ns"] < errs["mean"] / 2
    assert baselines.parse_baselines("telea, MEAN") == ("telea", "mean")
    assert baselines.parse_baselines("none") == ()
    with pytest.raises(ValueError, match="unknown baseline 'foo'"):
        baselines.parse_baselines("mean,foo")
    with pytest.raises(ValueError, match="does not match"):
        baselines.mean_fill(image, mask[:10])


def test_feature_model_gives_fid_and_lpips_rows(files, tmp_path):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((None, None, 3))
    fmap = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    vector = keras.layers.GlobalAveragePooling2D()(fmap)
    path = str(tmp_path / "features.keras")
    keras.Model(inputs, [fmap, vector]).save(path)
    cfg = EvalConfig(
        models=(("g0", files["models"][0]),),
        data_dir=files["data"],
        out_dir=str(tmp_path / "out"),
        size=SIZE,
        mask_kind="center",
        baselines=("mean",),
        feature_model=path,
    )
    result = run_evaluation(cfg, progress=False)
    for m in result["methods"].values():
        assert m["fid"] is not None and m["fid"] >= 0 and m["lpips"] > 0
    report = (tmp_path / "out" / "report.md").read_text()
    header = next(x for x in report.splitlines() if x.startswith("| method | kind"))
    assert "| FID | LPIPS-style |" in header


def test_flat_colour_check_scores_casts():
    from keras_pggan.evaluation.evaluate import FLAT_COLOURS, flat_colour_check

    exact = flat_colour_check(lambda image, mask: image)  # a fill that keeps the colour
    assert set(exact) == set(FLAT_COLOURS)
    assert all(r["max_abs_mean_error"] == 0 and r["p99_pixel_error"] == 0 for r in exact.values())

    def green(image, mask):
        out = image.copy().astype(int)
        out[mask, 1] += 20
        return np.clip(out, 0, 255).astype(np.uint8)

    cast = flat_colour_check(green)
    assert cast["grey"]["mean_error"] == [0.0, 20.0, 0.0]
    assert cast["lavender"]["mean_error"][1] == 20.0  # 230 + 20 still fits in uint8


def test_score_methods_on_a_list_file(tmp_path):
    from keras_pggan.evaluation.evaluate import score_methods

    files = []
    rng = np.random.default_rng(0)
    for i in range(3):
        path = tmp_path / f"p{i}.png"
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)
        files.append(str(path))
    scores = score_methods({"mean": "baseline:mean"}, files, size=32)
    assert set(scores["mean"]) == {"center", "freeform"}
    centre = scores["mean"]["center"]
    assert 0 < centre["hole_l1"] < 100 and centre["hole_colour"] >= 0
    assert np.isfinite(centre["psnr"])
