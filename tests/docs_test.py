"""Every ```python block of README.md and docs/*.md runs as written.

Each block runs in a fresh namespace, in one temporary working directory prepared with what the
docs assume: ``runs/x/generator.keras`` (a tiny generator of the PGGAN-DRes shape), LiteRT builds
named like the shipped ones (``pggan_dres-<mode>.tflite``, built on first use), and the arrays the
blocks name (``image``/``image_uint8``/``image_u8`` uint8 [H,W,3] with H, W not multiples of 4,
``image01`` float [0,1], ``mask``/``holes`` bool [H,W], ``images``/``masks`` batches,
``generator``). A block that needs long work or the network is skipped when the line just above
its fence is ``<!-- no-test: why -->``; the reason is required.
"""

from __future__ import annotations

import glob
import os
import re
import textwrap

import keras
import numpy as np
import pytest

from keras_pggan.config import get_preset
from keras_pggan.models.generator import build_generator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = ["README.md", *sorted(os.path.relpath(p, ROOT) for p in glob.glob(f"{ROOT}/docs/*.md"))]
NO_TEST = re.compile(r"^\s*<!--\s*no-test\b:?\s*(?P<why>.*?)\s*-->\s*$")
TFLITE_NAME = re.compile(r"\"(pggan_dres-(fp32|dynamic|fp16|int8)(-uint8)?\.tflite)\"")

pytestmark = pytest.mark.filterwarnings("ignore")  # converters and LiteRT warn freely


def python_blocks(path: str) -> list[tuple[int, str, str | None]]:
    """``(line of the fence, code, no-test reason or None)`` of each ```python block."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        lines = f.read().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        fence = lines[i].strip()
        if fence.startswith("```python"):
            start, body = i, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            before = next((ln for ln in reversed(lines[:start]) if ln.strip()), "")
            marker = NO_TEST.match(before)
            blocks.append((start + 1, textwrap.dedent("\n".join(body)), marker and marker["why"]))
        i += 1
    return blocks


BLOCKS = [(path, *block) for path in DOCS for block in python_blocks(path)]


def test_blocks_are_found_and_skips_say_why():
    assert len(BLOCKS) >= 8, [b[:2] for b in BLOCKS]
    for path, line, _, why in BLOCKS:
        assert why != "", f"{path}:{line}: <!-- no-test: ... --> needs a reason"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """The working directory the blocks run in, with runs/x/generator.keras."""
    root = tmp_path_factory.mktemp("docs")
    keras.utils.set_random_seed(0)
    generator = build_generator(get_preset("tiny").generator)
    os.makedirs(root / "runs" / "x")
    generator.save(str(root / "runs" / "x" / "generator.keras"))
    return root, generator


def _arrays(generator) -> dict:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (30, 45, 3), dtype=np.uint8)  # 30 x 45: not multiples of 4
    holes = np.zeros((30, 45), bool)
    holes[8:20, 10:30] = True
    images = rng.integers(0, 256, (2, 30, 45, 3), dtype=np.uint8)
    return {
        "image": image,
        "image_uint8": image,
        "image_u8": image,
        "image01": image.astype(np.float32) / 255,
        "mask": holes,
        "holes": holes,
        "images": images,
        "masks": np.stack([holes, holes[::-1]]),
        "generator": generator,
    }


def _tflite_builds(code: str, root, generator) -> None:
    """Builds the ``pggan_dres-<mode>.tflite`` files a block names (tiny ones) once."""
    from keras_pggan.export.tflite import export_tflite

    for name, mode, uint8 in TFLITE_NAME.findall(code):
        if not (root / name).exists():
            export_tflite(
                generator,
                str(root / name),
                mode=mode,
                io="uint8" if uint8 else "float",
                num_calibration=2,
                calibration_size=32,
            )


@pytest.mark.large  # the docs' examples end to end (TFLite builds and runs of them: ~80 s in all)
@pytest.mark.parametrize(
    "path, line, code, why", BLOCKS, ids=[f"{path}:{line}" for path, line, _, _ in BLOCKS]
)
def test_block_runs(path, line, code, why, workdir, monkeypatch):
    if why:
        pytest.skip(f"{path}:{line}: {why}")
    root, generator = workdir
    _tflite_builds(code, root, generator)
    monkeypatch.chdir(root)
    namespace = {"__name__": "__docs__", **_arrays(generator)}
    exec(compile(code, f"{path}:{line}", "exec"), namespace)  # noqa: S102 - the docs' own code


def test_model_card_lists_only_shipped_files():
    # The card's file table and the TFLite guide must not describe builds that are not shipped.
    import re

    card = open(os.path.join(ROOT, "saved_models", "MODEL_CARD.md"), encoding="utf-8").read()
    table = card.split("## Files", 1)[1].split("##", 1)[0]
    named = re.findall(r"\| `([^`]+)` \|", table)
    assert named, "the card has no file table"
    for name in named:
        assert os.path.exists(os.path.join(ROOT, "saved_models", name)), name
    guide = open(os.path.join(ROOT, "docs", "tflite.md"), encoding="utf-8").read()
    shipped = sorted(
        f for f in os.listdir(os.path.join(ROOT, "saved_models")) if f.endswith(".tflite")
    )
    for name in shipped:
        assert f"saved_models/{name}" in guide, name
    assert "describe builds you make yourself" in guide
