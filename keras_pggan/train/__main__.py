"""``python -m keras_pggan.train``: see ``--help``."""

import sys

from keras_pggan.training.run import main

if __name__ == "__main__":
    sys.exit(main())
