"""The ``ModelHandler`` of the Beam pipeline: one :class:`Inpainter` per worker, crops batched.

Beam's stock TensorFlow handler imports ``tensorflow_hub`` and cannot load a ``model.export``
SavedModel under Keras 3 (apache/beam#30616); this handler loads whatever
:meth:`keras_pggan.inference.inpainter.Inpainter.from_path` loads (a ``.keras`` generator, a
SavedModel, a ``.tflite`` build). It holds only the model's path and options, so it pickles
into worker processes; ``RunInference`` calls :meth:`InpaintModelHandler.load_model` once per
worker. A model on a remote filesystem (``gs://``, ``s3://``) is copied to a local folder first.

Each bundle goes through :meth:`Inpainter.fill_many`, the one owner of "plan the crops, run
those of a size as one batch, paste each fill into its own holes" (``Inpainter.__call__`` is
the same with one image), so every image gets the pixels ``python -m keras_pggan.inpaint``
gives.

Example:
    >>> handler = InpaintModelHandler("saved_models/pggan_dres-int8.tflite")  # doctest: +SKIP
    >>> RunInference(KeyedModelHandler(handler))                              # doctest: +SKIP
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from keras_pggan.batch.config import DEFAULT_MAX_BATCH
from keras_pggan.inference.regions import (
    DEFAULT_CONTEXT,
    DEFAULT_WORKING_SIZE,
)

METRICS_NAMESPACE = "keras_pggan.batch"


class Example(NamedTuple):
    """One image on its way through ``RunInference``.

    Attributes:
        source: the image's path (for the dead-letter output).
        image: uint8 [H,W,3].
        holes: bool [H,W], True = hole (after ``--dilate``).
    """

    source: str
    image: np.ndarray
    holes: np.ndarray


def local_model_path(path: str) -> str:
    """``path`` itself when it is local, else a local copy of the file or folder it names.

    A ``.tflite`` build and a ``.keras`` file are single files; a SavedModel is a folder, copied
    whole through Beam's filesystems (``gs://``, ``s3://``, ... with Beam's extras installed).

    Raises:
        FileNotFoundError: nothing at a remote ``path``.
    """
    if "://" not in path:
        return path
    if path.startswith("file://"):
        return path[len("file://") :]
    from apache_beam.io.filesystems import FileSystems

    base = path.rstrip("/")
    local = os.path.join(tempfile.mkdtemp(prefix="keras_pggan_model_"), posixpath.basename(base))
    inside = [m.path for m in FileSystems.match([base + "/**"])[0].metadata_list]
    copies = [(f, os.path.join(local, f[len(base) + 1 :])) for f in inside] or [(base, local)]
    for remote, target in copies:
        if not FileSystems.exists(remote):
            raise FileNotFoundError(f"{path}: no model file or SavedModel folder there")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with FileSystems.open(remote, compression_type="uncompressed") as src:
            data = src.read()
        with open(target, "wb") as dst:
            dst.write(data)
    return local


class InpaintModelHandler(ModelHandler[Example, PredictionResult, Any]):
    """Loads a generator once per worker and inpaints batches of :class:`Example`.

    Args:
        model: a ``.keras`` file, a SavedModel folder or a ``.tflite`` build (a local path, or a
            remote one Beam's filesystems read); a shipped model's name is resolved by the
            caller (:func:`keras_pggan.models.shipped.resolve`), on the machine that has it.
        working_size: long side (px) the network runs at, at most (None: whole images).
        context: margin around each hole cluster as a fraction of its size.
        num_threads: LiteRT CPU threads (``.tflite`` only).
        network_batch: crops per network call.
        max_batch_size: images per ``RunInference`` batch.

    Example:
        >>> handler = InpaintModelHandler("g.keras", max_batch_size=4)  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str,
        *,
        working_size: int | None = DEFAULT_WORKING_SIZE,
        context: float = DEFAULT_CONTEXT,
        num_threads: int | None = None,
        network_batch: int = DEFAULT_MAX_BATCH,
        max_batch_size: int = DEFAULT_MAX_BATCH,
    ):
        super().__init__(min_batch_size=1, max_batch_size=max_batch_size)
        self.model = model
        self.working_size = working_size
        self.context = context
        self.num_threads = num_threads
        self.network_batch = network_batch

    def load_model(self):
        """The :class:`Inpainter` (called once per worker by ``RunInference``)."""
        from keras_pggan.inference.inpainter import Inpainter

        return Inpainter.from_path(
            local_model_path(self.model),
            num_threads=self.num_threads,
            working_size=self.working_size,
            context=self.context,
            batch_size=self.network_batch,
        )

    def run_inference(
        self,
        batch: Sequence[Example],
        model,
        inference_args: dict[str, Any] | None = None,
    ) -> Iterable[PredictionResult]:
        """A ``PredictionResult(example, filled uint8 [H,W,3])`` per example, in order."""
        outs = model.fill_many([e.image for e in batch], [e.holes for e in batch])
        return [PredictionResult(e, out) for e, out in zip(batch, outs)]

    def get_num_bytes(self, batch: Sequence[Example]) -> int:
        """The bytes of a batch's pixels (Beam's throughput metrics)."""
        return sum(e.image.nbytes + e.holes.nbytes for e in batch)

    def get_metrics_namespace(self) -> str:
        """Where RunInference's own metrics (load time, batch latency) are reported."""
        return METRICS_NAMESPACE
