"""The local server's access log: lines to stderr that a slow or blocked reader cannot stall.

The server writes one access line per request. Written directly, a full stderr pipe (a parent
process that starts the server with ``stderr=PIPE`` and never reads it) blocks the request
that logs, and then every request. :class:`StderrLines` hands lines to one writer thread through
a bounded queue: a request never waits, lines that do not fit are dropped and counted, and the
count is written once stderr drains.
"""

from __future__ import annotations

import os
import queue
import sys
import threading

# Access lines waiting for stderr (~1 MB at most): seconds of a busy server's lines, enough to
# ride out a slow reader; beyond it lines are dropped rather than requests held.
ACCESS_QUEUE_LINES = 10_000


class StderrLines:
    """Lines to stderr from one daemon thread, so that a blocked stderr blocks no caller.

    :meth:`put` never waits: a line that does not fit in the queue is dropped and counted, and
    the writer says how many once it can write again.
    """

    def __init__(self, capacity: int | None = None):
        self._queue: queue.Queue = queue.Queue(capacity or ACCESS_QUEUE_LINES)
        self._lock = threading.Lock()
        self.dropped = 0
        self._thread = threading.Thread(target=self._write_all, name="access-log", daemon=True)
        self._thread.start()

    def put(self, line: str) -> None:
        try:
            self._queue.put_nowait(line)
        except queue.Full:
            with self._lock:
                self.dropped += 1

    def _write_all(self) -> None:
        said = 0
        while True:
            line = self._queue.get()
            total = self.dropped
            if total > said:
                write_stderr(
                    f"keras_pggan.serving: {total - said} access line(s) dropped: stderr was not "
                    "read fast enough"
                )
                said = total
            if line is None:
                return
            write_stderr(line)

    def close(self, timeout: float = 5.0) -> None:
        """Writes what is queued, waiting at most ``timeout`` s for a blocked stderr."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)


def write_stderr(line: str) -> None:
    """One line to stderr; to its file descriptor when it has one.

    ``os.write`` holds no lock of ``sys.stderr`` while a full pipe blocks it: the interpreter's
    exit, which flushes ``sys.stderr``, cannot then wait for this (daemon) thread.
    """
    stream = sys.stderr
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # a replaced stream (tests, notebooks)
        fd = None
    try:
        if fd is None:
            stream.write(line + "\n")
            stream.flush()
            return
        data = (line + "\n").encode(getattr(stream, "encoding", None) or "utf-8", "replace")
        while data:
            data = data[os.write(fd, data) :]
    except (OSError, ValueError):
        pass  # a closed stderr must not end the writer (nor, before it, a request)
