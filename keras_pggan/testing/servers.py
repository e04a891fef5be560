"""Local servers for tests and benchmarks: a free port, and the serving command in a child.

``bench/serving.py`` and ``bench/serving_load.py`` measure ``python -m keras_pggan.serving
serve`` in its own process, as users run it; :class:`ServingProcess` starts it on free
127.0.0.1 ports, waits until it answers, and stops it.

Example:
    >>> from keras_pggan.testing.servers import ServingProcess
    >>> with ServingProcess("runs/export/pggan_dres", "model") as server:  # doctest: +SKIP
    ...     server.wait_ready()
    ...     address = server.grpc_address
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (free when this returns)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServingProcess:
    """``python -m keras_pggan.serving serve`` on free 127.0.0.1 ports, in a child process.

    The child's output goes to a temporary file, quoted when it exits before it answers.

    Args:
        base: the SavedModel base path (``<base>/<version>/saved_model.pb``).
        model_name: the name it serves the model under.
        args: further ``serve`` options (threads, workers).
    """

    def __init__(self, base: str, model_name: str, args: Sequence[str] = ()):
        self.model_name = model_name
        self.grpc_port, self.rest_port = free_port(), free_port()
        self.log = tempfile.TemporaryFile(mode="w+")
        cmd = [
            sys.executable, "-m", "keras_pggan.serving", "serve",
            "--model-base-path", base, "--model-name", model_name, "--host", "127.0.0.1",
            "--grpc-port", str(self.grpc_port), "--rest-port", str(self.rest_port), *args,
        ]  # fmt: skip
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    @property
    def grpc_address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def rest_address(self) -> str:
        return f"127.0.0.1:{self.rest_port}"

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Waits until the model answers a metadata request over gRPC.

        Raises:
            RuntimeError: the server exited (its output's tail is in the message) or did not
                answer within ``timeout`` seconds.
        """
        from keras_pggan.serving import GrpcClient, ServingError

        deadline = time.time() + timeout
        with GrpcClient(self.grpc_address, self.model_name, retries=0, timeout=5) as client:
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    self.log.seek(0)
                    raise RuntimeError(f"server exited: {self.log.read()[-2000:]}")
                try:
                    client.metadata()
                    return
                except ServingError:
                    time.sleep(0.5)
        raise RuntimeError(f"server not ready after {timeout:g} s")

    def stop(self) -> None:
        """SIGTERM (the server drains and exits), then SIGKILL after 30 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self) -> ServingProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
