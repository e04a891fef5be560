"""``python -m keras_pggan.export web``: the folder it writes, its manifest, and its refusals.

The browser side of the build is tests/web_browser_test.py; the crop rule's JavaScript twin is
tests/web_regions_test.py.
"""

import hashlib
import json
import os
import shutil
import urllib.request

import numpy as np
import pytest

from keras_pggan.errors import UserError
from keras_pggan.export import web
from keras_pggan.testing import browser as browser_lib


@pytest.fixture(scope="module")
def node_modules():
    return browser_lib.require_litertjs()


@pytest.fixture(scope="module")
def build(node_modules, model_path, tmp_path_factory):
    """The tiny generator's web build (fp32, 32 px: seconds)."""
    out = str(tmp_path_factory.mktemp("web") / "build")
    manifest = web.export_web(model_path, out, mode="fp32", size=32)
    return out, manifest


def test_the_build_holds_the_page_runtime_and_model_and_its_manifest_says_so(
    build, node_modules, model_path
):
    out, manifest = build
    with open(os.path.join(out, web.MANIFEST)) as f:
        assert json.load(f) == manifest
    model = manifest["model"]
    # A generator.keras is named after its run directory.
    name = os.path.basename(os.path.dirname(model_path))
    assert (model["mode"], model["io"], model["size"], model["name"]) == ("fp32", "float", 32, name)
    assert manifest["runtime"]["version"] == web.RUNTIME_VERSION == "2.5.3"
    expected = {"index.html", model["file"]}
    expected |= {f"static/{name}" for name in web.PAGE_FILES}
    expected |= {relative for _, relative in web.runtime_files(web.find_runtime(node_modules))}
    assert set(manifest["files"]) == expected
    for relative, entry in manifest["files"].items():
        with open(os.path.join(out, relative), "rb") as f:
            data = f.read()
        assert entry == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    # The runtime files are npm's, byte for byte.
    with open(
        os.path.join(node_modules, "@litertjs/core/wasm/litert_wasm_internal.wasm"), "rb"
    ) as f:
        assert (
            hashlib.sha256(f.read()).hexdigest()
            == (manifest["files"]["runtime/wasm/litert_wasm_internal.wasm"]["sha256"])
        )
    # The model is a fixed-size float-I/O build of the generator.
    from keras_pggan.inference.backends import TFLiteInpainter

    runner = TFLiteInpainter(os.path.join(out, model["file"]))
    assert runner.fixed_size == (32, 32) and runner.metadata["io"] == "float"
    # What a browser downloads: everything but the manifest and the WebAssembly builds it skips.
    sizes = {k: v["bytes"] for k, v in manifest["files"].items()}
    skipped = sum(v for k, v in sizes.items() if "compat" in k or "threaded" in k)
    assert manifest["downloads"]["single_thread"] == sum(sizes.values()) - skipped
    assert web.verify(out) == []


def test_the_page_is_the_studio_editor_in_its_standalone_mode(build):
    out, _ = build
    with open(os.path.join(out, "index.html")) as f:
        html = f.read()
    editor = web.editor_html()
    assert html.count('data-app="web"') == 1 and 'data-app="studio"' not in html
    policy = html.split('http-equiv="Content-Security-Policy" content="')[1].split('"')[0]
    assert policy == web.content_security_policy(editor, frame_ancestors=False)
    # The import map is allowed by its hash, which matches the map in the page.
    assert web.import_map_hash(html) == web.import_map_hash(editor) in policy
    assert "connect-src 'self' blob: data:;" in policy and "'unsafe-inline'" not in policy
    for name in web.PAGE_FILES:
        with open(os.path.join(out, "static", name), "rb") as a:
            with open(os.path.join(web.STATIC_DIR, name), "rb") as b:
                assert a.read() == b.read()


def test_verify_finds_a_changed_file(build, tmp_path):
    out, manifest = build
    copy = str(tmp_path / "copy")
    shutil.copytree(out, copy)
    with open(os.path.join(copy, "static", "editor.js"), "a") as f:
        f.write("// changed\n")
    os.remove(os.path.join(copy, manifest["model"]["file"]))
    assert sorted(web.verify(copy)) == sorted(["static/editor.js", manifest["model"]["file"]])


def test_a_missing_or_other_runtime_names_the_set_up_command(tmp_path, model_path):
    with pytest.raises(UserError, match=r"run `npm ci` in .*--node-modules"):
        web.find_runtime(str(tmp_path))
    package = tmp_path / "@litertjs" / "core"
    package.mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"version": "2.4.0"}))
    with pytest.raises(UserError, match=r"has @litertjs/core 2\.4\.0, not 2\.5\.3.*npm ci"):
        web.find_runtime(str(tmp_path))
    from keras_pggan.export.__main__ import main

    # The command checks the runtime before converting anything (exit status 2, one line).
    out = tmp_path / "out"
    assert main(["web", str(out), "--model", model_path, "--node-modules", str(tmp_path)]) == 2
    assert not out.exists()


def test_refusals_before_anything_is_converted(node_modules, model_path, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "x").write_text("x")
    with pytest.raises(UserError, match="--overwrite"):
        web.export_web(model_path, str(taken), size=32)
    with pytest.raises(UserError, match="--mode"):
        web.export_web(model_path, str(tmp_path / "a"), mode="int4")
    with pytest.raises(UserError, match="pad multiple"):
        web.export_web(model_path, str(tmp_path / "b"), size=30, mode="fp32")
    with pytest.raises(UserError, match="--model"):
        web.export_web(str(tmp_path / "none.keras"), str(tmp_path / "c"))


def test_static_server_serves_wasm_and_isolation_headers(build):
    out, _ = build
    for isolated in (False, True):
        with web.StaticServer(out, isolated=isolated) as server:
            url = f"{server.url}/runtime/wasm/litert_wasm_internal.wasm"
            with urllib.request.urlopen(url, timeout=10) as answer:
                assert answer.headers["Content-Type"] == "application/wasm"
                head = np.frombuffer(answer.read(4), np.uint8)
                assert head.tolist() == [0, 97, 115, 109]  # "\0asm"
                coop = answer.headers.get("Cross-Origin-Opener-Policy")
                assert coop == ("same-origin" if isolated else None)
