"""tf.data input pipelines: photo folders, file lists and TFRecord shards → ``{"image","mask"}``.

Example:
    >>> from keras_pggan.config import DataConfig, MaskConfig
    >>> ds = make_train_dataset(DataConfig(train=("photos/",), image_size=256),
    ...                         MaskConfig(spec="freeform:0.5,rect:0.5"),
    ...                         8, seed=0)  # doctest: +SKIP
    >>> batch = next(iter(ds))  # {"image": [8,256,256,3] in [0,1], "mask": [8,256,256,1]}

    python -m keras_pggan.data make-tfrecords photos/ shards/ --shards 8   # write_tfrecords

Sources (``DataConfig.train`` / ``.val``), each one of:

* a folder, searched recursively for ``.jpg .jpeg .png .bmp .gif .webp`` (any case);
* a text file (``.txt``/``.lst``/``.list``) with one image path per line (relative paths are
  relative to the list file; ``#`` starts a comment);
* a TFRecord file or glob (``*.tfrecord``, ``*.tfrec``, or any glob of files written by
  ``make-tfrecords``: features ``image/encoded`` and ``image/filename``);
* a single image file.

No sources means the embedded default photos (:func:`default_photo_paths`).

Decoding goes through Pillow in a ``tf.numpy_function`` (Pillow releases the GIL while it decodes),
which handles every colour mode (grey, RGBA, palette with transparency, 16-bit, CMYK), EXIF
orientation and decompression-bomb headers in one place. JPEGs are decoded at a reduced DCT scale
when the crop only needs a smaller image (``resize_crop``). Files that cannot be decoded are
skipped: one warning line per file (with the running total) and :func:`skipped_files` for the list;
a run never aborts for a bad file.

The training stream is infinite and a pure function of ``(seed, position)``: example ``i`` is
file ``perm_e[i mod N]`` of the seeded permutation of file epoch ``e = i // N``, and its crop, flip
and mask use stateless ops seeded with ``(seed, i)``. ``start_step`` skips at path level (nothing is
decoded), so a resumed run continues with the batches the uninterrupted run would have seen (as long
as no file is skipped as undecodable). Validation is deterministic: sorted files, centred crops,
masks seeded by index.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence

import numpy as np

from keras_pggan.config import DataConfig, MaskConfig
from keras_pggan.data.imageio import decode_rgb

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
LIST_EXTENSIONS = (".txt", ".lst", ".list")
TFRECORD_EXTENSIONS = (".tfrecord", ".tfrecords", ".tfrec")
# scikit-image's shipped colour photos: the embedded default data (no download at run time).
DEFAULT_PHOTO_FILES = (
    "astronaut.png",
    "coffee.png",
    "chelsea.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "hubble_deep_field.jpg",
    "retina.jpg",
    "ihc.png",
    "color.png",
)
TFRECORD_FEATURES = ("image/encoded", "image/filename")

log = logging.getLogger("keras_pggan.data")


# -- sources ----------------------------------------------------------------------------------
def default_photo_paths() -> list[str]:
    """The embedded default photos: colour photos shipped inside scikit-image's wheel."""
    import skimage

    folder = os.path.join(os.path.dirname(skimage.__file__), "data")
    paths = [os.path.join(folder, f) for f in DEFAULT_PHOTO_FILES]
    found = [p for p in paths if os.path.exists(p)]
    if not found:
        raise FileNotFoundError(f"{folder}: none of the embedded photos {DEFAULT_PHOTO_FILES}")
    return found


def _is_tfrecord(source: str) -> bool:
    return source.lower().endswith(TFRECORD_EXTENSIONS) or (
        glob.has_magic(source) and not os.path.isdir(source)
    )


def list_image_files(folder: str) -> list[str]:
    """All image files under ``folder`` (recursive, case-insensitive extensions), sorted."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort()
        found += [os.path.join(root, f) for f in files if f.lower().endswith(IMAGE_EXTENSIONS)]
    return sorted(found)


def _read_list_file(path: str) -> list[str]:
    base = os.path.dirname(os.path.abspath(path))
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                out.append(line if os.path.isabs(line) else os.path.join(base, line))
    return out


def resolve_sources(sources: Sequence[str]) -> tuple[list[str], list[str]]:
    """Expands sources into ``(image_files, tfrecord_files)``, both sorted and de-duplicated.

    Raises:
        FileNotFoundError: naming the source that does not exist or holds no images.
    """
    if not sources:
        return default_photo_paths(), []
    images: list[str] = []
    records: list[str] = []
    for source in sources:
        if _is_tfrecord(source):
            matched = sorted(glob.glob(source))
            if not matched:
                raise FileNotFoundError(f"{source}: no TFRecord files match")
            records += matched
        elif os.path.isdir(source):
            found = list_image_files(source)
            if not found:
                raise FileNotFoundError(
                    f"{source}: folder holds no images ({', '.join(IMAGE_EXTENSIONS)})"
                )
            images += found
        elif os.path.isfile(source) and source.lower().endswith(LIST_EXTENSIONS):
            listed = _read_list_file(source)
            if not listed:
                raise FileNotFoundError(f"{source}: list file names no images")
            images += listed
        elif os.path.isfile(source):
            images.append(source)
        else:
            raise FileNotFoundError(f"{source}: no such folder, list file, image or TFRecord glob")
    return sorted(dict.fromkeys(images)), sorted(dict.fromkeys(records))


# -- decoding ---------------------------------------------------------------------------------
class _SkipLog:
    """Thread-safe record of skipped files: one warning per file, with the running total."""

    def __init__(self):
        self._lock = threading.Lock()
        self._reasons: dict[str, str] = {}

    def add(self, name: str, reason: str) -> None:
        with self._lock:
            if name in self._reasons:
                return
            self._reasons[name] = reason
            total = len(self._reasons)
        print(
            f"keras_pggan.data: WARNING: skipping {name}: {reason} "
            f"({total} undecodable file{'s' if total != 1 else ''} skipped so far)",
            file=sys.stderr,
            flush=True,
        )

    def items(self) -> dict[str, str]:
        with self._lock:
            return dict(self._reasons)

    def clear(self) -> None:
        with self._lock:
            self._reasons.clear()


_SKIPPED = _SkipLog()


def skipped_files() -> dict[str, str]:
    """Files skipped as undecodable in this process so far: ``{name: reason}``."""
    return _SKIPPED.items()


def reset_skipped_files() -> None:
    """Forgets the skipped files (tests, or a new run in the same process)."""
    _SKIPPED.clear()


# An infinite training stream over sources that are all undecodable would filter forever: the
# decoder gives up after every image file failed, or after this many failures in a row (TFRecord
# sources, whose record count is unknown).
MAX_CONSECUTIVE_FAILURES = 10_000


class _DecodeActivity:
    """How many Python decodes run now and when the last one ended (every pipeline of the
    process): what :func:`wait_for_idle_decoders` watches."""

    def __init__(self):
        self._lock = threading.Lock()
        self.running = 0
        self.last = 0.0

    def __enter__(self):
        with self._lock:
            self.running += 1

    def __exit__(self, *exc):
        with self._lock:
            self.running -= 1
            self.last = time.monotonic()

    def idle_for(self) -> float:
        """Seconds since the last decode ended; 0 while one runs."""
        with self._lock:
            return 0.0 if self.running else time.monotonic() - self.last


_DECODES = _DecodeActivity()


def wait_for_idle_decoders(quiet_s: float = 0.3, timeout_s: float = 15.0) -> bool:
    """Waits, without the GIL, until no Python decode has run for ``quiet_s`` seconds.

    An iterator of these pipelines must not be destroyed while its ``tf.numpy_function``
    decode is in flight: TensorFlow's teardown waits for the call while the destroying thread
    holds the GIL that the call needs, and the process hangs (seen when Ctrl-C stopped
    ``model.fit``). Once nothing consumes, the producers fill their buffers and stop; this waits
    for that. A second Ctrl-C does not cut the wait short.

    Returns:
        Whether the decoders went quiet within ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            time.sleep(0.02)
            if _DECODES.idle_for() >= quiet_s:
                return True
        except KeyboardInterrupt:
            continue
    return False


class _Decoder:
    """The Python side of the in-graph decode: bytes → (RGB, ok), with an optional memory cache.

    Raises (inside ``tf.data``, as ``InvalidArgumentError``) when no source can be decoded: every
    one of ``num_files`` image files failed (with no TFRecords), or
    ``MAX_CONSECUTIVE_FAILURES`` decodes in a row failed.
    """

    def __init__(self, min_side: int | None, cache: bool, num_files: int | None = None):
        self.min_side = min_side
        self.cache: dict[str, np.ndarray] | None = {} if cache else None
        self._lock = threading.Lock()
        self.num_files = num_files
        self._failed: set[str] = set()
        self._in_a_row = 0

    def _give_up_if_nothing_decodes(self, name: str) -> None:
        with self._lock:
            self._failed.add(name)
            self._in_a_row += 1
            failed, in_a_row = len(self._failed), self._in_a_row
        if (self.num_files and failed >= self.num_files) or in_a_row >= MAX_CONSECUTIVE_FAILURES:
            raise ValueError(
                f"no decodable image in the data sources: {failed} file(s) failed "
                f"({in_a_row} in a row), e.g. {name}; see the warnings above"
            )

    def __call__(self, name, data):
        with _DECODES:
            return self._decode(name, data)

    def _decode(self, name, data):
        name = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
        if self.cache is not None:
            with self._lock:
                hit = self.cache.get(name)
                if hit is not None:
                    self._in_a_row = 0
            if hit is not None:
                return hit, np.bool_(True)
        try:
            rgb = decode_rgb(bytes(data), name, self.min_side)
        except ValueError as e:
            reason = str(e)
            if reason.startswith(name + ": "):
                reason = reason[len(name) + 2 :]
            rgb = None
        if rgb is None:
            _SKIPPED.add(name, reason)
            self._give_up_if_nothing_decodes(name)
            return np.zeros((1, 1, 3), np.uint8), np.bool_(False)
        with self._lock:
            self._in_a_row = 0
            if self.cache is not None:
                self.cache[name] = rgb
        return rgb, np.bool_(True)


# -- per-example ops (pure TF) -----------------------------------------------------------------
def _resize_short_side(image, size: int):
    import tensorflow as tf

    shape = tf.shape(image)
    h, w = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    scale = tf.cast(size, tf.float32) / tf.minimum(h, w)
    nh = tf.maximum(size, tf.cast(tf.round(h * scale), tf.int32))
    nw = tf.maximum(size, tf.cast(tf.round(w * scale), tf.int32))
    return tf.image.resize(image, tf.stack([nh, nw]), method="bilinear", antialias=True)


def _crop_image(
    image_u8, size: int, crop: str, flip: bool, seed, training: bool, resize_to=None,
    resize_to_max=None,
):  # fmt: skip
    """uint8 [h,w,3] → float32 [size,size,3] in [0,1]: resize/crop/flip, seeded.

    With ``resize_to_max`` (training only) the short side is drawn uniformly from
    ``[resize_to, resize_to_max]`` per example (multi-scale crops).
    """
    import tensorflow as tf

    image = tf.cast(image_u8, tf.float32) / 255.0
    seeds = tf.random.experimental.stateless_split(seed, 2)
    if crop == "resize_crop":
        short = resize_to or size
        if training and resize_to_max and resize_to_max > short:
            # Its own seed (folded in), so single-scale runs keep their crops and flips.
            scale_seed = tf.random.experimental.stateless_fold_in(seed, 3)
            short = tf.random.stateless_uniform(
                [], scale_seed, minval=short, maxval=resize_to_max + 1, dtype=tf.int32
            )
        image = _resize_short_side(image, short)
    else:  # random_crop at native scale; images smaller than the crop are resized up.
        shape = tf.shape(image)
        image = tf.cond(
            tf.minimum(shape[0], shape[1]) < size,
            lambda: _resize_short_side(image, size),
            lambda: image,
        )
    if training:
        image = tf.image.stateless_random_crop(image, [size, size, 3], seed=seeds[0])
        if flip:
            image = tf.image.stateless_random_flip_left_right(image, seed=seeds[1])
    else:
        shape = tf.shape(image)
        top, left = (shape[0] - size) // 2, (shape[1] - size) // 2
        image = image[top : top + size, left : left + size, :]
    image = tf.clip_by_value(image, 0.0, 1.0)
    image.set_shape([size, size, 3])
    return image


def _parse_record(serialized):
    import tensorflow as tf

    features = tf.io.parse_single_example(
        serialized,
        {
            "image/encoded": tf.io.FixedLenFeature([], tf.string),
            "image/filename": tf.io.FixedLenFeature([], tf.string, default_value=""),
        },
    )
    return features["image/filename"], features["image/encoded"]


def _with_empty_bytes(name):
    import tensorflow as tf

    return name, tf.constant(b"")


def _flatten(index, element):
    return index, element[0], element[1]


def _epoch_elements(files, records, seed: int, epoch, shuffle_buffer: int):
    """(name, bytes-or-empty) for one pass over all sources, in a seeded order."""
    import tensorflow as tf

    epoch_seed = tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)])
    parts = []
    if files:
        names = tf.random.experimental.stateless_shuffle(tf.constant(files), seed=epoch_seed)
        parts.append(tf.data.Dataset.from_tensor_slices(names).map(_with_empty_bytes))
    if records:
        shard_order = tf.random.experimental.stateless_shuffle(
            tf.constant(records), seed=epoch_seed + [0, 1]
        )
        ds = tf.data.Dataset.from_tensor_slices(shard_order).interleave(
            tf.data.TFRecordDataset,
            cycle_length=min(4, len(records)),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        ds = ds.map(_parse_record)
        # A seeded shuffle buffer over records (the op takes a Python seed; the epoch-seeded
        # shard order above makes each epoch's record order differ).
        ds = ds.shuffle(shuffle_buffer, seed=int(seed) * 1_000_003 + 17)
        parts.append(ds)
    out = parts[0]
    for p in parts[1:]:
        out = out.concatenate(p)
    return out


def _element_stream(files, records, seed: int, start_element: int, shuffle_buffer: int):
    """Infinite (index, name, data) stream starting at ``start_element``."""
    import tensorflow as tf

    n_files = len(files)
    if records:
        # Record counts are unknown without a pass: skip element by element (reads, no decode).
        start_epoch, within = 0, start_element
    else:
        start_epoch, within = divmod(start_element, n_files)
    epochs = tf.data.Dataset.range(start_epoch, np.iinfo(np.int64).max)
    ds = epochs.flat_map(lambda e: _epoch_elements(files, records, seed, e, shuffle_buffer))
    ds = ds.skip(within)
    ds = tf.data.Dataset.zip(tf.data.Dataset.range(start_element, np.iinfo(np.int64).max), ds)
    return ds.map(_flatten)


def _read_if_empty(name, data):
    import tensorflow as tf

    return tf.cond(tf.strings.length(data) > 0, lambda: data, lambda: tf.io.read_file(name))


def _build(
    data_cfg: DataConfig,
    mask_cfg: MaskConfig,
    batch_size: int,
    seed: int,
    sources: Sequence[str],
    training: bool,
    start_step: int = 0,
    max_examples: int | None = None,
):
    import tensorflow as tf

    from keras_pggan.data import masks as masks_lib

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    files, records = resolve_sources(sources)
    size = data_cfg.image_size
    sampler = masks_lib.MaskSampler(mask_cfg, size, size)
    short_side = data_cfg.resize_to or size
    multi_scale = data_cfg.resize_to_max if training else None
    decoder = _Decoder(
        (multi_scale or short_side) if data_cfg.crop == "resize_crop" else None,
        data_cfg.cache,
        num_files=None if records else len(files),
    )
    autotune = tf.data.AUTOTUNE
    salt = 0 if training else 1_000_003

    if training:
        ds = _element_stream(files, records, seed, start_step * batch_size, data_cfg.shuffle_buffer)
    else:
        names = tf.data.Dataset.from_tensor_slices(tf.constant(files or [""], tf.string))
        if not files:
            names = names.take(0)
        ds = names.map(_with_empty_bytes)
        if records:
            ds = ds.concatenate(tf.data.TFRecordDataset(records).map(_parse_record))
        if max_examples:
            ds = ds.take(max_examples)
        ds = ds.enumerate().map(_flatten)

    def load(index, name, data):
        data = _read_if_empty(name, data)
        rgb, ok = tf.numpy_function(decoder, [name, data], [tf.uint8, tf.bool], stateful=False)
        rgb.set_shape([None, None, 3])
        ok.set_shape([])
        return index, rgb, ok

    def finish(index, rgb):
        example_seed = tf.stack([tf.cast(seed, tf.int64) + salt, tf.cast(index, tf.int64)])
        crop_seed, mask_seed = tf.unstack(tf.random.experimental.stateless_split(example_seed, 2))
        image = _crop_image(
            rgb, size, data_cfg.crop, data_cfg.flip, crop_seed, training, short_side, multi_scale
        )
        mask = tf.reshape(tf.cast(sampler(mask_seed), tf.float32), [size, size, 1])
        return {"image": image, "mask": mask}

    def decoded_ok(index, rgb, ok):
        del index, rgb
        return ok

    def drop_flag(index, rgb, ok):
        del ok
        return index, rgb

    ds = ds.map(load, num_parallel_calls=autotune, deterministic=True)
    ds = ds.filter(decoded_ok).map(drop_flag)
    ds = ds.map(finish, num_parallel_calls=autotune, deterministic=True)
    if not training:
        ds = ds.repeat()  # every pass is identical: sorted files, index-seeded crops and masks
    ds = ds.batch(batch_size, drop_remainder=True, num_parallel_calls=autotune, deterministic=True)
    options = tf.data.Options()
    options.deterministic = True
    options.experimental_optimization.map_parallelization = True
    return ds.with_options(options).prefetch(autotune)


def make_train_dataset(
    data_cfg: DataConfig,
    mask_cfg: MaskConfig,
    global_batch_size: int,
    seed: int,
    start_step: int = 0,
):
    """The infinite, seeded training stream of ``{"image","mask"}`` batches.

    Args:
        data_cfg: sources, crop size and augmentation.
        mask_cfg: the mask mixture and hole-ratio bounds.
        global_batch_size: examples per batch across all replicas.
        seed: the stream is a pure function of ``seed`` and position.
        start_step: batches to skip (resume); skipping happens before any file is read.

    Returns:
        A ``tf.data.Dataset`` of ``{"image": float32 [B,S,S,3] in [0,1], "mask": float32
        [B,S,S,1]}`` with ``B = global_batch_size`` and ``S = data_cfg.image_size``.
    """
    return _build(
        data_cfg, mask_cfg, global_batch_size, seed, data_cfg.train, True, start_step=start_step
    )


def make_val_dataset(
    data_cfg: DataConfig,
    mask_cfg: MaskConfig,
    batch_size: int,
    seed: int,
    max_examples: int | None = None,
):
    """The deterministic validation stream (repeats; the same batches on every pass).

    Uses ``data_cfg.val`` (or ``data_cfg.train`` when empty): sorted files, short side resized to
    the crop size, centred crop, no flip, masks seeded by example index.
    """
    sources = data_cfg.val or data_cfg.train
    return _build(data_cfg, mask_cfg, batch_size, seed, sources, False, max_examples=max_examples)


# -- TFRecord writer -----------------------------------------------------------------------------
def _bytes_feature(value: bytes):
    import tensorflow as tf

    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _shrink_jpeg(rgb: np.ndarray, short_side: int | None, quality: int) -> bytes:
    """``rgb`` with its short side reduced to at most ``short_side``, as JPEG bytes.

    Pillow's bilinear filter widens with the reduction (antialiased), as the pipeline's
    ``tf.image.resize(..., antialias=True)`` does, and the new size is rounded as
    :func:`_resize_short_side` rounds it, so a packed image is the size the pipeline would have
    resized the original to.
    """
    import io

    from PIL import Image

    im = Image.fromarray(rgb)
    h, w = rgb.shape[:2]
    if short_side and min(h, w) > short_side:
        scale = short_side / min(h, w)
        size = (max(short_side, int(round(w * scale))), max(short_side, int(round(h * scale))))
        im = im.resize(size, Image.BILINEAR, reducing_gap=None)
    buf = io.BytesIO()
    # libjpeg's 4:2:0 chroma, as in most photos; 4:4:4 costs a fifth more bytes (measured on
    # the train split at 256, quality 75-95).
    im.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def write_tfrecords(
    sources: Sequence[str],
    out_dir: str,
    shards: int = 8,
    prefix: str = "images",
    short_side: int | None = None,
    quality: int | None = None,
) -> dict:
    """Writes the images of ``sources`` into ``shards`` TFRecord files.

    Each record holds ``image/encoded`` (the file's bytes, unchanged, or re-encoded: below),
    ``image/filename`` (path relative to its source folder when there is one) and
    ``image/format``. Files that cannot be decoded are skipped and reported. Shard ``k`` gets
    files ``k, k+N, ...`` of the sorted list; each shard is written to a temporary name and
    renamed when complete.

    With ``short_side`` or ``quality`` every image is re-encoded as a JPEG (format ``jpeg``,
    EXIF orientation applied): decoded, its short side reduced to at most ``short_side``
    (never enlarged) and saved at ``quality`` (default 90). A pack for training at
    ``resize_to <= short_side`` is then a fraction of the originals' size (to carry to another
    machine) and decodes faster, at the price of one more JPEG generation.

    Args:
        sources: folders, list files or image files (:func:`resolve_sources`; no TFRecords).
        out_dir: the shards' folder (made if missing).
        shards: how many files.
        prefix: the shards' name prefix.
        short_side: re-encode with the short side at most this many pixels.
        quality: re-encode as JPEG of this quality (1–95).

    Returns:
        ``{"shards": [paths], "written": n, "skipped": {path: reason}, "bytes": b}``, ``b`` the
        encoded images' total size.

    Raises:
        ValueError: ``shards``, ``short_side`` or ``quality`` out of range, or a TFRecord source.
    """
    import tensorflow as tf

    if shards < 1:
        raise ValueError(f"--shards must be >= 1, got {shards}")
    if short_side is not None and short_side < 1:
        raise ValueError(f"--short-side must be >= 1, got {short_side}")
    if quality is not None and not 1 <= quality <= 95:
        raise ValueError(f"--quality must be in 1..95 (Pillow's JPEG range), got {quality}")
    reencode = short_side is not None or quality is not None
    files, records = resolve_sources(sources)
    if records:
        raise ValueError(f"{records[0]}: sources for make-tfrecords must be images, not TFRecords")
    roots = [os.path.abspath(s) for s in sources if os.path.isdir(s)]
    os.makedirs(out_dir, exist_ok=True)
    paths = [
        os.path.join(out_dir, f"{prefix}-{k:05d}-of-{shards:05d}.tfrecord") for k in range(shards)
    ]
    skipped: dict[str, str] = {}
    written = total = 0
    for k, path in enumerate(paths):
        tmp = path + ".tmp"
        with tf.io.TFRecordWriter(tmp) as writer:
            for f in files[k::shards]:
                try:
                    with open(f, "rb") as fh:
                        data = fh.read()
                    # A reduced-scale JPEG decode is enough when the image is shrunk anyway.
                    rgb = decode_rgb(data, f, short_side)
                except (OSError, ValueError) as e:
                    skipped[f] = str(e)
                    print(f"keras_pggan.data: WARNING: skipping {e}", file=sys.stderr)
                    continue
                ext = os.path.splitext(f)[1].lower().lstrip(".")
                if reencode:
                    data, ext = _shrink_jpeg(rgb, short_side, quality or 90), "jpeg"
                absf = os.path.abspath(f)
                name = next(
                    (os.path.relpath(absf, r) for r in roots if absf.startswith(r + os.sep)), f
                )
                example = tf.train.Example(
                    features=tf.train.Features(
                        feature={
                            "image/encoded": _bytes_feature(data),
                            "image/filename": _bytes_feature(name.encode("utf-8")),
                            "image/format": _bytes_feature(ext.encode("utf-8")),
                        }
                    )
                )
                writer.write(example.SerializeToString())
                written += 1
                total += len(data)
        os.replace(tmp, path)
    if skipped:
        print(f"keras_pggan.data: {len(skipped)} undecodable file(s) skipped", file=sys.stderr)
    return {"shards": paths, "written": written, "skipped": skipped, "bytes": total}
