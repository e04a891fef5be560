"""The Beam pipeline (``python -m keras_pggan.batch``): the same pixels as ``inpaint --input-dir``,
nothing lost (dead letters), counters that equal the truth, resume by output existence, the
pairing rules, the handler across processes.

Six real photos (scikit-image's astronaut, coffee, chelsea, rocket at two sizes; one mask is
RGBA, one file is broken, one image has no mask) and the tiny generator keep it quick.
"""

import json
import os
import pickle
import shutil
import time

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from skimage import data, transform

from keras_pggan.batch.__main__ import main as batch_main
from keras_pggan.batch.config import BatchConfig, BeamFlagsParser
from keras_pggan.batch.handler import Example, InpaintModelHandler
from keras_pggan.batch.pipeline import COUNTERS, run_batch
from keras_pggan.data import imageio
from keras_pggan.inference.inpainter import Inpainter
from keras_pggan.inpaint.__main__ import main as inpaint_main
from keras_pggan.testing import corpus

SMALL, LARGE = (96, 128), (120, 160)
WORKING_SIZE = 64  # smaller than the photos: both tools plan crops, and the pipeline batches them
DILATE = 2


def photo(image, size):
    return (transform.resize(image, size, anti_aliasing=True) * 255).round().astype(np.uint8)


def boxes(size, seed):
    rng = np.random.default_rng(seed)
    holes = np.zeros(size, bool)
    for _ in range(3):
        y, x = rng.integers(0, size[0] - 20), rng.integers(0, size[1] - 20)
        holes[y : y + rng.integers(6, 20), x : x + rng.integers(6, 20)] = True
    return holes


def grey_mask(holes):
    return np.where(holes, 255, 0).astype(np.uint8)


def disk_dilation(holes, px):
    """Dilation by a disk of radius ``px``, written independently of dilate_holes."""
    y, x = np.mgrid[-px : px + 1, -px : px + 1]
    return ndimage.binary_dilation(holes, structure=y**2 + x**2 <= px**2)


def read(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def files_under(folder):
    return sorted(
        os.path.relpath(os.path.join(root, f), folder).replace(os.sep, "/")
        for root, _, names in os.walk(folder)
        for f in names
    )


def dead_letters(path):
    with open(path, encoding="utf-8") as f:
        return sorted((json.loads(line) for line in f), key=lambda d: d["file"])


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """``photos/`` with 4 good images (two sizes, a sub-folder, an RGBA mask), a broken file
    (with a mask) and an image without a mask; returns (folder, {rel: holes})."""
    folder = tmp_path_factory.mktemp("batch") / "photos"
    (folder / "sub").mkdir(parents=True)
    sources = {
        "astronaut.png": (data.astronaut(), SMALL),
        "coffee.jpg": (data.coffee(), LARGE),
        "sub/chelsea.png": (data.chelsea(), SMALL),
        "sub/rocket.jpg": (data.rocket(), LARGE),
    }
    holes = {}
    for i, (rel, (image, size)) in enumerate(sources.items()):
        path = folder / rel
        Image.fromarray(photo(image, size)).save(path, quality=92)
        holes[rel] = boxes(size, seed=i)
        mask_path = str(path.with_suffix("")) + "_mask.png"
        if rel == "sub/chelsea.png":  # RGBA mask: transparent = hole
            rgba = np.zeros((*size, 4), np.uint8)
            rgba[..., 3] = np.where(holes[rel], 0, 255)
            Image.fromarray(rgba).save(mask_path)
        else:
            Image.fromarray(grey_mask(holes[rel])).save(mask_path)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole JPEG")
    Image.fromarray(grey_mask(boxes(SMALL, seed=9))).save(folder / "broken_mask.png")
    Image.fromarray(photo(data.coffee(), SMALL)).save(folder / "nomask.png")
    return folder, holes


@pytest.fixture(scope="module")
def reference(photos, model_path, tmp_path_factory):
    """``python -m keras_pggan.inpaint --input-dir`` on the same photos."""
    out = tmp_path_factory.mktemp("reference")
    code = inpaint_main(
        ["--model", model_path, "--input-dir", str(photos[0]), "--output-dir", str(out),
         "--working-size", str(WORKING_SIZE), "--dilate", str(DILATE), "--quiet"]
    )  # fmt: skip
    assert code == 2  # the broken file and the one without a mask
    return out


@pytest.fixture(scope="module")
def first_run(photos, model_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("filled")
    config = BatchConfig(
        inputs=(str(photos[0]),),
        output=str(out),
        model=model_path,
        working_size=WORKING_SIZE,
        dilate=DILATE,
        max_batch_size=3,
    )
    return out, run_batch(config)


def test_outputs_equal_inpaint_pixel_for_pixel(photos, reference, first_run):
    out, _ = first_run
    pngs = [f for f in files_under(out) if f.endswith(".png")]
    assert pngs == ["astronaut.png", "coffee.png", "sub/chelsea.png", "sub/rocket.png"]
    assert pngs == files_under(reference)
    for rel in pngs:
        np.testing.assert_array_equal(read(out / rel), read(reference / rel), err_msg=rel)
    for rel, holes in photos[1].items():  # every known pixel is the input's
        src = imageio.load_rgb(str(photos[0] / rel))
        known = ~disk_dilation(holes, DILATE)
        got = read(out / (os.path.splitext(rel)[0] + ".png"))
        np.testing.assert_array_equal(got[known], src[known], err_msg=rel)


def test_broken_and_unmatched_files_are_dead_letters_and_nowhere_else(photos, first_run):
    out, result = first_run
    assert result.state == "DONE"
    assert files_under(out) == [
        "astronaut.png",
        "coffee.png",
        os.path.basename(result.dead_letter),
        "sub/chelsea.png",
        "sub/rocket.png",
    ]  # no temporary folders, nothing for broken.jpg or nomask.png
    letters = dead_letters(result.dead_letter)
    broken, nomask = str(photos[0] / "broken.jpg"), str(photos[0] / "nomask.png")
    assert [(d["file"], d["stage"]) for d in letters] == [(broken, "decode"), (nomask, "pair")]
    assert letters[0]["reason"].startswith(f"{broken}: cannot decode image")
    assert f"{photos[0] / 'nomask_mask.png'} beside it" in letters[1]["reason"]


def test_counters_equal_the_truth(photos, first_run):
    _, result = first_run
    holes = sum(int(disk_dilation(h, DILATE).sum()) for h in photos[1].values())
    assert set(result.counters) == set(COUNTERS)
    assert result.counters == {
        "images": 6,
        "inpainted": 4,
        "skipped": 0,
        "failed": 2,
        "hole_pixels": holes,
    }


def test_second_run_writes_nothing_and_resumes(photos, model_path, first_run, tmp_path, capsys):
    out = tmp_path / "filled"
    shutil.copytree(first_run[0], out, copy_function=shutil.copy2)
    os.remove(out / "coffee.png")  # as if the first run had stopped before it
    before = {f: os.stat(out / f).st_mtime_ns for f in files_under(out)}
    args = ["--model", model_path, "--input", str(photos[0]), "--output", str(out),
            "--working-size", str(WORKING_SIZE), "--dilate", str(DILATE)]  # fmt: skip
    assert batch_main(args) == 2  # two files still fail
    stdout = capsys.readouterr().out
    assert "6 images, 1 inpainted, 3 skipped (output exists), 2 failed" in stdout, stdout
    np.testing.assert_array_equal(read(out / "coffee.png"), read(first_run[0] / "coffee.png"))
    assert batch_main(args) == 2
    stdout = capsys.readouterr().out
    assert "6 images, 0 inpainted, 4 skipped (output exists), 2 failed" in stdout, stdout
    after = files_under(out)
    new = sorted(set(after) - set(before) - {"coffee.png"})
    assert len(new) == 2 and all(f.startswith("dead_letter-") for f in new), new
    for f in before:  # nothing that was there is touched
        assert os.stat(out / f).st_mtime_ns == before[f], f
    assert [d["file"] for d in dead_letters(out / new[-1])] == [
        str(photos[0] / "broken.jpg"),
        str(photos[0] / "nomask.png"),
    ]


def test_default_dead_letter_names_never_repeat_within_a_second(tmp_path, monkeypatch):
    from keras_pggan.batch import pipeline

    when = time.struct_time((2026, 12, 7, 23, 19, 43, 0, 341, 0))
    monkeypatch.setattr(pipeline.time, "gmtime", lambda *a: when)
    names = []
    for _ in range(3):  # three runs that start in the same second, each leaving its file
        path = pipeline.default_dead_letter(str(tmp_path))
        open(path, "x").close()
        names.append(os.path.basename(path))
    stem = "dead_letter-20261207T231943Z"
    assert names == [f"{stem}.jsonl", f"{stem}_2.jsonl", f"{stem}_3.jsonl"]
    assert sorted(names) == names  # by name is by start


def test_mask_dir_and_duplicate_names_follow_inpaint(model_path, tmp_path):
    src, masks, size = tmp_path / "in", tmp_path / "masks", (32, 48)
    (src / "sub").mkdir(parents=True)
    (masks / "sub").mkdir(parents=True)
    holes = boxes(size, seed=3)
    for i, rel in enumerate(["a.png", "sub/b.png", "sub/c.png", "d.png", "e.png", "f.png"]):
        Image.fromarray(corpus.smooth_image(*size, seed=i)).save(src / rel)
    Image.fromarray(corpus.smooth_image(*size, seed=7)).save(src / "e.jpg", quality=95)
    rgba = np.dstack([corpus.smooth_image(*size, seed=8), np.where(holes, 0, 255)])
    Image.fromarray(rgba.astype(np.uint8)).save(src / "g.png")  # its own transparency
    for rel in ["a.png", "sub/b_mask.png", "d.png", "d_mask.png", "e.png"]:
        Image.fromarray(grey_mask(holes)).save(masks / rel)
    Image.fromarray(grey_mask(boxes((24, 24), seed=4))).save(masks / "f_mask.png")  # wrong size
    common = ["--model", model_path, "--mask-dir", str(masks)]
    ref = tmp_path / "ref"
    assert (
        inpaint_main([*common, "--input-dir", str(src), "--output-dir", str(ref), "--quiet"]) == 2
    )
    out = tmp_path / "out"
    assert batch_main([*common, "--input", str(src), "--output", str(out)]) == 2
    pngs = [f for f in files_under(out) if not f.startswith("dead_letter")]
    assert pngs == files_under(ref) == ["a.png", "e.png", "g.png", "sub/b.png"]
    for rel in pngs:
        np.testing.assert_array_equal(read(out / rel), read(ref / rel), err_msg=rel)
    (letter,) = [f for f in files_under(out) if f.startswith("dead_letter")]
    got = {
        os.path.relpath(d["file"], src): (d["stage"], d["reason"])
        for d in dead_letters(out / letter)
    }
    assert sorted((rel, stage) for rel, (stage, _) in got.items()) == [
        ("d.png", "pair"),
        ("e.png", "match"),
        ("f.png", "check"),
        ("sub/c.png", "pair"),
    ]
    assert "several masks match" in got["d.png"][1]
    assert f"also the output of {src / 'e.jpg'}" in got["e.png"][1]
    assert "is 24x24 (WxH) but image" in got["f.png"][1]
    assert f"{masks / 'sub' / 'c'}.* or c_mask.* there (--mask-dir)" in got["sub/c.png"][1]


def test_globs_lists_and_one_mask_for_all(model_path, tmp_path):
    size = (32, 48)
    (tmp_path / "in" / "deep").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    images = {}
    for i, rel in enumerate(["in/x1.png", "in/deep/x2.png", "other/y.png", "in/skip.jpg"]):
        images[rel] = corpus.smooth_image(*size, seed=20 + i)
        Image.fromarray(images[rel]).save(tmp_path / rel)
    holes = boxes(size, seed=5)
    Image.fromarray(grey_mask(holes)).save(tmp_path / "one.png")
    listing = tmp_path / "inputs.txt"
    listing.write_text(f"# photos\n{tmp_path / 'other' / 'y.png'}\n\n{tmp_path / 'missing.png'}\n")
    config = BatchConfig(
        inputs=(str(tmp_path / "in" / "**.png"),),  # Beam's "**": any depth, this folder too
        input_list=str(listing),
        output=str(tmp_path / "out"),
        model=model_path,
        mask=str(tmp_path / "one.png"),
    )
    result = run_batch(config)
    assert result.counters["images"] == 3 and result.counters["failed"] == 1
    assert result.counters["hole_pixels"] == 3 * int(holes.sum())
    inpainter = Inpainter.from_path(model_path)
    for rel, out_rel in [("in/x1.png", "x1.png"), ("in/deep/x2.png", "deep/x2.png"),
                         ("other/y.png", "y.png")]:  # fmt: skip
        want = inpainter(images[rel], holes)
        np.testing.assert_array_equal(read(tmp_path / "out" / out_rel), want, err_msg=rel)
    ((letter),) = dead_letters(result.dead_letter)
    assert letter["stage"] == "match" and letter["file"] == str(tmp_path / "missing.png")


def test_fill_many_of_a_bundle_equals_each_image_alone_for_mixed_sizes(generator):
    """Crops of one size from different images share a network run; no image sees another's."""
    inpainter = Inpainter(generator, working_size=32, context=0.25, batch_size=3)
    sizes = [(40, 56), (32, 32), (40, 56), (24, 70)]
    images = [corpus.smooth_image(*s, seed=i) for i, s in enumerate(sizes)]
    masks = [boxes(s, seed=i) if s[0] > 30 else np.zeros(s, bool) for i, s in enumerate(sizes)]
    masks[1][4:9, 4:20] = True
    for got, image, mask in zip(inpainter.fill_many(images, masks), images, masks):
        np.testing.assert_array_equal(got, inpainter(image, mask))
        np.testing.assert_array_equal(got[~mask], image[~mask])
        assert np.abs(got[mask].astype(int) - image[mask]).max(initial=0) > 0 or not mask.any()
    with pytest.raises(ValueError, match="4 images but 3 masks"):
        inpainter.fill_many(images, masks[:3])


def test_handler_pickles_and_loads_once_per_worker(model_path):
    handler = InpaintModelHandler(model_path, working_size=None, max_batch_size=2)
    copy = pickle.loads(pickle.dumps(handler))
    assert copy.batch_elements_kwargs() == {"min_batch_size": 1, "max_batch_size": 2}
    model = copy.load_model()
    image, holes = corpus.smooth_image(32, 48, seed=1), boxes((32, 48), seed=1)
    (result,) = copy.run_inference([Example("x.png", image, holes)], model)
    np.testing.assert_array_equal(result.inference, Inpainter.from_path(model_path)(image, holes))
    assert result.example.source == "x.png"


def test_flags_are_checked_before_the_pipeline(model_path, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    base = ["--model", model_path, "--input", str(tmp_path / "in"), "--output", str(tmp_path / "o")]
    cases = {
        ("--dilate", "-1"): "--dilate must be >= 0 pixels, got -1",
        ("--mask", "m.png", "--mask-dir", "m"): "--mask and --mask-dir: give one",
        ("--direct_num_wrkers=2",): "unknown option(s): --direct_num_wrkers",
        ("--input", str(tmp_path / "nope")): "nope: no such file or folder (--input)",
        ("--ext", ".xyz"): "unknown or unwritable image format",
    }
    for extra, message in cases.items():
        assert batch_main([*base, *extra]) == 2, extra
        err = capsys.readouterr().err
        assert message in err, (extra, err)
    assert not os.path.exists(tmp_path / "o")  # a refused start writes nothing
    parsed = BeamFlagsParser().parse_args(["--runner", "DirectRunner"])
    assert parsed.pipeline_args == ["--runner", "DirectRunner"]


@pytest.mark.large
def test_multi_process_direct_runner_gives_the_same_pixels(photos, reference, model_path, tmp_path):
    """Two worker processes: the handler is pickled into each, which loads the model itself."""
    config = BatchConfig(
        inputs=(str(photos[0]),),
        output=str(tmp_path / "out"),
        model=model_path,
        working_size=WORKING_SIZE,
        dilate=DILATE,
    )
    result = run_batch(config, ["--direct_num_workers=2", "--direct_running_mode=multi_processing"])
    assert (result.counters["inpainted"], result.counters["failed"]) == (4, 2)
    for rel in files_under(reference):
        np.testing.assert_array_equal(read(tmp_path / "out" / rel), read(reference / rel))
