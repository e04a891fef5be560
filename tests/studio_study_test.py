"""The perceptual study app over HTTP: concurrent voters, the report on their votes, blindness,
refusals that leave the app serving, each voter's subset and order, and the study folder checks."""

import contextlib
import http.client
import io
import json
import os
import statistics
import threading
import time
import urllib.parse

import numpy as np
import pytest
import requests
from PIL import Image

from keras_pggan.errors import UserError
from keras_pggan.studio import votes
from keras_pggan.studio.__main__ import main as studio_main
from keras_pggan.studio.study import create_study_app, find_items
from keras_pggan.studio.web import BackgroundServer

# Distinctive names: none of them may ever reach the browser.
BASE = {"original": 5, "pggan_secret_method": 4, "baseline_hidden_xyz": 2}
LEVEL = {"original": 240, "pggan_secret_method": 150, "baseline_hidden_xyz": 60}
IDS = [f"photo_secret_{i:02d}" for i in range(10)]
T_975_DF19 = 2.093024054408263  # Student's t, 97.5 % quantile, 19 degrees of freedom (tables)


def make_items(root, methods=BASE, ids=IDS, size=16):
    """One folder per method; red = the method's level, green = 20 × the image's index."""
    for m in methods:
        os.makedirs(root / m, exist_ok=True)
        for i, image_id in enumerate(ids):
            a = np.zeros((size, size, 3), np.uint8)
            a[..., 0], a[..., 1] = LEVEL.get(m, 100), 20 * i
            Image.fromarray(a).save(root / m / f"{image_id}.png")
    return str(root)


def looks(png: bytes) -> tuple[str, int]:
    """What a simulated voter sees: (method, image index) decoded from the pixels."""
    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    method = min(LEVEL, key=lambda m: abs(LEVEL[m] - a[..., 0].mean()))
    return method, int(round(a[..., 1].mean() / 20))


RULES = {
    "A": lambda method, i: min(5, max(1, BASE[method] + i % 3 - 1)),
    "B": lambda method, i: max(1, BASE[method] - i % 2),
}


def expected_score(voter_rule, image_id, method):
    return RULES[voter_rule](method, IDS.index(image_id))


@pytest.fixture
def items(tmp_path):
    return make_items(tmp_path / "items")


def simulate(url, rule, log, barrier=None):
    """A voter with its own HTTP client: opens the page, then scores until finished."""
    s = requests.Session()
    assert s.get(url + "/").status_code == 200
    if barrier is not None:
        barrier.wait()
    state = s.get(url + "/api/next").json()
    while not state["finished"]:
        image = s.get(url + state["image"])
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        score = RULES[rule](*looks(image.content))
        answer = s.post(url + "/api/vote", json={"token": state["token"], "score": score})
        assert answer.status_code == 200, answer.text
        log.append((rule, answer))
        state = answer.json()
    return s.cookies["study_voter"]


def test_two_concurrent_voters_and_the_report_equal_the_inserted_votes(items, tmp_path):
    db = str(tmp_path / "votes.db")
    app = create_study_app(items, votes_path=db, seed=0)
    log, voter_ids, errors = [], {}, []
    barrier = threading.Barrier(2)

    def run(rule):
        try:
            voter_ids[rule] = simulate(server.url, rule, log, barrier)
        except Exception as e:  # noqa: BLE001 - re-raised below, in the test's thread
            errors.append(e)

    with BackgroundServer(app) as server:
        threads = [threading.Thread(target=run, args=(r,)) for r in RULES]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not errors, errors
    assert len(log) == 60 and voter_ids["A"] != voter_ids["B"]

    rows = votes.read_votes(db)
    assert len(rows) == 60
    rule_of = {v: r for r, v in voter_ids.items()}
    for rule, voter in voter_ids.items():
        own = [(r.image_id, r.method) for r in rows if r.voter == voter]
        assert len(own) == len(set(own)) == 30, rule  # every item once
    # The image a voter was served is the (image, method) its vote was recorded under.
    for r in rows:
        assert r.score == expected_score(rule_of[r.voter], r.image_id, r.method), r

    # The report, by hand: 20 votes per method, t interval with 19 degrees of freedom.
    out = tmp_path / "report"
    # (stdout redirected by hand: pytest's capsys around a uvicorn start breaks capturing once
    # TensorFlow's absl log handler exists, since uvicorn's logging setup closes it.)
    with contextlib.redirect_stdout(io.StringIO()) as printed_io:
        assert studio_main(["report", db, "--out", str(out)]) == 0
    printed = printed_io.getvalue()
    result = json.loads((out / "report.json").read_text())
    assert (result["votes"], result["voters"]) == (60, 2)
    assert list(result["methods"]) == ["original", "baseline_hidden_xyz", "pggan_secret_method"]
    for method, got in result["methods"].items():
        scores = [RULES[r](method, i) for r in RULES for i in range(10)]
        mean = sum(scores) / 20
        sd = statistics.stdev(scores)
        half = T_975_DF19 * sd / 20**0.5
        assert (got["n"], got["voters"], got["images"]) == (20, 2, 10)
        assert got["mean"] == pytest.approx(mean, abs=1e-12)
        assert got["sd"] == pytest.approx(sd, abs=1e-12)
        assert got["ci95_low"] == pytest.approx(mean - half, abs=1e-9)
        assert got["ci95_high"] == pytest.approx(mean + half, abs=1e-9)
        assert f"{mean:.2f}" in printed and method in printed
    with Image.open(out / "perceptual.png") as im:
        assert im.format == "PNG" and im.width >= 420


def _texts(response) -> list[str]:
    """Everything of a response the browser gets: status line, headers and body."""
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    body = response.content.decode("latin-1")
    return [response.url, headers, body]


def test_nothing_sent_to_the_browser_names_a_method_or_a_file(items, tmp_path):
    db = str(tmp_path / "votes.db")
    app = create_study_app(items, votes_path=db, seed=1)
    forbidden = [*BASE, *IDS, ".png", "photo_secret", items, os.path.basename(db)]
    seen = []
    with BackgroundServer(app) as server:
        s = requests.Session()
        for path in ("/", "/static/study.js", "/static/study.css", "/api/next"):
            r = s.get(server.url + path)
            assert r.status_code == 200, path
            seen.append(r)
        for _ in range(len(BASE) * len(IDS)):
            state = seen[-1].json()
            if state["finished"]:
                break
            assert set(state) == {"done", "total", "finished", "token", "image"}
            seen.append(s.get(server.url + state["image"]))
            assert "content-disposition" not in seen[-1].headers
            seen.append(
                s.post(server.url + "/api/vote", json={"token": state["token"], "score": 3})
            )
        assert seen[-1].json()["finished"]
        # Refusals are blind too.
        seen.append(s.post(server.url + "/api/vote", json={"token": "nope", "score": 3}))
        seen.append(s.get(server.url + "/item/nope"))
    assert len(votes.read_votes(db)) == 30
    for response in seen:
        for text in _texts(response):
            for word in forbidden:
                assert word not in text, (word, response.url)


def test_bad_requests_get_4xx_and_a_crash_leaves_the_app_serving(items, tmp_path):
    app = create_study_app(items, votes_path=str(tmp_path / "votes.db"), seed=2)
    study = app.state.study
    with BackgroundServer(app) as server:
        url = server.url
        s = requests.Session()
        s.get(url + "/")
        state = s.get(url + "/api/next").json()
        token = state["token"]
        other = next(t for t in study.by_token if t != token)
        cases = [
            ({"token": "no-such-token", "score": 3}, 404),
            ({"token": token, "score": 0}, 400),
            ({"token": token, "score": 6}, 400),
            ({"token": token, "score": "3"}, 400),
            ({"token": token, "score": 3.5}, 400),
            ({"token": token, "score": True}, 400),
            ({"token": token}, 400),
            ({"token": other, "score": 3}, 409),  # not the photo shown to this voter
            ([1, 2], 400),
        ]
        for body, status in cases:
            r = s.post(url + "/api/vote", json=body)
            assert r.status_code == status, (body, r.text)
            assert r.json()["error"]
        r = s.post(url + "/api/vote", data=b"{not json", headers={"content-type": "text/plain"})
        assert r.status_code == 400
        assert requests.get(url + "/api/next").status_code == 400  # no cookie, no ?voter=
        assert requests.get(url + "/api/next", params={"voter": "../x y"}).status_code == 400
        assert s.get(url + "/static/study.html").status_code == 404
        assert s.get(url + "/static/..%2fstudy.py").status_code == 404

        # A file that went away after the start: that request fails (500), the app goes on.
        gone = study.by_token[token].path
        os.remove(gone)
        r = s.get(url + state["image"])
        assert r.status_code == 500 and os.path.basename(gone) not in r.text
        original_state = study.state
        study.state = lambda voter: 1 / 0  # any bug in a request
        r = s.get(url + "/api/next")
        assert r.status_code == 500 and "keeps running" in r.json()["error"]
        study.state = original_state
        assert s.get(url + "/api/next").json()["token"] == token
        assert s.post(url + "/api/vote", json={"token": token, "score": 5}).status_code == 200
    assert [v.score for v in votes.read_votes(str(tmp_path / "votes.db"))] == [5]


def test_a_crash_answers_500_and_keeps_the_keep_alive_connection_open(items, tmp_path):
    # A browser or requests.Session reuses its connection: a request that raised must not make
    # the server close it (CI once failed with "Connection reset by peer" on the next request).
    app = create_study_app(items, votes_path=str(tmp_path / "votes.db"), seed=2)
    app.state.study.state = lambda voter: 1 / 0
    with BackgroundServer(app) as server:
        where = urllib.parse.urlsplit(server.url)
        conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
        try:
            for _ in range(3):
                conn.request("GET", "/api/next?voter=alice")
                r = conn.getresponse()
                body = json.loads(r.read())
                assert r.status == 500 and "keeps running" in body["error"]
                assert (r.getheader("connection") or "").lower() != "close"
                time.sleep(0.3)  # time enough for a server that closes it to do so
        finally:
            conn.close()


def test_each_voter_gets_a_random_subset_once_and_a_restart_keeps_it(items, tmp_path):
    db = str(tmp_path / "votes.db")
    app = create_study_app(items, votes_path=db, per_voter=4, seed=3)
    study = app.state.study
    orders = {}
    with BackgroundServer(app) as server:
        for voter in ("alice", "bob"):
            params = {"voter": voter}
            seen = []
            for _ in range(4):
                state = requests.get(server.url + "/api/next", params=params).json()
                assert (state["done"], state["total"]) == (len(seen), 4)
                item = study.by_token[state["token"]]
                seen.append((item.image_id, item.method))
                body = {"token": state["token"], "score": 4}
                requests.post(server.url + "/api/vote", params=params, json=body).raise_for_status()
            assert requests.get(server.url + "/api/next", params=params).json()["finished"]
            orders[voter] = seen
        r = requests.post(server.url + "/api/vote", params={"voter": "alice"}, json=body)
        assert r.status_code == 409
    assert orders["alice"] != orders["bob"]  # a random order (and subset) each
    # Restarted with the same votes file: the votes are kept and appended to, and alice is done.
    app2 = create_study_app(items, votes_path=db, per_voter=5)
    assert app2.state.study.votes_before == 8
    state = app2.state.study.state("alice")
    assert (state["done"], state["total"], state["finished"]) == (4, 5, False)
    item = app2.state.study.by_token[state["token"]]
    assert (item.image_id, item.method) not in orders["alice"]


def test_the_study_folder_is_checked(tmp_path):
    root = tmp_path / "items"
    make_items(root, [*BASE, "masked"], ids=IDS[:3])
    methods, ids, paths = find_items(str(root))
    # original first, then sorted; masked only when named
    assert methods == ["original", "baseline_hidden_xyz", "pggan_secret_method"]
    assert ids == IDS[:3] and len(paths) == 9
    assert find_items(str(root), ["masked", "original"])[0] == ["masked", "original"]
    with pytest.raises(UserError, match=r"has no folder \['nope'\]"):
        find_items(str(root), ["original", "nope"])
    os.remove(root / "pggan_secret_method" / f"{IDS[1]}.png")
    with pytest.raises(UserError, match=rf"pggan_secret_method: lacks the image ids {IDS[1]}"):
        find_items(str(root))
    make_items(root, ["pggan_secret_method"], ids=IDS[:3])

    outside = tmp_path / "outside.png"
    Image.new("RGB", (8, 8)).save(outside)
    os.remove(root / "original" / f"{IDS[0]}.png")
    os.symlink(outside, root / "original" / f"{IDS[0]}.png")
    with pytest.raises(UserError, match="outside"):
        find_items(str(root))
    os.remove(root / "original" / f"{IDS[0]}.png")
    os.symlink(tmp_path, root / "linked_out")
    with pytest.raises(UserError, match="outside"):
        find_items(str(root), ["linked_out"])
    with pytest.raises(UserError, match="no such folder"):
        find_items(str(tmp_path / "missing"))


def test_cli_refuses_bad_input_with_exit_2(tmp_path, capsys):
    def main(argv):
        return studio_main(["study", *argv])

    assert main(["--images", str(tmp_path / "missing"), "--votes", str(tmp_path / "v.db")]) == 2
    assert "no such folder" in capsys.readouterr().err
    root = make_items(tmp_path / "items", ids=IDS[:2])
    not_db = tmp_path / "notes.txt"
    not_db.write_text("my notes\n")
    assert main(["--images", root, "--votes", str(not_db)]) == 2
    assert "not a votes database" in capsys.readouterr().err
    assert not_db.read_text() == "my notes\n"  # untouched
    assert main(["--images", root, "--votes", str(tmp_path / "v.db"), "--per-voter", "0"]) == 2
    assert main(["--help"]) == 0 and "--per-voter" in capsys.readouterr().out
