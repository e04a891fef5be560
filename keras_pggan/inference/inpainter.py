"""Inpaint real photos of any size with a trained generator (Keras, SavedModel or TFLite).

Any size works: the image is mirror-padded to the network's multiple. Images larger than the working
resolution (``working_size``, 512 px) are not run whole: each cluster of holes is cut out with
context around it, run at no more than the working resolution (downscaled if the crop is still
larger), and the fill is pasted back only inside the holes at full resolution, so every known pixel
is byte-identical to the input (:mod:`keras_pggan.inference.regions`; docs/inpaint.md). The backends
(Keras, SavedModel, TFLite) are in :mod:`keras_pggan.inference.backends`; files and folders of
them in :mod:`keras_pggan.inference.files`; the command line is ``python -m keras_pggan.inpaint``.

Library use::

    inpainter = Inpainter.from_path("runs/x/generator.keras")    # or a SavedModel dir, a .tflite
    out = inpainter(image_uint8, mask_bool)                      # [H,W,3] uint8, any H, W
"""

from __future__ import annotations

import numpy as np

from keras_pggan.data.imageio import as_hole_mask, as_uint8_image, to_uint8, uint8_to_float01
from keras_pggan.inference.fill import composite_np
from keras_pggan.inference.regions import (
    DEFAULT_CONTEXT,
    DEFAULT_WORKING_SIZE,
    MIN_CONTEXT_PX,
    Region,
    owned_holes,
    plan_regions,
    plan_with_labels,
    resize_u8,
    shrink_holes,
)

# The backends import TensorFlow: on first use, not at import (``--help`` stays fast).
_BACKENDS = ("KerasBackend", "load_backend")


def __getattr__(name: str):
    if name in _BACKENDS:
        from keras_pggan.inference import backends

        return getattr(backends, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


DEFAULT_BATCH_SIZE = 8


# -- the inpainter -----------------------------------------------------------------------------


class Inpainter:
    """One call signature over every backend, for images of any size.

    Args:
        generator: a Keras generator (``keras.Model`` from ``build_generator``) or a backend
            object from :mod:`keras_pggan.inference.backends` (``KerasBackend``,
            ``SavedModelBackend``,
            ``TFLiteBackend``).
        working_size: long side (px) above which :meth:`__call__` runs crops around the holes
            instead of the whole image (None: always the whole image).
        context: margin around each hole cluster, as a fraction of its long side.
        batch_size: images per network call in :meth:`predict_batch`.

    Example:
        >>> inpainter = Inpainter.from_path("runs/x/generator.keras")   # doctest: +SKIP
        >>> out = inpainter(image, mask)  # uint8 [H,W,3], known pixels kept  # doctest: +SKIP
    """

    def __init__(
        self,
        generator,
        working_size: int | None = DEFAULT_WORKING_SIZE,
        context: float = DEFAULT_CONTEXT,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ):
        if working_size is not None and working_size < 16:
            raise ValueError(f"working_size must be >= 16 or None, got {working_size}")
        if context < 0:
            raise ValueError(f"context must be >= 0, got {context}")
        from keras_pggan.inference.backends import KerasBackend

        self.backend = generator if hasattr(generator, "run") else KerasBackend(generator)
        self.working_size = working_size
        self.context = float(context)
        self.batch_size = int(batch_size)

    @classmethod
    def from_path(cls, path: str, *, num_threads: int | None = None, **options) -> Inpainter:
        """Loads a ``.keras`` generator (or a run directory holding ``generator.keras``), a
        SavedModel directory (its ``serving_default``; a TF Serving ``<name>/<version>/`` folder
        picks the highest version) or a ``.tflite`` build.

        Args:
            path: the model (see :func:`keras_pggan.inference.backends.load_backend`).
            num_threads: LiteRT CPU threads (``.tflite`` only).
            **options: ``working_size``, ``context``, ``batch_size``: as for the class.

        Raises:
            FileNotFoundError: nothing at ``path``.
            ValueError: an unsupported or unloadable model.
        """
        from keras_pggan.inference.backends import load_backend

        return cls(load_backend(path, num_threads), **options)

    @classmethod
    def from_preset(cls, name: str, *, num_threads: int | None = None, **options) -> Inpainter:
        """Loads a shipped model by name (keras-hub style): ``"pggan_dres"`` (Keras),
        ``"pggan_dres-int8"`` / ``"pggan_dres-fp32"`` (TFLite), ``"pggan_dres-saved"``
        (SavedModel); see :mod:`keras_pggan.models.shipped`.

        Example:
            >>> inpainter = Inpainter.from_preset("pggan_dres")  # doctest: +SKIP

        Raises:
            FileNotFoundError: an unknown name (the message lists the known ones).
        """
        from keras_pggan.models.shipped import preset_path

        return cls.from_path(preset_path(name), num_threads=num_threads, **options)

    @property
    def backend_name(self) -> str:
        """The backend's name: ``"keras"``, ``"saved_model"`` or ``"tflite"``."""
        return self.backend.name

    def predict_batch(self, images, masks) -> np.ndarray:
        """Inpaints a batch at its own size (no cropping; padded to the network multiple).

        Args:
            images: uint8 [B,H,W,3] (float in [0,1] is rounded to uint8 first).
            masks: [B,H,W] or [B,H,W,1], bool or {0,1} (8-bit: >= 128), 1 = hole.

        Returns:
            uint8 [B,H,W,3]: the network's fill inside the holes, the input's bytes elsewhere
            (an empty batch gives an empty batch).

        Raises:
            ValueError: as :meth:`__call__`.
        """
        images = np.asarray(images)
        if images.ndim != 4:
            raise ValueError(f"images must be [B,H,W,3], got shape {images.shape}")
        if not len(images):  # an empty batch gives an empty batch
            return np.zeros((0, *images.shape[1:3], 3), np.uint8)
        images = np.stack([as_uint8_image(x) for x in images])
        holes = np.stack([as_hole_mask(m) for m in np.asarray(masks)])
        if holes.shape != images.shape[:3]:
            raise ValueError(f"masks {holes.shape} do not match images {images.shape[:3]}")
        out = images.copy()
        for i in range(0, len(images), self.batch_size):
            x = uint8_to_float01(images[i : i + self.batch_size])
            m = holes[i : i + self.batch_size, ..., None].astype(np.float32)
            if not m.any():
                continue
            fill = to_uint8(self.backend.run(x, m))
            out[i : i + self.batch_size] = composite_np(fill, images[i : i + self.batch_size], m)
        return out

    def plan(self, mask) -> list[Region]:
        """The network runs :meth:`__call__` would make for ``mask`` (see :func:`plan_regions`)."""
        return plan_regions(as_hole_mask(mask), self.working_size, self.context)

    def __call__(self, image, mask) -> np.ndarray:
        """Inpaints one image of any size.

        Args:
            image: uint8 [H,W,3] (float in [0,1] is rounded to uint8 first).
            mask: [H,W] (or [H,W,1]) bool or {0,1} (8-bit: >= 128), 1 = hole.

        Returns:
            uint8 [H,W,3]; every known pixel is byte-identical to the input.

        Raises:
            ValueError: bad shapes or mask size, a dtype other than uint8 / float (image) or
                bool / integer / float (mask), NaN or Inf values.
        """
        return self.fill_many([image], [mask])[0]

    def fill_many(self, images, masks) -> list[np.ndarray]:
        """Inpaints images of any sizes, running the crops that share a size as one batch.

        Each image's network runs are planned as for one image (:meth:`plan`); every crop is cut
        from its input before any fill is pasted, so fills never feed each other, and each fill
        goes back only into the holes its region owns. ``__call__`` is this with one image; the
        Beam handler (:mod:`keras_pggan.batch.handler`) calls it with a bundle of images.

        Args:
            images: uint8 [H,W,3] each (float in [0,1] is rounded to uint8 first); sizes may
                differ.
            masks: one per image, [H,W] (or [H,W,1]) bool or {0,1} (8-bit: >= 128), 1 = hole.

        Returns:
            uint8 [H,W,3] per image; every known pixel is byte-identical to its input.

        Raises:
            ValueError: as :meth:`__call__`, or a different number of images and masks.
        """
        if len(images) != len(masks):
            raise ValueError(f"{len(images)} images but {len(masks)} masks")
        inputs, holes = [], []
        for image, mask in zip(images, masks):
            image, hole = as_uint8_image(image), as_hole_mask(mask)
            if hole.shape != image.shape[:2]:
                raise ValueError(
                    f"mask is {hole.shape[1]}x{hole.shape[0]} (WxH) but the image is "
                    f"{image.shape[1]}x{image.shape[0]}"
                )
            inputs.append(image)
            holes.append(hole)
        runs: dict[tuple[int, int], list] = {}
        for i, (image, hole) in enumerate(zip(inputs, holes)):
            regions, labels = plan_with_labels(
                hole, self.working_size, self.context, MIN_CONTEXT_PX
            )
            for region in regions:
                rows, cols = region.slices
                crop, crop_holes = image[rows, cols], hole[rows, cols]
                nh, nw = region.network_size
                if region.scale < 1:
                    x, m = resize_u8(crop, nh, nw), shrink_holes(crop_holes, nh, nw)
                else:
                    x, m = crop, crop_holes
                own = owned_holes(region, crop_holes, labels, MIN_CONTEXT_PX)
                runs.setdefault(x.shape[:2], []).append((i, region, x, m, own))
        outs = [image.copy() for image in inputs]
        for same_size in runs.values():
            fills = self.predict_batch(
                np.stack([run[2] for run in same_size]), np.stack([run[3] for run in same_size])
            )
            for (i, region, _, _, own), fill in zip(same_size, fills):
                if region.scale < 1:
                    fill = resize_u8(fill, region.height, region.width)
                rows, cols = region.slices
                outs[i][rows, cols][own] = fill[own]
        return outs


def default_model_path() -> str:
    """The shipped model (preset ``pggan_dres``: ``saved_models/pggan_dres.keras``).

    Raises:
        FileNotFoundError: when the package was installed without the repository's
            ``saved_models/`` folder.
    """
    from keras_pggan.models.shipped import default_model_path as shipped_default

    return shipped_default()
