"""``python -m keras_pggan.inpaint``: see ``--help``."""

import sys

from keras_pggan.inference.inpainter import main

if __name__ == "__main__":
    sys.exit(main())
