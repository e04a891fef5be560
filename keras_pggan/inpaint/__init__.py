"""The command ``python -m keras_pggan.inpaint`` (``keras-pggan-inpaint``); the library is
:mod:`keras_pggan.inference`."""
