"""Alias of ``python -m keras_pggan.ship`` (:mod:`keras_pggan.ship`), the model-card command.

Kept so that the commands the shipped cards record (``python scripts/ship_model.py --run-dir RUN
...``, saved_models/MODEL_CARD.md) still run as written.
"""

import sys

from keras_pggan.ship.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
