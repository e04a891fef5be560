"""The shell commands of README.md and docs/*.md run as written in a fresh clone, which stays clean.

Every line of the ```bash / ```sh / ```console blocks (``\\`` continuations joined, comments and
``$ `` prompts dropped) must match a rule of ``RULES``: run it, or skip it with a reason. A new
docs command that matches no rule fails the test, so each one gets classified. A line is a command
as written, not a synopsis: optional flags go in a comment (``# options: [--overwrite]``).

The large test clones this repository's HEAD (uncommitted changes are not in it), writes the
inputs the commands name and a fresh clone lacks (``runs/x/generator.keras``, ``photo.jpg``,
``mask.png``, ...: the user's files, so they are listed in the clone's ``.git/info/exclude``), and
runs the commands in documentation order with ``python`` = this interpreter and the clone first on
``PYTHONPATH``. Each command is an independent example: what it creates is removed after it ran,
unless its rule keeps it for later commands (the eval mask set, ``request.json``); a command
repeated word for word runs once. The local server (``serving serve``) runs in the background for
the commands that talk to it. After every command ``git status`` may show nothing new, and at the
end the clone's ``git status --porcelain`` must be empty.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import smooth_photo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = ["README.md", *sorted(os.path.relpath(p, ROOT) for p in glob.glob(f"{ROOT}/docs/*.md"))]
SHELL_FENCES = ("bash", "sh", "shell", "console")
TIMEOUT_S = 120
# A TensorFlow C++ log record at ERROR or FATAL level ("E0000 00:00:17... file.cc:12] ...").
NATIVE_ERROR = re.compile(r"^[EF]\d{4} [\d:.]+ +\d+ [\w./+-]+:\d+\] ")

# First match wins (re.search on the joined command). "run": run it, then remove what it created;
# "keep": run it and keep its outputs for the commands after it; "serve": start it in the
# background until the end; "skip: why".
RULES: dict[str, str] = {
    r"--write-results\b": "skip: refreshes committed results (bench/results/)",
    r"^python3(\.\d+)? -m venv\b": "skip: creates a venv and pip-installs (network, minutes)",
    r"^pytest\b": "skip: the test suite itself (minutes; CI runs it)",
    r"^python -m keras_pggan\.train --preset tiny\b(?!.*--profile)": "run",
    r"^python -m keras_pggan\.train\b": "skip: training (minutes to hours on CPU)",
    r"^tensorboard\b": "skip: a long-running web server",
    r"^python -m keras_pggan\.data make-tfrecords /": "skip: the user's data sets (/photos, /data)",
    r"^python -m keras_pggan\.masks make-eval-set\b": "keep",  # evaluate --masks masks/ff256
    r"^python -m keras_pggan\.(inpaint|evaluate)\b": "run",
    r"^python -m keras_pggan\.export (saved-model|tflite)\b": "run",
    r"^docker run --gpus all\b": "skip: Docker with an NVIDIA GPU (docs/gpu.md)",
    r"^docker\b": "skip: Docker (pulls the tensorflow/serving image)",
    r"^python -m keras_pggan\.serving serve\b": "serve",
    r"^python -m keras_pggan\.serving (predict|metadata)\b": "run",
    r"^curl (-s )?localhost:8501/v1/models/\w+(/metadata)?$": "run",
    r"^printf .*> request\.json$": "keep",  # the request body for the next curl
    r"^curl -s -X POST .* -o response\.json$": "keep",  # the response for the next line
    r"^python -c \"import base64, json; open\('out\.png'": "run",
    r"^python scripts/(ablation|paper_table(_512)?)\.py\b": "skip: trains several models (hours)",
    r"^python -m bench\.tflite\b": "skip: benchmark (minutes; default photos in ../shared)",
    # docs/studio.md, README: the in-browser build (tests/web_export_test.py, web_browser_test.py).
    r"^npm ci$": "skip: installs LiteRT.js from the npm registry (network; .ci/run runs it)",
    r"^python -m keras_pggan\.export web\b": "skip: needs `npm ci` (tests/web_export_test.py)",
    r"^python -m http\.server\b": "skip: a long-running web server (web_browser_test)",
    r"^python -m bench\.web\b": "skip: benchmark (minutes; headless Chromium)",
    # docs/gpu.md: lines for a machine with an NVIDIA GPU, a cluster, or minutes of benchmarks.
    r"^nvidia-smi\b": "skip: needs an NVIDIA GPU and its driver",
    r"^python -c \"import tensorflow as tf; print\(tf\.config\.list_physical_devices\(": (
        "run"  # prints [] here: no GPU
    ),
    r"^TF_CONFIG=\S.* python -m keras_pggan\.train\b": "skip: multi-worker training on two hosts",
    r"^sbatch\b": "skip: a Slurm cluster",
    r"^python -m bench\.(train_step|input_pipeline)\b": "skip: benchmark (minutes; for a GPU)",
    r"^(\w+=\S+ )*bash scripts/gpu_check\.sh\b": (
        "skip: the GPU check (an NVIDIA GPU; --dry-run: minutes of CPU, tests/gpu_check_test.py)"
    ),
    r"^python -m keras_pggan\.studio study\b": "skip: a long-running web server (study tests)",
    r"^python -m keras_pggan\.studio report\b": "skip: needs the votes of a study (report tests)",
    r"^python -m keras_pggan\.studio\b": "skip: a long-running web server (studio_browser_test)",
    r"^python scripts/studio_screenshot\.py\b": "skip: headless Chromium (studio_browser_test)",
    r"^python -m keras_pggan\.batch\b": (
        "skip: a batch job over the user's photos, buckets or cluster (tests/batch_test.py)"
    ),
    r"^python -m bench\.batch\b": "skip: benchmark (minutes of CPU)",
    r"^python -m scripts\.score_levers\b": "skip: scores runs outside the clone (V)",
    r"^R=~/\.cache/keras_pggan/runs$": "skip: names the runs' folder outside the clone (no effect)",
    r"^python -m scripts\.training_recipe\b": (
        "skip: recipe runs and their configs go outside the clone (tests/training_recipe_test.py)"
    ),
}


def _strip_comment(line: str) -> str:
    """``line`` without a trailing ``# ...`` comment (a ``#`` outside quotes after a blank)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def shell_commands(path: str) -> list[tuple[int, str]]:
    """``(line, command)`` of each command in the shell blocks of ``path`` (ROOT-relative)."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        lines = f.read().splitlines()
    commands, i = [], 0
    while i < len(lines):
        fence = lines[i].strip()
        i += 1
        if not fence.startswith("```") or fence[3:].strip() not in SHELL_FENCES:
            if fence.startswith("```"):  # another block: skip to its closing fence
                while i < len(lines) and lines[i].strip() != "```":
                    i += 1
                i += 1
            continue
        console = fence[3:].strip() == "console"
        pending, start = "", 0
        while i < len(lines) and lines[i].strip() != "```":
            raw = lines[i].strip()
            i += 1
            if not pending:
                if console:
                    if not raw.startswith("$ "):
                        continue  # output
                    raw = raw[2:]
                elif raw.startswith("$ "):
                    raw = raw[2:]
                start = i
            line = _strip_comment(raw)
            if line.endswith("\\"):
                pending += line[:-1].strip() + " "
                continue
            command = (pending + line).strip()
            pending = ""
            if command:
                commands.append((start, command))
        i += 1
    return commands


def classify(command: str) -> str | None:
    for pattern, action in RULES.items():
        if re.search(pattern, command):
            return action
    return None


COMMANDS = [(path, line, cmd) for path in DOCS for line, cmd in shell_commands(path)]


def test_every_docs_command_is_classified():
    assert len(COMMANDS) >= 20, COMMANDS
    unclassified = [f"{p}:{n}: {c}" for p, n, c in COMMANDS if classify(c) is None]
    assert not unclassified, "add a rule to RULES for:\n" + "\n".join(unclassified)
    for action in RULES.values():
        assert action in ("run", "keep", "serve") or re.match(r"skip: \S", action), action


# -- the clone ------------------------------------------------------------------------------------


def _git(*args, cwd=ROOT) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def _status(clone) -> list[str]:
    return _git("status", "--porcelain", "--ignored=no", cwd=clone).splitlines()


def _files(clone) -> dict[str, tuple[int, int]]:
    """Every path under ``clone`` but .git: ``{relpath: (mtime_ns, size)}`` (folders too)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(clone):
        if dirpath == str(clone):
            dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            out[os.path.relpath(full, clone)] = (st.st_mtime_ns, st.st_size)
    return out


def _remove_new(clone, before: dict) -> None:
    """Removes what was created under ``clone`` since the snapshot ``before``."""
    for rel in sorted(set(_files(clone)) - set(before), key=len):
        full = os.path.join(clone, rel)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full, ignore_errors=True)
        elif os.path.lexists(full):
            os.remove(full)


# The files the commands read that a fresh clone does not have (the user's photos and models).
INPUTS = (
    "photo.jpg",
    "photo.png",
    "mask.png",
    "black_is_hole.png",
    "cutout.png",
    "g-fp32.tflite",
    "photos/",
)


def _prelude(clone) -> None:
    """Writes the inputs of ``INPUTS`` and ``runs/{x,a,b,c}/generator.keras`` into the clone."""
    import keras
    from PIL import Image

    from keras_pggan.config import get_preset
    from keras_pggan.export.tflite import export_tflite
    from keras_pggan.models.generator import build_generator

    keras.utils.set_random_seed(0)
    generator = build_generator(get_preset("tiny").generator)  # PGGAN-DRes shape, tiny
    for run in "xabc":
        os.makedirs(clone / "runs" / run)
        generator.save(str(clone / "runs" / run / "generator.keras"))
    export_tflite(generator, str(clone / "g-fp32.tflite"), num_calibration=2, calibration_size=32)

    h, w = 90, 120
    holes = np.zeros((h, w), bool)
    holes[30:60, 40:80] = True
    photo = smooth_photo(h, w, 0)
    Image.fromarray(photo).save(clone / "photo.jpg", quality=95)
    Image.fromarray(photo).save(clone / "photo.png")
    Image.fromarray(np.where(holes, 255, 0).astype(np.uint8)).save(clone / "mask.png")
    Image.fromarray(np.where(holes, 0, 255).astype(np.uint8)).save(clone / "black_is_hole.png")
    alpha = np.where(holes, 0, 255).astype(np.uint8)[..., None]
    Image.fromarray(np.concatenate([photo, alpha], -1), "RGBA").save(clone / "cutout.png")
    os.makedirs(clone / "photos" / "val")
    Image.fromarray(smooth_photo(h, w, 1)).save(clone / "photos" / "x.jpg", quality=95)
    Image.fromarray(np.where(holes, 255, 0).astype(np.uint8)).save(clone / "photos" / "x_mask.png")
    for i in range(2):  # transparent holes: their own mask in folder mode, plain photos to evaluate
        rgba = np.concatenate([smooth_photo(h, w, 2 + i), alpha], -1)
        Image.fromarray(rgba, "RGBA").save(clone / "photos" / "val" / f"v{i}.png")
    os.makedirs(clone / ".git" / "info", exist_ok=True)
    with open(clone / ".git" / "info" / "exclude", "a", encoding="utf-8") as f:
        f.write("".join(f"/{p}\n" for p in INPUTS))


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _run(command: str, clone, env) -> tuple[int | None, str, float]:
    """Runs ``command`` with bash in ``clone``: ``(exit code or None on timeout, output, s)``."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        ["bash", "-c", command],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return None, out, time.perf_counter() - start
    return proc.returncode, out, time.perf_counter() - start


def _start_server(command: str, clone, env, log_path):
    """Starts ``command`` in the background; returns the process once it printed ``serving``."""
    log = open(log_path, "w+", encoding="utf-8")  # a file: the access log never fills a pipe
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    proc.log = log
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        with open(log_path, encoding="utf-8") as f:
            if any(line.startswith("serving ") for line in f):
                return proc, ""
        time.sleep(0.5)
    _stop(proc)
    with open(log_path, encoding="utf-8") as f:
        return None, f.read()


def _stop(proc) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    proc.log.close()


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    try:
        top = _git("rev-parse", "--show-toplevel").strip()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"{ROOT} is not a git checkout: nothing to clone")
    path = tmp_path_factory.mktemp("docs_commands") / "clone"
    _git("clone", "--quiet", "--local", top, str(path))
    return path


@pytest.fixture(scope="module")
def env(clone, tmp_path_factory):
    """``python`` on PATH = this interpreter; the clone's code first on PYTHONPATH."""
    bin_dir = tmp_path_factory.mktemp("bin")
    shim = bin_dir / "python"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    shim.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(clone), env.get("PYTHONPATH")) if p)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env.pop("PYTHONSTARTUP", None)
    where = subprocess.run(
        ["python", "-c", "import keras_pggan; print(keras_pggan.__file__)"],
        cwd=clone,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert os.path.realpath(where).startswith(os.path.realpath(clone) + os.sep), where
    return env


@pytest.mark.large
def test_docs_commands_run_in_a_fresh_clone_and_leave_it_clean(clone, env, tmp_path):
    unclassified = [f"{p}:{n}: {c}" for p, n, c in COMMANDS if classify(c) is None]
    assert not unclassified, "add a rule to RULES for:\n" + "\n".join(unclassified)
    assert _status(clone) == [], "the fresh clone is not clean"
    _prelude(clone)
    assert _status(clone) == [], "the prelude's inputs show in git status"

    seen: dict[str, str] = {}
    server, ports_free = None, _port_free(8500) and _port_free(8501)
    ran, repeats, skipped, failures, dirt, noise = [], [], [], [], [], []
    started = time.perf_counter()
    try:
        for path, line, command in COMMANDS:
            where, action = f"{path}:{line}", classify(command)
            key = " ".join(command.split())
            if action.startswith("skip"):
                skipped.append(f"{where}: {action[6:]}: {command}")
                continue
            if key in seen:
                repeats.append(f"{where}: same as {seen[key]}")
                continue
            seen[key] = where
            if re.search(r"localhost:850[01]\b", command) and not (server or ports_free):
                skipped.append(f"{where}: ports 8500/8501 are taken by another process")
                continue
            status_before, files_before = set(_status(clone)), _files(clone)
            if action == "serve":
                if not ports_free:
                    skipped.append(f"{where}: ports 8500/8501 are taken by another process")
                    continue
                if server is not None:
                    skipped.append(f"{where}: a server already runs ({command})")
                    continue
                server, out = _start_server(command, clone, env, tmp_path / "server.log")
                if server is None:
                    failures.append(f"{where}: {command}\nthe server did not start:\n{out[-3000:]}")
                else:
                    ran.append(f"{where}: (background) {command}")
                continue
            code, out, seconds = _run(command, clone, env)
            ran.append(f"{where}: {seconds:.1f} s: {command}")
            if code != 0:
                why = f"timed out after {TIMEOUT_S} s" if code is None else f"exit {code}"
                failures.append(f"{where}: {command}\n{why}:\n{out[-3000:]}")
            # A documented command of ours that works prints no TensorFlow error record
            # (E.../F... lines: grappler's remapper, CUDA probes) a user could not act on. (A
            # bare `import tensorflow` one-liner, docs/gpu.md's GPU probe, prints TF's own.)
            ours = "import tensorflow" not in command
            noisy = [ln for ln in out.splitlines() if ours and NATIVE_ERROR.match(ln)]
            if noisy:
                noise.append(f"{where}: {command}\n  " + "\n  ".join(noisy[:5]))
            new = sorted(set(_status(clone)) - status_before)
            if new:
                dirt.append(f"{where}: {command}\n  " + "\n  ".join(new))
            if action == "run":
                _remove_new(clone, files_before)
    finally:
        if server is not None:
            _stop(server)
    final = _status(clone)
    report = (
        f"{len(COMMANDS)} commands: {len(ran)} run, {len(repeats)} repeated, "
        f"{len(skipped)} skipped "
        f"in {time.perf_counter() - started:.0f} s\nran:\n  "
        + "\n  ".join(ran)
        + "\nrepeated (run once):\n  "
        + "\n  ".join(repeats)
        + "\nskipped:\n  "
        + "\n  ".join(skipped)
    )
    print(report)
    assert not failures, "\n\n".join(failures)
    assert not noise, "TensorFlow error records in a working command's output:\n" + "\n".join(noise)
    assert not dirt, "commands that dirty the tree:\n" + "\n".join(dirt)
    assert final == [], "git status of the clone after all commands:\n" + "\n".join(final)
