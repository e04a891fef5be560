"""Import a project script (``scripts/*.py``, ``export/*.py``) as a module, for tests.

The scripts are not a package, so tests load them by path; this is the one loader they share.
"""

import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_script(relpath: str, name: str | None = None, with_folder: bool = False):
    """Load ``ROOT/relpath`` as a fresh module.

    Args:
        relpath: the script's path from the project root, e.g. ``"scripts/ablation.py"``.
        name: the module name (default: the file's stem).
        with_folder: put the script's folder on ``sys.path`` first, for scripts that import their
            neighbours by name (``paper_table_512`` imports ``paper_table``).

    Returns:
        The executed module.
    """
    path = os.path.join(ROOT, relpath)
    folder = os.path.dirname(path)
    if with_folder and folder not in sys.path:
        sys.path.insert(0, folder)
    name = name or os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
