import math

import numpy as np
import pytest
import tensorflow as tf

from keras_pggan import losses

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
