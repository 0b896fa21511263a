"""Upload fuzzing and the consent endpoints over real HTTP: every bad upload gets a clear
refusal, nothing crashes, nothing is stored."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import struct
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from companion.consent.registry import ConsentRegistry
from companion.server.background import LiveServer
from companion.server.protocol import Hello
from tests.conftest import run_cli


def _no_sessions(hello: Hello) -> Any:
    raise AssertionError("no conversations in these tests")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A registry of its own: "nothing stored" means nothing at all."""
    root = tmp_path_factory.mktemp("uploads-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COMPANION_DATA", str(root))
        yield root


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[LiveServer]:
    with LiveServer(_no_sessions) as srv:
        yield srv


def _post(srv: LiveServer, path: str, body: bytes | dict[str, Any],
          origin: str | None = "self") -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    req = urllib.request.Request(srv.url + path, data=data, method="POST")
    if origin:
        req.add_header("Origin", srv.url if origin == "self" else origin)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _png_header_only(w: int, h: int) -> bytes:
    """A PNG whose header claims w×h pixels, with one tiny compressed row: a decompression bomb
    as far as any decoder that trusts the header is concerned."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload +
                struct.pack(">I", zlib.crc32(kind + payload)))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def _jpeg_claiming(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 90, 80)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.find(b"\xff\xc0")
    data[sof + 5: sof + 9] = struct.pack(">HH", h, w)
    return bytes(data)


def _gif() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (200, 200), (200, 150, 120)).save(buf, "GIF")
    return buf.getvalue()


def bad_uploads(data: Path) -> list[tuple[str, bytes, str]]:
    jpeg = (data / "obama.jpg").read_bytes()
    png = io.BytesIO()
    Image.open(data / "obama.jpg").save(png, "PNG")
    rng = np.random.default_rng(5)
    return [
        ("empty.jpg", b"", "empty"),
        ("truncated.jpg", jpeg[: len(jpeg) // 3], "not a readable image"),
        ("truncated.png", png.getvalue()[: len(png.getvalue()) // 2], "not a readable image"),
        ("corrupt.jpg", jpeg[:2] + rng.bytes(5000), "not a readable image"),
        ("bomb.png", _png_header_only(60000, 60000), "too many pixels"),
        ("bomb.jpg", _jpeg_claiming(30000, 30000), "too many pixels"),
        ("notes.jpg", b"just some text, not a picture\n" * 40, "not a readable image"),
        ("page.png", b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>",
         "not a readable image"),
        ("noise.webp", rng.bytes(30000), "not a readable image"),
        ("voice.jpg", (data / "jfk.flac").read_bytes(), "not a readable image"),
        ("drawing.png", b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="40"/></svg>',
         "not a readable image"),
        ("anim.jpg", _gif(), "unsupported image type GIF"),
        ("tiny.png", _png_header_only(20, 20), "too small"),
    ]


def _nothing_stored(root: Path) -> None:
    from companion.consent.registry import ConsentRegistry

    reg = ConsentRegistry(root)
    try:
        assert reg.records() == [] and reg.audit_log() == []
    finally:
        reg.close()
    assert not [p for p in (root / "portraits").iterdir()]


def test_bad_uploads_are_refused_with_a_reason(server: LiveServer, data: Path,
                                               home: Path) -> None:
    root = home
    for name, body, reason in bad_uploads(data):
        code, doc = _post(server, f"/api/uploads?name={name}", body)
        assert code == 400, (name, code, doc)
        assert reason in doc["error"], (name, doc)
    # no face, two faces, a cut-off face: checked images, clear reasons
    for name, reason in [("two_people.jpg", "2 faces"), ("obama_partial_face.jpg", "cut off")]:
        code, doc = _post(server, f"/api/uploads?name={name}", (data / name).read_bytes())
        assert code == 400 and reason in doc["error"], (name, doc)
    # too large: refused from the declared length, before the body is read
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest("POST", "/api/uploads")
    conn.putheader("Origin", server.url)
    conn.putheader("Content-Length", str(26 * 1024 * 1024))
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 413 and "larger than 25 MB" in json.loads(resp.read())["error"]
    conn.close()
    _nothing_stored(root)
    # the server is still up and answers a good upload
    code, doc = _post(server, "/api/uploads?name=s.jpg",
                      (data / "sargent_elizabeth_winthrop_chanler.jpg").read_bytes())
    assert code == 200 and doc["upload"].startswith("u_")
    _nothing_stored(root)  # an upload alone is held in memory, not stored


def test_a_large_photo_is_held_downscaled(server: LiveServer, data: Path) -> None:
    # the red team's eight 40-megapixel uploads pinned ~1 GB: a portrait is kept at most
    # KEEP_SIDE on its long side, as soon as it arrives, and keeps its file's hash
    from companion.face.image import KEEP_SIDE, load_image_bytes

    face = Image.open(data / "obama.jpg")
    big = face.resize((face.width * 6, face.height * 6))  # 5460 x 6822: 37 megapixels
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=85)
    body = buf.getvalue()
    img = load_image_bytes(body, "big.jpg")
    assert max(img.rgb.shape[:2]) == KEEP_SIDE
    assert img.rgb.shape[0] / img.rgb.shape[1] == pytest.approx(big.height / big.width, 0.01)
    assert img.sha256 == hashlib.sha256(body).hexdigest()
    code, doc = _post(server, "/api/uploads?name=big.jpg", body)
    assert code == 200, doc
    assert max(doc["width"], doc["height"]) == KEEP_SIDE


def test_attest_flow_and_request_checks(server: LiveServer, data: Path) -> None:
    code, up = _post(server, "/api/uploads?name=sargent.jpg",
                     (data / "sargent_elizabeth_winthrop_chanler.jpg").read_bytes())
    assert code == 200
    # another site's page cannot drive the API
    code, doc = _post(server, "/api/consent/attest", {"upload": up["upload"]},
                      origin="http://evil.example")
    assert code == 403 and "origin" in doc["error"]
    for bad in [b"not json", b"[1, 2]", json.dumps({"upload": up["upload"]}).encode(),
                json.dumps({"upload": "u_gone", "category": "artwork",
                            "statement": "a painting"}).encode()]:
        code, doc = _post(server, "/api/consent/attest", bad)
        assert code == 400 and doc["error"], bad
    code, doc = _post(server, "/api/consent/attest", {
        "upload": up["upload"], "category": "real-person", "statement": "it is me, really"})
    assert code == 400 and "consent clip" in doc["error"]
    code, doc = _post(server, "/api/consent/attest", {
        "upload": up["upload"], "category": "artwork",
        "statement": "Public-domain painting by John Singer Sargent (1893)."})
    assert code == 200 and doc["consent_id"].startswith("c_")
    rid = doc["consent_id"]
    with ConsentRegistry() as reg:  # who claimed what, and when; and that nobody checked it
        checks = json.loads(reg.details(rid)["checks"])
    assert checks["attested_by"] == "web page" and checks["attested_at"] > 0
    assert checks["verification"] == "attested, not verified" and "Sargent" in checks["claim"]
    from companion.consent.registry import consent_basis

    assert consent_basis(rid) == "attested, not verified"  # and so says every export's manifest
    with urllib.request.urlopen(server.url + "/api/info", timeout=30) as r:
        info = json.loads(r.read())
    assert rid in [p["consent_id"] for p in info["portraits"]]
    code, doc = _post(server, "/api/consent/challenge", {"name": "<script>"})
    assert code == 400 and "name" in doc["error"]
    code, doc = _post(server, "/api/consent/challenge", {"name": "Ada Lovelace"})
    assert code == 200 and "I, Ada Lovelace, agree" in doc["phrase"] and doc["expires_in"] > 250
    code, doc = _post(server, "/api/consent/revoke", {"consent_id": rid})
    assert code == 200 and doc["removed"] >= 1
    with urllib.request.urlopen(server.url + "/api/portraits", timeout=30) as r:
        assert rid not in [p["consent_id"] for p in json.loads(r.read())["portraits"]]


def test_bad_images_through_the_cli(tmp_path: Path, data: Path) -> None:
    home = tmp_path / "home"
    for name, body, reason in bad_uploads(data)[1:8:3]:
        (tmp_path / name).write_bytes(body)
        r = run_cli("consent", "attest", str(tmp_path / name), "--category", "artwork",
                    "--statement", "a painting, honestly", COMPANION_DATA=str(home))
        assert r.returncode == 2 and reason in r.stderr and "Traceback" not in r.stderr
    _nothing_stored(home)


def test_a_clips_only_server_refuses_typed_attestations(home: Path, data: Path) -> None:
    from companion.server.app import ServerConfig

    with LiveServer(_no_sessions, ServerConfig(attestation_allowed=False)) as srv:
        with urllib.request.urlopen(srv.url + "/api/info", timeout=30) as r:
            assert json.loads(r.read())["attestation"] is False  # the page offers clips only
        code, up = _post(srv, "/api/uploads?name=sargent.jpg",
                         (data / "sargent_elizabeth_winthrop_chanler.jpg").read_bytes())
        assert code == 200
        code, doc = _post(srv, "/api/consent/attest", {
            "upload": up["upload"], "category": "artwork",
            "statement": "Public-domain painting by John Singer Sargent (1893)."})
        assert code == 400 and "consent clips only" in doc["error"]
