"""The Beam pipeline of ``python -m keras_pggan.batch``: match, pair, decode, fill, write.

::

    inputs (files, folders, globs; --input-list lines)
      └─ MatchImages ─ GroupByKey(output path) ─ ResolveOutputs ─ SkipExisting
           └─ [--mask-dir: CoGroupByKey with the mask folder's listing] ─ DecodeExamples
                └─ RunInference(InpaintModelHandler) ─ WriteOutputs ─► <output>/<sub>/<stem>.png
    every step's failures ─ Flatten ─► <output>/dead_letter-<UTC time>.jsonl

Everything goes through Beam's filesystems (local paths here; ``gs://``, ``s3://`` with Beam's
extras). The rules are those of ``inpaint --input-dir`` (:mod:`keras_pggan.inference.files`): a
folder is walked with its sub-folders, which the output mirrors; files named ``<stem>_mask.*`` are
masks, not inputs; an image's mask is ``<stem>_mask.png`` beside it, or ``<stem>.*`` /
``<stem>_mask.*`` in the mirrored sub-folder of ``--mask-dir``, or the one ``--mask`` for every
image, else its own transparent pixels; images and masks decode through
:func:`keras_pggan.inference.files.decode_inputs`.

Nothing is lost and nothing is silent: a file that cannot be read or decoded, a mask of another
size, a missing or ambiguous mask, a mask that looks like a photo (unless ``force``), two inputs
with one output name, a failed network run or write: each becomes one JSON line ``{"file",
"stage", "reason"}`` of the dead-letter file and the pipeline goes on. Counters (Beam metrics in
:data:`COUNTERS`) count images, outputs written, outputs skipped, failures and hole pixels.

Resume by output existence: an image whose output exists is skipped (counted, not read), so a
re-run after a crash or on a grown folder fills only what is missing; ``overwrite`` fills again.

Example:
    >>> config = BatchConfig(inputs=("photos",), output="filled", model="g.tflite")
    >>> run_batch(config, ["--direct_num_workers=2"]).counters  # doctest: +SKIP
    {'images': 200, 'inpainted': 198, 'skipped': 0, 'failed': 2, 'hole_pixels': ...}
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import posixpath
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import KeyedModelHandler, RunInference
from apache_beam.options.pipeline_options import PipelineOptions

from keras_pggan.batch.config import BatchConfig, is_remote
from keras_pggan.batch.handler import (
    METRICS_NAMESPACE,
    Example,
    InpaintModelHandler,
)
from keras_pggan.data.imageio import decode_rgb, dilate_holes, has_transparency, save_image
from keras_pggan.errors import UserError
from keras_pggan.inference.files import (
    MaskSizeError,
    beside_mask_name,
    check_one_mask,
    decode_inputs,
    is_image_name,
    is_mask_name,
    mask_dir_stems,
    mask_messages,
    no_mask_error,
)

# The counters run_batch returns (Beam metrics in METRICS_NAMESPACE): images matched (each input
# file once), outputs written, images skipped because their output exists, dead letters, and the
# hole pixels filled (after dilation) in the written outputs.
COUNTERS = ("images", "inpainted", "skipped", "failed", "hole_pixels")
DEAD = "dead"  # the tag of every step's failures
STAGES = ("match", "pair", "decode", "check", "inpaint", "write")
_GLOB = "*?["
_LOG = logging.getLogger(__name__)


# -- paths: local or remote, the same rules --------------------------------------------------------
def _norm(path: str) -> str:
    path = path[len("file://") :] if path.startswith("file://") else path
    return path if is_remote(path) else os.path.abspath(path)


def _join(folder: str, *parts: str) -> str:
    parts = tuple(p for p in parts if p)
    if not parts:
        return folder
    return posixpath.join(folder, *parts) if is_remote(folder) else os.path.join(folder, *parts)


def _dirname(path: str) -> str:
    return posixpath.dirname(path) if is_remote(path) else os.path.dirname(path)


def _inside(path: str, folder: str | None) -> bool:
    if not folder:
        return False
    folder = folder.rstrip("/\\")
    return path == folder or path.startswith(folder + "/") or path.startswith(folder + os.sep)


def _relative(path: str, root: str) -> str:
    rel = path[len(root.rstrip("/\\")) :].lstrip("/\\")
    return rel.replace("\\", "/")


def _static_prefix(pattern: str) -> str:
    """The folder of a glob before its first wildcard: ``a/b*/c.jpg`` → ``a``."""
    first = min(pattern.index(c) for c in _GLOB if c in pattern)
    return _dirname(pattern[:first] + "x")


def _read(path: str) -> bytes:
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        return f.read()


def _exists(path: str) -> bool:
    return os.path.exists(path) if not is_remote(path) else FileSystems.exists(path)


def write_image(image, path: str) -> None:
    """Writes uint8 [H,W,3] to ``path`` in its extension's format (as ``inpaint`` does:
    :func:`keras_pggan.data.imageio.save_image`), locally atomic, remotely through Beam."""
    if not is_remote(path):
        save_image(image, path)
        return
    folder = tempfile.mkdtemp(prefix="keras_pggan_out_")
    try:
        local = os.path.join(folder, posixpath.basename(path))
        save_image(image, local)
        with (
            open(local, "rb") as src,
            FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as dst,
        ):
            dst.write(src.read())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- elements --------------------------------------------------------------------------------------
class Source(NamedTuple):
    """A matched image: its path, the input root its sub-folder is taken from, its output."""

    path: str
    root: str
    output: str


class Paired(NamedTuple):
    """A source and its mask: a path, None (beside it or the image's transparency) and, with
    ``--mask-dir``, the folder it was looked for in."""

    source: Source
    mask: str | None
    mask_folder: str | None = None


def dead_letter(file: str, stage: str, reason) -> beam.pvalue.TaggedOutput:
    """One failure, for the dead-letter output: ``{"file", "stage", "reason"}``."""
    return beam.pvalue.TaggedOutput(DEAD, {"file": file, "stage": stage, "reason": str(reason)})


# -- the steps -------------------------------------------------------------------------------------
class MatchImages(beam.DoFn):
    """An input (file, folder or glob) → the :class:`Source` of each image it matches.

    Mask files (``<stem>_mask.*``), files of other types and files inside the output prefix or
    the mask folder are not inputs (as in ``inpaint --input-dir``); a file or folder that does
    not exist is a dead letter.
    """

    def __init__(self, config: BatchConfig):
        self.output = _norm(config.output)
        self.ext = config.ext
        self.skip = tuple(_norm(p) for p in (config.mask_dir, config.mask) if p)

    def process(self, spec: str):
        spec = spec.strip()
        if not spec or spec.startswith("#"):  # blank or comment lines of --input-list
            return
        spec = _norm(spec)
        if any(c in spec for c in _GLOB):
            pattern, root, single = spec, _static_prefix(spec), False
        elif not is_remote(spec) and os.path.isfile(spec):
            pattern, root, single = spec, _dirname(spec), True
        elif is_remote(spec) and not spec.endswith("/") and FileSystems.exists(spec):
            pattern, root, single = spec, _dirname(spec), True
        else:  # a folder (remote: a prefix)
            root = spec.rstrip("/")
            pattern, single = _join(root, "**"), False
        try:
            found = sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
        except Exception as e:  # noqa: BLE001 - BeamIOError and the filesystems' own errors
            yield dead_letter(spec, "match", f"{spec}: cannot list ({e})")
            return
        if not found and not any(c in spec for c in _GLOB):
            yield dead_letter(spec, "match", f"{spec}: no such file or folder")
        for path in found:
            if _inside(path, self.output) or any(_inside(path, s) for s in self.skip):
                continue
            if not is_image_name(path) or is_mask_name(path):
                if single:
                    what = "a mask (<stem>_mask.*)" if is_mask_name(path) else "not an image"
                    yield dead_letter(path, "match", f"{path}: {what}, not an input")
                continue
            rel = _relative(path, root)
            yield Source(path, root, _join(self.output, os.path.splitext(rel)[0] + self.ext))


class ResolveOutputs(beam.DoFn):
    """(output, sources) → the one source of each output; the others are dead letters.

    ``photo.jpg`` and ``photo.png`` both give ``photo.png``: the first in path order is filled,
    the second is reported, as ``inpaint --input-dir`` does; one file matched twice counts once.
    """

    def __init__(self):
        self.images = Metrics.counter(METRICS_NAMESPACE, "images")

    def process(self, keyed: tuple[str, Iterable[Source]]):
        _, sources = keyed
        unique = sorted({s.path: s for s in sources}.values())
        self.images.inc(len(unique))
        yield unique[0]
        for other in unique[1:]:
            yield dead_letter(
                other.path,
                "match",
                f"{other.path}: its output {other.output} is also the output of "
                f"{unique[0].path} (same name, another extension): rename one",
            )


class SkipExisting(beam.DoFn):
    """Drops the sources whose output exists (counted as ``skipped``) unless ``overwrite``: a
    re-run resumes. An output that is its own input is refused unless ``overwrite``."""

    def __init__(self, overwrite: bool):
        self.overwrite = overwrite
        self.skipped = Metrics.counter(METRICS_NAMESPACE, "skipped")

    def process(self, source: Source):
        if self.overwrite:
            yield source
        elif source.output == source.path:
            yield dead_letter(
                source.path, "match", f"{source.output}: output is the input file; pass --overwrite"
            )
        elif _exists(source.output):
            self.skipped.inc()
        else:
            yield source


def mask_dir_key(source: Source, mask_dir: str) -> tuple[str, str]:
    """(the folder of ``mask_dir`` mirroring the image's sub-folder, the image's stem)."""
    sub = _dirname(_relative(source.path, source.root))
    folder = _join(mask_dir, *sub.split("/")) if sub else mask_dir
    return _norm(folder), os.path.splitext(posixpath.basename(source.path))[0]


def list_masks(mask_dir: str):
    """Each image file of ``mask_dir`` (with sub-folders) under every key it can pair by:
    ``((folder, stem), path)`` for each stem of
    :func:`keras_pggan.inference.files.mask_dir_stems`."""
    pattern = _join(mask_dir.rstrip("/"), "**")
    for m in FileSystems.match([pattern])[0].metadata_list:
        for stem in mask_dir_stems(posixpath.basename(m.path.replace("\\", "/"))):
            yield (_norm(_dirname(m.path)), stem), m.path


class PairWithMaskDir(beam.DoFn):
    """((folder, stem), {"image": sources, "mask": paths}) → :class:`Paired`; an image with
    several candidate masks is a dead letter (as :func:`~keras_pggan.inference.files.find_mask`)."""

    def process(self, grouped):
        (folder, _), parts = grouped
        masks = sorted(parts["mask"])
        for source in parts["image"]:
            try:
                yield Paired(source, check_one_mask(source.path, folder, masks), folder)
            except ValueError as e:
                yield dead_letter(source.path, "pair", e)


class DecodeExamples(beam.DoFn):
    """:class:`Paired` → ``(output, Example)``: reads and decodes the image and its mask (the
    one image/mask contract), checks the mask, dilates the holes.

    Dead letters: ``decode`` (unreadable or undecodable file), ``pair`` (no mask and no
    transparency), ``check`` (a mask of another size, a mask that looks like a photo).
    """

    def __init__(self, config: BatchConfig):
        self.mask = _norm(config.mask) if config.mask else None
        self.mask_dir = _norm(config.mask_dir) if config.mask_dir else None
        self.invert_mask = config.invert_mask
        self.force = config.force
        self.dilate = config.dilate

    def _mask_of(self, paired: Paired) -> str | None:
        if self.mask:
            return self.mask
        if self.mask_dir:
            return paired.mask
        path = paired.source.path
        beside = _join(_dirname(path), beside_mask_name(path))
        return beside if _exists(beside) else None

    def process(self, paired: Paired):
        path = paired.source.path
        try:
            mask = self._mask_of(paired)
            image_data = _read(path)
            mask_data = _read(mask) if mask else None
        except Exception as e:  # noqa: BLE001 - BeamIOError and the filesystems' own errors
            yield dead_letter(path, "decode", f"{path}: cannot read ({e})")
            return
        if mask is None and not has_transparency(io.BytesIO(image_data)):
            try:  # an undecodable image says so, rather than "no mask"
                decode_rgb(image_data, path)
            except ValueError as e:
                yield dead_letter(path, "decode", e)
                return
            yield dead_letter(
                path, "pair", no_mask_error(path, self.mask_dir, None, paired.mask_folder)
            )
            return
        try:
            image, holes, problems = decode_inputs(
                image_data, path, mask_data, mask, self.invert_mask
            )
        except MaskSizeError as e:
            yield dead_letter(path, "check", e)
            return
        except (OSError, ValueError) as e:
            yield dead_letter(path, "decode", e)
            return
        warnings, refusal = mask_messages(problems, path, mask, self.invert_mask, self.force)
        if refusal:
            yield dead_letter(path, "check", refusal)
            return
        for warning in warnings:
            _LOG.warning(warning)
        yield paired.source.output, Example(path, image, dilate_holes(holes, self.dilate))


class WriteOutputs(beam.DoFn):
    """``(output, PredictionResult)`` → the output file; counts ``inpainted`` and
    ``hole_pixels`` (a failed write is a dead letter)."""

    def __init__(self):
        self.inpainted = Metrics.counter(METRICS_NAMESPACE, "inpainted")
        self.hole_pixels = Metrics.counter(METRICS_NAMESPACE, "hole_pixels")

    def process(self, keyed):
        output, result = keyed
        try:
            write_image(result.inference, output)
        except Exception as e:  # noqa: BLE001 - local OSError, BeamIOError, encoder errors
            yield dead_letter(result.example.source, "write", f"{output}: cannot write ({e})")
            return
        self.inpainted.inc()
        self.hole_pixels.inc(int(result.example.holes.sum()))


def failed_batch_letters(failed):
    """A batch ``RunInference`` could not fill → a dead letter for each of its images."""
    batch, error = failed
    for _, example in batch:
        yield {"file": example.source, "stage": "inpaint", "reason": f"{example.source}: {error}"}


class CountFailures(beam.DoFn):
    """Counts the dead letters (``failed``) and writes each as one JSON line."""

    def __init__(self):
        self.failed = Metrics.counter(METRICS_NAMESPACE, "failed")

    def process(self, letter: dict):
        self.failed.inc()
        yield json.dumps(letter, ensure_ascii=False)


# -- the pipeline ----------------------------------------------------------------------------------
def default_dead_letter(output: str) -> str:
    """``<output>/dead_letter-<UTC time>.jsonl``: each run its own file, none replaced.

    A second run that starts within the same second (a quick job on a fast machine) gets
    ``..._2.jsonl``, then ``_3``: the names still sort by start time.
    """
    stem = _join(_norm(output), time.strftime("dead_letter-%Y%m%dT%H%M%SZ", time.gmtime()))
    path, n = stem + ".jsonl", 1
    while _exists(path):
        n += 1
        path = f"{stem}_{n}.jsonl"
    return path


def expand(pipeline: beam.Pipeline, config: BatchConfig, dead_letter_path: str):
    """Adds the batch job's transforms to ``pipeline``.

    Returns:
        The dead letters' PCollection (JSON lines), also written to ``dead_letter_path``.
    """
    specs = pipeline | "Inputs" >> beam.Create(list(config.inputs))
    if config.input_list:
        listed = pipeline | "InputList" >> beam.io.ReadFromText(_norm(config.input_list))
        specs = (specs, listed) | "AllInputs" >> beam.Flatten()
    matched = specs | "Match" >> beam.ParDo(MatchImages(config)).with_outputs(DEAD, main="ok")
    resolved = (
        matched.ok
        | "ByOutput" >> beam.Map(lambda s: (os.path.normcase(s.output), s))
        | "GroupOutputs" >> beam.GroupByKey()
        | "Resolve" >> beam.ParDo(ResolveOutputs()).with_outputs(DEAD, main="ok")
    )
    fresh = resolved.ok | "SkipExisting" >> beam.ParDo(SkipExisting(config.overwrite)).with_outputs(
        DEAD, main="ok"
    )
    letters = [matched[DEAD], resolved[DEAD], fresh[DEAD]]
    if config.mask_dir:
        mask_dir = _norm(config.mask_dir)
        images = fresh.ok | "KeyByMaskFolder" >> beam.Map(lambda s: (mask_dir_key(s, mask_dir), s))
        masks = (
            pipeline
            | "MaskDir" >> beam.Create([mask_dir])
            | "ListMasks" >> beam.FlatMap(list_masks)
        )
        paired = (
            {"image": images, "mask": masks}
            | "JoinMasks" >> beam.CoGroupByKey()
            | "Pair" >> beam.ParDo(PairWithMaskDir()).with_outputs(DEAD, main="ok")
        )
        letters.append(paired[DEAD])
        paired = paired.ok
    else:
        paired = fresh.ok | "NoMaskDir" >> beam.Map(lambda s: Paired(s, None))
    decoded = paired | "Decode" >> beam.ParDo(DecodeExamples(config)).with_outputs(DEAD, main="ok")
    handler = InpaintModelHandler(
        config.model,
        working_size=config.working_size,
        context=config.context,
        num_threads=config.num_threads,
        max_batch_size=config.max_batch_size,
    )
    filled, failed = (
        decoded.ok | "Inpaint" >> RunInference(KeyedModelHandler(handler)).with_exception_handling()
    )
    written = filled | "Write" >> beam.ParDo(WriteOutputs()).with_outputs(DEAD, main="ok")
    letters += [
        decoded[DEAD],
        written[DEAD],
        failed.failed_inferences | "InpaintFailures" >> beam.FlatMap(failed_batch_letters),
    ]
    lines = (
        letters | "AllFailures" >> beam.Flatten() | "CountFailures" >> beam.ParDo(CountFailures())
    )
    lines | "DeadLetters" >> beam.io.WriteToText(
        dead_letter_path, shard_name_template="", num_shards=1, skip_if_empty=True
    )
    return lines


# -- running it ------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class BatchResult:
    """What a batch job did.

    Attributes:
        counters: :data:`COUNTERS` → value.
        dead_letter: the dead-letter file (written only when ``counters["failed"]`` > 0).
        state: the pipeline's final state (``"DONE"``).
    """

    counters: dict
    dead_letter: str
    state: str


def pipeline_options(pipeline_args: Sequence[str]) -> PipelineOptions:
    """Beam's options from the flags the batch command did not take.

    Raises:
        UserError: a flag neither the command nor Beam knows (a typo would otherwise be
            dropped with a log line).
    """
    options = PipelineOptions(list(pipeline_args))
    known = set(PipelineOptions([]).get_all_options())
    unknown = sorted(set(options.get_all_options(retain_unknown_options=True)) - known)
    if unknown:
        raise UserError(
            "unknown option(s): "
            + ", ".join("--" + u for u in unknown)
            + " (neither keras_pggan.batch's nor Apache Beam's; see --help)"
        )
    return options


def check_config(config: BatchConfig, dead_letter_path: str) -> None:
    """What can be checked before a pipeline starts: local inputs, mask, mask folder, model, the
    output format and the dead-letter file.

    Raises:
        FileNotFoundError: a local input, mask, mask folder or model that does not exist.
        ValueError: an output extension Pillow cannot write.
        UserError: an existing dead-letter file without ``overwrite``.
    """
    from keras_pggan.data.imageio import check_image_file, image_format

    image_format("output" + config.ext)
    for spec in config.inputs:
        if not is_remote(spec) and not any(c in spec for c in _GLOB):
            if not os.path.exists(_norm(spec)):
                raise FileNotFoundError(f"{spec}: no such file or folder (--input)")
    local = [(config.input_list, "--input-list"), (config.mask, "--mask")]
    for path, flag in local:
        if path and not is_remote(path) and not os.path.isfile(_norm(path)):
            raise FileNotFoundError(f"{path}: no such file ({flag})")
    if config.mask and not is_remote(config.mask):
        check_image_file(_norm(config.mask))
    if config.mask_dir and not is_remote(config.mask_dir) and not os.path.isdir(config.mask_dir):
        raise FileNotFoundError(f"{config.mask_dir}: no such directory (--mask-dir)")
    if not is_remote(config.model) and not os.path.exists(config.model):
        raise FileNotFoundError(f"{config.model}: no such model file or folder (--model)")
    if not config.overwrite and _exists(dead_letter_path):
        raise UserError(f"{dead_letter_path}: exists; pass --overwrite to replace it")


def read_counters(result) -> dict:
    """:data:`COUNTERS` from a finished pipeline's metrics (0 for a counter never touched)."""
    counters = dict.fromkeys(COUNTERS, 0)
    query = result.metrics().query(MetricsFilter().with_namespace(METRICS_NAMESPACE))
    for counter in query["counters"]:
        name = counter.key.metric.name
        if name in counters:
            value = counter.committed if counter.committed is not None else counter.attempted
            counters[name] += int(value or 0)
    return counters


def run_batch(config: BatchConfig, pipeline_args: Sequence[str] = ()) -> BatchResult:
    """Runs a batch job to the end (DirectRunner unless ``--runner`` says otherwise).

    Args:
        config: what to fill and how.
        pipeline_args: Beam's flags (``--runner``, ``--direct_num_workers``,
            ``--direct_running_mode``, ``--project``, ...).

    Returns:
        The job's counters and its dead-letter file.

    Raises:
        UserError: an unknown flag, an existing dead-letter file, no image matched.
        FileNotFoundError, ValueError: as :func:`check_config`.
    """
    dead_letter_path = _norm(config.dead_letter or default_dead_letter(config.output))
    check_config(config, dead_letter_path)
    options = pipeline_options(pipeline_args)
    if not is_remote(config.output):
        os.makedirs(_norm(config.output), exist_ok=True)
    pipeline = beam.Pipeline(options=options)
    expand(pipeline, config, dead_letter_path)
    result = pipeline.run()
    state = result.wait_until_finish()
    counters = read_counters(result)
    if not counters["images"] and not counters["failed"]:
        raise UserError(f"no images matched {', '.join(config.inputs) or config.input_list}")
    return BatchResult(counters, dead_letter_path, str(state))
