"""The page's crop rule (``keras_pggan/studio/static/regions.js``) against the Python one.

The JavaScript runs in Node (the same file the browser loads, as a classic script); each test
sends arrays to it and compares its answers with :mod:`keras_pggan.inference.regions`, Pillow
and numpy: plans and owned holes, the BOX/BICUBIC resizes (exactly, fixed point as Pillow
computes them), the hole mask's box cover, symmetric padding, and the float/uint8 conversions.
"""

import base64
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from keras_pggan.data.imageio import to_uint8
from keras_pggan.inference import regions

REGIONS_JS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "keras_pggan",
    "studio",
    "static",
    "regions.js",
)
DRIVER = r"""
const R = require(process.argv[1]);
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const bytes = (b64) => new Uint8Array(Buffer.from(b64, "base64"));
const b64 = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
const out = input.cases.map((c) => {
  if (c.op === "plan") {
    const holes = bytes(c.holes);
    const plan = R.planRegions(holes, c.width, c.height, c.working, c.context, c.min);
    return plan.regions.map((r) => {
      const cropHoles = R.crop(holes, c.width, 1, r.top, r.left, r.height, r.width);
      return { ...r, owned: b64(R.ownedHoles(r, cropHoles, plan)) };
    });
  }
  const size = [c.width, c.height, c.outW, c.outH];
  if (c.op === "resize") return b64(R.resizeU8(bytes(c.pixels), ...size));
  if (c.op === "shrink") return b64(R.shrinkHoles(bytes(c.holes), ...size));
  if (c.op === "pad") {
    return b64(R.padSymmetric(bytes(c.pixels), c.width, c.height, c.channels, c.outW, c.outH));
  }
  if (c.op === "to_u8") return c.values.map(R.toU8);
  if (c.op === "from_u8") return Array.from({ length: 256 }, (_, i) => Math.fround(i / 255));
  throw new Error("unknown op " + c.op);
});
process.stdout.write(JSON.stringify(out));
"""


def node() -> str:
    found = shutil.which("node")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the page's JavaScript tests, but Node.js is not installed")
        pytest.skip("Node.js is not installed (apt-get install nodejs)")
    return found


def run_js(cases):
    answer = subprocess.run(
        [node(), "-e", DRIVER, REGIONS_JS],
        input=json.dumps({"cases": cases}),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(answer.stdout)


def b64(array) -> str:
    return base64.b64encode(np.ascontiguousarray(array, np.uint8).tobytes()).decode()


def unb64(text, shape) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), np.uint8).reshape(shape)


def masks():
    """Hole masks with one, several, touching, far-apart and speckled clusters."""
    rng = np.random.default_rng(0)
    out = []
    m = np.zeros((700, 1000), bool)
    m[300:340, 400:470] = True  # one cluster
    out.append(m)
    m = np.zeros((900, 1300), bool)
    m[50:90, 60:100] = True  # far apart: separate regions
    m[700:760, 1100:1200] = True
    m[120:130, 140:600] = True  # a long stroke: downscaled
    out.append(m)
    m = np.zeros((1200, 800), bool)
    m[100:1100, 380:420] = True  # taller than the working size
    m[600:610, 700:720] = True
    out.append(m)
    m = rng.random((640, 777)) > 0.9995  # speckles: many small clusters that merge
    out.append(m)
    m = np.zeros((300, 400), bool)
    m[10:20, 30:40] = True  # the whole image runs at once
    out.append(m)
    for seed in range(4):  # random rectangles and strokes
        r = np.random.default_rng(seed + 1)
        h, w = int(r.integers(520, 1500)), int(r.integers(520, 1500))
        m = np.zeros((h, w), bool)
        for _ in range(int(r.integers(1, 6))):
            y, x = int(r.integers(0, h - 10)), int(r.integers(0, w - 10))
            m[y : y + int(r.integers(3, 300)), x : x + int(r.integers(3, 300))] = True
        out.append(m)
    return out


@pytest.mark.parametrize("working", [512, 256])
def test_plans_and_owned_holes_equal_the_python_ones(working):
    cases = [
        {
            "op": "plan",
            "holes": b64(m),
            "width": m.shape[1],
            "height": m.shape[0],
            "working": working,
            "context": regions.DEFAULT_CONTEXT,
            "min": regions.MIN_CONTEXT_PX,
        }
        for m in masks()
    ]
    answers = run_js(cases)
    total, downscaled = 0, 0
    for m, js in zip(masks(), answers):
        plan, labels = regions.plan_with_labels(m, working)
        assert len(js) == len(plan)
        for r, j in zip(plan, js):
            assert (j["top"], j["left"], j["height"], j["width"]) == (
                r.top, r.left, r.height, r.width
            )  # fmt: skip
            assert j["scale"] == pytest.approx(r.scale, abs=0) and tuple(j["clusters"]) == (
                r.clusters
            )
            assert (j["networkHeight"], j["networkWidth"]) == r.network_size
            own = regions.owned_holes(r, m[r.slices], labels)
            assert np.array_equal(unb64(j["owned"], own.shape).astype(bool), own)
            total += 1
            downscaled += r.scale < 1
    assert total >= 10 and downscaled >= 1  # several regions, one of them downscaled


def test_resize_u8_equals_pillow_exactly():
    rng = np.random.default_rng(3)
    sizes = [((97, 131), (40, 55)), ((700, 513), (512, 375)), ((40, 55), (97, 131)),
             ((375, 512), (700, 513)), ((64, 64), (64, 30)), ((33, 17), (33, 80))]  # fmt: skip
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for (h, w), _ in sizes]
    # A smooth image too: bicubic overshoots are clipped the same way.
    y, x = np.mgrid[0:97, 0:131]
    images[0] = np.stack([x * 2, y * 2, (x * y) % 256], -1).astype(np.uint8)
    cases = [
        {"op": "resize", "pixels": b64(im), "width": im.shape[1], "height": im.shape[0],
         "outW": ow, "outH": oh}
        for im, (_, (oh, ow)) in zip(images, sizes)
    ]  # fmt: skip
    for im, (_, (oh, ow)), js in zip(images, sizes, run_js(cases)):
        assert np.array_equal(unb64(js, (oh, ow, 3)), regions.resize_u8(im, oh, ow)), (im.shape,)


def test_shrink_holes_equals_python():
    cases, expected = [], []
    for m in masks()[:4]:
        for oh, ow in [(m.shape[0] // 3, m.shape[1] // 3), (211, 397)]:
            cases.append(
                {"op": "shrink", "holes": b64(m), "width": m.shape[1], "height": m.shape[0],
                 "outW": ow, "outH": oh}
            )  # fmt: skip
            expected.append(regions.shrink_holes(m, oh, ow))
    for want, js in zip(expected, run_js(cases)):
        got = unb64(js, want.shape).astype(bool)
        assert np.array_equal(got, want) and want.any()


def test_symmetric_padding_equals_numpy_even_for_pads_larger_than_the_image():
    rng = np.random.default_rng(5)
    shapes = [((5, 7, 3), (16, 16)), ((3, 2, 1), (40, 23)), ((50, 64, 3), (64, 64))]
    arrays = [rng.integers(0, 256, s, dtype=np.uint8) for s, _ in shapes]
    cases = [
        {"op": "pad", "pixels": b64(a), "width": a.shape[1], "height": a.shape[0],
         "channels": a.shape[2], "outW": ow, "outH": oh}
        for a, (_, (oh, ow)) in zip(arrays, shapes)
    ]  # fmt: skip
    for a, (_, (oh, ow)), js in zip(arrays, shapes, run_js(cases)):
        want = np.pad(a, ((0, oh - a.shape[0]), (0, ow - a.shape[1]), (0, 0)), mode="symmetric")
        assert np.array_equal(unb64(js, want.shape), want)


def test_float_and_uint8_conversions_equal_numpy():
    rng = np.random.default_rng(7)
    halves = (np.arange(256, dtype=np.float32) + 0.5) / np.float32(255)
    values = np.concatenate(
        [rng.uniform(-0.2, 1.2, 2000).astype(np.float32), halves, np.float32([0, 1, 0.5])]
    )
    to_u8, from_u8 = run_js(
        [{"op": "to_u8", "values": [float(v) for v in values]}, {"op": "from_u8"}]
    )
    assert np.array_equal(np.array(to_u8), to_uint8(values).astype(int))
    want = np.arange(256).astype(np.uint8).astype(np.float32) / 255.0
    assert np.array_equal(np.float32(from_u8), want)
