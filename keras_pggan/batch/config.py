"""What a batch job is asked to do, and the parser that hands Beam the flags it does not know.

Neither Apache Beam nor TensorFlow is imported here: the command builds its parser and its
:class:`BatchConfig` (answering ``--help`` and refusing bad flags) before either loads.

Example:
    >>> BatchConfig(inputs=("photos",), output="filled", model="g.tflite").ext
    '.png'
"""

from __future__ import annotations

import argparse
import dataclasses

from keras_pggan.errors import UserError
from keras_pggan.inference.files import FOLDER_EXT
from keras_pggan.inference.regions import DEFAULT_CONTEXT, DEFAULT_WORKING_SIZE

DEFAULT_MAX_BATCH = 8  # images per RunInference batch: bounds a worker's memory at 512² and up


def is_remote(path: str) -> bool:
    """Whether ``path`` names a remote filesystem (``gs://``, ``s3://``, ...)."""
    return "://" in path and not path.startswith("file://")


class BeamFlagsParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose :meth:`parse_args` keeps the flags it does not know in
    ``pipeline_args``, for Beam (``--runner``, ``--direct_num_workers``, ``--project``, ...).

    Abbreviations are off (``allow_abbrev=False``), so a Beam flag is never taken for a prefix
    of one of ours; :func:`keras_pggan.batch.pipeline.pipeline_options` refuses flags that Beam
    does not know either.

    Example:
        >>> p = BeamFlagsParser()
        >>> _ = p.add_argument("--output")
        >>> p.parse_args(["--output", "o", "--runner=DirectRunner"]).pipeline_args
        ['--runner=DirectRunner']
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_args(self, args=None, namespace=None):
        known, rest = self.parse_known_args(args, namespace)
        known.pipeline_args = rest
        return known


@dataclasses.dataclass(frozen=True)
class BatchConfig:
    """What a batch job fills and how (one run of ``python -m keras_pggan.batch``).

    Attributes:
        inputs: image files, folders (walked with their sub-folders) and glob patterns (``*``
            within a folder, ``**`` across folders).
        output: the output prefix (a folder, local or remote); sub-folders mirror the inputs'.
        model: a ``.keras`` file, SavedModel folder or ``.tflite`` build, local or remote.
        input_list: a text file with one input (file, folder or glob) per line.
        mask: one mask file for every image.
        mask_dir: the masks' folder (``<stem>.*`` or ``<stem>_mask.*``, sub-folders mirrored).
        invert_mask: masks are black = hole.
        force: use masks that look like photos (refused by default).
        dilate: grow every hole by this many pixels before filling.
        ext: the outputs' extension (PNG: lossless, known pixels stay exact).
        overwrite: fill again images whose output exists (default: skip them).
        dead_letter: the dead-letter file (default: ``<output>/dead_letter-<UTC time>.jsonl``).
        working_size: long side (px) the network runs at, at most (None: whole images).
        context: margin around each hole cluster as a fraction of its size.
        num_threads: LiteRT CPU threads (``.tflite`` only).
        max_batch_size: images per ``RunInference`` batch (their same-size crops run together).
    """

    inputs: tuple[str, ...]
    output: str
    model: str
    input_list: str | None = None
    mask: str | None = None
    mask_dir: str | None = None
    invert_mask: bool = False
    force: bool = False
    dilate: int = 0
    ext: str = FOLDER_EXT
    overwrite: bool = False
    dead_letter: str | None = None
    working_size: int | None = DEFAULT_WORKING_SIZE
    context: float = DEFAULT_CONTEXT
    num_threads: int | None = None
    max_batch_size: int = DEFAULT_MAX_BATCH

    def __post_init__(self):
        if not self.inputs and not self.input_list:
            raise UserError("no inputs: give --input (file, folder or glob) or --input-list")
        if self.mask and self.mask_dir:
            raise UserError("--mask and --mask-dir: give one")
        if self.dilate < 0:
            raise UserError(f"--dilate must be >= 0 pixels, got {self.dilate}")
        if self.max_batch_size < 1:
            raise UserError(f"--max-batch-size must be >= 1, got {self.max_batch_size}")
        ext = self.ext if self.ext.startswith(".") else "." + self.ext
        object.__setattr__(self, "ext", ext)
