"""The command ``python -m keras_pggan.splits`` (``keras-pggan-splits``); the library is
:mod:`keras_pggan.data.splits`."""
