"""Data in: image and mask I/O (the one hole convention), sources and the fixed train / V
split, tf.data pipelines and TFRecords, and the mask generators (``data.masks``).

Also the command ``python -m keras_pggan.data`` (``make-tfrecords``). Importing the room loads no
TensorFlow.
"""
