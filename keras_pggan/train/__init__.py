"""The command ``python -m keras_pggan.train`` (``keras-pggan-train``); the library is
:mod:`keras_pggan.training`."""
