"""SavedModel export: both signatures against the Keras generator, checks in the graph, layout."""

import io
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_pggan.config import get_preset
from keras_pggan.export import saved_model as export_lib
from keras_pggan.export.__main__ import main as export_main
from keras_pggan.export.saved_model import (
    SavedModelCheckError,
    check_variables_size,
    export_saved_model,
    signature_summary,
    variables_bytes,
)
from keras_pggan.inference.backends import latest_version
from keras_pggan.models.generator import build_generator


@pytest.fixture(scope="session")
def tiny_generator():
    keras.utils.set_random_seed(1)
    return build_generator(get_preset("tiny").generator)


@pytest.fixture(scope="session")
def exported(tiny_generator, tmp_path_factory):
    """The tiny generator exported once: (report, loaded SavedModel)."""
    base = tmp_path_factory.mktemp("saved_models") / "tiny"
    report = export_saved_model(tiny_generator, str(base))
    return report, tf.saved_model.load(report["path"])


def keras_reference(generator, image01, mask, multiple=4):
    """pad (mirror, bottom/right, image and mask together) → generator → composite → crop."""
    _, h, w, _ = image01.shape
    pad = ((0, 0), (0, -h % multiple), (0, -w % multiple), (0, 0))
    x = np.pad(image01, pad, mode="symmetric")
    m = np.pad(mask, pad, mode="symmetric")
    raw = keras.ops.convert_to_numpy(generator({"image": x * 2.0 - 1.0, "mask": m}))
    fill = (raw + 1.0) * 0.5
    out = m * fill + (1.0 - m) * x
    return out[:, :h, :w]


def random_inputs(n, h, w, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.uniform(size=(n, h, w, 3)).astype(np.float32)
    mask = np.zeros((n, h, w, 1), np.float32)
    for i in range(n):
        y, x = rng.integers(0, max(1, h // 2)), rng.integers(0, max(1, w // 2))
        mask[i, y : y + max(1, h // 3), x : x + max(1, w // 3)] = 1.0
    return image, mask


def png(array) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(array, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def jpeg(array) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(array, np.uint8)).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def run_default(loaded, image, mask):
    fn = loaded.signatures["serving_default"]
    return fn(image=tf.constant(image), mask=tf.constant(mask))["inpainted"].numpy()


def run_bytes(loaded, images, masks):
    fn = loaded.signatures["serving_bytes"]
    out = fn(image_bytes=tf.constant(images), mask_bytes=tf.constant(masks))["inpainted_png_bytes"]
    return [np.asarray(Image.open(io.BytesIO(b))) for b in out.numpy()]


@pytest.mark.parametrize("shape", [(2, 37, 53), (1, 64, 64), (1, 256, 256), (1, 3, 2)])
def test_default_signature_equals_keras_path(exported, tiny_generator, shape):
    _, loaded = exported
    image, mask = random_inputs(*shape, seed=sum(shape))
    out = run_default(loaded, image, mask)
    ref = keras_reference(tiny_generator, image, mask)
    assert out.shape == image.shape
    np.testing.assert_allclose(out, ref, atol=1e-5)
    # Composited: known pixels are the input's, bit for bit.
    known = np.broadcast_to(mask == 0, image.shape)
    np.testing.assert_array_equal(out[known], image[known])


def test_bytes_signature_matches_default_and_mixed_sizes(exported):
    _, loaded = exported
    rng = np.random.default_rng(3)
    sizes = [(37, 53), (20, 24)]
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in sizes]
    holes = []
    for h, w in sizes:
        m = np.zeros((h, w), bool)
        m[h // 4 : h // 2 + 2, w // 5 : w // 2 + 3] = True
        holes.append(m)
    outs = run_bytes(
        loaded, [png(i) for i in images], [png(m.astype(np.uint8) * 255) for m in holes]
    )
    for image, m, out in zip(images, holes, outs):
        assert out.shape == image.shape and out.dtype == np.uint8
        ref = run_default(loaded, image[None] / np.float32(255), m[None, ..., None] * np.float32(1))
        ref = np.round(np.clip(ref[0], 0, 1) * 255)
        assert np.abs(out.astype(np.int32) - ref).max() <= 1
        np.testing.assert_array_equal(out[~m], image[~m])
        assert np.abs(out[m].astype(int) - image[m]).mean() > 1  # the holes were filled


def test_bytes_mask_conventions(exported):
    """White-on-black grey, RGB and RGBA-transparent masks of the same holes agree; JPEG input."""
    _, loaded = exported
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
    holes = np.zeros((24, 40), bool)
    holes[6:15, 10:30] = True
    grey = holes.astype(np.uint8) * 255
    rgb = np.repeat(grey[..., None], 3, -1)
    rgba = np.full((24, 40, 4), 255, np.uint8)
    rgba[holes, 3] = 0  # transparent = hole (the colour under it is white everywhere)
    la = np.stack([np.zeros_like(grey), np.where(holes, 0, 255).astype(np.uint8)], -1)
    outs = run_bytes(loaded, [png(image)] * 4, [png(grey), png(rgb), png(rgba), png(la)])
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])
    np.testing.assert_array_equal(outs[0][~holes], image[~holes])
    # A mask with grey levels: >= 128 is a hole, < 128 is known.
    soft = np.where(holes, 128, 127).astype(np.uint8)
    (out_soft,) = run_bytes(loaded, [png(image)], [png(soft)])
    np.testing.assert_array_equal(out_soft, outs[0])
    # JPEG images (4:4:4 and 4:2:0): known pixels are exactly Pillow's decoding, i.e. what the
    # CLI and the Python API read (TensorFlow's default fast DCT differs on most pixels).
    from keras_pggan.data.imageio import decode_rgb

    smooth = np.clip(image.astype(int) // 2 + np.arange(40)[None, :, None] * 3, 0, 255)
    for subsampling in (0, 2):
        buf = io.BytesIO()
        Image.fromarray(smooth.astype(np.uint8)).save(buf, "JPEG", quality=90,
                                                      subsampling=subsampling)  # fmt: skip
        data = buf.getvalue()
        (out_jpeg,) = run_bytes(loaded, [data], [png(grey)])
        pillow = decode_rgb(data, "photo.jpg")
        assert (tf.io.decode_jpeg(data, channels=3).numpy() != pillow).any()  # the old decoder
        np.testing.assert_array_equal(out_jpeg[~holes], pillow[~holes])


@pytest.mark.parametrize(
    "case",
    ["size_mismatch", "batch_mismatch", "nan", "inf_mask", "empty"],
)
def test_default_signature_rejects_bad_inputs(exported, case):
    _, loaded = exported
    image, mask = random_inputs(1, 16, 16)
    if case == "size_mismatch":
        mask, message = mask[:, :, :12], "mask must have the batch, height and width of image"
    elif case == "batch_mismatch":
        mask, message = np.concatenate([mask, mask]), "mask must have the batch"
    elif case == "nan":
        image[0, 3, 4, 1], message = np.nan, "image has NaN or Inf"
    elif case == "inf_mask":
        mask[0, 3, 4, 0], message = np.inf, "mask has NaN or Inf"
    else:
        image, mask = image[:, :0], mask[:, :0]
        message = "height and width must be positive"
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        run_default(loaded, image, mask)


def test_bytes_signature_rejects_bad_inputs(exported):
    _, loaded = exported
    image = np.zeros((16, 16, 3), np.uint8)
    mask = np.zeros((16, 16), np.uint8)
    with pytest.raises(tf.errors.InvalidArgumentError, match="not a PNG, JPEG, BMP or GIF"):
        run_bytes(loaded, [b"not an image"], [png(mask)])
    with pytest.raises(tf.errors.InvalidArgumentError, match="same number of images"):
        run_bytes(loaded, [png(image), png(image)], [png(mask)])
    with pytest.raises(tf.errors.InvalidArgumentError, match="mask_bytes must have the batch"):
        run_bytes(loaded, [png(image)], [png(mask[:, :8])])


def test_loads_like_tf_serving(exported):
    """TF Serving's path: load into a graph Session, feed/fetch the SignatureDef tensor names."""
    report, loaded = exported
    image, mask = random_inputs(1, 21, 30, seed=12)
    pixels = np.round(image[0] * 255).astype(np.uint8)
    holes = (mask[0, ..., 0] * 255).astype(np.uint8)
    want = run_default(loaded, image, mask)
    want_png = run_bytes(loaded, [png(pixels)], [png(holes)])[0]
    with tf.Graph().as_default() as graph, tf.compat.v1.Session(graph=graph) as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], report["path"])
        sig = meta.signature_def["serving_default"]
        assert sig.method_name == "tensorflow/serving/predict"
        image_in, mask_in = sig.inputs["image"].name, sig.inputs["mask"].name
        out = sess.run(sig.outputs["inpainted"].name, {image_in: image, mask_in: mask})
        with pytest.raises(tf.errors.InvalidArgumentError, match="image has NaN or Inf"):
            sess.run(sig.outputs["inpainted"].name, {image_in: image * np.nan, mask_in: mask})
        sig = meta.signature_def["serving_bytes"]
        feed = {
            sig.inputs["image_bytes"].name: [png(pixels)],
            sig.inputs["mask_bytes"].name: [png(holes)],
        }
        (encoded,) = sess.run(sig.outputs["inpainted_png_bytes"].name, feed)
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(encoded))), want_png)


def test_variables_stored_once(exported, tiny_generator, tmp_path):
    report, loaded = exported
    params = tiny_generator.count_params()
    data, total = variables_bytes(report["path"])
    assert report["variables_data_bytes"] == data and report["variables_dir_bytes"] == total
    assert 0.95 < data / (4 * params) < 1.15, (data, params)
    assert report["size_ratio"] == pytest.approx(data / (4 * params), abs=1e-3)
    assert len(loaded.variables) == len(tiny_generator.variables)
    # The plain Keras recipe (track the model) stores every weight twice; the check catches it.
    archive = keras.export.ExportArchive()
    archive.track(tiny_generator)
    archive.add_endpoint(
        "serving_default",
        lambda image, mask: tiny_generator({"image": image, "mask": mask}),
        input_signature=[
            tf.TensorSpec([None, None, None, 3], tf.float32),
            tf.TensorSpec([None, None, None, 1], tf.float32),
        ],
    )
    archive.write_out(str(tmp_path / "doubled"), verbose=False)
    doubled, _ = variables_bytes(str(tmp_path / "doubled"))
    assert doubled / (4 * params) > 1.9
    with pytest.raises(SavedModelCheckError, match="stored more than once"):
        check_variables_size(str(tmp_path / "doubled"), params)


def test_dtype_names_without_tensorflow_are_tf_dtypes_names():
    from tensorflow.core.framework import types_pb2

    from keras_pggan.signatures import dtype_name

    checked = 0
    for name, number in types_pb2.DataType.items():
        try:
            want = tf.dtypes.as_dtype(number).name
        except TypeError:  # DT_INVALID and the few enum values TensorFlow has no DType for
            continue
        assert dtype_name(name) == want, name
        checked += 1
    assert checked >= 40, checked
    assert dtype_name(1) == "1"  # a number JSON could not name stays a number


def test_signatures_are_the_api(exported):
    report, _ = exported
    sigs = signature_summary(report["path"])
    assert sigs == report["signatures"]
    assert sigs["serving_default"] == {
        "inputs": {"image": ["float32", [-1, -1, -1, 3]], "mask": ["float32", [-1, -1, -1, 1]]},
        "outputs": {"inpainted": ["float32", [-1, -1, -1, 3]]},
    }
    assert sigs["serving_bytes"] == {
        "inputs": {"image_bytes": ["string", [-1]], "mask_bytes": ["string", [-1]]},
        "outputs": {"inpainted_png_bytes": ["string", [-1]]},
    }
    extra = os.path.join(report["path"], "assets.extra")
    assert sorted(os.listdir(extra)) == ["keras_pggan.json", "tf_serving_warmup_requests"]
    records = list(tf.data.TFRecordDataset(os.path.join(extra, "tf_serving_warmup_requests")))
    assert len(records) == 2


def test_versions_atomic_and_no_overwrite(tiny_generator, tmp_path):
    base = str(tmp_path / "m")
    first = export_saved_model(tiny_generator, base, warmup=False)
    assert first["version"] == 1 and first["path"] == os.path.join(base, "1")
    os.makedirs(os.path.join(base, "10"))  # numeric, not lexical: 10 > 1
    assert latest_version(base) == 10
    second = export_saved_model(tiny_generator, base, warmup=False)
    assert second["version"] == 11
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_saved_model(tiny_generator, base, version=1)
    with pytest.raises(ValueError, match="positive integer"):
        export_saved_model(tiny_generator, base, version=0)
    # Only version folders remain: no temporary folder is left behind.
    assert sorted(os.listdir(base)) == ["1", "10", "11"]


def test_failed_export_leaves_nothing(tiny_generator, tmp_path, monkeypatch):
    base = str(tmp_path / "m")

    def boom(*args, **kwargs):
        raise SavedModelCheckError("simulated")

    monkeypatch.setattr(export_lib, "build_serving_archive", boom)
    with pytest.raises(SavedModelCheckError):
        export_saved_model(tiny_generator, base, warmup=False)
    assert os.listdir(base) == []


def test_export_tflite_is_reexported():
    from keras_pggan.export import tflite

    assert export_lib.export_tflite is tflite.export_tflite


def test_command(tiny_generator, exported, tmp_path, capsys):
    """saved-model exports a .keras file; existing versions need --overwrite; user errors exit 2."""
    model = str(tmp_path / "generator.keras")
    tiny_generator.save(model)
    out = str(tmp_path / "saved_models" / "tiny")
    os.makedirs(os.path.join(out, "3"))
    export = ["saved-model", "--model", model, "--out", out]
    assert export_main([*export, "--version", "3"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert export_main(["saved-model", "--model", str(tmp_path / "nope.keras"), "--out", out]) == 2
    assert "no such file" in capsys.readouterr().err
    assert export_main([*export, "--version", "-1"]) == 2
    assert "--version" in capsys.readouterr().err
    assert export_main([*export, "--version", "3", "--overwrite", "--no-warmup"]) == 0
    assert "serving_bytes" in capsys.readouterr().out
    image, mask = random_inputs(1, 20, 28, seed=9)
    np.testing.assert_allclose(
        run_default(tf.saved_model.load(os.path.join(out, "3")), image, mask),
        run_default(exported[1], image, mask),
        atol=1e-6,
    )
    assert sorted(os.listdir(out)) == ["3"]
