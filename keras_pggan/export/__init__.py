"""Export: SavedModel for TF Serving (signatures, warm-up), TFLite builds (fp32, fp16,
dynamic-range, int8 with calibration) and their checks.

Also the command ``python -m keras_pggan.export``.
"""
