"""Floating-point operation counts of Keras models, from the TensorFlow graph.

The count comes from TensorFlow's graph profiler (the ``flops`` registered for each op, e.g.
2·k_h·k_w·c_in·c_out per output pixel of a convolution), on a graph traced at fixed input shapes.
One multiply-add counts as 2 FLOPs.

Example:
    >>> from keras_pggan.config import get_preset
    >>> from keras_pggan.models.generator import build_generator
    >>> g = build_generator(get_preset("tiny").generator)
    >>> count_flops(g, {"image": (1, 32, 32, 3), "mask": (1, 32, 32, 1)}) > 0
    True
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.python.framework import convert_to_constants
from tensorflow.python.profiler import model_analyzer, option_builder


def count_flops(model, input_shapes) -> int:
    """Returns the forward-pass FLOPs of ``model`` at the given input shapes.

    Args:
        model: a Keras model (or any callable on tensors).
        input_shapes: a shape tuple, or a dict ``{input_name: shape}`` for dict-input models.

    Returns:
        FLOPs as an integer (multiply-add = 2).
    """
    if isinstance(input_shapes, dict):
        specs = {k: tf.TensorSpec(v, tf.float32) for k, v in input_shapes.items()}
        fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(specs)
    else:
        spec = tf.TensorSpec(input_shapes, tf.float32)
        fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    frozen = convert_to_constants.convert_variables_to_constants_v2(fn)
    opts = option_builder.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    info = model_analyzer.profile(frozen.graph, options=opts)
    return int(info.total_float_ops)
