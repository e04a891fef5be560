"""The studio editor over HTTP (keras_pggan.studio.app, .web, __main__): limits, refusals with
clear messages, the app surviving bad requests, no file outside static/ served, 127.0.0.1."""

import io
import os
import re
import socket
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("multipart")
from fastapi.testclient import TestClient  # noqa: E402

from keras_pggan.data import imageio  # noqa: E402
from keras_pggan.studio import web  # noqa: E402
from keras_pggan.studio.app import STATIC_DIR, ImageStore, create_app  # noqa: E402


class FakeInpainter:
    """Fills holes with mid-grey; records calls. ``fail`` makes the next call raise."""

    backend_name = "fake"
    working_size = 512

    def __init__(self):
        self.calls = 0
        self.fail = False

    def plan(self, mask):
        return [object()]

    def __call__(self, image, mask):
        self.calls += 1
        if self.fail:
            self.fail = False
            raise RuntimeError("boom")
        out = image.copy()
        out[mask] = 128
        return out


def photo(h=40, w=56, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def png(array) -> bytes:
    return imageio.encode_png(array)


def hole_mask(h=40, w=56):
    m = np.zeros((h, w), np.uint8)
    m[10:20, 15:30] = 255
    return m


@pytest.fixture
def fake():
    return FakeInpainter()


@pytest.fixture
def client(fake):
    app = create_app(fake, max_upload_bytes=200_000, max_pixels=10_000)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def upload(client, data, name="photo.png"):
    return client.post("/api/images", files={"image": (name, data, "image/png")})


def run(client, image_id, mask_bytes, method="model"):
    return client.post(
        "/api/inpaint",
        data={"image_id": image_id, "method": method},
        files={"mask": ("mask.png", mask_bytes, "image/png")},
    )


def test_page_and_static_files_make_no_outside_reference(client):
    page = client.get("/")
    assert page.status_code == 200 and 'src="static/editor.js"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in sorted(os.listdir(STATIC_DIR)):
        text = client.get(f"/static/{name}").text
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", text, re.I), name
    assert client.get("/docs").status_code == 404  # FastAPI's docs page would load a CDN


def test_open_inpaint_download_round_trip(client, fake):
    image = photo()
    opened = upload(client, png(image), "my photo.png").json()
    assert (opened["width"], opened["height"], opened["name"]) == (56, 40, "my_photo")
    shown = client.get(opened["url"])
    assert np.array_equal(imageio.decode_rgb(shown.content), image)
    result = run(client, opened["id"], png(hole_mask()))
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["method"] == "model" and body["regions"] == 1 and body["hole_ratio"] > 0
    got = client.get(body["url"] + "?download=1")
    assert got.headers["content-disposition"] == 'attachment; filename="my_photo-inpainted.png"'
    out = imageio.decode_rgb(got.content)
    holes = hole_mask() > 0
    assert np.array_equal(out[~holes], image[~holes]) and (out[holes] == 128).all()
    # Another pass on the result keeps one "-inpainted" suffix.
    again = run(client, body["id"], png(hole_mask())).json()
    assert again["name"] == "my_photo-inpainted" and fake.calls == 2


def test_a_jpeg_with_exif_is_shown_upright(client):
    from PIL import Image

    buf = io.BytesIO()
    exif = Image.Exif()
    exif[imageio.EXIF_ORIENTATION] = 6  # rotate 90° on display
    Image.fromarray(photo(20, 30)).save(buf, format="JPEG", exif=exif)
    opened = upload(client, buf.getvalue(), "p.jpg").json()
    assert (opened["width"], opened["height"]) == (20, 30)


@pytest.mark.parametrize(
    "data, status, words",
    [
        (b"", 400, "empty"),
        (b"hello, not an image", 400, "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, 400, "not an image"),
        (png(photo(200, 200)), 413, "megapixels"),  # 40,000 px > 10,000
        (b"x" * 200_001, 413, "upload limit"),
    ],
)
def test_bad_photos_are_refused_with_a_message_and_the_app_keeps_serving(
    client, data, status, words
):
    answer = upload(client, data)
    assert answer.status_code == status
    assert words in answer.json()["error"]
    assert client.get("/api/info").status_code == 200
    assert upload(client, png(photo())).status_code == 200


def test_bad_masks_and_requests_are_refused(client):
    image_id = upload(client, png(photo())).json()["id"]
    cases = [
        (run(client, image_id, png(hole_mask(20, 28))), 422, "must have the photo's size"),
        (run(client, image_id, png(np.zeros((40, 56), np.uint8))), 400, "no hole"),
        (run(client, image_id, b"nope"), 400, "not an image"),
        (run(client, "0123456789abcdef", png(hole_mask())), 404, "open the photo again"),
        (run(client, "../../etc/passwd", png(hole_mask())), 404, "open the photo again"),
        (run(client, image_id, png(hole_mask()), method="magic"), 400, "Unknown method"),
    ]
    for answer, status, words in cases:
        assert answer.status_code == status, answer.text
        assert words in answer.json()["error"]
    missing = client.post("/api/inpaint", data={"image_id": image_id})
    assert missing.status_code == 422
    assert client.get("/api/images/0123456789abcdef.png").status_code == 404


def test_a_crash_in_one_request_is_a_500_and_the_next_one_works(client, fake, caplog):
    image_id = upload(client, png(photo())).json()["id"]
    fake.fail = True
    with caplog.at_level("ERROR", logger="keras_pggan.studio"):
        crashed = run(client, image_id, png(hole_mask()))
    body = crashed.json()
    # The page gets a generic sentence and an id; the exception goes to the log under that id.
    assert crashed.status_code == 500 and re.fullmatch(r"[0-9a-f]{12}", body["request_id"])
    assert "boom" not in body["error"] and "RuntimeError" not in body["error"]
    assert f"request {body['request_id']}" in body["error"]
    (record,) = [r for r in caplog.records if r.name == "keras_pggan.studio"]
    assert body["request_id"] in record.getMessage() and "/api/inpaint" in record.getMessage()
    assert record.exc_info[0] is RuntimeError and str(record.exc_info[1]) == "boom"
    assert run(client, image_id, png(hole_mask())).status_code == 200


def test_telea_side_by_side_and_its_absence(fake):
    pytest.importorskip("cv2")
    with TestClient(create_app(fake)) as c:
        assert c.get("/api/info").json()["telea"] is True
        image_id = upload(c, png(photo())).json()["id"]
        body = run(c, image_id, png(hole_mask()), method="telea").json()
        assert body["method"] == "telea" and body["name"] == "photo-telea" and fake.calls == 0
    with TestClient(create_app(fake, telea=False)) as c:
        info = c.get("/api/info").json()
        assert info["telea"] is False and "turned off" in info["telea_reason"]
        image_id = upload(c, png(photo())).json()["id"]
        assert run(c, image_id, png(hole_mask()), method="telea").status_code == 400


def _fake_web_build(folder):
    """A folder shaped like ``python -m keras_pggan.export web``'s (no real runtime inside)."""
    from keras_pggan.export import web as web_build

    for relative, data in {
        "model/m.tflite": b"TFL3-model-bytes",
        "runtime/wasm/litert_wasm_internal.wasm": b"\0asm\1\0\0\0",
        "runtime/core/index.js": b"export const x = 1;\n",
    }.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return web_build.write_manifest(str(folder), {"model": {"file": "model/m.tflite"}})


def test_without_a_web_build_the_page_says_how_to_get_one(client):
    info = client.get("/api/info").json()
    assert info["on_device"] is False and "export web" in info["on_device_reason"]
    missing = client.get("/manifest.json")
    assert missing.status_code == 404 and "--web-build" in missing.json()["error"]
    assert client.get("/runtime/wasm/litert_wasm_internal.wasm").status_code == 404


def test_a_web_build_is_served_beside_the_page_for_the_on_device_mode(fake, tmp_path):
    from keras_pggan.export import web as web_build

    manifest = _fake_web_build(tmp_path / "build")
    with TestClient(create_app(fake, web_build=str(tmp_path / "build"))) as c:
        assert c.get("/api/info").json()["on_device"] is True
        assert c.get("/manifest.json").json() == manifest
        wasm = c.get("/runtime/wasm/litert_wasm_internal.wasm")
        assert wasm.headers["content-type"] == "application/wasm"
        assert (
            wasm.content == (tmp_path / "build/runtime/wasm/litert_wasm_internal.wasm").read_bytes()
        )
        assert c.get("/model/m.tflite").content == b"TFL3-model-bytes"
        page = c.get("/")
        policy = page.headers["content-security-policy"]
        # The page's inline import map is allowed by its hash, nothing else inline.
        assert web_build.import_map_hash(page.text) in policy and "'unsafe-inline'" not in policy
        assert "'wasm-unsafe-eval'" in policy and "connect-src 'self'" in policy
        # Cross-origin isolated: the threaded WebAssembly build may run.
        assert page.headers["cross-origin-opener-policy"] == "same-origin"
        assert page.headers["cross-origin-embedder-policy"] == "require-corp"
        assert c.get("/runtime/../app.py").status_code == 404
    with pytest.raises(ValueError, match="no manifest.json"):
        create_app(fake, web_build=str(tmp_path))


def test_store_keeps_the_newest_images():
    store = ImageStore(max_items=2)
    ids = [store.add(photo(seed=i), f"p{i}") for i in range(3)]
    with pytest.raises(web.UploadError, match="no longer on the server"):
        store.get(ids[0])
    assert store.get(ids[2]).name == "p2"
    small = ImageStore(budget_pixels=100)
    first, second = small.add(photo(), "a"), small.add(photo(), "b")
    assert small.get(second) and pytest.raises(web.UploadError, small.get, first)


def test_upload_helpers():
    assert web.read_limited(io.BytesIO(b"abc"), 3) == b"abc"
    with pytest.raises(web.UploadError, match="upload limit of 0.0 MB") as e:
        web.read_limited(b"abcd", 3, "photo")
    assert e.value.status_code == 413
    with pytest.raises(ValueError, match="limits must be positive"):
        create_app(FakeInpainter(), max_pixels=0)
    assert web.url_of("0.0.0.0", 80) == "http://127.0.0.1:80"
    assert web.url_of("::1", 8) == "http://[::1]:8"


def _raw_get(port: int, target: str) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data


def test_background_server_serves_nothing_outside_static(fake):
    app = create_app(fake)
    with web.BackgroundServer(app) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert _raw_get(server.port, "/static/editor.css")[0] == 200
        for target in (
            "/static/../app.py",
            "/static/%2e%2e/app.py",
            "/static/..%2fapp.py",
            "/static/%2e%2e%2f%2e%2e%2fweb.py",
            "/static//etc/passwd",
            "/../../etc/passwd",
            "/api/images/..%2f..%2fapp.png",
        ):
            status, data = _raw_get(server.port, target)
            assert status in (400, 404), target
            assert b"create_app" not in data and b"root:" not in data, target
    # Stopped: nothing listens on the port any more (SO_REUSEADDR: closed connections linger).
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", server.port))


def test_cli_defaults_to_localhost_and_help_loads_no_tensorflow():
    from keras_pggan.studio.__main__ import build_parser

    args = build_parser().parse_args([])
    assert (args.host, args.port, args.model) == ("127.0.0.1", 7860, None)
    code = (
        "import sys\n"
        "from keras_pggan.studio.__main__ import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('TF' if 'tensorflow' in sys.modules else 'no TF',"
        " 'fastapi' if 'fastapi' in sys.modules else 'no fastapi')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "--max-upload-mb" in out.stdout and "study" in out.stdout
    assert out.stdout.strip().endswith("no TF no fastapi")


def test_cli_refuses_bad_limits_and_missing_models(capsys):
    from keras_pggan.studio.__main__ import main

    assert main(["--max-pixels", "0"]) == 2
    assert main(["--model", "/nonexistent/g.keras", "--port", "0"]) == 2
    assert "/nonexistent/g.keras" in capsys.readouterr().err


def test_real_inpainter_through_the_app(model_path):
    from keras_pggan.inference.inpainter import Inpainter

    inpainter = Inpainter.from_path(model_path)
    image, holes = photo(), hole_mask() > 0
    with TestClient(create_app(inpainter)) as c:
        image_id = upload(c, png(image)).json()["id"]
        body = run(c, image_id, png(hole_mask())).json()
        out = imageio.decode_rgb(c.get(body["url"]).content)
    assert np.array_equal(out, inpainter(image, holes))
    assert np.array_equal(out[~holes], image[~holes])


def test_a_large_photo_goes_through_the_tiled_path(model_path):
    from keras_pggan.inference.inpainter import Inpainter

    inpainter = Inpainter.from_path(model_path, working_size=128)
    image = photo(300, 520, seed=3)
    holes = np.zeros((300, 520), bool)
    holes[40:70, 30:60] = holes[200:240, 400:470] = True
    assert len(inpainter.plan(holes)) == 2  # two crops, not the whole photo
    with TestClient(create_app(inpainter)) as c:
        image_id = upload(c, png(image)).json()["id"]
        body = run(c, image_id, png(holes)).json()
        out = imageio.decode_rgb(c.get(body["url"]).content)
    assert body["regions"] == 2
    assert np.array_equal(out, inpainter(image, holes))
    assert np.array_equal(out[~holes], image[~holes])
