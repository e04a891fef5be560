"""Score inpainting models and classical baselines on the same images and the same masks.

The command line is ``python -m keras_pggan.evaluate`` (:mod:`keras_pggan.evaluate.__main__`):

    python -m keras_pggan.evaluate --model runs/x/generator.keras --data photos/val \\
        --mask-kind center --seed 0 --size 256 --out eval/x
    python -m keras_pggan.evaluate --compare pggan=runs/a/generator.keras \\
        ggan=runs/b/generator.keras patch=runs/c/generator.keras --data photos/val \\
        --masks eval_masks/freeform256 --size 256 --out eval/ablation

Writes ``report.md`` (tables overall and per hole-ratio bucket), ``metrics.json`` (everything,
including the mask set's manifest sha256), ``per_image.csv`` (one row per image and method) and
``sheets/sheet_*.png`` (masked input | each model | each baseline | truth) into ``--out``, which
must be new or empty unless ``--overwrite`` is given; ``--save-outputs`` adds every method's
output per image (``outputs/<method>/<id>.png``, the perceptual study's input: saved_outputs.py).

Images: the image files of ``--data`` (recursive, sorted by path; the first ``--count``); each is
decoded (EXIF orientation applied), its short side resized to ``--size`` (bilinear with
antialiasing, like the training data pipeline's validation crops) and centre-cropped to
``--size``². Masks: mask ``i`` of the eval set (``--masks DIR`` from ``python -m
keras_pggan.masks make-eval-set``, or generated into ``OUT/masks`` from ``--mask-kind`` and
``--seed``) goes with image ``i``, for every model and every baseline; each row records the mask
file's sha256 from the manifest and a digest of the array actually scored, and the run fails if any
row's mask differs.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from keras_pggan.evaluation import classical as baselines_lib
from keras_pggan.evaluation import metrics as M
from keras_pggan.evaluation import saved_outputs
from keras_pggan.evaluation.metrics import FLAT_COLOURS, flat_colour_check  # noqa: F401 (re-exported)
from keras_pggan.evaluation.sheets import comparison_sheet, masked_input

FORMAT = "keras_pggan.evaluate"
VERSION = 1
BASELINE_TITLES = {"telea": "OpenCV Telea", "ns": "OpenCV Navier–Stokes", "mean": "mean fill"}
TABLE_METRICS = (
    ("l1", "L1 %", "{:.3f}"),
    ("l2", "L2 %", "{:.3f}"),
    ("psnr", "PSNR dB", "{:.2f}"),
    ("ssim", "SSIM", "{:.4f}"),
    ("hole_l1", "hole L1 %", "{:.3f}"),
    ("hole_psnr", "hole PSNR dB", "{:.2f}"),
    ("hole_colour", "hole colour err (levels)", "{:.2f}"),
    ("checkerboard", "checkerboard (fill/truth)", "{:.2f}"),  # metrics.checkerboard_score
)
BUCKET_METRICS = (
    ("psnr", "PSNR dB", "{:.2f}"),
    ("ssim", "SSIM", "{:.4f}"),
    ("l1", "L1 %", "{:.3f}"),
)
CSV_FIELDS = (
    "index",
    "file",
    "method",
    "kind",
    "hole_ratio",
    "bucket",
    "mask_file",
    "mask_sha256",
    "mask_digest",
    *M.METRIC_KEYS,
    "identical",
)


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """One evaluation run.

    Attributes:
        models: ``(label, path)`` pairs: ``.keras`` files, SavedModel dirs or ``.tflite`` files.
        data_dir: folder of test images (recursive), or a list file of image paths (``.txt``).
        out_dir: where the report, metrics, CSV, sheets (and generated masks) go.
        size: side of the square evaluation crops; must equal the mask set's size.
        masks_dir: an eval mask set written by ``keras_pggan.data.masks.make_eval_set``.
        mask_kind: generate the set instead (into ``out_dir/masks``) from this kind and ``seed``.
        seed: seeds the generated masks (and Keras).
        count: evaluate the first ``count`` images (default: all).
        baselines: classical baselines to score next to the models (``telea``, ``ns``, ``mean``).
        batch_size: images per model call.
        num_sheets: comparison sheets to write (the first images).
        feature_model: a ``.keras`` feature extractor for FID and the LPIPS-style distance.
        save_outputs: also write each image's output per method (:mod:`saved_outputs`).
    """

    models: tuple[tuple[str, str], ...]
    data_dir: str
    out_dir: str
    size: int = 256
    masks_dir: str | None = None
    mask_kind: str | None = None
    seed: int = 0
    count: int | None = None
    baselines: tuple[str, ...] = baselines_lib.BASELINES
    batch_size: int = 8
    num_sheets: int = 8
    feature_model: str | None = None
    save_outputs: bool = False

    def __post_init__(self):
        if not self.models and not self.baselines:
            raise ValueError("EvalConfig.models: give at least one model or baseline")
        labels = [label for label, _ in self.models] + list(self.baselines)
        if len(set(labels)) != len(labels):
            raise ValueError(f"EvalConfig.models: labels must be unique, got {labels}")
        if self.save_outputs:
            saved_outputs.check_method_names(labels)
        if (self.masks_dir is None) == (self.mask_kind is None):
            raise ValueError("EvalConfig: give exactly one of masks_dir (--masks) or mask_kind")
        for name in ("size", "batch_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or v <= 0:
                raise ValueError(f"EvalConfig.{name}: must be a positive integer, got {v!r}")
        if self.size < 11:
            raise ValueError(f"EvalConfig.size: SSIM needs at least 11 px, got {self.size}")
        if self.count is not None and (not isinstance(self.count, int) or self.count <= 0):
            raise ValueError(f"EvalConfig.count: must be a positive integer, got {self.count!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"EvalConfig.seed: must be a non-negative integer, got {self.seed!r}")
        if self.num_sheets < 0:
            raise ValueError(f"EvalConfig.num_sheets: must be >= 0, got {self.num_sheets}")
        for b in self.baselines:
            if b not in baselines_lib.BASELINES:
                raise ValueError(f"EvalConfig.baselines: unknown baseline {b!r}")


# -- inputs ------------------------------------------------------------------------------------


def load_eval_image(path: str, size: int) -> np.ndarray:
    """Decodes ``path`` (EXIF applied), resizes its short side to ``size``, centre-crops ``size``².

    Returns:
        uint8 [size, size, 3].

    Raises:
        ValueError: naming the file when it cannot be decoded.
    """
    import tensorflow as tf

    from keras_pggan.data.imageio import load_rgb

    image = load_rgb(path)
    h, w = image.shape[:2]
    scale = size / min(h, w)
    nh, nw = max(size, int(round(h * scale))), max(size, int(round(w * scale)))
    if (nh, nw) != (h, w):
        resized = tf.image.resize(image, (nh, nw), method="bilinear", antialias=True).numpy()
        image = np.clip(np.round(resized), 0, 255).astype(np.uint8)
    top, left = (nh - size) // 2, (nw - size) // 2
    return image[top : top + size, left : left + size]


SCORE_KEYS = (
    "psnr", "ssim", "l1", "hole_l1", "hole_psnr", "hole_colour", "hole_chroma", "hole_blotch"
)  # fmt: skip


def score_methods(
    methods: dict[str, str],
    files: Sequence[str],
    kinds: Sequence[str] = ("center", "freeform"),
    size: int = 256,
    seed: int = 0,
    images: dict[str, np.ndarray] | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """Mean scores of models and baselines on ``files`` with the fixed seeded mask sets; no files.

    The lightweight sibling of :func:`run_evaluation` for training scripts (recipe curves, the
    model card): image ``i`` gets mask ``i`` of ``masks.make_eval_masks(kind, size, n, seed)``,
    the same masks ``make-eval-set`` writes.

    Args:
        methods: ``{label: path}`` of a ``.keras`` / SavedModel / ``.tflite`` model, or
            ``{label: "baseline:telea"}`` (``telea``, ``ns``, ``mean``).
        files: image paths, scored as 256² centre crops (:func:`load_eval_image`).
        kinds: mask kinds, e.g. ``center`` (a centred 128² square at 256²) and ``freeform``.
        size: crop side.
        seed: mask seed.
        images: a cache ``{path: uint8 crop}`` shared between calls (filled as it goes).

    Returns:
        ``{label: {kind: {metric: mean}}}`` over :data:`SCORE_KEYS`.
    """
    from keras_pggan.data import masks as masks_lib
    from keras_pggan.inference.inpainter import Inpainter

    images = {} if images is None else images
    for f in files:
        if f not in images:
            images[f] = load_eval_image(f, size)
    mask_sets = {k: masks_lib.make_eval_masks(k, size, len(files), seed) for k in kinds}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for label, target in methods.items():
        if target.startswith("baseline:"):
            fn = baselines_lib.get_baseline(target.split(":", 1)[1])
        else:
            fn = Inpainter.from_path(target)
        out[label] = {}
        for kind, masks in mask_sets.items():
            rows = []
            for f, mask in zip(files, masks):
                holes = np.asarray(mask).astype(bool)
                rows.append(M.image_metrics(fn(images[f], holes), images[f], holes))
            out[label][kind] = {k: float(np.nanmean([r[k] for r in rows])) for k in SCORE_KEYS}
    return out


def mask_digest(mask) -> str:
    """sha256 of a mask's hole bits (shape included): identifies the array a method scored."""
    holes = np.asarray(mask) > 0
    h = hashlib.sha256(f"{holes.shape}".encode())
    h.update(np.packbits(holes).tobytes())
    return h.hexdigest()


def _file_sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def resolve_masks(cfg: EvalConfig, count: int) -> tuple[np.ndarray, dict, str]:
    """Loads (or first generates) the eval mask set; checks its size and count.

    Returns:
        (uint8 [count, S, S] masks, manifest, mask set folder).
    """
    from keras_pggan.data import masks as masks_lib

    if cfg.masks_dir is not None:
        folder = cfg.masks_dir
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"{folder}: no such mask set directory (--masks)")
    else:
        folder = os.path.join(cfg.out_dir, "masks")
        masks_lib.make_eval_set(cfg.mask_kind, cfg.size, count, cfg.seed, folder, overwrite=True)
    masks, manifest = masks_lib.load_eval_set(folder)
    if int(manifest["size"]) != cfg.size:
        raise ValueError(f"{folder}: mask set is {manifest['size']} px but --size is {cfg.size}")
    if len(masks) < count:
        raise ValueError(f"{folder}: holds {len(masks)} masks, {count} images need one each")
    return masks[:count], manifest, folder


def default_label(path: str) -> str:
    """A table label for a model path: the file stem, or its folder for generic names.

    ``runs/x/generator.keras`` → ``x``; ``saved_models/pggan/1`` → ``pggan``; ``g-fp32.tflite``
    → ``g-fp32``.
    """
    path = os.path.normpath(path)
    name = os.path.basename(path)
    stem = name if os.path.isdir(path) else os.path.splitext(name)[0]
    if stem in ("generator", "saved_model") or stem.isdigit():
        return os.path.basename(os.path.dirname(path)) or stem
    return stem


def parse_model_args(
    model: str | None, compare: Sequence[str] | None
) -> tuple[tuple[str, str], ...]:
    """``--model P`` and ``--compare [label=]P ...`` → unique ``(label, path)`` pairs."""
    specs = ([model] if model else []) + list(compare or [])
    pairs = []
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep or not label or os.path.exists(spec):
            label, path = default_label(spec), spec
        pairs.append((label, path))
    labels = [label for label, _ in pairs]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ValueError(f"models share the label(s) {dupes}; name them: --compare LABEL=PATH ...")
    return tuple(pairs)


# -- outputs -----------------------------------------------------------------------------------


def _fmt(value, spec: str) -> str:
    return "–" if value is None else spec.format(value)


def _jsonable(x):
    if isinstance(x, float) and not np.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


def render_report(result: dict[str, Any]) -> str:
    """The markdown report of a :func:`run_evaluation` result."""
    methods = result["methods"]
    images, mask_set = result["images"], result["mask_set"]
    has_features = any(
        m.get("fid") is not None or m.get("lpips") is not None for m in methods.values()
    )
    lines = [
        "# Inpainting evaluation",
        "",
        f"- Images: {images['count']} from `{images['dir']}` — {images['preprocess']}",
        f"- Masks: `{mask_set['dir']}` (kind `{mask_set['kind']}`, {mask_set['size']} px, seed "
        f"{mask_set['seed']}; manifest sha256 `{mask_set['manifest_sha256'][:16]}…`). Mask `i` "
        "goes with image `i` for every row below; every row's mask was checked against the "
        "manifest.",
        f"- Scored on the composited image in [0, 1]; L1/L2 in %, PSNR in dB capped at "
        f"{result['psnr_cap_db']:.0f} dB (identical images would be infinite; such rows are "
        "counted in the `identical` column), SSIM with an 11×11 Gaussian window (σ = 1.5).",
        "",
        "## Overall",
        "",
    ]
    head = ["method", "kind"] + [t for _, t, _ in TABLE_METRICS]
    if has_features:
        head += ["FID", "LPIPS-style"]
    head += ["identical", "images"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, m in methods.items():
        o = m["overall"]
        cells = [
            f"`{name}`" if m["kind"] == "model" else BASELINE_TITLES.get(name, name),
            m["kind"],
        ]
        cells += [_fmt(o[k], spec) for k, _, spec in TABLE_METRICS]
        if has_features:
            cells += [_fmt(m.get("fid"), "{:.2f}"), _fmt(m.get("lpips"), "{:.4f}")]
        cells += [str(o["identical"]), str(o["count"])]
        lines.append("| " + " | ".join(cells) + " |")
    buckets = list(next(iter(methods.values()))["buckets"]) if methods else []
    lines += ["", "## By hole ratio", ""]
    counts = next(iter(methods.values()))["buckets"] if methods else {}
    for key, title, spec in BUCKET_METRICS:
        lines += [f"### {title}", ""]
        head = ["method"] + [f"{b} (n={counts[b]['count']})" for b in buckets]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for name, m in methods.items():
            cells = [name] + [_fmt(m["buckets"][b][key], spec) for b in buckets]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Notes", ""]
    lines += [f"- {note}" for note in result["notes"]]
    lines += [
        f"- Per-image rows: `{result['files']['csv']}`; comparison sheets (masked input | "
        f"{' | '.join(methods)} | truth): `{result['files']['sheets']}/`.",
        "",
    ]
    return "\n".join(lines)


def _write_csv(path: str, rows: list[dict[str, Any]]) -> None:
    from keras_pggan.io_utils import write_text_atomic

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if _jsonable(r[k]) is None else r[k]) for k in CSV_FIELDS})
    write_text_atomic(path, buf.getvalue())


# -- the run -----------------------------------------------------------------------------------


def _feature_extractor(path: str) -> Callable[[np.ndarray], Any]:
    import keras

    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such feature model (--feature-model)")
    model = keras.saving.load_model(path, compile=False)

    def extract(images01):
        out = model(images01, training=False)
        if isinstance(out, dict):
            out = [out[k] for k in sorted(out)]
        if isinstance(out, (list, tuple)):
            return [np.asarray(o) for o in out]
        return np.asarray(out)

    return extract


def _data_root(data_dir: str) -> str:
    return data_dir if os.path.isdir(data_dir) else os.path.dirname(os.path.abspath(data_dir))


def _eval_files(cfg: EvalConfig) -> list[str]:
    """The first ``cfg.count`` images of ``cfg.data_dir`` (a folder or a list file), sorted.

    Raises:
        FileNotFoundError: no such folder or list file, or a listed image is missing.
        ValueError: no images.
    """
    from keras_pggan.data.pipeline import LIST_EXTENSIONS, list_image_files, resolve_sources

    if os.path.isfile(cfg.data_dir) and cfg.data_dir.lower().endswith(LIST_EXTENSIONS):
        files, _ = resolve_sources([cfg.data_dir])  # a list file (e.g. the V split's)
        missing = [f for f in files if not os.path.exists(f)]
        if missing:
            raise FileNotFoundError(f"{cfg.data_dir}: listed image {missing[0]} does not exist")
    elif not os.path.isdir(cfg.data_dir):
        raise FileNotFoundError(f"{cfg.data_dir}: no such data directory or list file (--data)")
    else:
        files = list_image_files(cfg.data_dir)
    if not files:
        raise ValueError(f"{cfg.data_dir}: no image files found")
    if cfg.count and cfg.count > len(files):
        # "The first N": all of them when there are fewer (said; the report gives the count).
        print(
            f"note: --count {cfg.count}: {cfg.data_dir} holds {len(files)} images; using all",
            file=sys.stderr,
        )
    return files[: cfg.count or len(files)]


def _method_runners(cfg: EvalConfig) -> tuple[dict, dict, dict, list[str]]:
    """Loads the models and the available baselines.

    Returns:
        ``(methods, runners, skipped, notes)``: each method's report entry, its batch runner
        (uint8 [B,H,W,3], bool [B,H,W] → uint8 [B,H,W,3]), the baselines skipped with why, and
        a note per skipped baseline.

    Raises:
        ValueError: nothing to evaluate (no model, every baseline unavailable).
    """
    from keras_pggan.inference.inpainter import Inpainter

    notes: list[str] = []
    methods: dict[str, dict[str, Any]] = {}
    runners: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {}
    for label, path in cfg.models:
        inpainter = Inpainter.from_path(path, working_size=None, batch_size=cfg.batch_size)
        runners[label] = inpainter.predict_batch
        methods[label] = {"kind": "model", "path": path, "backend": inpainter.backend_name}
    skipped = {}
    for name in cfg.baselines:
        try:
            fn = baselines_lib.get_baseline(name)
        except baselines_lib.BaselineUnavailable as e:
            skipped[name] = str(e)
            notes.append(f"{BASELINE_TITLES[name]} skipped: {e}")
            continue
        runners[name] = lambda x, m, fn=fn: np.stack([fn(a, b) for a, b in zip(x, m)])
        methods[name] = {"kind": "baseline", "title": BASELINE_TITLES[name]}
    if not runners:
        raise ValueError("nothing to evaluate: no model and every baseline was skipped")
    return methods, runners, skipped, notes


def _write_sheets(sheet_dir, idx, num_sheets, truth, masks, outputs) -> None:
    """One comparison sheet (masked input, every method, truth) per image index < num_sheets."""
    from PIL import Image

    from keras_pggan.io_utils import atomic_path

    for j, i in enumerate(idx):
        if i >= num_sheets:
            break
        columns = [("masked input", masked_input(truth[j], masks[j]))]
        columns += [(name, out[j]) for name, out in outputs.items()]
        columns += [("truth", truth[j])]
        path = os.path.join(sheet_dir, f"sheet_{i:05d}.png")
        os.makedirs(sheet_dir, exist_ok=True)
        with atomic_path(path) as tmp:
            Image.fromarray(comparison_sheet(columns)).save(tmp, format="PNG")


def _feature_scores(features: dict, lpips: list | None, name: str, n: int) -> dict:
    """``{"fid", "lpips"}`` of method ``name`` (None without a feature model; FID needs n ≥ 2)."""
    if lpips is None or not features[name]:
        return {"fid": None, "lpips": None}
    fid = None
    if n >= 2:
        fid = M.frechet_distance(np.concatenate(features["truth"]), np.concatenate(features[name]))
    return {"fid": fid, "lpips": float(np.mean(np.concatenate(lpips)))}


def _feature_note(feature_model: str | None, n: int) -> str:
    """The report's note on FID and the LPIPS-style distance."""
    if not feature_model:
        return (
            "FID and the LPIPS-style distance were not computed: they need a pretrained feature "
            "extractor, none ships and no weights can be downloaded; pass --feature-model "
            "FILE.keras (images [N,H,W,3] in [0,1] → features)."
        )
    return (
        f"FID and LPIPS-style distances use `{feature_model}`; FID on {n} images is "
        "biased upwards (compare only at equal image counts)."
    )


def _inputs_record(cfg: EvalConfig, files, manifest: dict, mask_folder: str, masks_sha: str):
    """The report's ``images`` and ``mask_set`` entries: what was scored, reproducibly."""
    n = len(files)
    return {
        "images": {
            "dir": cfg.data_dir,
            "count": n,
            "files": [os.path.relpath(f, cfg.data_dir) for f in files],
            "preprocess": f"sorted files; short side resized to {cfg.size} px (bilinear, "
            f"antialiased), centre crop {cfg.size}×{cfg.size}",
        },
        "mask_set": {
            "dir": mask_folder,
            "kind": manifest.get("kind"),
            "size": int(manifest["size"]),
            "seed": manifest.get("seed"),
            "count_in_set": len(manifest["masks"]),
            "used": n,
            "manifest_sha256": _file_sha256(os.path.join(mask_folder, "manifest.json")),
            "masks_sha256": masks_sha,
        },
    }


def run_evaluation(cfg: EvalConfig, progress: bool = True) -> dict[str, Any]:
    """Runs every model and baseline on the same images and masks; writes the outputs.

    Returns:
        The ``metrics.json`` content.

    Raises:
        FileNotFoundError: a missing data folder, model, mask set or feature model.
        ValueError: bad inputs (no images, wrong mask size or count, undecodable image).
        AssertionError: a method was scored on a mask other than the manifest's (a bug).
    """
    import keras
    from tqdm import tqdm

    from keras_pggan.io_utils import write_text_atomic

    start = time.perf_counter()
    keras.utils.set_random_seed(cfg.seed)
    files = _eval_files(cfg)
    n = len(files)
    masks, manifest, mask_folder = resolve_masks(cfg, n)
    entries = manifest["masks"][:n]
    expected = [mask_digest(m) for m in masks]

    methods, runners, skipped, notes = _method_runners(cfg)

    extractor = _feature_extractor(cfg.feature_model) if cfg.feature_model else None
    features: dict[str, list] = {"truth": [], **{k: [] for k in runners}}
    lpips: dict[str, list] = {k: [] for k in runners}
    rows: list[dict[str, Any]] = []
    seconds = dict.fromkeys(runners, 0.0)
    sheet_dir = os.path.join(cfg.out_dir, "sheets")
    os.makedirs(cfg.out_dir, exist_ok=True)
    if cfg.save_outputs:
        saved_outputs.prepare(cfg.out_dir, list(runners))
    bar = tqdm(total=n, desc="evaluate", unit="img", disable=not progress)
    for b0 in range(0, n, cfg.batch_size):
        idx = range(b0, min(n, b0 + cfg.batch_size))
        truth = np.stack([load_eval_image(files[i], cfg.size) for i in idx])
        batch_masks = masks[b0 : b0 + len(idx)]
        outputs = {}
        for name, run in runners.items():
            given = batch_masks.copy()  # each method gets its own copy: it cannot alter another's
            t0 = time.perf_counter()
            out = run(truth, given)
            seconds[name] += time.perf_counter() - t0
            outputs[name] = out
            for j, i in enumerate(idx):
                digest = mask_digest(given[j])
                assert digest == expected[i], f"{name}: image {i} scored on a different mask"
                row = M.image_metrics(out[j], truth[j], given[j])
                assert abs(row["hole_ratio"] - entries[i]["hole_ratio"]) < 1e-9, (name, i)
                row.update(
                    index=i,
                    file=os.path.relpath(files[i], _data_root(cfg.data_dir)),
                    method=name,
                    kind=methods[name]["kind"],
                    bucket=entries[i]["bucket"],
                    mask_file=entries[i]["file"],
                    mask_sha256=entries[i]["sha256"],
                    mask_digest=digest,
                )
                rows.append(row)
            if extractor is not None:
                features[name].append(M.extract_features(out, extractor, cfg.batch_size))
                lpips[name].append(M.lpips_distance(out, truth, extractor))
        if cfg.save_outputs:
            saved_outputs.save_batch(cfg.out_dir, idx, truth, batch_masks, outputs)
        if extractor is not None:
            features["truth"].append(M.extract_features(truth, extractor, cfg.batch_size))
        _write_sheets(sheet_dir, idx, cfg.num_sheets, truth, batch_masks, outputs)
        bar.update(len(idx))
    bar.close()

    # Same masks for every row: per image, every method's digest equals the manifest mask's.
    by_image: dict[int, set[str]] = {}
    for r in rows:
        by_image.setdefault(r["index"], set()).add(r["mask_digest"])
    assert all(len(d) == 1 for d in by_image.values()) and len(by_image) == n
    masks_sha = hashlib.sha256("".join(e["sha256"] for e in entries).encode()).hexdigest()
    for name, info in methods.items():
        own = [r for r in rows if r["method"] == name]
        info.update(M.aggregate(own))
        info["masks_sha256"] = hashlib.sha256(
            "".join(r["mask_sha256"] for r in own).encode()
        ).hexdigest()
        assert info["masks_sha256"] == masks_sha, name
        info["seconds"] = round(seconds[name], 3)
        info.update(_feature_scores(features, lpips.get(name), name, n))
    notes.append(_feature_note(cfg.feature_model, n))
    notes.append(
        "Models run on the whole crop (no tiling), padded to the network multiple by mirroring; "
        "baselines see the same uint8 crops and masks."
    )
    result = {
        "format": FORMAT,
        "version": VERSION,
        "config": dataclasses.asdict(cfg),
        **_inputs_record(cfg, files, manifest, mask_folder, masks_sha),
        "psnr_cap_db": M.PSNR_CAP_DB,
        "methods": methods,
        "skipped": skipped,
        "notes": notes,
        "files": {"report": "report.md", "csv": "per_image.csv", "sheets": "sheets"},
        "seconds": round(time.perf_counter() - start, 2),
    }
    result = _jsonable(result)
    _write_csv(os.path.join(cfg.out_dir, "per_image.csv"), rows)
    write_text_atomic(
        os.path.join(cfg.out_dir, "metrics.json"), json.dumps(result, indent=2, sort_keys=False)
    )
    write_text_atomic(os.path.join(cfg.out_dir, "report.md"), render_report(result))
    return result


def overall_lines(result: dict[str, Any]) -> list[str]:
    """One line per method of :func:`run_evaluation`'s result: its overall PSNR and SSIM."""
    lines = []
    for name, m in result["methods"].items():
        o = m["overall"]
        lines.append(
            f"  {name:>16}: PSNR {_fmt(o['psnr'], '{:.2f}')} dB  SSIM {_fmt(o['ssim'], '{:.4f}')}"
        )
    return lines
