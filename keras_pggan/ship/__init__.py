"""The command ``python -m keras_pggan.ship`` (``keras-pggan-ship``); the library is
:mod:`keras_pggan.reports.ship` (the model card: :mod:`keras_pggan.reports.model_card`)."""
