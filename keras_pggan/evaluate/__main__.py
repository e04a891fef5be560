"""``python -m keras_pggan.evaluate``: see ``--help``."""

import sys

from keras_pggan.evaluation.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
