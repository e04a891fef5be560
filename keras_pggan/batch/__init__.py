"""Batch inpainting on Apache Beam: millions of photos on DirectRunner, Flink, Spark or Dataflow.

The command ``python -m keras_pggan.batch`` (``keras-pggan-batch``; ``pip install
'keras_pggan[beam]'``) matches images through Beam's filesystems, pairs each with its mask by the
rules of ``inpaint --input-dir``, fills them with :class:`handler.InpaintModelHandler` inside
``RunInference`` and writes PNGs under an output prefix, sub-folders mirrored. What fails goes to
a dead-letter file, one JSON line per file; existing outputs are skipped (a re-run resumes).

- :mod:`keras_pggan.batch.pipeline`: :class:`~keras_pggan.batch.pipeline.BatchConfig`, the
  transforms and :func:`~keras_pggan.batch.pipeline.run_batch`;
- :mod:`keras_pggan.batch.handler`: the ``ModelHandler`` (loads a ``.keras``, SavedModel or
  ``.tflite`` once per worker and batches same-size crops).

docs/batch.md has the command lines for each runner. Importing this package imports neither
Beam nor TensorFlow.
"""
