"""Training: the PGGAN ``keras.Model`` (train_step / test_step), losses, NaN guards, the
weight average, callbacks, distribution strategies, run directories, warm starts and the run
itself (:func:`keras_pggan.training.run.run_training`, behind ``python -m keras_pggan.train``).
"""
