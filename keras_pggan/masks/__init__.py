"""The command ``python -m keras_pggan.masks`` (``keras-pggan-masks``); the library is
:mod:`keras_pggan.data.masks`."""
