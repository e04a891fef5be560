import math

import numpy as np
import pytest
import tensorflow as tf

from keras_pggan.training import losses

SP = lambda x: math.log1p(math.exp(x))  # softplus


def test_discriminator_losses_hand_computed():
    r = tf.constant([[2.0], [0.0]])
    f = tf.constant([[-1.0], [0.5]])
    bce = losses.discriminator_adversarial_loss(r, f, "bce").numpy()
    np.testing.assert_allclose(bce, [SP(-2) + SP(-1), SP(0) + SP(0.5)], rtol=1e-6)
    hinge = losses.discriminator_adversarial_loss(r, f, "hinge").numpy()
    np.testing.assert_allclose(hinge, [0.0 + 0.0, 1.0 + 1.5], rtol=1e-6)
    ls = losses.discriminator_adversarial_loss(r, f, "lsgan").numpy()
    np.testing.assert_allclose(ls, [0.5 * 1 + 0.5 * 1, 0.5 * 1 + 0.5 * 0.25], rtol=1e-6)


def test_generator_losses_hand_computed():
    f = tf.constant([[-1.0], [0.5]])
    np.testing.assert_allclose(
        losses.generator_adversarial_loss(f, "bce").numpy(), [SP(1.0), SP(-0.5)], rtol=1e-6
    )
    np.testing.assert_allclose(
        losses.generator_adversarial_loss(f, "hinge").numpy(), [1.0, -0.5], rtol=1e-6
    )
    np.testing.assert_allclose(
        losses.generator_adversarial_loss(f, "lsgan").numpy(), [0.5 * 4.0, 0.5 * 0.25], rtol=1e-6
    )


def test_any_rank_means_per_example():
    patch = tf.reshape(tf.range(8, dtype=tf.float32), [2, 2, 2, 1])
    out = losses.generator_adversarial_loss(patch, "hinge").numpy()
    np.testing.assert_allclose(out, [-1.5, -5.5])  # mean of -[0..3], -[4..7]
    assert losses.discriminator_adversarial_loss(patch, patch).shape == (2,)
    with pytest.raises(ValueError, match="batch axis"):
        losses.generator_adversarial_loss(tf.constant(1.0))
    with pytest.raises(ValueError, match="unknown adversarial loss 'wgan'"):
        losses.generator_adversarial_loss(patch, "wgan")


def test_reconstruction_modes_hand_computed():
    y = tf.zeros([1, 2, 2, 1])
    p = tf.constant([[[[1.0], [2.0]], [[3.0], [4.0]]]])
    m = tf.constant([[[[1.0], [0.0]], [[0.0], [0.0]]]])
    assert losses.reconstruction_loss(y, p).numpy()[0] == pytest.approx(2.5)
    assert losses.reconstruction_loss(y, p, m, "hole").numpy()[0] == pytest.approx(1.0)
    # weights: hole 6, others 1 -> (6*1 + 2 + 3 + 4) / 9
    assert losses.reconstruction_loss(y, p, m, "weighted", 6.0).numpy()[0] == pytest.approx(15 / 9)
    # No hole: the hole loss is 0, not NaN.
    assert losses.reconstruction_loss(y, p, tf.zeros_like(m), "hole").numpy()[0] == 0.0
    with pytest.raises(ValueError, match="needs a mask"):
        losses.reconstruction_loss(y, p, None, "hole")


def test_ycbcr_rows_and_channel_weights():
    grey = tf.constant([[[[0.5, 0.5, 0.5]]]])
    ycc = losses.rgb_to_ycbcr(grey).numpy().ravel()
    np.testing.assert_allclose(ycc, [0.5, 0.0, 0.0], atol=1e-6)  # grey has no chroma
    a = tf.zeros([1, 2, 2, 3])
    b = tf.constant(np.tile([0.0, 0.3, 0.6], (1, 2, 2, 1)), tf.float32)
    # Weights (1, 2, 3) normalised to mean 1: (0.5, 1, 1.5) · (0, .3, .6) summed over channels / 3.
    got = losses.reconstruction_loss(a, b, channel_weights=(1.0, 2.0, 3.0)).numpy()
    np.testing.assert_allclose(got, [(0.0 + 0.3 + 0.9) / 3], rtol=1e-6)


def test_colour_lowpass_loss_sees_hue_patches_in_holes_only():
    truth = tf.zeros([1, 16, 16, 3])
    mask = np.zeros([1, 16, 16, 1], np.float32)
    mask[:, :8, :8] = 1.0  # one 8x8 hole cell of four
    blue = np.zeros([1, 16, 16, 3], np.float32)
    blue[..., 2] = 0.2  # +0.2 blue everywhere: ΔCb = 0.1, ΔCr = -0.0162624
    got = losses.colour_lowpass_loss(truth, blue, mask).numpy()
    np.testing.assert_allclose(got, [(0.1 + 0.0162624) / 2], rtol=1e-5)
    # A zero-mean checker of blue (texture, not a cast) pools away.
    checker = np.zeros([1, 16, 16, 3], np.float32)
    checker[0, ::2, ::2, 2] = 0.2
    checker[0, 1::2, 1::2, 2] = 0.2
    checker[0, ::2, 1::2, 2] = -0.2
    checker[0, 1::2, ::2, 2] = -0.2
    np.testing.assert_allclose(losses.colour_lowpass_loss(truth, checker, mask).numpy(), [0.0],
                               atol=1e-7)  # fmt: skip
    assert losses.colour_lowpass_loss(truth, blue, np.zeros_like(mask)).numpy()[0] == 0.0


def test_ycbcr_loss_and_colour_scores_share_one_bt601_matrix():
    from keras_pggan.data.imageio import YCBCR_601
    from keras_pggan.evaluation import metrics

    rgb = np.random.default_rng(0).uniform(0, 1, (4, 3)).astype(np.float32)
    want = rgb.astype(np.float64) @ np.asarray(YCBCR_601).T
    np.testing.assert_allclose(losses.rgb_to_ycbcr(rgb), want, atol=1e-6)
    rows = np.asarray((metrics.LUMA, *metrics.CHROMA_601))
    np.testing.assert_array_equal(rows, np.asarray(YCBCR_601))


def test_feature_matching_loss_is_the_mean_l1_per_map_averaged_over_maps():
    real = [tf.zeros([2, 4, 4, 3]), tf.zeros([2, 2, 2, 5])]
    fake = [tf.fill([2, 4, 4, 3], 0.5), tf.concat([tf.fill([1, 2, 2, 5], -1.0),
                                                   tf.zeros([1, 2, 2, 5])], 0)]  # fmt: skip
    np.testing.assert_allclose(losses.feature_matching_loss(real, fake).numpy(), [0.75, 0.25])
    with pytest.raises(ValueError, match="equal, non-empty"):
        losses.feature_matching_loss(real, fake[:1])
