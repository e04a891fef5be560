"""TF Serving clients (gRPC and REST) and a local server that speaks the same two protocols.

Example:
    python -m keras_pggan.serving serve --model-base-path saved_models/pggan_dres \\
        --grpc-port 8500 --rest-port 8501
    python -m keras_pggan.serving predict --server localhost:8500 photo.png mask.png -o out.png
    python -m keras_pggan.serving predict --server localhost:8501 --rest \\
        --signature serving_bytes photo.jpg mask.png -o out.png [--overwrite]

Exit codes: 0 done, 1 the server answered with an error, 2 a bad flag or file
(:class:`keras_pggan.errors.UserError`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import threading
import time

from keras_pggan import cli
from keras_pggan.data import imageio
from keras_pggan.errors import UserError, add_context
from keras_pggan.io_utils import check_writable
from keras_pggan.serving import client as clients
from keras_pggan.serving.server import DEFAULT_MAX_PIXELS, serve_locally
from keras_pggan.signatures import BYTES_SIGNATURE, DEFAULT_SIGNATURE

# serve_locally's keyword arguments that come from flags of the same name.
_SERVE_OPTIONS = (
    "grpc_port",
    "rest_port",
    "model_name",
    "host",
    "max_pixels",
    "grpc_workers",
    "access_log",
)
_THREAD_FLAGS = (
    ("--intra-op-threads", "TensorFlow threads inside one op (0: TF default, all cores)"),
    ("--inter-op-threads", "TensorFlow ops run in parallel (0: TF default)"),
)


def build_parser() -> argparse.ArgumentParser:
    """The ``predict``, ``metadata`` and ``serve`` commands and their flags."""
    parser = argparse.ArgumentParser(
        prog=cli.prog("keras_pggan.serving"),
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:8]),
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="inpaint IMAGE with MASK through a server")
    p.add_argument("image", metavar="IMAGE", help="image file (PNG, JPEG, ...)")
    p.add_argument("mask", metavar="MASK", help="mask file: white = hole, or transparent = hole")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output image file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    p.add_argument("--server", required=True, help="HOST:PORT (gRPC) or with --rest the REST one")
    p.add_argument("--rest", action="store_true", help="use the REST API instead of gRPC")
    p.add_argument("--model-name", default=clients.DEFAULT_MODEL_NAME, help="served model name")
    p.add_argument("--version", type=int, default=None, help="model version (default: latest)")
    p.add_argument(
        "--signature",
        choices=(DEFAULT_SIGNATURE, BYTES_SIGNATURE),
        default=DEFAULT_SIGNATURE,
        help="float tensors (serving_default) or encoded files (serving_bytes)",
    )
    p.add_argument(
        "--format", choices=("row", "columnar"), default="row", help="REST request format"
    )
    p.add_argument(
        "--timeout", type=float, default=clients.DEFAULT_TIMEOUT, help="seconds per call"
    )
    p.add_argument(
        "--retries", type=int, default=clients.DEFAULT_RETRIES, help="retries when unavailable"
    )

    p = sub.add_parser("metadata", help="print a served model's signatures (and REST status)")
    p.add_argument("--server", required=True, help="HOST:PORT")
    p.add_argument("--rest", action="store_true", help="use the REST API instead of gRPC")
    p.add_argument("--model-name", default=clients.DEFAULT_MODEL_NAME, help="served model name")
    p.add_argument(
        "--timeout", type=float, default=clients.DEFAULT_TIMEOUT, help="seconds per call"
    )

    p = sub.add_parser("serve", help="serve a SavedModel over gRPC and REST until interrupted")
    p.add_argument(
        "--model-base-path", required=True, help="folder holding version folders (1/, 2/, ...)"
    )
    p.add_argument("--model-name", default=None, help="name to serve under (default: folder name)")
    p.add_argument("--grpc-port", type=int, default=8500, help="gRPC port (0: any free port)")
    p.add_argument("--rest-port", type=int, default=8501, help="REST port (0: any free port)")
    p.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (0.0.0.0: every interface)"
    )
    p.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help="largest batch x height x width per request",
    )
    p.add_argument("--grpc-workers", type=int, default=8, help="concurrent gRPC requests")
    for flag, what in _THREAD_FLAGS:
        p.add_argument(flag, type=int, default=0, help=what)
    p.add_argument("--no-warm-up", action="store_true", help="skip the warm-up requests")
    p.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="no access line per request on stderr",
    )
    return parser


@contextlib.contextmanager
def _client(args):
    """The client ``--server`` / ``--rest`` ask for; its errors name the server."""
    retries = getattr(args, "retries", clients.DEFAULT_RETRIES)
    if args.rest:
        fmt = getattr(args, "format", "row")
        client = clients.RestClient(
            args.server, args.model_name, args.timeout, retries, request_format=fmt
        )
    else:
        client = clients.GrpcClient(args.server, args.model_name, args.timeout, retries)
    try:
        with client:
            yield client
    except clients.ServingError as e:
        add_context(e, args.server)
        raise


def _main_predict(args) -> int:
    for label, path in (("IMAGE", args.image), ("MASK", args.mask)):
        if not os.path.isfile(path):
            raise UserError(f"{label}: {path}: no such file")
    try:
        image, holes = imageio.load_rgb(args.image), imageio.load_mask_file(args.mask)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read {args.image} / {args.mask}: {e}") from e
    try:
        imageio.image_format(args.output)  # before the request, not after
    except ValueError as e:
        raise UserError(f"-o: {e}") from e
    check_writable(args.output, args.overwrite, "-o")
    if holes.shape != image.shape[:2]:
        raise UserError(
            f"MASK: {args.mask} is {holes.shape[1]}x{holes.shape[0]}, "
            f"IMAGE {args.image} is {image.shape[1]}x{image.shape[0]}"
        )
    with _client(args) as client:
        start = time.perf_counter()
        out = client.inpaint_files(args.image, args.mask, args.signature, args.version)
        seconds = time.perf_counter() - start
    try:
        imageio.save_image(out, args.output)
    except (OSError, ValueError) as e:
        raise UserError(f"-o: {args.output}: {e}") from e
    api = "REST" if args.rest else "gRPC"
    print(
        f"{args.output}: {out.shape[1]}x{out.shape[0]} via {api} {args.signature} ({seconds:.2f} s)"
    )
    return 0


def _main_metadata(args) -> int:
    with _client(args) as client:
        doc = client.metadata()
        if args.rest:
            doc["status"] = client.status()
    print(json.dumps(doc, indent=2))
    return 0


def _main_serve(args) -> int:
    if not os.path.isdir(args.model_base_path):
        raise UserError(f"--model-base-path: {args.model_base_path}: no such directory")
    if args.max_pixels <= 0 or args.grpc_workers <= 0:
        raise UserError("--max-pixels and --grpc-workers must be positive")
    import tensorflow as tf

    # Thread pools must be sized before TensorFlow's runtime starts (the first op).
    if args.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    if args.inter_op_threads:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)
    options = {name: getattr(args, name) for name in _SERVE_OPTIONS}
    try:
        server = serve_locally(args.model_base_path, warm_up=not args.no_warm_up, **options)
    except FileNotFoundError as e:
        raise UserError(f"--model-base-path: {e}") from e
    except OSError as e:
        raise UserError(f"--grpc-port/--rest-port: {e}") from e
    except clients.ServingError as e:  # a failed warm-up request: the traceback says where
        raise RuntimeError(f"the warm-up request failed: {e}") from e

    def stop(signum, frame):
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print(
        f"serving {server.model_name} version {server.version} from {server.servable.path}: "
        f"gRPC {args.host}:{server.grpc_port}, REST http://{args.host}:{server.rest_port}"
        f"/v1/models/{server.model_name}",
        flush=True,
    )
    try:
        while not server.wait(1.0):
            pass
    except KeyboardInterrupt:
        server.stop()
    return 0


def _serving(args: argparse.Namespace) -> int:
    command = {"predict": _main_predict, "metadata": _main_metadata, "serve": _main_serve}
    return command[args.command](args)


def main(argv=None) -> int:
    """Runs one command; returns the exit status (0, 1: the server's error, 2: a user error)."""
    return cli.run(_serving, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
