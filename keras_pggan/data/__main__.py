"""``python -m keras_pggan.data``: see ``--help``."""

import sys

from keras_pggan.data.pipeline import main

if __name__ == "__main__":
    sys.exit(main())
