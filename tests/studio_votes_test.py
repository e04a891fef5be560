"""The votes database: schema and WAL mode, refusals, and several processes writing at once."""

import os
import sqlite3
import subprocess
import sys

import pytest

from keras_pggan.errors import UserError
from keras_pggan.studio import votes


def test_schema_wal_and_one_row_per_vote(tmp_path):
    db = str(tmp_path / "sub" / "votes.db")
    assert votes.init_db(db) == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = [r[1] for r in conn.execute("PRAGMA table_info(votes)")]
        assert columns == ["id", "voter", "image_id", "method", "score", "time"]
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute(
                "INSERT INTO votes (voter, image_id, method, score, time) "
                "VALUES ('a', '1', 'm', 6, 't')"
            )
    row_id = votes.add_vote(db, "v1", "00001", "pggan", 4)
    (vote,) = votes.read_votes(db)
    assert (vote.id, vote.voter, vote.image_id, vote.method, vote.score) == (
        row_id,
        "v1",
        "00001",
        "pggan",
        4,
    )
    assert vote.time.endswith("+00:00") and "T" in vote.time  # ISO 8601, UTC
    with pytest.raises(votes.DuplicateVote):
        votes.add_vote(db, "v1", "00001", "pggan", 2)
    for bad in (0, 6, 2.5, "3", True, None):
        with pytest.raises(ValueError, match="score must be an integer 1-5"):
            votes.add_vote(db, "v1", "00002", "pggan", bad)
    assert votes.voted_items(db, "v1") == {("00001", "pggan")}
    assert votes.init_db(db) == 1  # an existing file is appended to, never replaced
    assert len(votes.read_votes(db)) == 1


def test_files_that_are_not_a_votes_database_are_refused_untouched(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_bytes(b"not sqlite at all " * 100)
    with pytest.raises(UserError, match="not a votes database"):
        votes.init_db(str(text))
    assert text.read_bytes() == b"not sqlite at all " * 100
    other = str(tmp_path / "other.db")
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE photos (name TEXT)")
    with pytest.raises(UserError, match="of something else"):
        votes.init_db(other)
    with sqlite3.connect(str(tmp_path / "wrong.db")) as conn:
        conn.execute("CREATE TABLE votes (who TEXT, score INTEGER)")
    with pytest.raises(UserError, match="not a study's"):
        votes.init_db(str(tmp_path / "wrong.db"))
    with pytest.raises(UserError, match="is a folder"):
        votes.init_db(str(tmp_path))
    with pytest.raises(UserError, match="no such votes database"):
        votes.read_votes(str(tmp_path / "missing.db"))
    assert not os.path.exists(tmp_path / "missing.db")


WRITER = """
import sys
from keras_pggan.studio import votes
db, name = sys.argv[1], sys.argv[2]
for i in range(60):
    votes.add_vote(db, name, f"{i:05d}", "m" + str(i % 3), 1 + i % 5)
"""


def test_several_processes_vote_at_once(tmp_path):
    db = str(tmp_path / "votes.db")
    votes.init_db(db)
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, db, f"p{k}"], stderr=subprocess.PIPE)
        for k in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    rows = votes.read_votes(db)
    assert len(rows) == 180 and len({r.id for r in rows}) == 180
    for k in range(3):
        own = [r for r in rows if r.voter == f"p{k}"]
        assert [r.score for r in own] == [1 + i % 5 for i in range(60)]
