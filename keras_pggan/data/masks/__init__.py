"""In-graph training masks, mask files and fixed, seeded evaluation mask sets (1 = hole).

Example:

    python -m keras_pggan.masks make-eval-set --kind freeform --size 256 --count 1000 --seed 0 \\
        eval_masks/freeform256
    python -m keras_pggan.masks preview --kind thick --size 256 --count 16 --seed 0 thick.png

Every training mask is drawn with pure TensorFlow ops from a stateless seed (``tf.random.
stateless_*`` only), so masks are made per example inside ``tf.data.Dataset.map`` and the same
seed gives the same mask eagerly, in a ``tf.function`` and in a parallel ``map``.

Kinds (``KINDS``):

- ``center``: a centred square hole whose side is half the short side (128 at 256²): the
  evaluation of the PGGAN paper and of Context Encoders. Ignores the seed.
- ``rect``: 1–3 random axis-aligned rectangles, each side 15–50 % of the image side.
- ``freeform``: brush strokes modelled on DeepFill v2's free-form masks: 1–4 strokes of
  4–12 vertices, turning by angles around 2π/5 that alternate in sign, step lengths drawn around
  the image diagonal / 8, brush widths 12–40 px at 256² (scaled with the short side). Unlike
  DeepFill v2, each stroke is turned by its own random angle (instead of flipping the whole mask)
  and vertices that leave the image are reflected back into it (instead of clipped).
- ``thin`` / ``medium`` / ``thick``: free-form presets with narrow / medium / wide brushes, in
  the spirit of LaMa's thin / medium / thick evaluation sets at 256² and 512². The parameters are
  ours (see ``STROKE_PRESETS``), not LaMa's, and scale with the short side, so the masks at 512²
  look like the masks at 256² drawn at twice the resolution.
- ``folder``: mask files from ``MaskConfig.mask_dir`` (recursive; png/jpg/jpeg/bmp/webp): a
  random file, random flips, a random multiple of 90° (odd multiples only for square files), a
  nearest-neighbour resize to the target size, binarised with the file convention below.

Mask file convention: the one of :mod:`keras_pggan.data.imageio` (``load_mask_file`` and the
``folder`` kind both binarise with it, pixel for pixel).

Modules: :mod:`keras_pggan.data.masks.sampling` (the in-graph training masks: ``MaskSampler``,
``sample_mask``, ``parse_mask_spec``, ``StrokeParams``), :mod:`keras_pggan.data.masks.eval_set`
(evaluation sets, hole-ratio buckets, mask grids) and the command ``python -m keras_pggan.masks``
(:mod:`keras_pggan.masks.__main__`).
Every name is re-exported here, as are ``load_mask_file`` and ``as_hole_mask`` from
:mod:`keras_pggan.data.imageio`.
"""

from keras_pggan.data.masks.kinds import KINDS, MASK_FILE_EXTENSIONS, STROKE_KINDS

# Every other name loads its module on first use (PEP 562), so ``import keras_pggan.masks`` and
# ``python -m keras_pggan.masks --help`` do not import TensorFlow.
_LAZY = {
    "keras_pggan.data.imageio": ("as_hole_mask", "load_mask_file"),
    "keras_pggan.data.masks.eval_set": (
        "BUCKETS",
        "EVAL_HOLE_RATIO_BOUNDS",
        "EVAL_SET_FORMAT",
        "EVAL_SET_VERSION",
        "MANIFEST",
        "hole_ratio_bucket",
        "load_eval_set",
        "make_eval_masks",
        "make_eval_set",
        "mask_grid",
    ),
    "keras_pggan.data.masks.sampling": (
        "MAX_ATTEMPTS",
        "STROKE_PRESETS",
        "MaskSampler",
        "StrokeParams",
        "list_mask_files",
        "parse_mask_spec",
        "sample_mask",
    ),
}
# Private names kept importable for existing callers and tests: (module, attribute).
_PRIVATE = {
    "_hole_from_tensor": ("keras_pggan.data.imageio", "hole_from_tensor"),
    "_nearest_index": ("keras_pggan.data.imageio", "_nearest_index"),
    "_make_drawer": ("keras_pggan.data.masks.sampling", "_make_drawer"),
    "_rasterize_capsules": ("keras_pggan.data.masks.sampling", "_rasterize_capsules"),
}
_WHERE = {name: (module, name) for module, names in _LAZY.items() for name in names}
_WHERE.update(_PRIVATE)


__all__ = [
    "BUCKETS",
    "EVAL_HOLE_RATIO_BOUNDS",
    "EVAL_SET_FORMAT",
    "EVAL_SET_VERSION",
    "KINDS",
    "MANIFEST",
    "MASK_FILE_EXTENSIONS",
    "MAX_ATTEMPTS",
    "STROKE_KINDS",
    "STROKE_PRESETS",
    "MaskSampler",
    "StrokeParams",
    "as_hole_mask",
    "hole_ratio_bucket",
    "list_mask_files",
    "load_eval_set",
    "load_mask_file",
    "make_eval_masks",
    "make_eval_set",
    "mask_grid",
    "parse_mask_spec",
    "sample_mask",
]


def __getattr__(name: str):
    """The public names of the room's modules, imported on first use (no TensorFlow at import)."""
    if name in _WHERE:
        import importlib

        module, attr = _WHERE[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
