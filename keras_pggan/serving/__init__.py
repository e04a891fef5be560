"""TF Serving clients (gRPC and REST) and a local server that speaks the same two protocols.

Example:
    >>> from keras_pggan.serving import GrpcClient, RestClient, serve_locally
    >>> with serve_locally("saved_models/pggan_dres") as server:     # doctest: +SKIP
    ...     with GrpcClient(server.grpc_address, server.model_name) as client:
    ...         out = client.inpaint(image_uint8, holes)              # uint8 [H,W,3]

- :mod:`~keras_pggan.serving.client`: :class:`GrpcClient`, :class:`RestClient` (deadlines,
  retries with backoff on ``UNAVAILABLE`` / HTTP 503) and :class:`ServingError`. They work
  against ``tensorflow_model_server`` and the local server alike.
- :mod:`~keras_pggan.serving.server`: :func:`serve_locally` / :class:`LocalServer`, a stand-in for
  the TF Serving binary (one SavedModel, TF Serving's gRPC and REST protocols and status codes);
  :mod:`~keras_pggan.serving.protocol` holds its REST JSON parsing.
- ``python -m keras_pggan.serving {predict,metadata,serve}``: the command line
  (:mod:`keras_pggan.serving.__main__`, not imported here).

Importing this package does not import TensorFlow (the clients need numpy, grpc and Pillow; TF is
imported when a gRPC call builds tensor protos or a server starts). ``read_image``,
``read_mask``, ``mask_from_array``, ``encode_png`` and ``decode_image_bytes`` are
:mod:`keras_pggan.data.imageio`'s functions under their old names; the signature names come from
:mod:`keras_pggan.signatures`. See docs/serving.md.
"""

from keras_pggan.data import imageio as _imageio
from keras_pggan.serving.client import (
    DEFAULT_BACKOFF,
    DEFAULT_MODEL_NAME,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    GrpcClient,
    RestClient,
    ServingError,
)
from keras_pggan.serving.server import DEFAULT_MAX_PIXELS, LocalServer, serve_locally
from keras_pggan.signatures import BYTES_SIGNATURE, DEFAULT_SIGNATURE, OUTPUT, OUTPUT_PNG

read_image = _imageio.load_rgb
read_mask = _imageio.load_mask_file
mask_from_array = _imageio.hole_from_array
encode_png = _imageio.encode_png
decode_image_bytes = _imageio.decode_rgb

__all__ = [
    "BYTES_SIGNATURE",
    "DEFAULT_BACKOFF",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MODEL_NAME",
    "DEFAULT_RETRIES",
    "DEFAULT_SIGNATURE",
    "DEFAULT_TIMEOUT",
    "OUTPUT",
    "OUTPUT_PNG",
    "GrpcClient",
    "LocalServer",
    "RestClient",
    "ServingError",
    "decode_image_bytes",
    "encode_png",
    "mask_from_array",
    "read_image",
    "read_mask",
    "serve_locally",
]
