"""Bad input to the exported SavedModel's signatures (keras_pggan.export): ``serving_default``
and ``serving_bytes`` with every case of the corpus.

The corpus is :mod:`keras_pggan.testing.corpus`; docs/reliability.md holds the table case →
behaviour per entry point → test.
"""

import numpy as np
import pytest
import tensorflow as tf
from reliability_fixtures import H, W, decode_png, mask_png, tf_pixels

from keras_pggan.testing import corpus

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


@pytest.mark.parametrize("case", corpus.ALL_CASES)
def test_saved_model_signatures(rel_corpus, rel_loaded, case):
    good_mask = open(rel_corpus.mask_path, "rb").read()
    if case in corpus.UNDECODABLE:
        with pytest.raises(tf.errors.InvalidArgumentError, match=SAVED_MODEL_PROBLEMS[case]):
            _bytes_call(rel_loaded, [rel_corpus.images[case].data], [good_mask])
        if case == "bomb_header":
            # Below TensorFlow's own int limit the header check is what refuses it.
            with pytest.raises(tf.errors.InvalidArgumentError, match="decompression bomb"):
                _bytes_call(rel_loaded, [corpus.bomb_png(12000, 12000)], [good_mask])
        return
    if case in corpus.VALID_IMAGES:
        item = rel_corpus.images[case]
        stored = tf_pixels(item.data)  # TF ignores EXIF: the stored pixel grid
        holes = corpus.box_holes(*stored.shape[:2])
        if case == "exif_rotated":
            # A mask drawn on the displayed (rotated) image does not match the stored grid.
            with pytest.raises(tf.errors.InvalidArgumentError, match="mask_bytes must have"):
                _bytes_call(rel_loaded, [item.data], [open(item.mask_path, "rb").read()])
        (out,) = _bytes_call(rel_loaded, [item.data], [mask_png(holes)])
        result = decode_png(out)
        assert result.shape == stored.shape
        np.testing.assert_array_equal(result[~holes], stored[~holes])
        # The stored grid is the corpus's pixels (EXIF rotation undone); JPEGs within the
        # difference of TensorFlow's (fast integer IDCT) and Pillow's JPEG decoding.
        reference = np.rot90(item.expected) if case == "exif_rotated" else item.expected
        tolerance = 8 if item.path.endswith(".jpg") else 0
        assert np.abs(stored.astype(int) - reference).max() <= tolerance
        return
    if case in corpus.MASK_CASES:
        mask_data = open(rel_corpus.masks[case].path, "rb").read()
        image_data = open(rel_corpus.image_path, "rb").read()
        if case == "mask_wrong_size":
            with pytest.raises(
                tf.errors.InvalidArgumentError,
                match="mask_bytes must have the batch, height and width of image_bytes",
            ):
                _bytes_call(rel_loaded, [image_data], [mask_data])
            return
        result = decode_png(_bytes_call(rel_loaded, [image_data], [mask_data])[0])
        holes = rel_corpus.masks[case].holes
        assert result.shape == rel_corpus.image.shape
        np.testing.assert_array_equal(result[~holes], rel_corpus.image[~holes])
        if case == "mask_no_hole":
            np.testing.assert_array_equal(result, rel_corpus.image)
        return
    image, mask, problem = corpus.tensor_case(case)
    fn = rel_loaded.signatures["serving_default"]
    if case == "empty_batch":
        assert fn(image=tf.constant(image), mask=tf.constant(mask))["inpainted"].shape == (
            0,
            H,
            W,
            3,
        )
        assert _bytes_call(rel_loaded, [], []).shape == (0,)
        return
    match = "image has NaN or Inf" if case == "nan_inf" else "int32"
    with pytest.raises((tf.errors.InvalidArgumentError, TypeError, ValueError), match=match):
        fn(image=tf.constant(image), mask=tf.constant(mask))
