"""Bad input, training faults and resume: every entry point × every corpus case, the NaN guard,
crash-safe checkpoints, ``kill -9`` + ``--resume``, and a bounded serving load test.

The corpus (tests/reliability_corpus.py) is generated into temporary folders; docs/reliability.md
holds the table case → behaviour per entry point → test. Entry points: the data pipeline, the
``inpaint`` CLI (and ``Inpainter``), the ``evaluate`` CLI, the SavedModel signatures, the local
server over gRPC and REST, and the TFLite runner.
"""

import csv
import hashlib
import importlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import grpc
import keras
import numpy as np
import pytest
import reliability_corpus as rc
import requests
import tensorflow as tf
from PIL import Image

from keras_pggan import data as data_lib
from keras_pggan import masks as masks_lib
from keras_pggan.callbacks import AtomicBackupAndRestore, GeneratorCheckpoint
from keras_pggan.config import DataConfig, MaskConfig, get_preset
from keras_pggan.export import export_saved_model
from keras_pggan.generator import build_generator
from keras_pggan.guards import NonFiniteGuard, NonFiniteLossError, apply_if_finite
from keras_pggan.serving import GrpcClient, RestClient, ServingError, serve_locally
from keras_pggan.tflite import TFLiteInpainter, export_tflite

# ``keras_pggan.inpaint`` is also a function re-exported by the package: import the modules.
inpaint_mod = importlib.import_module("keras_pggan.inpaint")
evaluate_mod = importlib.import_module("keras_pggan.evaluate")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
H, W = rc.SIZE
CROP = 32
MODEL_NAME = "rel"
MAX_PIXELS = 200_000
INVALID = grpc.StatusCode.INVALID_ARGUMENT


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return rc.write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """The tiny generator (seeded, untrained) as .keras, SavedModel (version 1) and .tflite."""
    keras.utils.set_random_seed(0)
    generator = build_generator(get_preset("tiny").generator)
    folder = tmp_path_factory.mktemp("models")
    paths = {
        "keras": str(folder / "g.keras"),
        "saved_model": str(folder / MODEL_NAME),
        "tflite": str(folder / "g.tflite"),
    }
    generator.save(paths["keras"])
    export_saved_model(generator, paths["saved_model"], version=1)
    export_tflite(generator, paths["tflite"])
    return paths


@pytest.fixture(scope="module")
def loaded(models):
    return tf.saved_model.load(os.path.join(models["saved_model"], "1"))


@pytest.fixture(scope="module")
def inpainters(models):
    return {
        backend: inpaint_mod.Inpainter.from_path(models[backend]) for backend in ("keras", "tflite")
    }


@pytest.fixture(scope="module")
def server(models):
    with serve_locally(models["saved_model"], max_pixels=MAX_PIXELS, grpc_workers=16) as running:
        yield running


def run_cli(main, argv, capsys):
    """Runs ``main(argv)``: (exit code, stdout, stderr); a user error never shows a traceback."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, out, err


def read_png(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def tf_pixels(data: bytes) -> np.ndarray:
    """TensorFlow's decoding (what serving_bytes sees: no EXIF rotation)."""
    return tf.io.decode_image(data, channels=3, expand_animations=False).numpy()


def png_bytes(array) -> bytes:
    return rc.encode(np.asarray(array, np.uint8))


def mask_png(holes) -> bytes:
    return png_bytes(np.where(holes, 255, 0))


# -- entry point 1: the training data pipeline ------------------------------------------------


def _take(ds, n):
    return [{k: v.numpy() for k, v in b.items()} for b in ds.take(n)]


@pytest.mark.parametrize("case", [*rc.IMAGE_CASES, *rc.MASK_CASES, "empty_batch"])
def test_data_pipeline(corpus, tmp_path, case):
    folder = tmp_path / "photos"
    folder.mkdir()
    data_lib.reset_skipped_files()
    if case == "empty_batch":
        shutil.copy(corpus.image_path, folder)
        cfg = DataConfig(train=(str(folder),), image_size=CROP)
        with pytest.raises(ValueError, match="batch_size must be >= 1"):
            data_lib.make_train_dataset(cfg, MaskConfig(), 0, seed=0)
        with pytest.raises(ValueError, match="batch_size must be >= 1"):
            data_lib.make_val_dataset(cfg, MaskConfig(), 0, seed=0)
        return
    if case in rc.MASK_CASES:
        # Mask files feed the "folder" mask kind: resized (nearest) to the crop, binarised.
        shutil.copy(corpus.image_path, folder)
        mask_dir = tmp_path / "masks"
        mask_dir.mkdir()
        shutil.copy(corpus.masks[case].path, mask_dir)
        mask_cfg = MaskConfig(
            spec="folder", mask_dir=str(mask_dir), min_hole_ratio=0.0, max_hole_ratio=1.0
        )
        cfg = DataConfig(train=(str(folder),), image_size=CROP, shuffle_buffer=4)
        masks = np.concatenate([b["mask"] for b in _take(make_train(cfg, mask_cfg), 2)])
        assert masks.shape == (4, CROP, CROP, 1)
        assert set(np.unique(masks)) <= {0.0, 1.0}
        _, holes = rc.mask_image(case)
        if case == "mask_all_hole":
            assert masks.min() == 1.0
        elif case == "mask_no_hole":
            assert masks.max() == 0.0
        else:  # resized and flipped: the hole fraction survives
            assert abs(masks.mean() - holes.mean()) < 0.05, (masks.mean(), holes.mean())
        return
    item = corpus.images[case]
    if item.expected is None:
        # Undecodable: skipped with a warning naming the file; the good file keeps the stream.
        shutil.copy(corpus.image_path, folder / "a_good.png")
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
def test_data_pipeline_with_no_decodable_file_fails_instead_of_hanging(corpus, tmp_path, which):
    for name in rc.UNDECODABLE:
        shutil.copy(corpus.images[name].path, tmp_path)
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


def test_folder_mask_kind_skips_undecodable_mask_files(corpus, tmp_path, capsys):
    shutil.copy(corpus.masks["mask_all_hole"].path, tmp_path)
    for name in rc.UNDECODABLE:
        shutil.copy(corpus.images[name].path, tmp_path)
    sampler = masks_lib.MaskSampler(
        MaskConfig(spec="folder", mask_dir=str(tmp_path), min_hole_ratio=0, max_hole_ratio=1),
        CROP,
        CROP,
    )
    err = capsys.readouterr().err
    for name in rc.UNDECODABLE:
        assert os.path.basename(corpus.images[name].path) in err, err
    for i in range(4):  # only the good (all-hole) file is drawn
        assert sampler(tf.constant([0, i], tf.int64)).numpy().min() == 1.0
    only_bad = tmp_path / "only_bad"
    only_bad.mkdir()
    shutil.copy(corpus.images["text_as_png"].path, only_bad)
    with pytest.raises(ValueError, match="no decodable mask file"):
        masks_lib.MaskSampler(MaskConfig(spec="folder", mask_dir=str(only_bad)), CROP, CROP)


# -- entry point 2: python -m keras_pggan.inpaint (and the Inpainter API) ----------------------


def _case_paths(corpus, case):
    """(image path, mask path) of a file case for the CLIs."""
    if case in rc.IMAGE_CASES:
        item = corpus.images[case]
        return item.path, item.mask_path or corpus.mask_path
    return corpus.image_path, corpus.masks[case].path


@pytest.mark.parametrize("backend", ["keras", "tflite"])
@pytest.mark.parametrize("case", [*rc.IMAGE_CASES, *rc.MASK_CASES, "empty_batch"])
def test_inpaint_cli(corpus, models, tmp_path, capsys, backend, case):
    """``--model g.keras`` (entry point inpaint) and ``--model g.tflite`` (entry point TFLite)."""
    main = inpaint_mod.main
    out = tmp_path / "out.png"
    model = models[backend]
    if case == "empty_batch":
        (tmp_path / "in").mkdir()
        argv = ["--model", model, "--input-dir", tmp_path / "in", "--output-dir", tmp_path / "o"]
        code, _, err = run_cli(main, [*argv, "--quiet"], capsys)
        assert code == 2 and "no images found" in err, err
        return
    image_path, mask_path = _case_paths(corpus, case)
    code, _, err = run_cli(
        main, ["--model", model, image_path, "--mask", mask_path, "-o", out, "--quiet"], capsys
    )
    if case in rc.UNDECODABLE:
        assert code == 2, err
        assert image_path in err and corpus.images[case].problem in err.lower(), err
        assert not out.exists()
        return
    if case == "mask_wrong_size":
        assert code == 2, err
        assert mask_path in err and f"{W - 4}x{H + 4}" in err and f"{W}x{H}" in err, err
        assert not out.exists()
        return
    assert code == 0, err
    result = read_png(out)
    if case in rc.IMAGE_CASES:
        item = corpus.images[case]
        expected, holes = item.expected, item.holes
    else:
        expected, holes = corpus.image, corpus.masks[case].holes
    assert result.shape == expected.shape
    # Every known pixel is the input's, byte for byte (EXIF applied, colour modes converted).
    np.testing.assert_array_equal(result[~holes], expected[~holes])
    if case == "mask_no_hole":
        np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("case", sorted(rc.UNDECODABLE))
def test_inpaint_cli_undecodable_mask_file(corpus, models, tmp_path, capsys, case):
    mask = corpus.images[case].path
    out = tmp_path / "out.png"
    code, _, err = run_cli(
        inpaint_mod.main,
        ["--model", models["keras"], corpus.image_path, "--mask", mask, "-o", out],
        capsys,
    )
    assert code == 2 and mask in err and "cannot decode mask image" in err, err
    assert not out.exists()


@pytest.mark.parametrize("backend", ["keras", "tflite"])
@pytest.mark.parametrize("case", rc.TENSOR_CASES)
def test_inpainter_api_tensor_cases(inpainters, backend, case):
    """``Inpainter`` (Keras backend: entry point inpaint; ``.tflite``: entry point TFLite)."""
    inpainter = inpainters[backend]
    image, mask, problem = rc.tensor_case(case)
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


# -- entry point 3: python -m keras_pggan.evaluate --------------------------------------------


def _eval_set(folder, case) -> str:
    """An eval mask set at the crop size whose mask 0 is the mask case (re-drawn at CROP²)."""
    if case == "mask_wrong_size":
        masks_lib.make_eval_set("center", CROP - 8, 1, 0, str(folder))
        return str(folder)
    masks_lib.make_eval_set("center", CROP, 1, 0, str(folder))
    pixels, holes = rc.mask_image(case, CROP, CROP)
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


@pytest.mark.parametrize("case", [*rc.IMAGE_CASES, *rc.MASK_CASES, "empty_batch"])
def test_evaluate_cli(corpus, models, tmp_path, capsys, case):
    data = tmp_path / "data"
    data.mkdir()
    out = tmp_path / "out"
    argv = ["--model", models["keras"], "--data", data, "--size", CROP, "--out", out]
    argv += ["--baselines", "mean", "--sheets", "1", "--quiet"]
    if case != "empty_batch":
        shutil.copy(corpus.image_path, data / "a_good.png")
    if case in rc.MASK_CASES:
        argv += ["--masks", _eval_set(tmp_path / "masks", case)]
    else:
        argv += ["--mask-kind", "center"]
    if case in rc.IMAGE_CASES:
        shutil.copy(corpus.images[case].path, data)
    code, _, err = run_cli(evaluate_mod.main, argv, capsys)
    if case == "empty_batch":
        assert code == 2 and "no image files found" in err, err
        return
    if case in rc.UNDECODABLE:
        # A benchmark does not silently score a subset: the run stops, naming the file.
        assert code == 2, err
        assert corpus.images[case].path.split(os.sep)[-1] in err, err
        assert corpus.images[case].problem in err.lower(), err
        assert not (out / "metrics.json").exists()
        return
    if case == "mask_wrong_size":
        assert code == 2 and f"mask set is {CROP - 8} px but --size is {CROP}" in err, err
        return
    assert code == 0, err
    count = 2 if case in rc.IMAGE_CASES else 1
    result = json.loads((out / "metrics.json").read_text())
    assert result["images"]["count"] == count
    overall = result["methods"]["g"]["overall"]
    with open(out / "per_image.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["method"] == "g"]
    assert len(rows) == count
    if case in rc.MASK_CASES:
        _, holes = rc.mask_image(case, CROP, CROP)
        assert float(rows[0]["hole_ratio"]) == pytest.approx(holes.mean())
        if case == "mask_no_hole":  # nothing to fill: output = truth, hole metrics undefined
            assert rows[0]["identical"] == "True"
            assert result["methods"]["g"]["overall"]["no_hole"] == 1
            return
    assert overall["psnr"] is not None and np.isfinite(overall["psnr"])


# -- entry point 4: the SavedModel signatures --------------------------------------------------

SAVED_MODEL_PROBLEMS = {
    "truncated_jpeg": "Invalid JPEG data",
    "zero_bytes": "image_bytes is empty",
    "text_as_png": "image_bytes is not a PNG, JPEG, BMP or GIF file",
    "bomb_header": "image_bytes: the image header claims more than",
}


def _bytes_call(loaded, images, masks):
    fn = loaded.signatures["serving_bytes"]
    out = fn(image_bytes=tf.constant(images, tf.string), mask_bytes=tf.constant(masks, tf.string))
    return out["inpainted_png_bytes"].numpy()


def _decode_png(data) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@pytest.mark.parametrize("case", rc.ALL_CASES)
def test_saved_model_signatures(corpus, loaded, case):
    good_mask = open(corpus.mask_path, "rb").read()
    if case in rc.UNDECODABLE:
        with pytest.raises(tf.errors.InvalidArgumentError, match=SAVED_MODEL_PROBLEMS[case]):
            _bytes_call(loaded, [corpus.images[case].data], [good_mask])
        if case == "bomb_header":
            # Below TensorFlow's own int limit the header check is what refuses it.
            with pytest.raises(tf.errors.InvalidArgumentError, match="decompression bomb"):
                _bytes_call(loaded, [rc.bomb_png(12000, 12000)], [good_mask])
        return
    if case in rc.VALID_IMAGES:
        item = corpus.images[case]
        stored = tf_pixels(item.data)  # TF ignores EXIF: the stored pixel grid
        holes = rc.box_holes(*stored.shape[:2])
        if case == "exif_rotated":
            # A mask drawn on the displayed (rotated) image does not match the stored grid.
            with pytest.raises(tf.errors.InvalidArgumentError, match="mask_bytes must have"):
                _bytes_call(loaded, [item.data], [open(item.mask_path, "rb").read()])
        (out,) = _bytes_call(loaded, [item.data], [mask_png(holes)])
        result = _decode_png(out)
        assert result.shape == stored.shape
        np.testing.assert_array_equal(result[~holes], stored[~holes])
        # The stored grid is the corpus's pixels (EXIF rotation undone); JPEGs within the
        # difference of TensorFlow's (fast integer IDCT) and Pillow's JPEG decoding.
        reference = np.rot90(item.expected) if case == "exif_rotated" else item.expected
        tolerance = 8 if item.path.endswith(".jpg") else 0
        assert np.abs(stored.astype(int) - reference).max() <= tolerance
        return
    if case in rc.MASK_CASES:
        mask_data = open(corpus.masks[case].path, "rb").read()
        image_data = open(corpus.image_path, "rb").read()
        if case == "mask_wrong_size":
            with pytest.raises(
                tf.errors.InvalidArgumentError,
                match="mask_bytes must have the batch, height and width of image_bytes",
            ):
                _bytes_call(loaded, [image_data], [mask_data])
            return
        result = _decode_png(_bytes_call(loaded, [image_data], [mask_data])[0])
        holes = corpus.masks[case].holes
        assert result.shape == corpus.image.shape
        np.testing.assert_array_equal(result[~holes], corpus.image[~holes])
        if case == "mask_no_hole":
            np.testing.assert_array_equal(result, corpus.image)
        return
    image, mask, problem = rc.tensor_case(case)
    fn = loaded.signatures["serving_default"]
    if case == "empty_batch":
        assert fn(image=tf.constant(image), mask=tf.constant(mask))["inpainted"].shape == (
            0,
            H,
            W,
            3,
        )
        assert _bytes_call(loaded, [], []).shape == (0,)
        return
    match = "image has NaN or Inf" if case == "nan_inf" else "int32"
    with pytest.raises((tf.errors.InvalidArgumentError, TypeError, ValueError), match=match):
        fn(image=tf.constant(image), mask=tf.constant(mask))


# -- entry point 5: the local server (gRPC and REST) -------------------------------------------


@pytest.mark.parametrize("protocol", ["grpc", "rest"])
@pytest.mark.parametrize("case", rc.ALL_CASES)
def test_server(server, corpus, loaded, protocol, case):
    cls = GrpcClient if protocol == "grpc" else RestClient
    address = server.grpc_address if protocol == "grpc" else server.rest_url
    good_mask = open(corpus.mask_path, "rb").read()
    image_data = open(corpus.image_path, "rb").read()
    with cls(address, MODEL_NAME, timeout=60, retries=0) as client:

        def send_bytes(image, mask):
            inputs = {"image_bytes": np.array([image], object)}
            inputs["mask_bytes"] = np.array([mask], object)
            return client.predict(inputs, "serving_bytes")["inpainted_png_bytes"]

        def refused(call, *names):
            with pytest.raises(ServingError) as info:
                call()
            assert info.value.code == INVALID, info.value
            for name in names:
                assert name in info.value.message, info.value.message
            return info.value.message

        if case in rc.UNDECODABLE:
            item = corpus.images[case]
            message = refused(lambda: send_bytes(item.data, good_mask), "'image_bytes'[0]")
            assert item.problem in message.lower(), message
        elif case in rc.VALID_IMAGES:
            item = corpus.images[case]
            stored = tf_pixels(item.data)
            holes = rc.box_holes(*stored.shape[:2])
            (out,) = send_bytes(item.data, mask_png(holes))
            result = _decode_png(out)
            assert result.shape == stored.shape
            np.testing.assert_array_equal(result[~holes], stored[~holes])
        elif case == "mask_wrong_size":
            mask_data = open(corpus.masks[case].path, "rb").read()
            refused(lambda: send_bytes(image_data, mask_data), "'mask_bytes'[0]", "does not match")
        elif case in rc.MASK_CASES:
            (out,) = send_bytes(image_data, open(corpus.masks[case].path, "rb").read())
            holes = corpus.masks[case].holes
            result = _decode_png(out)
            np.testing.assert_array_equal(result[~holes], corpus.image[~holes])
        else:
            image, mask, _ = rc.tensor_case(case)
            if case == "nan_inf":
                refused(lambda: client.predict({"image": image, "mask": mask}), "'image'", "NaN")
            elif case == "empty_batch":  # (REST: "'instances' must be a non-empty list")
                names = ["'image'"] if protocol == "grpc" else ["non-empty"]
                refused(lambda: client.predict({"image": image, "mask": mask}), *names)
            elif protocol == "grpc":
                refused(lambda: client.predict({"image": image, "mask": mask}), "'image'", "int32")
            else:
                # JSON has no dtypes: TF Serving casts numbers to the signature's dtype; the REST
                # form of a wrong dtype is a non-number.
                strings = [[[["x"] * 3] * W] * H]
                body = {"signature_name": "serving_default"}
                body["inputs"] = {"image": strings, "mask": mask[:1].tolist()}
                r = requests.post(
                    f"{server.rest_url}/v1/models/{MODEL_NAME}:predict", json=body, timeout=60
                )
                assert r.status_code == 400 and "'image'" in r.json()["error"], r.text
    # The server keeps serving: a good request right after gets the right answer.
    with GrpcClient(server.grpc_address, MODEL_NAME, timeout=60, retries=0) as client:
        good = {"image": corpus.image[None].astype(np.float32) / 255.0}
        good["mask"] = corpus.masks["mask_antialiased"].holes[None, ..., None].astype(np.float32)
        got = client.predict(good)["inpainted"]
    want = loaded.signatures["serving_default"](**{k: tf.constant(v) for k, v in good.items()})
    np.testing.assert_array_equal(got, want["inpainted"].numpy())


# -- entry point 6: the TFLite runner (file cases: test_inpaint_cli[tflite-...]) ---------------


@pytest.mark.parametrize("case", rc.TENSOR_CASES)
def test_tflite_inpainter_tensor_cases(models, case):
    runner = TFLiteInpainter(models["tflite"])
    image, mask, problem = rc.tensor_case(case)
    if case == "empty_batch":
        for shape in [(0, 0), (0, W), (H, 0)]:
            out = runner(np.zeros((*shape, 3), np.float32), np.zeros(shape, bool))
            assert out.shape == (*shape, 3)
        return
    for i in range(len(image)):
        with pytest.raises(ValueError, match=f"(?i){problem}"):
            runner(image[i], mask[i])
    # The runner works after refusing bad input.
    good = runner(rc.smooth_image(H, W), rc.box_holes(H, W))
    assert good.shape == (H, W, 3) and np.isfinite(good).all()


# -- training faults: the NaN guard --------------------------------------------------------------


def _nan_batches(steps, nan_step, seed=0):
    rng = np.random.default_rng(seed)
    for step in range(steps):
        image = rng.uniform(size=(2, CROP, CROP, 3)).astype(np.float32)
        mask = np.zeros((2, CROP, CROP, 1), np.float32)
        mask[:, 8:20, 10:24] = 1.0
        if step == nan_step:
            image[0, 0, 0, 0] = np.nan
        yield {"image": image, "mask": mask}


def _tiny_pggan(seed=0):
    from keras_pggan.discriminator import build_discriminator
    from keras_pggan.model import PGGAN

    cfg = get_preset("tiny")
    keras.utils.set_random_seed(seed)
    gan = PGGAN(
        build_generator(cfg.generator),
        build_discriminator(cfg.discriminator, CROP),
        cfg.loss,
    )
    gan.compile()
    return gan


def test_nan_guard_stops_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    gan = _tiny_pggan()
    run = tmp_path / "run"
    steps, nan_step = 3, 4  # epoch 2, batch 1
    ds = tf.data.Dataset.from_generator(
        lambda: _nan_batches(3 * steps, nan_step),
        output_signature={
            "image": tf.TensorSpec([2, CROP, CROP, 3], tf.float32),
            "mask": tf.TensorSpec([2, CROP, CROP, 1], tf.float32),
        },
    )
    callbacks = [
        NonFiniteGuard(str(run)),  # first: its on_epoch_end runs before the savers
        AtomicBackupAndRestore(str(run / "backup"), delete_checkpoint=False),
        GeneratorCheckpoint(str(run / "checkpoints")),
    ]
    with pytest.raises(NonFiniteLossError) as info:
        gan.fit(ds, epochs=3, steps_per_epoch=steps, callbacks=callbacks, shuffle=False, verbose=0)
    error = info.value
    assert (error.epoch, error.batch) == (2, 1)
    assert "g_loss" in error.values and np.isnan(error.values["g_loss"])
    good = str(run / "checkpoints" / "generator-epoch001.keras")
    assert error.checkpoints["generator"] == good and error.checkpoints["backup_epoch"] == 1
    err = capsys.readouterr().err
    assert good in err and "--resume" in err and "epoch 2, batch 1" in err
    # Nothing from the poisoned state was written: no epoch-2 files, finite saved weights.
    assert sorted(os.listdir(run / "checkpoints")) == ["generator-epoch001.keras"]
    weights = keras.saving.load_model(good, compile=False).get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    meta = json.loads((run / "backup" / "training_metadata.json").read_text())
    assert meta["epoch"] == 1
    # The live model is poisoned (the NaN step was applied); the backup restores the good state.
    assert not all(np.isfinite(w).all() for w in gan.generator.get_weights())
    fresh = _tiny_pggan(seed=1)
    restore = AtomicBackupAndRestore(str(run / "backup"), delete_checkpoint=False)
    restore.set_model(fresh)
    restore.on_train_begin()
    assert fresh._initial_epoch == 1
    for a, b in zip(fresh.generator.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_nan_guard_checks_weights_at_epoch_end(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    guard = NonFiniteGuard(str(tmp_path))
    guard.set_model(model)
    guard.on_epoch_end(0, {"loss": 0.5})  # finite: nothing happens
    model.layers[0].kernel.assign([[np.inf], [0.0]])
    with pytest.raises(NonFiniteLossError, match="end of epoch 1") as info:
        guard.on_epoch_end(0, {"loss": 0.5})
    assert any(k.startswith("state:") for k in info.value.values)
    assert "none yet" in str(info.value)


class _SkipModel(keras.Model):
    """A linear model whose train_step uses the ``skip`` policy."""

    def __init__(self):
        super().__init__(name="skip_model")
        self.dense = keras.layers.Dense(1, kernel_initializer="ones")
        self.skipped = keras.Variable(0, dtype="int32", trainable=False, name="skipped")

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((self(x) - y) ** 2)
        variables = self.trainable_variables
        applied = apply_if_finite(self.optimizer, tape.gradient(loss, variables), variables)
        self.skipped.assign_add(tf.cast(~applied, tf.int32))
        return {"loss": tf.where(applied, loss, 0.0)}


def _skip_run(batches):
    keras.utils.set_random_seed(0)
    model = _SkipModel()
    model(np.zeros((1, 2), np.float32))  # builds the dense layer
    model.compile(optimizer=keras.optimizers.Adam(0.1))
    xs = np.stack([b[0] for b in batches])
    ys = np.stack([b[1] for b in batches])
    model.fit(
        xs.reshape(-1, 2), ys.reshape(-1, 1), batch_size=4, epochs=1, shuffle=False, verbose=0
    )
    return model


def test_apply_if_finite_skips_exactly_the_bad_batch():
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(4, 2)), rng.normal(size=(4, 1))) for _ in range(4)]
    poisoned = list(batches)
    poisoned.insert(2, (np.full((4, 2), np.nan), np.zeros((4, 1))))
    a, b = _skip_run(batches), _skip_run(poisoned)
    assert int(b.skipped.numpy()) == 1 and int(a.skipped.numpy()) == 0
    assert int(a.optimizer.iterations.numpy()) == int(b.optimizer.iterations.numpy()) == 4
    for x, y in zip(a.dense.get_weights(), b.dense.get_weights()):
        np.testing.assert_allclose(x, y, rtol=1e-6)
    for x, y in zip(a.optimizer.variables, b.optimizer.variables):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-6)


@pytest.mark.parametrize("bad_replica", [None, 0, 1])
def test_apply_if_finite_replicas_agree(bad_replica):
    from keras_pggan import train

    strategy = train.make_strategy("mirrored", cpu_replicas=2)
    with strategy.scope():
        v = keras.Variable([1.0, 2.0])
        opt = keras.optimizers.Adam(0.1)
        opt.build([v])

    @tf.function
    def step():
        def fn():
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            g = tf.constant([1.0, -1.0])
            if bad_replica is not None:
                g = tf.where(replica == bad_replica, tf.constant([np.nan, 1.0]), g)
            return apply_if_finite(opt, [g], [v])

        return strategy.experimental_local_results(strategy.run(fn))

    before = [x.numpy().copy() for x in opt.variables]
    applied = [bool(x) for x in step()]
    assert applied == [bad_replica is None] * 2
    if bad_replica is None:
        assert int(opt.iterations.numpy()) == 1 and not np.allclose(v.numpy(), [1.0, 2.0])
    else:
        assert int(opt.iterations.numpy()) == 0
        np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])
        for x, y in zip(opt.variables, before):  # moments and counters untouched
            np.testing.assert_array_equal(x.numpy(), y)


# -- training faults: crash-safe checkpoints -------------------------------------------------------


def _dense_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    return model


def test_atomic_backup_survives_a_crash_inside_the_weights_write(tmp_path):
    """In-process: a save dies half-way through its weights file; the backup still restores."""
    x, y = np.ones((8, 3), np.float32), np.zeros((8, 2), np.float32)
    model = _dense_model()
    backup = AtomicBackupAndRestore(str(tmp_path), delete_checkpoint=False, double_checkpoint=True)
    model.fit(x, y, epochs=2, callbacks=[backup], verbose=0)
    good = [w.copy() for w in model.get_weights()]
    real_save = model.save_weights

    def dying_save(filepath, overwrite=True):
        real_save(filepath, overwrite=overwrite)
        with open(filepath, "r+b") as f:  # half a file, then the process "dies"
            f.truncate(os.path.getsize(filepath) // 2)
        raise KeyboardInterrupt

    model.save_weights = dying_save
    with pytest.raises(KeyboardInterrupt):
        backup.on_epoch_end(2)
    files = sorted(os.listdir(tmp_path))
    assert files == [
        "training_metadata.json",
        "weights-epoch00001-batch000000.weights.h5",
        "weights-epoch00002-batch000000.weights.h5",
    ], files
    fresh = _dense_model(seed=1)
    restore = AtomicBackupAndRestore(str(tmp_path), delete_checkpoint=False)
    restore.set_model(fresh)
    restore.on_train_begin()
    assert fresh._initial_epoch == 2
    for a, b in zip(fresh.get_weights(), good):
        np.testing.assert_array_equal(a, b)


_KILL_CHILD = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np, keras
    sys.path.insert(0, {root!r})
    from keras_pggan.callbacks import AtomicBackupAndRestore
    backup_dir, kind, when = sys.argv[1], sys.argv[2], sys.argv[3]
    out = os.path.dirname(backup_dir)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    real_save = model.save_weights
    saves = []

    def save(filepath, overwrite=True):
        real_save(filepath, overwrite=overwrite)
        saves.append(filepath)
        if len(saves) == 3:  # epoch 3's save: half written, or written but not committed
            if when == "during":
                with open(filepath, "r+b") as f:
                    f.truncate(os.path.getsize(filepath) // 2)
            open(os.path.join(out, "saving"), "w").close()
            time.sleep(600)

    model.save_weights = save

    class Reference(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            np.savez(os.path.join(out, f"ref{{epoch + 1}}.npz"),
                     *self.model.get_weights())

    cls = AtomicBackupAndRestore if kind == "atomic" else keras.callbacks.BackupAndRestore
    double = kind != "keras-single"
    backup = cls(backup_dir, delete_checkpoint=False, double_checkpoint=double)
    x, y = np.ones((8, 3), np.float32), np.zeros((8, 2), np.float32)
    model.fit(x, y, epochs=5, callbacks=[Reference(), backup], verbose=0)
    """
)


@pytest.mark.large
@pytest.mark.parametrize(
    "kind,when,survives",
    [
        ("atomic", "during", True),
        ("atomic", "between", True),
        # Controls: Keras's own callback loses the backup (single checkpoint) or pairs epoch-3
        # weights with epoch-2 metadata (kill between its two writes): the test detects both.
        ("keras-single", "during", False),
        ("keras-double", "between", False),
    ],
)
def test_kill_during_checkpoint_write(tmp_path, kind, when, survives):
    backup_dir = tmp_path / "backup"
    script = tmp_path / "child.py"
    script.write_text(_KILL_CHILD.format(root=ROOT))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(backup_dir), kind, when],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 240
        while not (tmp_path / "saving").exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.time() < deadline, "the child never reached its third save"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    want = np.load(tmp_path / "ref2.npz")
    want = [want[f"arr_{i}"] for i in range(len(want.files))]
    fresh = _dense_model(seed=1)
    cls = AtomicBackupAndRestore if kind == "atomic" else keras.callbacks.BackupAndRestore
    restore = cls(str(backup_dir), delete_checkpoint=False, double_checkpoint=True)
    restore.set_model(fresh)
    try:
        restore.on_train_begin()
        ok = fresh._initial_epoch == 2 and all(
            np.array_equal(a, b) for a, b in zip(fresh.get_weights(), want)
        )
    except Exception:
        ok = False
    assert ok == survives


# -- training faults: kill -9 in the middle of an epoch, then --resume ---------------------------

TRAIN_ARGS = ["--preset", "tiny", "--steps-per-epoch", "30", "--epochs", "3"]
TRAIN_ARGS += ["--validation-steps", "0", "--seed", "11", "--verbose", "0"]
RESUME_ATOL = 1e-5  # as tests/train_test.py: the runs match to float32 rounding


def _train(run_dir, *extra, wait=True):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    cmd = [sys.executable, "-m", "keras_pggan.train", *extra, "--run-dir", str(run_dir)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if wait:
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err.decode()[-3000:]
    return proc


def _epochs_done(run_dir) -> int:
    try:
        with open(os.path.join(run_dir, "backup", "training_metadata.json")) as f:
            return int(json.load(f)["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.large
def test_kill_9_mid_epoch_then_resume_equals_uninterrupted(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    _train(full, *TRAIN_ARGS)
    proc = _train(part, *TRAIN_ARGS, wait=False)
    try:
        deadline = time.time() + 600
        while _epochs_done(part) < 1:  # epoch 1 saved: epoch 2 is running
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.time() < deadline
            time.sleep(0.02)
        time.sleep(0.5)  # inside epoch 2 (30 steps take seconds)
        done_at_kill = _epochs_done(part)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (part / "generator.keras").exists()  # it really died before the end
    assert done_at_kill in (1, 2)
    # At most one save interval (one epoch) is lost: the resume starts from the last save.
    assert _epochs_done(part) == done_at_kill
    _train(part, "--resume", "--verbose", "0")
    assert _epochs_done(part) == 3
    a = keras.saving.load_model(full / "generator.keras", compile=False).get_weights()
    b = keras.saving.load_model(part / "generator.keras", compile=False).get_weights()
    assert len(a) == len(b)
    diff = max(float(np.abs(x - y).max()) for x, y in zip(a, b))
    print(f"kill -9 with {done_at_kill} epoch(s) saved; resumed weights differ by {diff:.2e}")
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=RESUME_ATOL)


def test_output_writes_are_atomic(corpus, tmp_path, monkeypatch):
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
        inpaint_mod.save_image(corpus.image, str(out))
    assert out.read_bytes() == b"previous result"
    assert os.listdir(tmp_path) == ["out.png"]


# -- load: the local server under concurrent good and bad requests --------------------------------


def test_server_under_concurrent_load(server, loaded):
    """16 clients × ~8 s of mixed good and bad requests: no wrong answer, no crash, flat RSS."""
    sys.path.insert(0, ROOT)
    from bench.serving_load import proc_memory_mb, request_mix, run_load

    result = run_load(
        server.grpc_address,
        server.rest_url,
        MODEL_NAME,
        request_mix(loaded),
        clients=16,
        seconds=8.0,
        sample=proc_memory_mb,
    )
    failures = {k: v["examples"] for k, v in result["per_kind"].items() if v["failures"]}
    assert result["failures"] == 0, failures
    assert result["hung_threads"] == 0
    assert len(result["per_kind"]) == 10, sorted(result["per_kind"])  # every kind was sent
    assert result["requests"] >= 16
    memory = result["memory_mb"]
    print(f"load test: {result['requests']} requests, RSS {memory[0]:.0f} → {memory[-1]:.0f} MB")
    assert memory[-1] - memory[0] < 150, memory  # flat, not growing with the requests
    with GrpcClient(server.grpc_address, MODEL_NAME, retries=0) as client:
        assert client.metadata()["version"] == 1  # still serving
