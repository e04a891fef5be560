"""Bad input to ``python -m keras_pggan.evaluate``: every image and mask case of the corpus.

The corpus is :mod:`keras_pggan.testing.corpus`; docs/reliability.md holds the table case →
behaviour per entry point → test.
"""

import csv
import hashlib
import json
import os
import shutil

import numpy as np
import pytest
from reliability_fixtures import CROP, png_bytes, run_cli

from keras_pggan.data import masks as masks_lib
from keras_pggan.evaluate import __main__ as evaluate_mod
from keras_pggan.testing import corpus

# -- entry point 3: python -m keras_pggan.evaluate --------------------------------------------


def _eval_set(folder, case) -> str:
    """An eval mask set at the crop size whose mask 0 is the mask case (re-drawn at CROP²)."""
    if case == "mask_wrong_size":
        masks_lib.make_eval_set("center", CROP - 8, 1, 0, str(folder))
        return str(folder)
    masks_lib.make_eval_set("center", CROP, 1, 0, str(folder))
    pixels, holes = corpus.mask_image(case, CROP, CROP)
    data = png_bytes(pixels)
    with open(folder / "mask_00000.png", "wb") as f:
        f.write(data)
    manifest = json.loads((folder / "manifest.json").read_text())

    ratio = float(holes.mean())
    manifest["masks"][0].update(
        hole_pixels=int(holes.sum()),
        hole_ratio=ratio,
        bucket=masks_lib.hole_ratio_bucket(ratio),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return str(folder)


@pytest.mark.parametrize("case", [*corpus.IMAGE_CASES, *corpus.MASK_CASES, "empty_batch"])
def test_evaluate_cli(rel_corpus, rel_models, tmp_path, capsys, case):
    data = tmp_path / "data"
    data.mkdir()
    out = tmp_path / "out"
    argv = ["--model", rel_models["keras"], "--data", data, "--size", CROP, "--out", out]
    argv += ["--baselines", "mean", "--sheets", "1", "--quiet"]
    if case != "empty_batch":
        shutil.copy(rel_corpus.image_path, data / "a_good.png")
    if case in corpus.MASK_CASES:
        argv += ["--masks", _eval_set(tmp_path / "masks", case)]
    else:
        argv += ["--mask-kind", "center"]
    if case in corpus.IMAGE_CASES:
        shutil.copy(rel_corpus.images[case].path, data)
    code, _, err = run_cli(evaluate_mod.main, argv, capsys)
    if case == "empty_batch":
        assert code == 2 and "no image files found" in err, err
        return
    if case in corpus.UNDECODABLE:
        # A benchmark does not silently score a subset: the run stops, naming the file.
        assert code == 2, err
        assert rel_corpus.images[case].path.split(os.sep)[-1] in err, err
        assert rel_corpus.images[case].problem in err.lower(), err
        assert not (out / "metrics.json").exists()
        return
    if case == "mask_wrong_size":
        assert code == 2 and f"mask set is {CROP - 8} px but --size is {CROP}" in err, err
        return
    assert code == 0, err
    count = 2 if case in corpus.IMAGE_CASES else 1
    result = json.loads((out / "metrics.json").read_text())
    assert result["images"]["count"] == count
    overall = result["methods"]["g"]["overall"]
    with open(out / "per_image.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["method"] == "g"]
    assert len(rows) == count
    if case in corpus.MASK_CASES:
        _, holes = corpus.mask_image(case, CROP, CROP)
        assert float(rows[0]["hole_ratio"]) == pytest.approx(holes.mean())
        if case == "mask_no_hole":  # nothing to fill: output = truth, hole metrics undefined
            assert rows[0]["identical"] == "True"
            assert result["methods"]["g"]["overall"]["no_hole"] == 1
            return
    assert overall["psnr"] is not None and np.isfinite(overall["psnr"])
