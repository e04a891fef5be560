"""A real headless browser for tests and scripts: Debian's Chromium driven by Playwright.

Example:
    >>> from keras_pggan.testing.browser import open_browser
    >>> with open_browser() as browser:                      # doctest: +SKIP
    ...     page = browser.new_page()
    ...     page.goto(server.url)

Nothing here downloads a browser: :func:`chromium_path` finds an installed Chromium
(``$KERAS_PGGAN_CHROMIUM``, then ``chromium``, ``chromium-browser``, ``google-chrome`` on the
PATH; Debian: ``apt-get install chromium``) and Playwright launches it with ``executable_path``
(``playwright install`` is never run). :func:`require_chromium` is the tests' rule: without a
Chromium the browser tests skip with the reason, except under CI (env ``CI`` set), where they
fail, because CI must run them; :func:`require_litertjs` is the same rule for the LiteRT.js
runtime that the in-browser build copies (``npm ci`` installs it). :func:`save_artifact` keeps
screenshots: in the test's folder and, when ``$KERAS_PGGAN_TEST_ARTIFACTS`` names a folder, a copy
there (``.ci/run`` sets it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Sequence

CHROMIUM_ENV = "KERAS_PGGAN_CHROMIUM"
ARTIFACTS_ENV = "KERAS_PGGAN_TEST_ARTIFACTS"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = "apt-get install chromium (Debian) and pip install playwright"
# Flags for a headless Chromium in containers and CI: no sandbox when running as root, no
# /dev/shm use (small in containers), and no network features that would call out to Google.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-domain-reliability",
    "--metrics-recording-only",
)


def chromium_path() -> str | None:
    """The path of an installed Chromium, or None when there is none."""
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        return named if os.access(named, os.X_OK) else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def playwright_available() -> bool:
    """Whether the ``playwright`` package (the Python driver, not a browser) is importable."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def missing_reason() -> str | None:
    """Why no browser test can run here (None when Chromium and Playwright are both there)."""
    if chromium_path() is None:
        return f"no Chromium found ({', '.join(CHROMIUM_NAMES)} or ${CHROMIUM_ENV}): {INSTALL_HINT}"
    if not playwright_available():
        return f"the playwright package is not installed: {INSTALL_HINT}"
    return None


def require_chromium() -> str:
    """The Chromium path for a test; skips the test without one, fails it under CI.

    Returns:
        The Chromium executable's path.

    Raises:
        pytest.skip.Exception: no Chromium or Playwright, outside CI.
        pytest.fail.Exception: the same under CI (env ``CI`` set).
    """
    import pytest

    reason = missing_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests, but {reason}")
        pytest.skip(reason)
    return chromium_path()


def require_litertjs() -> str:
    """The ``node_modules`` folder holding the pinned LiteRT.js, for a test of the web build.

    Skips the test when ``npm ci`` has not been run, except under CI (env ``CI``), where it fails.

    Returns:
        The folder (:func:`keras_pggan.export.web.find_runtime` found the runtime there).
    """
    import pytest

    from keras_pggan.errors import UserError
    from keras_pggan.export import web

    try:
        runtime = web.find_runtime()
    except UserError as e:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the web build's tests, but {e}")
        pytest.skip(str(e))
    return os.path.dirname(os.path.dirname(runtime.core))


@contextlib.contextmanager
def open_browser(
    executable: str | None = None, headless: bool = True, args: Sequence[str] | None = None
) -> Iterator:
    """Launches Chromium through Playwright and closes it on exit.

    Args:
        executable: the Chromium to run (default: :func:`chromium_path`).
        headless: run without a window.
        args: Chromium's flags (default: :data:`CHROMIUM_ARGS`; a benchmark that wants WebGPU
            passes them without ``--disable-gpu``).

    Yields:
        A ``playwright.sync_api.Browser``.

    Raises:
        RuntimeError: no Chromium or no Playwright (with the install hint).
    """
    path = executable or chromium_path()
    reason = missing_reason() if executable is None else None
    if path is None or reason is not None:
        raise RuntimeError(reason or f"no Chromium: {INSTALL_HINT}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=path,
            headless=headless,
            args=list(CHROMIUM_ARGS if args is None else args),
        )
        try:
            yield browser
        finally:
            browser.close()


def is_local_url(url: str) -> bool:
    """Whether a URL the page requested stays on this machine (127.0.0.1 / localhost) or is
    inline (``data:``, ``blob:``, ``about:``)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname in (
        "127.0.0.1",
        "localhost",
        "::1",
    )


def save_artifact(path: str) -> str | None:
    """Copies a test artefact (a screenshot) to ``$KERAS_PGGAN_TEST_ARTIFACTS`` when set.

    Args:
        path: the file, already written (e.g. under pytest's ``tmp_path``).

    Returns:
        The copy's path, or None when the variable is not set.
    """
    folder = os.environ.get(ARTIFACTS_ENV)
    if not folder:
        return None
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, os.path.basename(path))
    shutil.copyfile(path, target)
    return target
