"""The perceptual study page in a real headless Chromium (Debian's ``chromium``, Playwright).

A voter's session: open the page, score photos by clicking the buttons and with the keyboard
until the set is done; the rows in SQLite must be this voter's clicks, and nothing the browser
got (page HTML after each step, every URL it requested, every response body and header) may
name a method or a source file. Screenshots are test artefacts.

Without Chromium or Playwright the test skips with the reason, except under CI (env ``CI``):
there it fails (keras_pggan.testing.browser.require_chromium).
"""

import os

import numpy as np
import pytest
from PIL import Image

from keras_pggan.testing import browser as browser_lib

pytestmark = pytest.mark.browser

METHODS = ("original", "pggan_secret_method", "baseline_hidden_xyz")
IDS = ("photo_secret_a", "photo_secret_b", "photo_secret_c")
CLICKS = (5, 2, 4)  # then one vote with the keyboard: 3


@pytest.fixture
def study_folder(tmp_path):
    rng = np.random.default_rng(0)
    for m in METHODS:
        os.makedirs(tmp_path / "items" / m)
        for image_id in IDS:
            a = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
            Image.fromarray(a).save(tmp_path / "items" / m / f"{image_id}.png")
    return str(tmp_path / "items")


def screenshot(page, tmp_path, name):
    path = str(tmp_path / name)
    page.screenshot(path=path)
    browser_lib.save_artifact(path)


def test_a_voter_scores_by_clicking_and_the_page_stays_blind(study_folder, tmp_path):
    chromium = browser_lib.require_chromium()
    from playwright.sync_api import expect

    from keras_pggan.studio import votes
    from keras_pggan.studio.study import create_study_app
    from keras_pggan.studio.web import BackgroundServer

    db = str(tmp_path / "votes.db")
    app = create_study_app(study_folder, votes_path=db, per_voter=4, seed=0)
    forbidden = [*METHODS, *IDS, ".png", study_folder]
    urls, responses, errors, pages = [], [], [], []
    with BackgroundServer(app) as server, browser_lib.open_browser(chromium) as browser:
        page = browser.new_page()
        page.on("request", lambda r: urls.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))

        page.on("response", lambda r: responses.append(r))
        page.goto(server.url)
        for i, score in enumerate([*CLICKS, 3]):
            page.wait_for_selector("body[data-state=ready]")
            assert page.inner_text("#progress") == f"{i} / 4"
            pages.append(page.content())
            if i == 0:
                screenshot(page, tmp_path, "study_page.png")
            if i < len(CLICKS):
                page.click(f"#scores button[data-score='{score}']")
            else:
                page.keyboard.press(str(score))
            if i < 3:  # (expect, not wait_for_function: the page's CSP forbids eval)
                expect(page.locator("#progress")).to_have_text(f"{i + 1} / 4")
        page.wait_for_selector("#finished:not([hidden])")
        pages.append(page.content())
        screenshot(page, tmp_path, "study_finished.png")
        bodies = []
        for response in responses:
            text = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
            if not response.headers.get("content-type", "").startswith("image/"):
                text += "\n" + response.body().decode("utf-8")  # (PNG bytes: headers only)
            bodies.append(text)
        voter = next(c["value"] for c in page.context.cookies() if c["name"] == "study_voter")
        page.close()

    assert not errors, errors
    rows = votes.read_votes(db)
    assert [r.score for r in rows] == [*CLICKS, 3]
    assert {r.voter for r in rows} == {voter}
    assert len({(r.image_id, r.method) for r in rows}) == 4
    assert all(browser_lib.is_local_url(u) for u in urls), urls
    assert sum("/item/" in u for u in urls) >= 4
    for text in [*pages, *urls, *bodies]:
        for word in forbidden:
            assert word not in text, word
