"""The blind perceptual study: voters score the naturalness of real and inpainted photos, 1–5.

Example:
    python -m keras_pggan.evaluate --compare pggan=runs/a/generator.keras --data photos/val \\
        --mask-kind center --size 256 --out eval/x --save-outputs
    python -m keras_pggan.studio study --images eval/x/outputs --per-voter 40
    python -m keras_pggan.studio report votes.db --out study_report

Like the paper's perceptual study, each voter sees photos one at a time, in a random order of
their own, and scores how natural each looks; some photos are real (the ``original`` folder),
the others are the outputs of the methods compared. ``--images DIR`` holds one folder per method
with the same image ids in each (``DIR/<method>/<id>.png``, what ``evaluate --save-outputs``
writes); ``masked/`` is left out unless ``--methods`` names it.

Blind by construction: the server keeps the ``(image, method) → token`` map (random tokens, new
at each start); the page gets ``/item/<token>`` URLs and posts ``{"token", "score"}``; no page,
URL, JSON answer or header carries a method or file name, and images are re-encoded as plain
PNGs (no metadata, the same encoder for every method). The voter id is a random uuid in a cookie
(or ``?voter=NAME`` for scripted voters); a voter can only score the image they were shown and
scores each ``(image, method)`` at most once, also across restarts (the votes database is the
state). ``--per-voter N`` gives each voter a random subset of N items.

Votes go to ``--votes`` (default ``votes.db`` in the current folder), an SQLite file that is
created when missing and appended to when it exists (a study runs over several sessions;
:mod:`~keras_pggan.studio.votes`). The app binds 127.0.0.1 unless ``--host`` says otherwise,
serves no file but the study's images (resolved paths inside ``DIR``: links out of it are
refused) and its own page, and answers a failing request with a 500 without stopping.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' ``Request`` annotations at
# run time, and ``Request`` is imported inside create_study_app (FastAPI loads only when used).
import dataclasses
import io
import os
import random
import re
import secrets
import sys
import threading
import uuid
from collections.abc import Sequence

from keras_pggan.errors import UserError
from keras_pggan.io_utils import is_inside
from keras_pggan.studio import votes as votes_lib
from keras_pggan.studio.web import answer_internal_errors

DEFAULT_PORT = 7861
ORIGINAL, MASKED = "original", "masked"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
VOTER_COOKIE = "study_voter"
_VOTER_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
STATIC_FILES = {"study.js": "text/javascript", "study.css": "text/css"}
# The page loads only its own script, style and images; no frame, no other origin.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class StudyError(Exception):
    """A refused request: an HTTP status and a sentence for the page (never a method name)."""

    def __init__(self, status_code: int, message: str):
        super().__init__(message)
        self.status_code = status_code


@dataclasses.dataclass(frozen=True)
class StudyItem:
    """One image of one method; ``token`` is all the page ever sees of it."""

    token: str
    image_id: str
    method: str
    path: str


def _list_images(folder: str, root: str) -> dict[str, str]:
    """``{image id: real path}`` of a method folder's images, all inside ``root``."""
    found: dict[str, str] = {}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        stem, ext = os.path.splitext(entry.name)
        if entry.name.startswith(".") or ext.lower() not in IMAGE_EXTENSIONS:
            continue
        real = os.path.realpath(entry.path)
        if not is_inside(real, root):
            raise UserError(f"{entry.path}: links to {real}, outside {root}; refusing to serve it")
        if not os.path.isfile(real):
            continue
        if stem in found:
            raise UserError(f"{folder}: two images have the id {stem!r}; keep one of them")
        found[stem] = real
    return found


def find_items(
    items_dir: str, methods: Sequence[str] | None = None
) -> tuple[list[str], list[str], dict[tuple[str, str], str]]:
    """Reads a study folder: one sub-folder per method, the same image ids in each.

    Args:
        items_dir: the folder (``evaluate --save-outputs``'s ``OUT/outputs``).
        methods: the method folders to use (default: every sub-folder but ``masked``, with
            ``original`` first and the rest sorted).

    Returns:
        ``(methods, image ids, {(image id, method): real path})``.

    Raises:
        UserError: no such folder, a missing method folder, a folder linking outside
            ``items_dir``, no images, or image ids that differ between folders (named).
    """
    if not os.path.isdir(items_dir):
        raise UserError(f"{items_dir}: no such folder (--images)")
    root = os.path.realpath(items_dir)
    present = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    if methods is None:
        methods = [m for m in present if m != MASKED]
        methods = sorted(methods, key=lambda m: (m != ORIGINAL, m))
    methods = list(methods)
    if not methods:
        raise UserError(f"{items_dir}: no method folders (expected e.g. original/, pggan/)")
    if len(set(methods)) != len(methods):
        raise UserError(f"--methods: a method is named twice in {methods}")
    missing = [m for m in methods if m not in present]
    if missing:
        raise UserError(f"--methods: {items_dir} has no folder {missing} (it has {present})")
    images: dict[str, dict[str, str]] = {}
    for method in methods:
        folder = os.path.join(root, method)
        if not is_inside(folder, root) or os.path.realpath(folder) == root:
            raise UserError(f"{folder}: links outside {root}; refusing to serve it")
        images[method] = _list_images(folder, root)
    ids = sorted(set().union(*(set(v) for v in images.values())))
    if not ids:
        raise UserError(f"{items_dir}: no images ({', '.join(IMAGE_EXTENSIONS)}) in {methods}")
    for method in methods:
        lacking = [i for i in ids if i not in images[method]]
        if lacking:
            shown = ", ".join(lacking[:5]) + (
                f" and {len(lacking) - 5} more" if lacking[5:] else ""
            )
            raise UserError(
                f"{os.path.join(items_dir, method)}: lacks the image ids {shown} that other "
                "method folders have; every method folder needs the same image ids"
            )
    paths = {(i, m): images[m][i] for i in ids for m in methods}
    return methods, ids, paths


class Study:
    """The study's state: items, tokens, each voter's order, and the votes database.

    Args:
        items_dir: the study folder (see :func:`find_items`).
        methods: the method folders to use (default: all but ``masked``).
        votes_path: the SQLite file of the votes (created or appended to).
        per_voter: items each voter scores, a random subset (default: all of them).
        seed: seeds every voter's order (default: random at each start).

    Raises:
        UserError: a bad folder (see :func:`find_items`), a bad votes file or ``per_voter``.
    """

    def __init__(
        self,
        items_dir: str,
        methods: Sequence[str] | None,
        votes_path: str,
        per_voter: int | None = None,
        seed: int | None = None,
    ):
        self.root = os.path.realpath(items_dir)
        self.methods, self.image_ids, paths = find_items(items_dir, methods)
        if per_voter is not None and (not isinstance(per_voter, int) or per_voter <= 0):
            raise UserError(f"--per-voter: must be a positive integer, got {per_voter!r}")
        self.per_voter = per_voter
        self.votes_path = votes_path
        self.votes_before = votes_lib.init_db(votes_path)
        self.seed = secrets.randbits(63) if seed is None else int(seed)
        self.items = [
            StudyItem(secrets.token_urlsafe(18), image_id, method, path)
            for (image_id, method), path in paths.items()
        ]
        self.by_token = {item.token: item for item in self.items}
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        """Items each voter scores."""
        return min(self.per_voter or len(self.items), len(self.items))

    def _order(self, voter: str) -> list[StudyItem]:
        # One random order per voter, a pure function of (seed, voter): a reload, a restart with
        # --seed, or a second app process on the same votes file shows the same sequence.
        return random.Random(f"{self.seed}/{voter}").sample(self.items, len(self.items))

    def state(self, voter: str) -> dict:
        """The voter's next item and progress, as the page's JSON (no method or file name)."""
        voted = votes_lib.voted_items(self.votes_path, voter)
        done = sum((item.image_id, item.method) in voted for item in self.items)
        answer: dict = {"done": min(done, self.total), "total": self.total}
        current = self._current(voter, voted, done)
        if current is None:
            answer["finished"] = True
        else:
            answer.update(finished=False, token=current.token, image=f"/item/{current.token}")
        return answer

    def _current(self, voter: str, voted: set, done: int) -> StudyItem | None:
        if done >= self.total:
            return None
        return next(i for i in self._order(voter) if (i.image_id, i.method) not in voted)

    def vote(self, voter: str, token, score) -> dict:
        """Records ``voter``'s score for the item they were shown; returns their next state.

        Raises:
            StudyError: 400 for a bad token or score, 409 for an item that is not the one shown
                (already scored, or the voter has finished).
        """
        if not isinstance(token, str) or token not in self.by_token:
            raise StudyError(404, "Unknown image: reload the page.")
        try:
            score = votes_lib.check_score(score)
        except ValueError:
            raise StudyError(400, "The score must be a whole number from 1 to 5.") from None
        item = self.by_token[token]
        with self._lock:
            voted = votes_lib.voted_items(self.votes_path, voter)
            done = sum((i.image_id, i.method) in voted for i in self.items)
            current = self._current(voter, voted, done)
            if current is None or current.token != token:
                raise StudyError(409, "That is not the photo shown to you now: reload the page.")
            try:
                votes_lib.add_vote(self.votes_path, voter, item.image_id, item.method, score)
            except votes_lib.DuplicateVote:
                raise StudyError(409, "You have scored this photo already.") from None
        return self.state(voter)

    def image_png(self, token: str) -> bytes:
        """The item's image as a fresh PNG (RGB, no metadata: the same encoder for every method).

        Raises:
            StudyError: 404 for an unknown token, 500 for an unreadable file.
        """
        from PIL import Image

        item = self.by_token.get(token)
        if item is None:
            raise StudyError(404, "Unknown image.")
        # Checked again at each request: the file may have been replaced by a link since start.
        real = os.path.realpath(item.path)
        if not is_inside(real, self.root) or not os.path.isfile(real):
            raise StudyError(500, "This image cannot be shown.")
        try:
            with Image.open(real) as im:
                rgb = im.convert("RGB")
            buf = io.BytesIO()
            rgb.save(buf, format="PNG")
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            print(f"study: cannot read {real}: {e}", file=sys.stderr)
            raise StudyError(500, "This image cannot be shown.") from None
        return buf.getvalue()


def _voter_of(request, allow_new: bool = False) -> tuple[str, bool]:
    """(voter id, whether it is new) from ``?voter=`` or the cookie."""
    named = request.query_params.get("voter")
    if named is not None:
        if not _VOTER_RE.match(named):
            raise StudyError(400, "?voter= takes 1-64 letters, digits, '_', '.' or '-'.")
        return named, False
    cookie = request.cookies.get(VOTER_COOKIE)
    if cookie and _VOTER_RE.match(cookie):
        return cookie, False
    if allow_new:
        return uuid.uuid4().hex, True
    raise StudyError(400, "No voter id: open the study page first (it sets a cookie).")


def create_study_app(
    items_dir: str,
    *,
    methods: Sequence[str] | None = None,
    votes_path: str,
    per_voter: int | None = None,
    seed: int | None = None,
):
    """The study's FastAPI app.

    Routes: ``GET /`` (the page; sets the voter cookie), ``GET /static/study.js|study.css``,
    ``GET /api/next`` (``{token, image, done, total, finished}``), ``POST /api/vote``
    (``{"token", "score"}`` → the next state), ``GET /item/<token>`` (PNG).

    Args:
        items_dir: one folder per method, the same image ids in each (:func:`find_items`).
        methods: the method folders to use (default: all but ``masked``).
        votes_path: the SQLite votes file (created, or appended to).
        per_voter: items per voter (a random subset; default all).
        seed: seeds the voters' orders (default: random).

    Returns:
        A ``fastapi.FastAPI``; ``app.state.study`` is the :class:`Study`.

    Raises:
        UserError: a bad study folder, votes file or ``per_voter``.

    Example:
        >>> app = create_study_app("eval/x/outputs", votes_path="votes.db")  # doctest: +SKIP
    """
    from fastapi import FastAPI, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import HTMLResponse, JSONResponse, Response

    study = Study(items_dir, methods, votes_path, per_voter, seed)
    with open(os.path.join(STATIC_DIR, "study.html"), encoding="utf-8") as f:
        page = f.read()
    static = {}
    for name in STATIC_FILES:
        with open(os.path.join(STATIC_DIR, name), encoding="utf-8") as f:
            static[name] = f.read()

    app = FastAPI(title="Perceptual study", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.study = study

    @app.exception_handler(StudyError)
    async def _refused(request, exc: StudyError):
        return JSONResponse({"error": str(exc)}, status_code=exc.status_code, headers=_NO_STORE)

    def _failed(request, exc: Exception):
        # Logged only (by the middleware): the answer names no file or method (the study is blind).
        return JSONResponse(
            {"error": "Internal error; the study keeps running: reload the page."},
            status_code=500,
            headers=_NO_STORE,
        )

    answer_internal_errors(app, _failed)

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request):
        voter, new = _voter_of(request, allow_new=True)
        response = HTMLResponse(page, headers=PAGE_HEADERS)
        if new or request.query_params.get("voter") is not None:
            response.set_cookie(
                VOTER_COOKIE, voter, max_age=365 * 86400, httponly=True, samesite="strict"
            )
        return response

    @app.get("/static/{name}")
    def static_file(name: str):
        if name not in static:
            raise StudyError(404, "Not found.")
        return Response(static[name], media_type=STATIC_FILES[name], headers=PAGE_HEADERS)

    @app.get("/api/next")
    def next_item(request: Request):
        voter, _ = _voter_of(request)
        return JSONResponse(study.state(voter), headers=_NO_STORE)

    @app.post("/api/vote")
    async def vote(request: Request):
        voter, _ = _voter_of(request)
        try:
            body = await request.json()
        except ValueError:
            raise StudyError(400, 'Send JSON: {"token": ..., "score": 1-5}.') from None
        if not isinstance(body, dict):
            raise StudyError(400, 'Send JSON: {"token": ..., "score": 1-5}.')
        state = await run_in_threadpool(study.vote, voter, body.get("token"), body.get("score"))
        return JSONResponse(state, headers=_NO_STORE)

    @app.get("/item/{token}")
    def item(token: str):
        png = study.image_png(token)
        headers = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}
        return Response(png, media_type="image/png", headers=headers)

    return app


_NO_STORE = {"Cache-Control": "no-store"}
