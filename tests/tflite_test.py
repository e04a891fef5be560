"""TFLite builds: builtin ops only, agreement with Keras per mode, compositing, size check."""

import os

import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from keras_pggan.export.__main__ import main as export_main
from keras_pggan.export.calibration import calibration_samples
from keras_pggan.export.tflite import (
    TFLiteCheckError,
    check_builtin_ops,
    check_tflite_size,
    convert_saved_model,
    export_tflite,
    tflite_ops,
)
from keras_pggan.inference.backends import TFLiteInpainter, read_metadata, run_tflite
from keras_pggan.inference.fill import fill_holes

# The converter's int8 calibrator still uses the deprecated tf.lite.Interpreter internally.
pytestmark = pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")

BUILDS = [
    ("fp32", "float"),
    ("dynamic", "float"),
    ("fp16", "float"),
    ("int8", "float"),
    ("int8", "uint8"),
]
# Bounds against Keras on the test image. Measured on this model: fp16 max 6e-5 / hole mean 1.4e-5,
# dynamic max 1.8e-3 / hole mean 3.8e-4, int8 max 5.5e-3 / hole mean 2.0e-3 (the Keras fill's
# own mean deviation in the hole is 1.3e-2, so a flat fill would fail the int8 bound).
MAX_ABS = {"fp32": 1e-4, "fp16": 5e-4, "dynamic": 6e-3}
HOLE_MAE = {"fp32": 1e-5, "fp16": 1e-4, "dynamic": 1e-3, "int8": 5e-3}


def smooth_images(n, h, w, seed):
    """Photo-like uint8 images: gradients, low-frequency waves and a few flat blobs."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w] / max(h, w)
    out = []
    for _ in range(n):
        img = np.zeros((h, w, 3))
        for c in range(3):
            fy, fx, phase = rng.uniform(0.5, 3, 2).tolist() + [rng.uniform(0, 6)]
            img[..., c] = 0.5 + 0.3 * np.sin(2 * np.pi * (fy * yy + fx * xx) + phase)
            img[..., c] += rng.uniform(-0.2, 0.2) * (yy - xx)
        for _ in range(3):
            cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(3, h / 3)
            img[(yy * max(h, w) - cy) ** 2 + (xx * max(h, w) - cx) ** 2 < r**2] = rng.uniform(
                0, 1, 3
            )
        out.append(np.round(np.clip(img, 0, 1) * 255).astype(np.uint8))
    return out


def hole_mask(h, w):
    m = np.zeros((h, w), np.float32)
    m[h // 4 : h // 4 + h // 2, w // 5 : w // 5 + w // 2] = 1.0
    return m


def invoke_raw(path, image, mask, threads=1):
    """Runs a build with the bare LiteRT API: resize_tensor_input, allocate_tensors, invoke."""
    it = Interpreter(model_path=path, num_threads=threads)
    details = it.get_signature_runner("serving_default").get_input_details()
    out_details = it.get_signature_runner("serving_default").get_output_details()["inpainted"]
    for name, value in (("image", image), ("mask", mask)):
        it.resize_tensor_input(details[name]["index"], list(value.shape))
    it.allocate_tensors()
    for name, value in (("image", image), ("mask", mask)):
        d = details[name]
        if d["dtype"] == np.uint8:
            scale, zero = d["quantization"]
            value = np.clip(np.round(value / scale + zero), 0, 255).astype(np.uint8)
        it.set_tensor(d["index"], value)
    it.invoke()
    out = it.get_tensor(out_details["index"])
    if out_details["dtype"] == np.uint8:
        scale, zero = out_details["quantization"]
        return (out.astype(np.float32) - zero) * scale, out
    return out, out


# Fixture `generator` (the tiny preset, seed 0): conftest.py.


@pytest.fixture(scope="module")
def builds(generator, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tflite")
    photos = smooth_images(4, 48, 64, seed=1)
    reports = {}
    for mode, io in BUILDS:
        reports[f"{mode}-{io}"] = export_tflite(
            generator,
            str(folder / f"g-{mode}-{io}.tflite"),
            mode=mode,
            io=io,
            calibration_data=photos,
            num_calibration=6,
            calibration_size=32,
        )
    return reports


@pytest.fixture(scope="module")
def test_input():
    """A non-square 40×56 image on the 1/255 grid (so uint8 I/O is lossless) with a hole."""
    image = smooth_images(1, 40, 56, seed=7)[0].astype(np.float32) / 255.0
    return image, hole_mask(40, 56)


@pytest.mark.parametrize("key", [f"{m}-{io}" for m, io in BUILDS])
def test_builds_have_only_builtin_ops_and_their_weights(builds, generator, key):
    report = builds[key]
    with open(report["path"], "rb") as f:
        data = f.read()
    ops = tflite_ops(data)
    assert sorted(set(ops)) == report["ops"]
    assert not [op for op in ops if op.startswith("CUSTOM") or "flex" in op.lower()]
    # Native dilated convolutions: no SpaceToBatch round trip even with dynamic H, W.
    assert "SPACE_TO_BATCH_ND" not in ops and "BATCH_TO_SPACE_ND" not in ops
    assert ops.count("CONV_2D") == 10
    assert report["params"] == generator.count_params() == 19003
    assert report["bytes"] == len(data) >= 0.5 * report["expected_bytes"]
    assert report["inputs"]["image"]["shape_signature"] == [1, -1, -1, 3]
    assert report["inputs"]["mask"]["shape_signature"] == [1, -1, -1, 1]
    assert report["outputs"]["inpainted"]["shape_signature"] == [1, -1, -1, 3]
    expected_dtype = "uint8" if key.endswith("uint8") else "float32"
    assert report["inputs"]["image"]["dtype"] == expected_dtype
    if key.startswith("int8"):
        assert "QUANTIZE" in ops and report["calibration"]["num_samples"] == 6
        # Input ranges pinned to [0,1]: uint8 pixels map to int8 without rounding and the
        # uint8 mask is the natural 0 = known, 255 = hole.
        if expected_dtype == "uint8":
            for name in ("image", "mask"):
                assert report["inputs"][name]["quantization"] == [pytest.approx(1 / 255), 0]
            assert report["outputs"]["inpainted"]["quantization"] == [pytest.approx(1 / 255), 0]


def test_metadata_input_order_and_alignment(builds):
    path = builds["fp32-float"]["path"]
    meta = read_metadata(path)
    assert meta["pad_multiple"] == 4 and meta["inputs"] == ["image", "mask"]
    assert meta["output"] == "inpainted" and meta["fixed_size"] is None
    it = Interpreter(model_path=path)
    names = [d["name"] for d in it.get_input_details()]
    # Documented positional order: reverse name order, recorded in the metadata.
    assert names == ["serving_default_mask:0", "serving_default_image:0"]
    assert meta["input_order"] == builds["fp32-float"]["input_order"] == ["mask", "image"]
    # Re-packing for the metadata keeps constant buffers 16-byte aligned (as the C++ writer).
    from ai_edge_litert import schema_py_generated as schema

    with open(path, "rb") as f:
        data = f.read()
    model = schema.Model.GetRootAs(data, 0)
    base = np.frombuffer(data, np.uint8).__array_interface__["data"][0]
    offsets = [
        model.Buffers(i).DataAsNumpy().__array_interface__["data"][0] - base
        for i in range(model.BuffersLength())
        if model.Buffers(i).DataLength() >= 16
    ]
    assert offsets and all(o % 16 == 0 for o in offsets)


def test_fp32_matches_keras_on_non_square_input(builds, generator, test_input):
    image, mask = test_input
    ref = fill_holes(generator, image[None], mask[None, ..., None]).numpy()
    out, _ = invoke_raw(builds["fp32-float"]["path"], image[None], mask[None, ..., None])
    assert out.shape == (1, 40, 56, 3)
    np.testing.assert_allclose(out, ref, atol=1e-4, rtol=0)
    # The same interpreter path at another size after resize_tensor_input.
    image2, mask2 = image[:32, :48], hole_mask(32, 48)
    ref2 = fill_holes(generator, image2[None], mask2[None, ..., None]).numpy()
    out2, _ = invoke_raw(builds["fp32-float"]["path"], image2[None], mask2[None, ..., None])
    np.testing.assert_allclose(out2, ref2, atol=1e-4, rtol=0)


@pytest.mark.parametrize("key", ["dynamic-float", "fp16-float", "int8-float", "int8-uint8"])
def test_quantized_builds_within_bounds(builds, generator, test_input, key):
    image, mask = test_input
    ref = fill_holes(generator, image[None], mask[None, ..., None]).numpy()[0]
    out = invoke_raw(builds[key]["path"], image[None], mask[None, ..., None])[0][0]
    mode = key.split("-")[0]
    holes = mask > 0
    hole_mae = float(np.abs(out - ref)[holes].mean())
    assert hole_mae <= HOLE_MAE[mode], hole_mae
    if mode in MAX_ABS:
        assert float(np.abs(out - ref).max()) <= MAX_ABS[mode]
    # Not trivially passing: a flat fill at the right mean would miss the bound by 2x or more.
    assert float(np.abs(ref[holes] - ref[holes].mean()).mean()) > 2 * HOLE_MAE[mode]


@pytest.mark.parametrize("key", [f"{m}-{io}" for m, io in BUILDS])
def test_known_pixels_unchanged(builds, test_input, key):
    image, mask = test_input
    out, raw = invoke_raw(builds[key]["path"], image[None], mask[None, ..., None])
    known = mask == 0
    if key in ("fp32-float", "dynamic-float", "fp16-float"):
        np.testing.assert_array_equal(out[0][known], image[known])
    elif key == "int8-uint8":
        assert raw.dtype == np.uint8
        diff = np.abs(raw[0][known].astype(int) - np.round(image[known] * 255).astype(int))
        assert diff.max() <= 1  # within 1/255 (measured: 0)
    else:
        assert np.abs(out[0][known] - image[known]).max() <= 1 / 255
    # The host runner re-composites: exact for every build.
    result = run_tflite(builds[key]["path"], image, mask, num_threads=1)
    np.testing.assert_array_equal(result[known], image[known])
    assert result.dtype == np.float32 and result.shape == (40, 56, 3)


def test_runner_pads_odd_sizes_like_keras(builds, generator, test_input):
    image, mask = test_input[0][:38, :53], hole_mask(38, 53)
    inpainter = TFLiteInpainter(builds["fp32-float"]["path"], num_threads=2)
    assert inpainter.pad_multiple == 4 and inpainter.fixed_size is None
    out = inpainter(image, mask.astype(bool))
    assert out.shape == (38, 53, 3)
    pad = ((0, 2), (0, 3))
    x = np.pad(image, (*pad, (0, 0)), mode="symmetric")
    m = np.pad(mask, pad, mode="symmetric")
    ref = fill_holes(generator, x[None], m[None, ..., None]).numpy()[0, :38, :53]
    np.testing.assert_allclose(out, ref, atol=1e-4, rtol=0)
    # uint8 images and 0/255 masks are accepted; uint8-I/O builds agree with the float build.
    out8 = TFLiteInpainter(builds["int8-uint8"]["path"])(
        np.round(image * 255).astype(np.uint8), (mask * 255).astype(np.uint8)
    )
    assert np.abs(out8 - out)[mask > 0].mean() <= HOLE_MAE["int8"]
    with pytest.raises(ValueError, match="does not match"):
        inpainter(image, mask[:10])


def test_pad_inside_fixed_size_and_dilation_lowerings_agree(generator, tmp_path, test_input):
    image, mask = test_input
    corner = hole_mask(38, 53)
    corner[30:, 45:] = 1.0  # a hole on the padded border: the mask must mirror with the image
    x, m = image[None, :38, :53], corner[None, ..., None]
    inside = export_tflite(generator, str(tmp_path / "inside.tflite"), pad_inside=True)
    assert "MIRROR_PAD" in inside["ops"] and read_metadata(inside["path"])["pad_inside"]
    out_inside, _ = invoke_raw(inside["path"], x, m)
    assert out_inside.shape == (1, 38, 53, 3)
    host = run_tflite(inside["path"], x[0], m[0, ..., 0])  # runner skips host padding
    np.testing.assert_allclose(host, out_inside[0], atol=1e-6)
    pad = ((0, 0), (0, 2), (0, 3), (0, 0))
    ref = fill_holes(
        generator, np.pad(x, pad, mode="symmetric"), np.pad(m, pad, mode="symmetric")
    ).numpy()[:, :38, :53]
    np.testing.assert_allclose(out_inside, ref, atol=1e-4, rtol=0)

    x, m = image[None, :32, :48], hole_mask(32, 48)[None, ..., None]
    ref = fill_holes(generator, x, m).numpy()
    s2b = export_tflite(generator, str(tmp_path / "s2b.tflite"), dilated_conv="space_to_batch")
    fixed = export_tflite(generator, str(tmp_path / "fixed.tflite"), fixed_size=(32, 48))
    # Keras's lowering keeps SpaceToBatch/BatchToSpace with dynamic shapes; a fixed size lets the
    # converter fold them back into dilated CONV_2D.
    assert {"SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND"} <= set(s2b["ops"])
    assert "SPACE_TO_BATCH_ND" not in fixed["ops"] and "SHAPE" not in fixed["ops"]
    assert fixed["inputs"]["image"]["shape_signature"] == [1, 32, 48, 3]
    for report in (s2b, fixed):
        out, _ = invoke_raw(report["path"], x, m)
        np.testing.assert_allclose(out, ref, atol=1e-4, rtol=0)
    fixed_runner = TFLiteInpainter(fixed["path"])
    assert fixed_runner.fixed_size == (32, 48)
    assert fixed_runner(image[:30, :40], hole_mask(30, 40)).shape == (30, 40, 3)
    with pytest.raises(ValueError, match="larger than the model's fixed size"):
        fixed_runner(image, mask)


def test_weightless_conversion_is_caught(generator, tmp_path):
    # The Keras 3 trap: tf.saved_model.save converts "successfully" into a model without weights.
    saved = str(tmp_path / "tf_saved_model")
    tf.saved_model.save(generator, saved)
    with pytest.raises(TFLiteCheckError, match="far smaller than the 76012 bytes"):
        convert_saved_model(saved, "fp32", params=generator.count_params())


def test_size_and_op_checks():
    assert check_tflite_size(40_000, 10_000, "fp32") == 1.0
    assert check_tflite_size(6_000, 10_000, "int8") == 0.6
    with pytest.raises(TFLiteCheckError, match=r"1000 bytes is far smaller .*\(ratio 0.03"):
        check_tflite_size(1_000, 10_000, "fp32")
    with pytest.raises(TFLiteCheckError, match=r"ratio 0.40 < 0.5"):
        check_tflite_size(8_000, 10_000, "fp16")
    check_builtin_ops(["CONV_2D", "ADD"])
    with pytest.raises(TFLiteCheckError, match=r"non-builtin ops \['CUSTOM:FlexConv2D'\]"):
        check_builtin_ops(["CONV_2D", "CUSTOM:FlexConv2D"])


def test_bad_arguments(generator, tmp_path):
    out = str(tmp_path / "x.tflite")
    with pytest.raises(ValueError, match="mode must be one of"):
        export_tflite(generator, out, mode="int4")
    with pytest.raises(ValueError, match="needs mode='int8'"):
        export_tflite(generator, out, mode="fp16", io="uint8")
    with pytest.raises(ValueError, match="not a multiple of the pad multiple 4"):
        export_tflite(generator, out, fixed_size=(30, 32))
    with pytest.raises(ValueError, match="no readable images"):
        export_tflite(generator, out, mode="int8", calibration_data=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no such file"):
        export_tflite(str(tmp_path / "missing.keras"), out)
    assert not os.path.exists(out)


def test_calibration_samples_shapes_and_masks():
    samples = calibration_samples(smooth_images(2, 40, 30, seed=3), 5, (32, 48), seed=0)
    assert len(samples) == 5
    for s in samples:
        assert s["image"].shape == (1, 32, 48, 3) and s["mask"].shape == (1, 32, 48, 1)
        assert 0.0 <= s["image"].min() and s["image"].max() <= 1.0
        assert set(np.unique(s["mask"])) <= {0.0, 1.0} and 0 < s["mask"].mean() < 1
    again = calibration_samples(smooth_images(2, 40, 30, seed=3), 5, (32, 48), seed=0)
    np.testing.assert_array_equal(samples[4]["mask"], again[4]["mask"])
    defaults = calibration_samples(None, 2, (32, 32))
    assert len(defaults) == 2 and defaults[0]["image"].std() > 0.01


@pytest.mark.large
def test_export_command_writes_builds_and_model_card(generator, tmp_path, capsys):
    from PIL import Image

    model = str(tmp_path / "generator.keras")
    generator.save(model)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, img in enumerate(smooth_images(2, 40, 40, seed=5)):
        Image.fromarray(img).save(photos / f"p{i}.png")
    out = str(tmp_path / "models" / "tiny")
    rc = export_main(
        [
            "tflite",
            "--model",
            model,
            "--out",
            out,
            "--modes",
            "fp32,int8",
            "--io",
            "uint8",
            "--calibration-data",
            str(photos),
            "--num-calibration",
            "2",
            "--calibration-size",
            "32",
        ]
    )
    assert rc == 0
    assert os.path.isfile(out + "-fp32.tflite") and os.path.isfile(out + "-int8-uint8.tflite")
    with open(out + "-tflite.md", encoding="utf-8") as f:
        card = f.read()
    assert "### tiny-fp32.tflite" in card and "### tiny-int8-uint8.tflite" in card
    assert "multiples of 4" in card and "`mask` uint8 [1,H,W,1], 255 = hole" in card
    assert read_metadata(out + "-int8-uint8.tflite")["io"] == "uint8"
    # A later run under the same prefix keeps the other builds' sections.
    tflite = ["tflite", "--model", model, "--out", out]
    assert export_main([*tflite, "--modes", "fp32"]) == 2  # exists
    assert "--overwrite" in capsys.readouterr().err
    assert export_main([*tflite, "--modes", "fp32", "--overwrite"]) == 0
    with open(out + "-tflite.md", encoding="utf-8") as f:
        card = f.read()
    assert card.count("### tiny-fp32.tflite") == 1 and "### tiny-int8-uint8.tflite" in card

    assert export_main(["tflite", "--model", str(tmp_path / "nope.keras"), "--out", out]) == 2
    assert export_main([*tflite, "--modes", "fp64"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("error: --model:") and "no such file" in err[0]
    assert err[1].startswith("error: --modes:") and "fp64" in err[1]
