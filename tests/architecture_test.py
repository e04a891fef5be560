"""The layout rules of docs/design.md, checked on the source so a change cannot drift from them.

- every inference entry point reaches the generator through ``generator.fill_holes`` (the one
  in-graph inpaint function): no other module calls a generator on an ``{"image", "mask"}``
  dict, except ``PGGAN.train_step``/``test_step``, which need the raw [-1,1] output for losses;
- modules stay small (≤ 700 lines);
- ``tflite.py`` only converts: nothing but ``export.py`` (which re-exports ``export_tflite``)
  imports it;
- the serving client never imports the server; the package never shadows a submodule's name.
"""

from __future__ import annotations

import ast
import os
import pkgutil

import pytest

import keras_pggan

PACKAGE = os.path.dirname(keras_pggan.__file__)
MAX_LINES = 700


def _modules() -> dict[str, str]:
    """``{relative path: source}`` of every module of the package."""
    found = {}
    for root, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as f:
                    found[os.path.relpath(path, PACKAGE)] = f.read()
    return found


def _generator_dict_calls(source: str) -> list[tuple[int, str]]:
    """(line, enclosing function) of calls ``<...generator>({"image": ..., "mask": ...})``."""
    tree = ast.parse(source)
    hits = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if not (
                isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Dict)
            ):
                continue
            keys = {k.value for k in node.args[0].keys if isinstance(k, ast.Constant)}
            callee = ast.unparse(node.func)
            if keys == {"image", "mask"} and callee.split(".")[-1].endswith("generator"):
                hits.append((node.lineno, fn.name))
    return hits


def test_inference_reaches_the_generator_only_through_fill_holes():
    allowed = {
        ("generator.py", "fill_holes"),
        ("model.py", "train_step"),
        ("model.py", "test_step"),
    }
    found = set()
    for path, source in _modules().items():
        for line, fn in _generator_dict_calls(source):
            found.add((path, fn))
            assert (path, fn) in allowed, f"{path}:{line} ({fn}) calls a generator directly"
    # The check can see calls: the allowed ones are really there.
    assert ("generator.py", "fill_holes") in found and ("model.py", "train_step") in found


def test_entry_points_call_fill_holes():
    sources = _modules()
    for path in ("model.py", "export.py", "tflite.py", "backends.py", "callbacks.py"):
        assert "fill_holes(" in sources[path], path


@pytest.mark.parametrize("path", sorted(_modules()))
def test_module_size(path):
    lines = _modules()[path].count("\n")
    assert lines <= MAX_LINES, f"{path}: {lines} lines (split it by concept)"


def _imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_only_export_imports_tflite():
    for path, source in _modules().items():
        if path in ("export.py", "tflite.py"):
            continue
        assert "keras_pggan.export.tflite" not in _imports(source), path


def test_serving_client_does_not_import_the_server():
    imports = _imports(_modules()[os.path.join("serving", "client.py")])
    assert not any(name.startswith("keras_pggan.serving.server") for name in imports)
    assert not any(name.startswith("keras_pggan.serving.protocol") for name in imports)


def test_no_package_attribute_shadows_a_submodule():
    # An exported function named like a submodule is replaced by the module as soon as anything
    # imports the submodule (the old ``keras_pggan.inpaint`` function did exactly that).
    submodules = {info.name for info in pkgutil.iter_modules(keras_pggan.__path__)}
    assert "inpaint" in submodules and "generator" in submodules
    assert not submodules & set(keras_pggan.__all__)
    for name in keras_pggan.__all__:
        assert getattr(keras_pggan, name) is not None, name
