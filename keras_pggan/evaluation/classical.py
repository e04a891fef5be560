"""Classical inpainting baselines scored next to the models by ``keras_pggan.evaluate``.

* ``telea``: OpenCV's fast marching method (Telea 2004), ``cv2.INPAINT_TELEA``.
* ``ns``: OpenCV's Navier–Stokes method (Bertalmío et al. 2001), ``cv2.INPAINT_NS``.
* ``mean``: every hole pixel gets the per-channel mean of the image's known pixels.

OpenCV is the optional extra ``opencv`` (``pip install keras_pggan[opencv]``, i.e.
``opencv-python-headless``); it is imported only when a baseline needs it, and
:func:`get_baseline` raises :class:`BaselineUnavailable` with the install command without it.

Example:
    >>> import numpy as np
    >>> image = np.full((8, 8, 3), 100, np.uint8); image[:4] = 200
    >>> mask = np.zeros((8, 8), bool); mask[3:5, 3:5] = True
    >>> int(mean_fill(image, mask)[4, 4, 0])
    150
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from keras_pggan.inference.fill import composite_np

BASELINES = ("telea", "ns", "mean")
DEFAULT_RADIUS = 3
OPENCV_HINT = "pip install 'keras_pggan[opencv]' (opencv-python-headless)"


class BaselineUnavailable(ImportError):
    """A baseline's optional dependency (OpenCV) is not installed."""


def _check(image, mask) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(image)
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[-1] != 3:
        raise ValueError(f"image must be uint8 [H,W,3], got {x.dtype} {x.shape}")
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[-1] == 1:
        m = m[..., 0]
    holes = m if m.dtype == np.bool_ else m > 0.5
    if holes.shape != x.shape[:2]:
        raise ValueError(f"mask shape {holes.shape} does not match image {x.shape[:2]}")
    return x, holes


def opencv_available() -> bool:
    """True when ``cv2`` can be imported."""
    try:
        import cv2  # noqa: F401
    except ImportError:
        return False
    return True


def _opencv(image, mask, flag_name: str, radius: int) -> np.ndarray:
    try:
        import cv2
    except ImportError as e:
        raise BaselineUnavailable(f"OpenCV baselines need OpenCV: {OPENCV_HINT}") from e
    x, holes = _check(image, mask)
    if not holes.any():
        return x.copy()
    # cv2.inpaint treats the three channels independently, so RGB order needs no conversion.
    out = cv2.inpaint(
        np.ascontiguousarray(x), holes.astype(np.uint8) * 255, radius, getattr(cv2, flag_name)
    )
    return composite_np(out, x, holes)


def telea(image, mask, radius: int = DEFAULT_RADIUS) -> np.ndarray:
    """OpenCV Telea inpainting.

    Args:
        image: uint8 [H,W,3].
        mask: [H,W] bool or {0,1}, 1 = hole.
        radius: neighbourhood radius in pixels (OpenCV's ``inpaintRadius``).

    Returns:
        uint8 [H,W,3]; known pixels equal the input's.

    Raises:
        BaselineUnavailable: OpenCV is not installed.
    """
    return _opencv(image, mask, "INPAINT_TELEA", radius)


def navier_stokes(image, mask, radius: int = DEFAULT_RADIUS) -> np.ndarray:
    """OpenCV Navier–Stokes inpainting; same arguments as :func:`telea`."""
    return _opencv(image, mask, "INPAINT_NS", radius)


def mean_fill(image, mask) -> np.ndarray:
    """Fills holes with the per-channel mean of the known pixels (mid-grey if all are holes).

    Args:
        image: uint8 [H,W,3].
        mask: [H,W] bool or {0,1}, 1 = hole.

    Returns:
        uint8 [H,W,3]; known pixels equal the input's.
    """
    x, holes = _check(image, mask)
    known = x[~holes]
    fill = known.mean(axis=0) if len(known) else np.full(3, 127.5)
    fill = np.clip(np.round(fill), 0, 255).astype(np.uint8)
    return composite_np(fill, x, holes)


_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {
    "telea": telea,
    "ns": navier_stokes,
    "mean": mean_fill,
}
NEEDS_OPENCV = ("telea", "ns")


def get_baseline(name: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Returns the baseline ``fn(image uint8 [H,W,3], mask [H,W]) -> uint8 [H,W,3]``.

    Raises:
        ValueError: unknown name.
        BaselineUnavailable: the baseline needs OpenCV and it is not installed.
    """
    if name not in _FUNCTIONS:
        raise ValueError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
    if name in NEEDS_OPENCV and not opencv_available():
        raise BaselineUnavailable(f"baseline {name!r} needs OpenCV: {OPENCV_HINT}")
    return _FUNCTIONS[name]


def parse_baselines(spec: str) -> tuple[str, ...]:
    """Parses ``"telea,ns,mean"`` (``""`` or ``"none"`` → no baseline).

    Raises:
        ValueError: an unknown or repeated name.
    """
    if spec.strip().lower() in ("", "none"):
        return ()
    names = tuple(s.strip().lower() for s in spec.split(",") if s.strip())
    for n in names:
        if n not in _FUNCTIONS:
            raise ValueError(f"unknown baseline {n!r}; choose from {', '.join(BASELINES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"baseline listed twice in {spec!r}")
    return names
