"""The layout rules of docs/design.md, checked on the source with ``ast``.

Each rule is a checker function that returns its offences (an empty list when the rule holds).
One test runs it on the repository; another runs it on a tiny synthetic source that breaks the
rule, which proves the check can fail. The rules:

1. Stage order of imports: a module imports only its own stage or earlier ones (every import
   statement, function-level ones included): foundation (the top-level modules) → data →
   models → inference → training → export → evaluation → serving → studio → reports →
   commands (``keras_pggan/*/__main__.py`` and command-only packages, which may import
   anything). ``keras_pggan/testing/`` is exempt as an importer; no library module imports it.
2. At most 8 ``.py`` files directly in ``keras_pggan/``.
3. No module of the package is longer than 700 lines.
4. Only the one fill function (``inference/fill.py: fill_holes``) and the training step
   (``training/model.py: train_step``/``test_step``, which need the raw [-1,1] output for their
   losses) call a generator on an ``{"image", "mask"}`` dict; the entry points call
   ``fill_holes``.
5. No ``sys.path`` manipulation and no ``spec_from_file_location`` in keras_pggan/, tests/,
   scripts/ or bench/ (child scripts embedded as strings included): everything imports by name.
6. Commands are thin: argparse and calls (see :func:`command_offences`).
7. Smaller contracts: the serving client never imports the server; no public name of the
   package shadows a submodule. (The TFLite converter, ``export/tflite.py``, needs no rule of its
   own: the stage order keeps it out of every stage before export, and its runner is
   ``inference/backends.py``'s.)
"""

from __future__ import annotations

import ast
import os
import pkgutil

import pytest

import keras_pggan

PACKAGE = os.path.dirname(keras_pggan.__file__)
ROOT = os.path.dirname(PACKAGE)
MAX_LINES = 700
MAX_TOP_LEVEL_FILES = 8
STAGES = (
    "foundation",
    "data",
    "models",
    "inference",
    "training",
    "export",
    "evaluation",
    "serving",
    "batch",
    "studio",
    "reports",
    "commands",
)
ROOMS = set(STAGES[1:-1])
# Which functions may call a generator on an {"image", "mask"} dict (rule 4).
GENERATOR_CALLERS = {
    ("inference/fill.py", "fill_holes"),
    ("training/model.py", "train_step"),
    ("training/model.py", "test_step"),
}
# The inference entry points: each reaches the generator through fill_holes.
FILL_HOLES_CALLERS = (
    "training/model.py",
    "training/callbacks.py",
    "training/ema.py",
    "export/saved_model.py",
    "export/tflite.py",
    "inference/backends.py",
)
# Rule 6: a command's functions other than parser builders are argument helpers and calls.
MAX_HELPER_LINES = 50
MAX_COMMAND_CODE_LINES = 150
_PARSER_CALLS = {
    "ArgumentParser",
    "add_argument",
    "add_argument_group",
    "add_mutually_exclusive_group",
    "add_parser",
    "add_subparsers",
}


def _sources(root: str) -> dict[str, str]:
    """``{path relative to root (with /): source}`` of every ``.py`` file under ``root``."""
    found = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "results", "static"))
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    found[os.path.relpath(path, root).replace(os.sep, "/")] = f.read()
    return found


PACKAGE_SOURCES = _sources(PACKAGE)


# -- 1. stage order ------------------------------------------------------------------------------
def module_name(path: str) -> str:
    """``models/layers.py`` → ``keras_pggan.models.layers``; ``data/__init__.py`` → the package."""
    parts = ["keras_pggan", *path[: -len(".py")].split("/")]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _command_packages(paths) -> set[str]:
    """Sub-packages that hold nothing but ``__init__.py`` and ``__main__.py``."""
    files: dict[str, set[str]] = {}
    for path in paths:
        if path.count("/") == 1:
            folder, name = path.split("/")
            files.setdefault(folder, set()).add(name)
    return {folder for folder, names in files.items() if names <= {"__init__.py", "__main__.py"}}


def stage_of(module: str, top_level: set[str], command_packages: set[str]) -> str | None:
    """The stage of a ``keras_pggan`` module name; ``None`` for one no stage holds."""
    parts = module.split(".")
    if parts[-1] == "__main__":
        return "commands"
    if len(parts) == 1 or parts[1] in top_level:
        return "foundation"
    if parts[1] == "testing":
        return "testing"
    if parts[1] in ROOMS:
        return parts[1]
    if parts[1] in command_packages:
        return "commands"
    return None


def imported_modules(path: str, source: str, known: set[str]) -> list[tuple[int, str]]:
    """``(line, module)`` of every ``keras_pggan`` import of a file, at any depth.

    ``from package import name`` counts as importing the submodule ``package.name`` when it is
    one, else the package. A name no module has is returned as it is (an offence: the import
    cannot work).
    """
    here = module_name(path)
    package = here if path.endswith("__init__.py") else here.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if sub in known else base))
    return [(line, m) for line, m in found if m == "keras_pggan" or m.startswith("keras_pggan.")]


def stage_offences(sources: dict[str, str]) -> list[str]:
    """Imports that point to a later stage, to no module, or from a module of no stage."""
    known = {module_name(path) for path in sources}
    top_level = {path[: -len(".py")] for path in sources if "/" not in path}
    commands = _command_packages(sources)
    order = {stage: i for i, stage in enumerate(STAGES)}
    order["testing"] = len(STAGES)  # nothing in the package imports the test support
    offences = []
    for path, source in sorted(sources.items()):
        stage = stage_of(module_name(path), top_level, commands)
        if stage is None:
            offences.append(f"{path}: in no stage (a room, a top-level file or a command)")
            continue
        if stage in ("testing", "commands"):  # commands may import anything
            continue
        for line, target in imported_modules(path, source, known):
            if target not in known:
                offences.append(f"{path}:{line}: imports {target}, which does not exist")
            elif order[stage_of(target, top_level, commands)] > order[stage]:
                target_stage = stage_of(target, top_level, commands)
                offences.append(f"{path}:{line}: {stage} imports {target} ({target_stage})")
    return offences


def test_imports_follow_the_stage_order():
    assert stage_offences(PACKAGE_SOURCES) == []


def test_stage_check_fails_on_a_back_edge():
    sources = {
        "config.py": "",
        "models/__init__.py": "",
        "models/layers.py": "def f():\n    from keras_pggan.training import model\n",
        "models/fine.py": "from keras_pggan.models import layers\nfrom keras_pggan import config\n",
        "training/__init__.py": "",
        "training/model.py": "from ..models import layers\nfrom . import model\n",
        "inference/__init__.py": "",
        "inference/fill.py": "import keras_pggan.generator\n",
        "data/__init__.py": "",
        "data/x.py": "from keras_pggan.testing import fixtures\n",
        "testing/__init__.py": "",
        "testing/fixtures.py": "from keras_pggan.train.__main__ import main\n",
        "train/__init__.py": "",
        "train/__main__.py": "from keras_pggan.testing import fixtures\n",
        "misc/__init__.py": "",
        "misc/thing.py": "",
    }
    assert stage_offences(sources) == [
        "data/x.py:1: data imports keras_pggan.testing.fixtures (testing)",
        "inference/fill.py:1: imports keras_pggan.generator, which does not exist",
        "misc/__init__.py: in no stage (a room, a top-level file or a command)",
        "misc/thing.py: in no stage (a room, a top-level file or a command)",
        "models/layers.py:2: models imports keras_pggan.training.model (training)",
    ]


# -- 2. and 3. sizes -------------------------------------------------------------------------------
def top_level_offences(paths) -> list[str]:
    """The top-level files when there are more than :data:`MAX_TOP_LEVEL_FILES`."""
    top = sorted(p for p in paths if "/" not in p)
    return top if len(top) > MAX_TOP_LEVEL_FILES else []


def size_offences(sources: dict[str, str], limit: int = MAX_LINES) -> list[str]:
    """``path: N lines`` of every module longer than ``limit`` lines."""
    return [
        f"{path}: {source.count(chr(10))} lines (split it by concept)"
        for path, source in sorted(sources.items())
        if source.count("\n") > limit
    ]


def test_at_most_eight_top_level_files():
    assert top_level_offences(PACKAGE_SOURCES) == []


def test_top_level_check_fails_on_nine_files():
    paths = [f"m{i}.py" for i in range(9)] + ["models/a.py"]
    assert top_level_offences(paths) == sorted(f"m{i}.py" for i in range(9))


def test_modules_stay_small():
    assert size_offences(PACKAGE_SOURCES) == []


def test_size_check_fails_on_a_long_module():
    sources = {"short.py": "\n" * MAX_LINES, "long.py": "\n" * (MAX_LINES + 1)}
    assert size_offences(sources) == [f"long.py: {MAX_LINES + 1} lines (split it by concept)"]


# -- 4. the one fill -----------------------------------------------------------------------------
def generator_dict_calls(source: str) -> list[tuple[int, str]]:
    """``(line, enclosing function)`` of calls ``f({"image": ..., "mask": ...}, ...)``.

    Every such call runs a network on the batch contract. Two are not a generator's: a
    functional model's definition (``keras.Model({...}, outputs)``) and a discriminator (a
    callee whose name ends in ``discriminator``). Calls outside any function count too.
    """
    hits = []

    def visit(node, function: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        if isinstance(node, ast.Call):
            args = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "inputs")]
            callee = ast.unparse(node.func)
            for arg in args:
                if not isinstance(arg, ast.Dict):
                    continue
                keys = {k.value for k in arg.keys if isinstance(k, ast.Constant)}
                definition = callee.split(".")[-1] == "Model"
                if keys == {"image", "mask"} and not definition:
                    if not callee.endswith("discriminator"):
                        hits.append((node.lineno, function))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(source), "<module>")
    return hits


def generator_call_offences(sources: dict[str, str]) -> list[str]:
    """Direct generator calls outside :data:`GENERATOR_CALLERS`."""
    return [
        f"{path}:{line} ({function}) calls a generator directly: use fill_holes"
        for path, source in sorted(sources.items())
        for line, function in generator_dict_calls(source)
        if (path, function) not in GENERATOR_CALLERS
    ]


def calls_fill_holes(source: str) -> bool:
    """Whether a module calls ``fill_holes`` (by name or as an attribute)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == "fill_holes":
                return True
    return False


def test_only_the_fill_and_the_training_step_call_a_generator():
    assert generator_call_offences(PACKAGE_SOURCES) == []
    # The allowed calls are really there: the check sees them.
    seen = {
        (path, function)
        for path, source in PACKAGE_SOURCES.items()
        for _, function in generator_dict_calls(source)
    }
    assert seen == GENERATOR_CALLERS


def test_generator_call_check_fails_on_direct_calls():
    source = (
        "import keras\n"
        "def build(image, mask, out):\n"
        '    return keras.Model({"image": image, "mask": mask}, out)\n'
        "class EMA:\n"
        "    def hole_l1(self, x, m):\n"
        '        raw = self.average({"image": x, "mask": m}, training=False)\n'
        '        self.discriminator({"image": x, "mask": m})\n'
        '        return generator(inputs={"mask": m, "image": x})\n'
    )
    assert generator_call_offences({"training/ema.py": source}) == [
        "training/ema.py:6 (hole_l1) calls a generator directly: use fill_holes",
        "training/ema.py:8 (hole_l1) calls a generator directly: use fill_holes",
    ]
    allowed = 'def fill_holes(g, x, m):\n    return g({"image": x, "mask": m})\n'
    assert generator_call_offences({"inference/fill.py": allowed}) == []


@pytest.mark.parametrize("path", FILL_HOLES_CALLERS)
def test_entry_points_call_fill_holes(path):
    assert calls_fill_holes(PACKAGE_SOURCES[path])


def test_fill_holes_check_fails_without_the_call():
    assert calls_fill_holes("from keras_pggan.inference import fill\nfill.fill_holes(g, x, m)\n")
    assert not calls_fill_holes("from keras_pggan.inference.fill import fill_holes\n")


# -- 5. imports by name only ---------------------------------------------------------------------
def path_hacks(source: str) -> list[tuple[int, str]]:
    """``(line, what)`` of ``sys.path`` changes and ``spec_from_file_location`` uses.

    String constants that parse as Python (child scripts run with ``python -c``) are checked
    as well, reported at the string's line.
    """
    found = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        target = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value  # sys.path.insert(...), sys.path.append(...), ...
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                target = t.value if isinstance(t, ast.Subscript) else t
                if ast.unparse(target) == "sys.path":
                    break
        if target is not None and ast.unparse(target) == "sys.path":
            found.append((node.lineno, "sys.path"))
        name = getattr(node, "attr", None) or getattr(node, "id", None)
        if isinstance(node, ast.alias):
            name = node.name
        if name == "spec_from_file_location":
            found.append((getattr(node, "lineno", 0), "spec_from_file_location"))
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if "sys" in text or "spec_from_file_location" in text:
                try:
                    inner = path_hacks(text)
                except (SyntaxError, ValueError):
                    inner = []
                found += [(node.lineno, f"{what} (in a string)") for _, what in inner]
    return sorted(set(found))


def path_hack_offences(files: dict[str, str]) -> list[str]:
    return [
        f"{path}:{line}: {what}"
        for path, source in sorted(files.items())
        for line, what in path_hacks(source)
    ]


def test_nothing_edits_sys_path_or_loads_files_by_path():
    # This file is left out: its negative case below holds such code as strings.
    files = {}
    for folder in ("keras_pggan", "tests", "scripts", "bench"):
        files.update(
            {f"{folder}/{path}": src for path, src in _sources(os.path.join(ROOT, folder)).items()}
        )
    files.pop("tests/architecture_test.py")
    assert path_hack_offences(files) == []


def test_path_check_fails_on_path_edits_and_file_loading():
    source = (
        "import importlib.util, sys\n"
        "sys.path.insert(0, 'scripts')\n"
        "sys.path[:0] = ['x']\n"
        "print(sys.path[0])\n"
        "spec = importlib.util.spec_from_file_location('m', 'm.py')\n"
        "from importlib.util import spec_from_file_location\n"
        "CHILD = '''import sys\nsys.path.append(\"tests\")\n'''\n"
    )
    assert path_hacks(source) == [
        (2, "sys.path"),
        (3, "sys.path"),
        (5, "spec_from_file_location"),
        (6, "spec_from_file_location"),
        (7, "sys.path (in a string)"),
    ]


# -- 6. thin commands ----------------------------------------------------------------------------
def _is_parser_builder(fn: ast.FunctionDef) -> bool:
    if "parser" in fn.name:
        return True
    for node in ast.walk(fn):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in _PARSER_CALLS:
                return True
    return False


def command_offences(source: str) -> list[str]:
    """What makes a command more than argparse and calls into the library.

    A command defines no classes. Its functions are parser builders (a name with ``parser``,
    or a body that builds an ``argparse`` parser), ``main`` and argument helpers; every
    function that is not a parser builder is at most :data:`MAX_HELPER_LINES` lines, and
    together they are at most :data:`MAX_COMMAND_CODE_LINES` lines. Longer code is library
    code: it belongs in the command's room, where it can be tested and reused.
    """
    offences = []
    code_lines = 0
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            offences.append(f"class {node.name}: a command defines no classes")
    for node in ast.parse(source).body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if _is_parser_builder(node):
            continue
        lines = node.end_lineno - node.lineno + 1
        code_lines += lines
        if lines > MAX_HELPER_LINES:
            offences.append(f"{node.name}: {lines} lines (at most {MAX_HELPER_LINES})")
    if code_lines > MAX_COMMAND_CODE_LINES:
        offences.append(f"{code_lines} lines of non-parser code (at most {MAX_COMMAND_CODE_LINES})")
    return offences


def test_commands_are_thin():
    # Another change is thinning the commands; this check can fail until it is finished.
    offences = {
        path: problems
        for path, source in sorted(PACKAGE_SOURCES.items())
        if path.endswith("/__main__.py") and (problems := command_offences(source))
    }
    assert offences == {}


def test_command_check_fails_on_library_code():
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_HELPER_LINES))
    source = (
        "import argparse\n"
        "def build_parser():\n"
        "    p = argparse.ArgumentParser()\n"
        "    p.add_argument('--x')\n"
        "    return p\n"
        "def _add_flags(p):\n"
        "    p.add_argument('--y')\n"
        f"def score(images):\n{body}"
        "class Runner:\n"
        "    pass\n"
        "def main(argv=None):\n"
        "    return score(build_parser().parse_args(argv))\n"
    )
    assert command_offences(source) == [
        "class Runner: a command defines no classes",
        f"score: {MAX_HELPER_LINES + 1} lines (at most {MAX_HELPER_LINES})",
    ]
    many = "".join(f"def f{i}():\n{body[: 40 * 30]}" for i in range(6))
    assert command_offences(many)[-1].endswith(f"(at most {MAX_COMMAND_CODE_LINES})")


# -- 7. smaller contracts ------------------------------------------------------------------------
def test_serving_client_does_not_import_the_server():
    known = {module_name(path) for path in PACKAGE_SOURCES}
    path = "serving/client.py"
    imports = {m for _, m in imported_modules(path, PACKAGE_SOURCES[path], known)}
    assert imports and not imports & {"keras_pggan.serving.server", "keras_pggan.serving.protocol"}


def test_no_package_attribute_shadows_a_submodule():
    # An exported function named like a submodule is replaced by the module as soon as anything
    # imports the submodule (the old ``keras_pggan.inpaint`` function did exactly that).
    submodules = {info.name for info in pkgutil.iter_modules(keras_pggan.__path__)}
    assert {"inference", "models"} <= submodules
    assert not submodules & set(keras_pggan.__all__)
    for name in keras_pggan.__all__:
        assert getattr(keras_pggan, name) is not None, name
