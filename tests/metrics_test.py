"""Metrics: hand-computed values, PSNR cap, SSIM against scikit-image and tf.image, FID, LPIPS."""

import math

import numpy as np
import pytest
import skimage.data
import tensorflow as tf
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from keras_pggan.evaluation import metrics as M

PHOTOS = ("astronaut", "coffee", "chelsea")


def photo(name, size=192):
    """A real photo from scikit-image's data dir, centre-cropped to keep the test fast."""
    a = getattr(skimage.data, name)()
    h, w = a.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return a[top : top + size, left : left + size]


def distort(image, seed):
    """Noise + a hole-like flat patch + a shift of brightness: a realistic imperfect result."""
    rng = np.random.default_rng(seed)
    x = image.astype(np.float64) + rng.normal(0, 12, image.shape) + 6
    h, w = image.shape[:2]
    patch = (slice(h // 5, h // 2), slice(w // 4, w // 2))
    x[patch] = x[patch].mean(axis=(0, 1))
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def test_known_mse_gives_known_psnr_l1_l2():
    a = np.zeros((8, 10, 3), np.float32)
    b = a + 0.1
    assert M.psnr(a, b) == pytest.approx(20.0, abs=1e-6)  # MSE 0.01
    assert M.l1(a, b) == pytest.approx(10.0)
    assert M.l2(a, b) == pytest.approx(1.0)
    # uint8: 5 levels everywhere → MSE (5/255)² → 20·log10(51) dB.
    x = np.full((16, 16, 3), 100, np.uint8)
    y = x + np.uint8(5)
    assert M.psnr(x, y) == pytest.approx(20 * math.log10(51), abs=1e-9)
    assert M.mse_to_psnr(1e-4) == pytest.approx(40.0)


def test_hole_metrics_only_see_holes():
    x = np.zeros((12, 12, 3), np.uint8)
    y = x.copy()
    y[0, 0] = 255  # error inside the hole
    y[3, 3, 0] = 51  # error outside
    mask = np.zeros((12, 12), bool)
    mask[:2, :2] = True
    assert M.hole_l1(y, x, mask) == pytest.approx(100 * 3 / 12)  # 4 pixels × 3 channels
    assert M.hole_psnr(y, x, mask) == pytest.approx(10 * math.log10(12 / 3))
    assert M.l1(y, x) == pytest.approx(100 * (3 + 0.2) / (144 * 3))
    row = M.image_metrics(y, x, mask.astype(np.float32)[..., None])
    assert row["hole_ratio"] == pytest.approx(4 / 144) and row["identical"] is False
    assert row["hole_l1"] == pytest.approx(25.0)


def test_identical_images_are_capped_flagged_and_never_inf_in_averages():
    x = photo("coffee", 64)
    mask = np.zeros(x.shape[:2], bool)
    mask[10:20, 10:30] = True
    same = M.image_metrics(x, x, mask)
    assert same["psnr"] == M.PSNR_CAP_DB == 100.0
    assert same["hole_psnr"] == M.PSNR_CAP_DB and same["identical"] is True
    assert same["ssim"] == pytest.approx(1.0) and same["l1"] == 0.0
    other = M.image_metrics(distort(x, 0), x, mask)
    empty = M.image_metrics(distort(x, 1), x, np.zeros_like(mask))
    assert math.isnan(empty["hole_l1"]) and math.isnan(empty["hole_psnr"])
    agg = M.aggregate([same, other, empty], bucket_fn=lambda r: "all")
    o = agg["overall"]
    assert all(math.isfinite(o[k]) for k in M.METRIC_KEYS)
    assert o["psnr"] == pytest.approx((100.0 + other["psnr"] + empty["psnr"]) / 3)
    # Hole metrics average only the rows that have holes.
    assert o["hole_l1"] == pytest.approx((0.0 + other["hole_l1"]) / 2)
    assert (o["identical"], o["no_hole"], o["count"]) == (1, 1, 3)


def test_psnr_matches_skimage_and_tf_on_photos():
    for i, name in enumerate(PHOTOS):
        x = photo(name)
        y = distort(x, i)
        ours = M.psnr(y, x)
        ref = peak_signal_noise_ratio(x, y, data_range=255)
        tf_ref = float(tf.image.psnr(x[None], y[None], max_val=255)[0])
        assert ours == pytest.approx(ref, abs=1e-9)
        assert ours == pytest.approx(tf_ref, abs=1e-3)


@pytest.mark.parametrize("name", PHOTOS)
def test_ssim_matches_skimage_within_1e3(name):
    x = photo(name)
    y = distort(x, 3)
    ref = structural_similarity(
        x,
        y,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        channel_axis=-1,
    )
    ours = M.ssim(y, x)
    assert abs(ours - ref) < 1e-3
    assert 0.2 < ours < 0.95  # a real, imperfect result: the check is not trivially 1 vs 1
    # Float input in [0, 1] gives the same value as uint8.
    assert M.ssim(y.astype(np.float32) / 255, x.astype(np.float32) / 255) == pytest.approx(
        ours, abs=1e-6
    )


def test_ssim_matches_tf_image_ssim():
    x = photo("astronaut", 96)
    y = distort(x, 5)
    ref = float(tf.image.ssim(tf.constant(x[None]), tf.constant(y[None]), max_val=255)[0])
    assert M.ssim(x, y) == pytest.approx(ref, abs=1e-3)


def test_bad_inputs_raise():
    x = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(ValueError, match="differ in shape"):
        M.psnr(x, x[:10])
    with pytest.raises(ValueError, match="smaller than the window"):
        M.ssim(x[:8, :8], x[:8, :8])
    with pytest.raises(ValueError, match=r"in \[0,1\]"):
        M.l1(x.astype(np.float32) + 3, x.astype(np.float32))
    with pytest.raises(ValueError, match="does not match"):
        M.hole_l1(x, x, np.zeros((5, 5)))


def test_aggregate_groups_by_hole_ratio_bucket():
    x = photo("chelsea", 64)
    rows = []
    for i, frac in enumerate((0.05, 0.08, 0.25, 0.7)):
        mask = np.zeros(64 * 64, bool)
        mask[: int(round(frac * 64 * 64))] = True
        rows.append(M.image_metrics(distort(x, i), x, mask.reshape(64, 64)))
    agg = M.aggregate(rows)  # keras_pggan.data.masks.hole_ratio_bucket
    assert list(agg["buckets"]) == ["0-10%", "20-30%", ">60%"]
    low = agg["buckets"]["0-10%"]
    assert low["count"] == 2
    assert low["psnr"] == pytest.approx((rows[0]["psnr"] + rows[1]["psnr"]) / 2)
    assert agg["buckets"][">60%"]["ssim"] == pytest.approx(rows[3]["ssim"])
    assert agg["overall"]["count"] == 4


def test_frechet_distance_of_shifted_gaussians_is_the_squared_shift():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(400, 4))
    shift = np.array([1.0, -2.0, 0.5, 0.0])
    assert M.frechet_distance(real, real + shift) == pytest.approx(shift @ shift, rel=1e-5)
    assert M.frechet_distance(real, real) == pytest.approx(0.0, abs=1e-6)
    # Doubling: means μ vs 2μ, covariances Σ vs 4Σ → |μ|² + Tr(Σ + 4Σ − 2·2Σ) = |μ|² + Tr(Σ).
    mu = real.mean(axis=0)
    expected = mu @ mu + np.trace(np.cov(real, rowvar=False))
    assert M.frechet_distance(real, 2 * real) == pytest.approx(expected, rel=1e-5)


def channel_means(images):
    """A toy extractor: per-image colour statistics as a feature vector."""
    x = np.asarray(images)
    return np.concatenate([x.mean(axis=(1, 2)), x.std(axis=(1, 2))], axis=-1)


def test_fid_uses_the_injected_extractor_and_explains_a_missing_one():
    rng = np.random.default_rng(1)
    real = rng.uniform(size=(12, 16, 16, 3)).astype(np.float32)
    darker = np.clip(real - 0.2, 0, 1)
    assert M.fid(real, real, channel_means) == pytest.approx(0.0, abs=1e-8)
    assert M.fid(real, darker, channel_means, batch_size=5) > 0.05
    with pytest.raises(M.FeatureExtractorMissing, match="feature_extractor=") as e:
        M.fid(real, darker)
    assert "downloaded" in str(e.value)


def test_lpips_style_distance():
    def two_layers(x):
        pooled = tf.nn.avg_pool2d(x, 2, 2, "VALID").numpy()
        return [x, np.concatenate([pooled, pooled**2], axis=-1)]

    x = photo("astronaut", 32)[None]
    y = distort(photo("astronaut", 32), 0)[None]
    z = np.stack([y[0], x[0]])
    d = M.lpips_distance(np.concatenate([x, x]), z, two_layers)
    assert d.shape == (2,) and d[0] > 0.01 and d[1] == pytest.approx(0.0, abs=1e-9)
    assert M.lpips_distance(z, np.concatenate([x, x]), two_layers) == pytest.approx(d)
    with pytest.raises(M.FeatureExtractorMissing, match="LPIPS"):
        M.lpips_distance(x, y)


def test_hole_colour_error_measures_a_cast_not_texture():
    from keras_pggan.evaluation import metrics as M

    truth = np.full((16, 16, 3), 128, np.uint8)
    mask = np.zeros((16, 16), bool)
    mask[4:12, 4:12] = True
    green = truth.copy()
    green[mask] = (128, 158, 128)  # +30 levels of green in the hole only
    assert M.hole_colour_error(green, truth, mask) == pytest.approx(10.0, abs=1e-4)
    noisy = truth.copy()
    noisy[4:12, 4:12] = np.where(np.indices((8, 8)).sum(0)[..., None] % 2, 148, 108)  # mean 128
    assert M.hole_colour_error(noisy, truth, mask) == pytest.approx(0.0, abs=1e-4)
    assert M.hole_l1(noisy, truth, mask) > 5  # texture error is not a colour cast
    assert np.isnan(M.hole_colour_error(truth, truth, np.zeros((16, 16), bool)))
    assert M.image_metrics(green, truth, mask)["hole_colour"] == pytest.approx(10.0, abs=1e-4)


def test_checkerboard_score_flags_period_two_patterns_only():
    from scipy import ndimage

    truth = photo("astronaut", 96).astype(np.float64) / 255.0
    mask = np.zeros((96, 96), bool)
    mask[20:68, 30:78] = True  # a 48×48 hole
    yy, xx = np.indices((96, 96))

    def filled(fill):
        return np.where(mask[..., None], np.clip(fill, 0, 1), truth)

    assert M.checkerboard_score(truth, truth, mask) == 1.0
    for pattern in ((-1.0) ** (xx + yy), (-1.0) ** xx, (-1.0) ** yy):
        checker = filled(truth + 0.04 * pattern[..., None])  # ±10 levels
        assert M.checkerboard_score(checker, truth, mask) > 10
    blurred = filled(ndimage.gaussian_filter(truth, (1.5, 1.5, 0)))
    assert M.checkerboard_score(blurred, truth, mask) <= 1
    flat = filled(np.broadcast_to(truth[mask].mean(axis=0), truth.shape))
    assert M.checkerboard_score(flat, truth, mask) <= 1
    # A period-4 pattern (not the last up-sampling's) and a shifted copy score near 1.
    period4 = filled(truth + 0.04 * np.sign(np.sin(np.pi * (xx + 0.5) / 2))[..., None])
    assert M.checkerboard_score(period4, truth, mask) < 1.5
    assert np.isnan(M.checkerboard_score(truth, truth, np.zeros_like(mask)))
    row = M.image_metrics(checker, truth, mask)
    assert row["checkerboard"] == M.checkerboard_score(checker, truth, mask)


def test_nyquist_energy_by_hand():
    # Rows alternate +1/-1 along x: each of the 2 rows has coefficient ±4, the columns 0.
    p = np.array([[1.0, -1.0, 1.0, -1.0], [1.0, -1.0, 1.0, -1.0]])
    assert M.nyquist_energy(p) == pytest.approx(2 * 16)
    assert M.nyquist_energy(np.ones((3, 5))) == pytest.approx(3 * 1 + 5 * 1)  # odd sides leak 1


def test_hole_chroma_sees_hue_not_brightness():
    truth = np.full((16, 16, 3), 128, np.uint8)
    holes = np.zeros((16, 16), bool)
    holes[:8] = True
    brighter = truth.copy()
    brighter[holes] = 148  # same hue, +20 luma: no chroma error
    chroma, blotch = M.hole_chroma_errors(brighter, truth, holes)
    assert chroma == pytest.approx(0.0, abs=1e-9) and blotch == 0.0
    blue = truth.copy()
    blue[:4] = (128, 128, 158)  # half the hole +30 in blue: ΔCb = 15, ΔCr = -2.4394
    chroma, blotch = M.hole_chroma_errors(blue, truth, holes)
    assert chroma == pytest.approx(0.5 * (15.0 + 2.43936) / 2, abs=1e-3)
    assert blotch == pytest.approx(50.0)  # |(15, -2.44)| = 15.2 > 12 on half the hole
    known_only = truth.copy()
    known_only[~holes] = (0, 255, 0)
    assert M.hole_chroma_errors(known_only, truth, holes) == (0.0, 0.0)
    row = M.image_metrics(blue, truth, holes)
    assert row["hole_chroma"] == pytest.approx(chroma) and row["hole_blotch"] == 50.0
    assert all(math.isnan(v) for v in M.hole_chroma_errors(blue, truth, np.zeros((16, 16), bool)))


def test_scoring_conversion_is_imageios_in_float64_and_refuses_out_of_range_floats():
    from keras_pggan.data.imageio import uint8_to_float01

    levels = np.arange(256, dtype=np.uint8).reshape(4, 8, 8)  # any shape (FID batches)
    got = M.as_float01(levels)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, uint8_to_float01(levels, np.float64))
    with pytest.raises(ValueError, match=r"must be in \[0,1\]"):
        M.as_float01(np.array([1.5], np.float32))
