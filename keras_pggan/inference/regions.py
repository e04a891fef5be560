"""The any-size strategy: which crops of a large image the network runs on, and at what scale.

Images whose long side is at most the working size run whole. Larger ones are not: each cluster
of holes is cut out with context around it, run at no more than the working resolution
(downscaled if the crop is still larger), and the fill is pasted back only inside that cluster's
holes at full resolution (:class:`keras_pggan.inference.inpainter.Inpainter` does the pasting). See
docs/inpaint.md for the strategy and its limits.

Example:
    >>> holes = np.zeros((2000, 3000), bool)
    >>> holes[1200:1230, 2100:2160] = True
    >>> [(r.height, r.width, r.scale) for r in plan_regions(holes)]
    [(512, 512, 1.0)]
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from keras_pggan.inference.fill import round_up

DEFAULT_WORKING_SIZE = 512
DEFAULT_CONTEXT = 0.5
MIN_CONTEXT_PX = 32


@dataclasses.dataclass(frozen=True)
class Region:
    """One network run: a crop of the image, its scale, and the hole clusters it fills.

    Attributes:
        top: first row of the crop.
        left: first column of the crop.
        height: crop height in full-resolution pixels.
        width: crop width in full-resolution pixels.
        scale: the crop is resized by this factor (<= 1) before the network.
        clusters: ids of the hole clusters whose pixels this run fills (``()``: every hole).
    """

    top: int
    left: int
    height: int
    width: int
    scale: float = 1.0
    clusters: tuple[int, ...] = ()

    @property
    def slices(self) -> tuple[slice, slice]:
        """(rows, columns) of the crop in the full image."""
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)

    @property
    def network_size(self) -> tuple[int, int]:
        """(H, W) the network sees before padding to its multiple."""
        return _scaled(self.height, self.scale), _scaled(self.width, self.scale)


def _scaled(n: int, scale: float) -> int:
    return n if scale >= 1 else max(1, int(round(n * scale)))


def _grow(start: int, stop: int, target: int, limit: int) -> tuple[int, int]:
    """Grows [start, stop) to ``target`` (at most ``limit``) about its centre, inside [0, limit)."""
    length = min(target, limit)
    if stop - start >= length:
        return start, stop
    # A window of ``length`` centred on the box contains it; clamping keeps it inside the image.
    start = min(max(0, (start + stop) // 2 - length // 2), limit - length)
    return start, start + length


def hole_clusters(holes: np.ndarray, block: int = MIN_CONTEXT_PX) -> tuple[np.ndarray, int]:
    """Labels clusters of holes on a ``block``-pixel grid (holes in touching blocks merge).

    Returns:
        (int32 labels of the blocks [ceil(H/block), ceil(W/block)], number of clusters). Labelling
        blocks instead of pixels keeps the cluster count small for speckled masks.
    """
    from scipy import ndimage

    h, w = holes.shape
    padded = np.zeros((round_up(h, block), round_up(w, block)), bool)
    padded[:h, :w] = holes
    gh, gw = padded.shape[0] // block, padded.shape[1] // block
    grid = padded.reshape(gh, block, gw, block).any(axis=(1, 3))
    labels, n = ndimage.label(grid, structure=np.ones((3, 3), bool))
    return labels.astype(np.int32), int(n)


def _pixel_clusters(block_labels: np.ndarray, region: Region, block: int) -> np.ndarray:
    rows = np.arange(region.top, region.top + region.height) // block
    cols = np.arange(region.left, region.left + region.width) // block
    return block_labels[np.ix_(rows, cols)]


def owned_holes(
    region: Region,
    crop_holes: np.ndarray,
    block_labels: np.ndarray | None,
    block: int = MIN_CONTEXT_PX,
) -> np.ndarray:
    """The holes of ``region``'s crop that this run fills: those of its own clusters.

    Args:
        region: a region from :func:`plan_with_labels`.
        crop_holes: bool [height, width], the holes inside the crop.
        block_labels: the block labels :func:`plan_with_labels` returned (None: every hole).
        block: the clustering block size the plan used.

    Returns:
        bool [height, width].
    """
    if block_labels is None:
        return crop_holes
    return crop_holes & np.isin(_pixel_clusters(block_labels, region, block), region.clusters)


def plan_regions(
    holes: np.ndarray,
    working_size: int | None = DEFAULT_WORKING_SIZE,
    context: float = DEFAULT_CONTEXT,
    min_context: int = MIN_CONTEXT_PX,
) -> list[Region]:
    """Plans the network runs for one image.

    The whole image is one run when its long side is at most ``working_size`` (or
    ``working_size`` is None). Otherwise holes are grouped into clusters (holes within one
    ``min_context``-pixel block of each other), each cluster's bounding box is extended by
    ``max(min_context, context × its long side)`` on every side, boxes that overlap merge, each box
    grows to the working size where the image allows (free context: the run costs the same), and
    boxes still longer than ``working_size`` are downscaled to it.

    Args:
        holes: bool [H,W], True = hole.
        working_size: long side (px) the network runs at, at most; None disables cropping.
        context: margin around a cluster as a fraction of its bounding box's long side.
        min_context: smallest margin in pixels (also the clustering block size).

    Returns:
        Regions in raster order of their first cluster; ``[]`` when there is no hole.
    """
    return plan_with_labels(holes, working_size, context, min_context)[0]


def _cluster_boxes(holes, block_labels, block, context, min_context) -> list[list]:
    """Each cluster's bounding box grown by its margin: [top, left, bottom, right, {cluster}]."""
    from scipy import ndimage

    h, w = holes.shape
    boxes = []
    for cluster, sl in enumerate(ndimage.find_objects(block_labels), start=1):
        # Tight pixel bounding box of this cluster's holes.
        y0, x0 = sl[0].start * block, sl[1].start * block
        cells = np.repeat(np.repeat(block_labels[sl] == cluster, block, 0), block, 1)
        sub = holes[y0 : sl[0].stop * block, x0 : sl[1].stop * block]
        sub = sub & cells[: sub.shape[0], : sub.shape[1]]
        ys, xs = np.nonzero(sub.any(axis=1))[0], np.nonzero(sub.any(axis=0))[0]
        top, bottom = y0 + ys[0], y0 + ys[-1] + 1
        left, right = x0 + xs[0], x0 + xs[-1] + 1
        margin = max(min_context, int(math.ceil(context * max(bottom - top, right - left))))
        boxes.append(
            [
                max(0, top - margin),
                max(0, left - margin),
                min(h, bottom + margin),
                min(w, right + margin),
                {cluster},
            ]
        )
    return boxes


def _merge_overlapping(boxes: list[list]) -> list[list]:
    """Merges boxes that overlap until none do (their cluster sets are joined)."""
    merged = True
    while merged:
        merged = False
        out: list[list] = []
        for box in boxes:
            for other in out:
                if (
                    box[0] < other[2]
                    and other[0] < box[2]
                    and box[1] < other[3]
                    and other[1] < box[3]
                ):
                    other[0], other[1] = min(other[0], box[0]), min(other[1], box[1])
                    other[2], other[3] = max(other[2], box[2]), max(other[3], box[3])
                    other[4] |= box[4]
                    merged = True
                    break
            else:
                out.append(box)
        boxes = out
    return boxes


def plan_with_labels(
    holes: np.ndarray,
    working_size: int | None = DEFAULT_WORKING_SIZE,
    context: float = DEFAULT_CONTEXT,
    min_context: int = MIN_CONTEXT_PX,
) -> tuple[list[Region], np.ndarray | None]:
    """:func:`plan_regions` plus the block labels of the clusters (None: one whole-image run).

    Pass the labels to :func:`owned_holes` to find the pixels each run fills.
    """
    h, w = holes.shape
    if not holes.any():
        return [], None
    if working_size is None or max(h, w) <= working_size:
        return [Region(0, 0, h, w)], None
    block = max(1, int(min_context))
    block_labels, n = hole_clusters(holes, block)
    boxes = _merge_overlapping(_cluster_boxes(holes, block_labels, block, context, min_context))
    regions = []
    for top, left, bottom, right, clusters in boxes:
        top, bottom = _grow(top, bottom, working_size, h)
        left, right = _grow(left, right, working_size, w)
        long_side = max(bottom - top, right - left)
        scale = min(1.0, working_size / long_side)
        regions.append(
            Region(
                int(top),
                int(left),
                int(bottom - top),
                int(right - left),
                float(scale),
                tuple(int(c) for c in sorted(clusters)),
            )
        )
    assert n == sum(len(r.clusters) for r in regions)
    return sorted(regions, key=lambda r: r.clusters[0]), block_labels


# -- resizing a region for the network -----------------------------------------------------------
def resize_u8(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resizes uint8 [h,w,3] to [height,width,3]: box filter down, bicubic up."""
    from PIL import Image

    down = height < image.shape[0]
    resample = Image.Resampling.BOX if down else Image.Resampling.BICUBIC
    return np.asarray(Image.fromarray(image).resize((width, height), resample))


def shrink_holes(holes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Downscales a hole mask so every low-resolution pixel touching a hole is a hole."""
    from PIL import Image

    cover = Image.fromarray(holes.astype(np.float32), mode="F").resize(
        (width, height), Image.Resampling.BOX
    )
    return np.asarray(cover) > 1e-6


def add_region_arguments(parser) -> None:
    """The ``--working-size`` and ``--context`` options of every command that fills photos of
    any size (``inpaint``, ``batch``): one definition, one default (:data:`DEFAULT_WORKING_SIZE`,
    :data:`DEFAULT_CONTEXT`)."""
    parser.add_argument(
        "--working-size",
        type=int,
        default=DEFAULT_WORKING_SIZE,
        help="long side (px) the network runs at, at most; 0 = always the whole image",
    )
    parser.add_argument(
        "--context",
        type=float,
        default=DEFAULT_CONTEXT,
        help="margin around each hole cluster as a fraction of its size",
    )
