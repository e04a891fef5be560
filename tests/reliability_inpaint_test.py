"""Bad input to ``python -m keras_pggan.inpaint``, the ``Inpainter`` API and its backends
(keras_pggan.inpaint, keras_pggan.inference.backends: Keras and TFLite): every corpus case, the
TFLite
runner's tensor cases, and atomic output writes.

The corpus is :mod:`keras_pggan.testing.corpus`; docs/reliability.md holds the table case →
behaviour per entry point → test.
"""

import os

import numpy as np
import pytest
from PIL import Image
from reliability_fixtures import H, W, read_png, run_cli

from keras_pggan.data import imageio
from keras_pggan.inference.backends import TFLiteInpainter
from keras_pggan.inpaint import __main__ as inpaint_mod
from keras_pggan.testing import corpus

# -- entry point 2: python -m keras_pggan.inpaint (and the Inpainter API) ----------------------


def _case_paths(rel_corpus, case):
    """(image path, mask path) of a file case for the CLIs."""
    if case in corpus.IMAGE_CASES:
        item = rel_corpus.images[case]
        return item.path, item.mask_path or rel_corpus.mask_path
    return rel_corpus.image_path, rel_corpus.masks[case].path


@pytest.mark.parametrize("backend", ["keras", "tflite"])
@pytest.mark.parametrize("case", [*corpus.IMAGE_CASES, *corpus.MASK_CASES, "empty_batch"])
def test_inpaint_cli(rel_corpus, rel_models, tmp_path, capsys, backend, case):
    """``--model g.keras`` (entry point inpaint) and ``--model g.tflite`` (entry point TFLite)."""
    main = inpaint_mod.main
    out = tmp_path / "out.png"
    model = rel_models[backend]
    if case == "empty_batch":
        (tmp_path / "in").mkdir()
        argv = ["--model", model, "--input-dir", tmp_path / "in", "--output-dir", tmp_path / "o"]
        code, _, err = run_cli(main, [*argv, "--quiet"], capsys)
        assert code == 2 and "no images found" in err, err
        return
    image_path, mask_path = _case_paths(rel_corpus, case)
    code, _, err = run_cli(
        main, ["--model", model, image_path, "--mask", mask_path, "-o", out, "--quiet"], capsys
    )
    if case in corpus.UNDECODABLE:
        assert code == 2, err
        assert image_path in err and rel_corpus.images[case].problem in err.lower(), err
        assert not out.exists()
        return
    if case == "mask_wrong_size":
        assert code == 2, err
        assert mask_path in err and f"{W - 4}x{H + 4}" in err and f"{W}x{H}" in err, err
        assert not out.exists()
        return
    assert code == 0, err
    result = read_png(out)
    if case in corpus.IMAGE_CASES:
        item = rel_corpus.images[case]
        expected, holes = item.expected, item.holes
    else:
        expected, holes = rel_corpus.image, rel_corpus.masks[case].holes
    assert result.shape == expected.shape
    # Every known pixel is the input's, byte for byte (EXIF applied, colour modes converted).
    np.testing.assert_array_equal(result[~holes], expected[~holes])
    if case == "mask_no_hole":
        np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("case", sorted(corpus.UNDECODABLE))
def test_inpaint_cli_undecodable_mask_file(rel_corpus, rel_models, tmp_path, capsys, case):
    mask = rel_corpus.images[case].path
    out = tmp_path / "out.png"
    code, _, err = run_cli(
        inpaint_mod.main,
        ["--model", rel_models["keras"], rel_corpus.image_path, "--mask", mask, "-o", out],
        capsys,
    )
    assert code == 2 and mask in err and "cannot decode mask image" in err, err
    assert not out.exists()


@pytest.mark.parametrize("backend", ["keras", "tflite"])
@pytest.mark.parametrize("case", corpus.TENSOR_CASES)
def test_inpainter_api_tensor_cases(rel_inpainters, backend, case):
    """``Inpainter`` (Keras backend: entry point inpaint; ``.tflite``: entry point TFLite)."""
    inpainter = rel_inpainters[backend]
    image, mask, problem = corpus.tensor_case(case)
    if case == "empty_batch":
        out = inpainter.predict_batch(image, mask)
        assert out.shape == (0, H, W, 3) and out.dtype == np.uint8
        one = inpainter(np.zeros((0, 0, 3), np.uint8), np.zeros((0, 0), bool))
        assert one.shape == (0, 0, 3)
        return
    with pytest.raises(ValueError, match=f"(?i){problem}"):
        inpainter.predict_batch(image, mask)
    for i in range(len(image)):  # image 0 has the NaN, image 1 the Inf
        with pytest.raises(ValueError, match=f"(?i){problem}"):
            inpainter(image[i], mask[i])
    if case == "nan_inf":
        good = image[1:].copy()
        good[np.isinf(good)] = 0.5
        bad_mask = mask[1:].copy()
        bad_mask[0, 0, 0, 0] = np.nan
        with pytest.raises(ValueError, match="mask has NaN or Inf"):
            inpainter.predict_batch(good, bad_mask)


# -- entry point 6: the TFLite runner (file cases: test_inpaint_cli[tflite-...]) ---------------


@pytest.mark.parametrize("case", corpus.TENSOR_CASES)
def test_tflite_inpainter_tensor_cases(rel_models, case):
    runner = TFLiteInpainter(rel_models["tflite"])
    image, mask, problem = corpus.tensor_case(case)
    if case == "empty_batch":
        for shape in [(0, 0), (0, W), (H, 0)]:
            out = runner(np.zeros((*shape, 3), np.float32), np.zeros(shape, bool))
            assert out.shape == (*shape, 3)
        return
    for i in range(len(image)):
        with pytest.raises(ValueError, match=f"(?i){problem}"):
            runner(image[i], mask[i])
    # The runner works after refusing bad input.
    good = runner(corpus.smooth_image(H, W), corpus.box_holes(H, W))
    assert good.shape == (H, W, 3) and np.isfinite(good).all()


# -- the CLI's output files ------------------------------------------------------------------------


def test_output_writes_are_atomic(rel_corpus, tmp_path, monkeypatch):
    """A write that dies half-way leaves the previous file intact and no temporary file."""
    out = tmp_path / "out.png"
    out.write_bytes(b"previous result")
    real_save = Image.Image.save

    def dying_save(self, fp, *args, **kwargs):
        real_save(self, fp, *args, **kwargs)
        with open(fp, "r+b") as f:
            f.truncate(10)
        raise KeyboardInterrupt  # the process "dies" mid-write

    monkeypatch.setattr(Image.Image, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        imageio.save_image(rel_corpus.image, str(out))  # what the inpaint CLI writes with
    assert out.read_bytes() == b"previous result"
    assert os.listdir(tmp_path) == ["out.png"]
