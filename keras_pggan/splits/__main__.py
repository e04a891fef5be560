"""``python -m keras_pggan.splits``: see ``--help``."""

import sys

from keras_pggan.data.splits import main

if __name__ == "__main__":
    sys.exit(main())
