"""Consent registry: attestations, revocation enforced in the engine, the audit chain."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from companion.consent.registry import ConsentRegistry
from companion.errors import ConsentError
from companion.face import engine
from companion.face.engine import RenderOptions
from companion.face.image import load_image
from companion.face.live import LiveFace
from companion.face.rig import build_rig, cache_dir
from companion.wiring import consent_tools
from tests.conftest import run_cli

TOOLS = consent_tools()  # the face check and rig cache consent is handed (as the wiring does)


@pytest.fixture
def registry(tmp_path: Path) -> ConsentRegistry:
    return ConsentRegistry(tmp_path / "data")


def test_attested_artwork_animates_until_revoked(registry: ConsentRegistry, data: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "data"))
    img = load_image(data / "sargent_elizabeth_winthrop_chanler.jpg")
    rec = registry.attest(img, "artwork", "Public-domain painting by Sargent (1893).",
                          tools=TOOLS)
    assert rec.consent_id.startswith("c_") and not rec.revoked
    rig = build_rig(img, rec)
    render = engine.make_renderer(rig)
    render(engine.plan(None, 0.1, RenderOptions())[0])
    live = LiveFace(rig, RenderOptions(label=False))
    for _ in range(30):
        live.next_frame()
    assert list(cache_dir().glob(f"{img.sha256[:32]}-*.npz"))
    removed = registry.revoke(rec.consent_id, tools=TOOLS)
    assert any(p.suffix == ".npz" for p in removed) and any(p.suffix == ".png" for p in removed)
    assert not list(cache_dir().glob(f"{img.sha256[:32]}-*.npz"))
    # the engine itself refuses, whatever the caller does
    with pytest.raises(ConsentError, match="revoked"):
        engine.make_renderer(rig)
    with pytest.raises(ConsentError, match="revoked"):
        build_rig(img, registry.get(rec.consent_id))
    # and a live stream using it stops within a second
    with pytest.raises(ConsentError, match="revoked"):
        for _ in range(26):
            live.next_frame()


def test_revoking_during_an_export_stops_it_and_leaves_no_file(
        registry: ConsentRegistry, data: Path, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """The red-team's attack: revoke while `say`/`render` writes a long mp4. The export stops
    within about a second of output and no file (signed or not) is left."""
    import threading
    import time

    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "data"))
    img = load_image(data / "sargent_elizabeth_winthrop_chanler.jpg")
    rec = registry.attest(img, "artwork", "Public-domain painting by Sargent (1893).",
                          tools=TOOLS)
    rig = build_rig(img, rec)
    opts = RenderOptions(label=False)
    params = engine.plan(None, 120.0, opts)  # two minutes of output: far longer than the test
    out = tmp_path / "export.mp4"
    failed: list[BaseException] = []

    def export() -> None:
        try:
            engine.write_mp4(rig, None, params, out, opts)
        except BaseException as e:  # the thread reports what stopped it
            failed.append(e)

    worker = threading.Thread(target=export)
    worker.start()
    while not out.exists() or out.stat().st_size < 50_000:  # it is well under way
        assert worker.is_alive(), failed
        time.sleep(0.05)
    registry.revoke(rec.consent_id, tools=TOOLS)
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert len(failed) == 1 and isinstance(failed[0], ConsentError), failed
    assert "revoked" in str(failed[0])
    assert not out.exists()


def test_real_photos_cannot_be_attested_in_writing(registry: ConsentRegistry, data: Path
                                                   ) -> None:
    img = load_image(data / "obama.jpg")
    with pytest.raises(ConsentError, match="consent clip"):
        registry.attest(img, "real-person", "it is me, honestly", tools=TOOLS)
    with pytest.raises(ConsentError, match="statement"):
        registry.attest(img, "artwork", "", tools=TOOLS)


def test_audit_chain_detects_tampering(registry: ConsentRegistry, data: Path,
                                       tmp_path: Path) -> None:
    a = registry.attest(load_image(data / "sargent_elizabeth_winthrop_chanler.jpg"), "artwork",
                        "Public-domain painting by Sargent.", tools=TOOLS)
    registry.revoke(a.consent_id, tools=TOOLS)
    assert registry.verify_audit().ok and registry.verify_audit().rows == 2
    # the log refuses edits through SQLite…
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        registry.db.execute("UPDATE audit SET action = 'attest' WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        registry.db.execute("DELETE FROM audit WHERE seq = 1")
    registry.close()
    # …and an edit made behind its back (triggers dropped) breaks the chain at that row
    db = sqlite3.connect(tmp_path / "data" / "consent.sqlite")
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("UPDATE audit SET detail = '{\"by\": \"someone else\"}' WHERE seq = 2")
    db.commit()
    db.close()
    check = ConsentRegistry(tmp_path / "data").verify_audit()
    assert not check.ok and check.first_bad == 2 and "altered" in check.reason


def test_consent_commands(tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "cli-data"))
    image = str(data / "sargent_elizabeth_winthrop_chanler.jpg")
    r = run_cli("consent", "attest", image, "--category", "artwork", "--statement",
                "Public-domain painting by Sargent.")
    assert r.returncode == 0, r.stderr
    rid = r.stdout.split()[0]
    assert rid in run_cli("consent", "list").stdout
    assert '"category": "artwork"' in run_cli("consent", "show", rid).stdout
    # the attested image now animates without --attest
    r = run_cli("say", "Hello.", "--avatar", image, "--at", "0.2", "-o", str(tmp_path / "a.png"))
    assert r.returncode == 0, r.stderr
    assert run_cli("consent", "revoke", rid).returncode == 0
    r = run_cli("say", "Hello.", "--avatar", image, "--at", "0.2", "-o", str(tmp_path / "b.png"))
    assert r.returncode == 2 and "consent" in r.stderr
    audit = run_cli("consent", "audit")
    assert audit.returncode == 0 and "audit chain intact (2 rows)" in audit.stdout


def test_nothing_is_stored_for_an_image_without_a_face(registry: ConsentRegistry,
                                                       tmp_path: Path) -> None:
    import cv2
    import numpy as np

    from companion.errors import FaceError
    from companion.face.image import load_image_bytes

    noise = np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8)
    _, buf = cv2.imencode(".png", cv2.GaussianBlur(noise, (15, 15), 5))
    with pytest.raises(FaceError):
        registry.attest(load_image_bytes(buf.tobytes(), "noise.png"), "artwork",
                        "a painting of nothing at all", tools=TOOLS)
    assert registry.records() == [] and registry.audit_log() == []
    assert not list((tmp_path / "data" / "portraits").iterdir())


def test_a_failed_write_commits_nothing(registry: ConsentRegistry, data: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from companion import atomic

    img = load_image(data / "sargent_elizabeth_winthrop_chanler.jpg")
    portraits = registry.root / "portraits"

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(atomic.os, "fsync", full_disk)
        with pytest.raises(ConsentError, match="could not be saved: No space left"):
            registry.attest(img, "artwork", "Public-domain painting by Sargent (1893).",
                            tools=TOOLS)
    # no record, no audit entry, no file (not even a temp file)
    assert registry.records() == [] and registry.audit_log() == []
    assert not list(portraits.iterdir())
    # what a write killed half-way leaves behind is swept when the registry opens next
    (portraits / f"{atomic.TMP_MARK}0000-c_x.png").write_bytes(b"\x89PNG half")
    registry.close()
    again = ConsentRegistry(registry.root)
    assert not list(portraits.iterdir())
    # with room on the disk it works, and the portrait is whole
    rec = again.attest(img, "artwork", "Public-domain painting by Sargent (1893).",
                       tools=TOOLS)
    assert again.portrait(rec.consent_id).rgb.shape == img.rgb.shape
    assert again.verify_audit().ok
