"""The command ``python -m keras_pggan.evaluate`` (``keras-pggan-evaluate``); the library is
:mod:`keras_pggan.evaluation`."""
