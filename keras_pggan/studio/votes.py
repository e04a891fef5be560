"""The perceptual study's votes: one SQLite row per vote, safe under several voters at once.

Example:
    >>> from keras_pggan.studio import votes
    >>> votes.add_vote("votes.db", "voter-1", "00003", "pggan", 4)    # doctest: +SKIP
    >>> [v.score for v in votes.read_votes("votes.db")]               # doctest: +SKIP
    [4]

Table ``votes(id INTEGER PRIMARY KEY, voter TEXT, image_id TEXT, method TEXT, score INTEGER
CHECK 1..5, time TEXT)``: ``time`` is the server's UTC time in ISO 8601 (milliseconds); a unique
index on ``(voter, image_id, method)`` keeps one vote per voter and item even when a page posts
twice. The database runs in WAL mode (readers never block the writer) with a busy timeout, and
every vote is one short connection and one transaction, so several threads or processes (one
study app each, or a report while voting goes on) can share a file. An existing votes file is
appended to, never replaced: a study runs over several sessions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import sqlite3
from collections.abc import Iterator

from keras_pggan.errors import UserError

BUSY_TIMEOUT_MS = 30_000
MIN_SCORE, MAX_SCORE = 1, 5
COLUMNS = ("id", "voter", "image_id", "method", "score", "time")
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS votes ("
    " id INTEGER PRIMARY KEY,"
    " voter TEXT NOT NULL,"
    " image_id TEXT NOT NULL,"
    " method TEXT NOT NULL,"
    f" score INTEGER NOT NULL CHECK (score BETWEEN {MIN_SCORE} AND {MAX_SCORE}),"
    " time TEXT NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS votes_voter_item ON votes (voter, image_id, method)",
)


class DuplicateVote(ValueError):
    """The voter has already scored this (image, method)."""


@dataclasses.dataclass(frozen=True)
class Vote:
    """One row of the ``votes`` table.

    Attributes:
        voter: the voter's id (a random uuid from the page's cookie, or a scripted name).
        image_id: the image's id (its file stem, the same in every method folder).
        method: the method folder the image came from (``original`` = the real photo).
        score: naturalness, 1 (clearly edited) to 5 (completely natural).
        time: when the vote arrived, ISO 8601 UTC.
        id: the row id (insertion order).
    """

    voter: str
    image_id: str
    method: str
    score: int
    time: str
    id: int | None = None


def utc_now() -> str:
    """The current UTC time, ISO 8601 with milliseconds (``2025-01-31T12:00:00.123+00:00``)."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def check_score(score) -> int:
    """The score as an int; refuses anything but an integer 1–5 (``True`` included).

    Raises:
        ValueError: naming the value.
    """
    if isinstance(score, bool) or not isinstance(score, int) or not MIN_SCORE <= score <= MAX_SCORE:
        raise ValueError(f"score must be an integer {MIN_SCORE}-{MAX_SCORE}, got {score!r}")
    return int(score)


@contextlib.contextmanager
def _connect(path: str) -> Iterator[sqlite3.Connection]:
    """A short-lived connection with the busy timeout; closed on exit."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        yield conn
    finally:
        conn.close()


def _check_table(conn: sqlite3.Connection, path: str) -> None:
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    if tables and "votes" not in tables:
        raise UserError(
            f"{path}: an SQLite database of something else (tables {tables}); name another "
            "--votes file"
        )
    columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(votes)"))
    if columns and columns != COLUMNS:
        raise UserError(
            f"{path}: its 'votes' table has the columns {list(columns)}, not a study's "
            f"{list(COLUMNS)}; name another --votes file"
        )


def init_db(path: str) -> int:
    """Creates the votes database (or checks an existing one) and switches it to WAL mode.

    Args:
        path: the SQLite file; created with its folder when missing, appended to otherwise.

    Returns:
        The number of votes already in it.

    Raises:
        UserError: ``path`` is a folder, not an SQLite file, or holds another ``votes`` table.
    """
    if os.path.isdir(path):
        raise UserError(f"{path}: is a folder; --votes names the SQLite file of the votes")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    try:
        with _connect(path) as conn:
            _check_table(conn, path)
            conn.execute("PRAGMA journal_mode = WAL")
            for statement in _SCHEMA:
                conn.execute(statement)
            return int(conn.execute("SELECT COUNT(*) FROM votes").fetchone()[0])
    except sqlite3.DatabaseError as e:
        raise UserError(f"{path}: not a votes database ({e}); name another --votes file") from e


def add_vote(
    path: str, voter: str, image_id: str, method: str, score: int, time: str | None = None
) -> int:
    """Appends one vote in its own transaction.

    Args:
        path: the database (after :func:`init_db`).
        voter: the voter's id.
        image_id: the image's id.
        method: the method folder.
        score: 1–5.
        time: ISO 8601 UTC (default: now).

    Returns:
        The new row's id.

    Raises:
        ValueError: a score outside 1–5.
        DuplicateVote: this voter has already scored this (image, method).
    """
    score = check_score(score)
    row = (voter, image_id, method, score, time or utc_now())
    with _connect(path) as conn:
        try:
            # BEGIN IMMEDIATE takes the write lock up front: a busy database waits (busy
            # timeout) here instead of failing later on a lock upgrade.
            conn.execute("BEGIN IMMEDIATE")
            cur = conn.execute(
                "INSERT INTO votes (voter, image_id, method, score, time) VALUES (?, ?, ?, ?, ?)",
                row,
            )
            conn.execute("COMMIT")
        except sqlite3.IntegrityError as e:
            conn.execute("ROLLBACK")
            if "UNIQUE" in str(e):
                raise DuplicateVote(f"{voter} has already scored {image_id}/{method}") from e
            raise
        return int(cur.lastrowid)


def read_votes(path: str, voter: str | None = None) -> list[Vote]:
    """Every vote (or one voter's), in insertion order.

    Raises:
        UserError: no such file, or not a votes database.
    """
    if not os.path.isfile(path):
        raise UserError(f"{path}: no such votes database")
    query = "SELECT voter, image_id, method, score, time, id FROM votes"
    args: tuple = ()
    if voter is not None:
        query, args = query + " WHERE voter = ?", (voter,)
    try:
        with _connect(path) as conn:
            rows = conn.execute(query + " ORDER BY id", args).fetchall()
    except sqlite3.DatabaseError as e:
        raise UserError(f"{path}: not a votes database ({e})") from e
    return [Vote(*row) for row in rows]


def voted_items(path: str, voter: str) -> set[tuple[str, str]]:
    """The ``(image_id, method)`` pairs ``voter`` has scored (from the database, so a restarted
    app, or another app process on the same file, knows them too)."""
    with _connect(path) as conn:
        rows = conn.execute("SELECT image_id, method FROM votes WHERE voter = ?", (voter,))
        return {(image_id, method) for image_id, method in rows}
