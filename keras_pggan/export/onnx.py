"""ONNX: the exported SavedModel's ``serving_default`` converted with tf2onnx.

``bench/inference.py`` compares ONNX Runtime with the project's own paths on the converted model
(the ``[bench]`` extra installs ``tf2onnx``, ``onnx`` and ``onnxruntime``).

Example:
    >>> from keras_pggan.export.onnx import convert_onnx
    >>> ok, message = convert_onnx("runs/export/pggan_dres/1", "runs/pggan.onnx")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import subprocess
import sys


def convert_onnx(saved_model_dir: str, out_path: str, opset: int = 17) -> tuple[bool, str]:
    """Converts ``serving_default`` with the tf2onnx command line.

    Runs in a child process: tf2onnx patches TensorFlow while it converts.

    Args:
        saved_model_dir: a SavedModel version folder (``keras_pggan.export.saved_model``).
        out_path: the ``.onnx`` file to write.
        opset: the ONNX opset.

    Returns:
        ``(ok, message)``: the command that converted, or the converter's exact error line.
    """
    cmd = [
        sys.executable,
        "-m",
        "tf2onnx.convert",
        "--saved-model",
        saved_model_dir,
        "--signature_def",
        "serving_default",
        "--opset",
        str(opset),
        "--output",
        out_path,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode == 0 and os.path.exists(out_path):
        return True, " ".join(["python", *cmd[1:]])
    lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
    errors = [ln for ln in lines if "Error" in ln or "error" in ln] or lines[-3:]
    return False, errors[-1] if errors else f"exit code {proc.returncode}"
