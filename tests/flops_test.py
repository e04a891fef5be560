import keras

from keras_pggan.config import get_preset
from keras_pggan.models.flops import count_flops
from keras_pggan.models.generator import build_generator


def test_single_conv_matches_hand_count():
    conv = keras.Sequential(
        [keras.Input((8, 10, 3)), keras.layers.Conv2D(4, 3, padding="same", use_bias=False)]
    )
    assert count_flops(conv, (1, 8, 10, 3)) == 2 * 3 * 3 * 3 * 4 * 8 * 10


def test_tiny_generator_convolutions_match_hand_count():
    cfg = get_preset("tiny").generator
    g = build_generator(cfg)
    h = w = 32
    # Hand count of the convolutions (2·k·k·cin·cout per output pixel) at 32².
    hand = 2 * 7 * 7 * 4 * 8 * h * w  # stem: 3 colours + mask -> 8
    hand += 2 * 3 * 3 * 8 * 16 * (h // 2) * (w // 2)  # down1 8 -> 16, stride 2
    hand += 2 * 3 * 3 * 16 * 16 * (h // 4) * (w // 4)  # down2 16 -> 16 (max_filters)
    hand += 2 * 3 * 3 * 16 * 16 * (h // 4) * (w // 4) * 2 * len(cfg.dilation_rates)  # res
    hand += 2 * 3 * 3 * 16 * 16 * (h // 2) * (w // 2)  # up1 after resize
    hand += 2 * 3 * 3 * 16 * 8 * h * w  # up2 after resize
    hand += 2 * 7 * 7 * 8 * 3 * h * w  # to_rgb
    total = count_flops(g, {"image": (1, h, w, 3), "mask": (1, h, w, 1)})
    # The rest (bias adds, ReLU, resize, masking, tanh) is element-wise: well under 2 %.
    assert hand <= total <= 1.02 * hand, (hand, total)
