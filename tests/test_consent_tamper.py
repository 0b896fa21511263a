"""The consent red-team's attacks on what the gate trusts from disk, each performed here: a typed
claim where the deployment allows none, a revoked face attested again, the SQLite registry
edited by hand, a rig copied under another portrait's cache key, a forged provenance file in an
avatars folder. Each must fail to get the face animated."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest

from companion.avatars import resolve
from companion.consent import gate
from companion.consent.registry import ConsentRegistry
from companion.errors import ConsentError
from companion.face.image import load_image, load_image_bytes
from companion.face.rig import build_rig, cache_dir, cached_rigs
from companion.wiring import consent_tools
from tests.conftest import run_cli

TOOLS = consent_tools()
SARGENT = "sargent_elizabeth_winthrop_chanler.jpg"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder of its own (registry, key), used by the gate as the user's."""
    d = tmp_path / "data"
    monkeypatch.setenv("COMPANION_DATA", str(d))
    return d


def test_typed_claims_are_refused_where_attestation_is_off(home: Path, data: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    img = load_image(data / SARGENT)
    with ConsentRegistry() as reg:
        with pytest.raises(ConsentError, match="attestations are off"):
            reg.attest(img, "artwork", "Public-domain painting by Sargent.", tools=TOOLS,
                       allowed=False)
        monkeypatch.delenv("COMPANION_ATTESTATION")  # the default policy
        with pytest.raises(ConsentError, match="attestations are off"):
            reg.attest(img, "artwork", "Public-domain painting by Sargent.", tools=TOOLS)
        assert reg.records() == [] and reg.audit_log() == []
    r = run_cli("say", "Hello.", "--avatar", str(data / SARGENT), "--attest",
                "artwork: a painting", "--at", "0.1", "-o", str(home / "x.png"),
                COMPANION_ATTESTATION="clips-only")
    assert r.returncode == 2 and "attestations are off" in r.stderr


def test_a_revoked_face_cannot_be_attested_again(home: Path, data: Path) -> None:
    """Neither the same file nor a recompressed copy (another file, the same face)."""
    img = load_image(data / SARGENT)
    with ConsentRegistry() as reg:
        rec = reg.attest(img, "artwork", "Public-domain painting by Sargent.", tools=TOOLS)
        reg.revoke(rec.consent_id, tools=TOOLS)
        with pytest.raises(ConsentError, match="cannot be attested"):
            reg.attest(img, "artwork", "It really is a painting.", tools=TOOLS)
        _, buf = cv2.imencode(".jpg", cv2.cvtColor(img.rgb, cv2.COLOR_RGB2BGR),
                              [cv2.IMWRITE_JPEG_QUALITY, 70])
        copy = load_image_bytes(buf.tobytes(), "copy.jpg")
        assert copy.sha256 != img.sha256
        with pytest.raises(ConsentError, match="cannot be attested"):
            reg.attest(copy, "synthetic", "A face I drew myself.", tools=TOOLS)
        # a different face still can be
        from companion.config import PACKAGE_AVATARS

        other = reg.attest(load_image(PACKAGE_AVATARS / "difficult-lesson" / "portrait.jpg"),
                           "artwork", "Public-domain painting by Bouguereau.", tools=TOOLS)
        assert not other.revoked


def _raw(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "consent.sqlite", isolation_level=None)


def test_a_record_edited_in_sqlite_is_unusable_and_the_audit_says_so(home: Path,
                                                                    data: Path) -> None:
    img = load_image(data / SARGENT)
    with ConsentRegistry() as reg:
        rec = reg.attest(img, "artwork", "Public-domain painting by Sargent.", tools=TOOLS)
        rig = build_rig(img, rec)
        reg.revoke(rec.consent_id, tools=TOOLS)
        assert reg.verify_audit().ok
    db = _raw(home)
    db.execute("UPDATE records SET revoked = NULL")  # un-revoke behind companion's back
    # and a record inserted by hand, copying a real row's values and MAC under a new id
    cols = [c[1] for c in db.execute("PRAGMA table_info(records)")]
    row = dict(zip(cols, db.execute("SELECT * FROM records").fetchone(), strict=True))
    db.execute(f"INSERT INTO records VALUES ({', '.join('?' * len(cols))})",
               [*(v if k != "id" else "c_0000000000000000" for k, v in row.items())])
    db.close()
    for rid in (rec.consent_id, "c_0000000000000000"):
        assert not gate.is_active(rid)
        with pytest.raises(ConsentError, match="cannot be trusted"):
            build_rig(img, gate.ConsentRecord(rid, img.sha256, "artwork", "x"))
    with pytest.raises(ConsentError, match="cannot be trusted"):
        resolve(str(data / SARGENT))  # the path alone finds no usable record
    from companion.face import engine

    with pytest.raises(ConsentError):
        engine.make_renderer(rig)
    with ConsentRegistry() as reg:
        check = reg.verify_audit()
    assert not check.ok and set(check.bad_records) == {rec.consent_id, "c_0000000000000000"}
    audit = run_cli("consent", "audit")
    assert audit.returncode == 2 and rec.consent_id in audit.stderr


def test_a_rig_copied_under_another_portraits_key_is_rebuilt(home: Path, data: Path) -> None:
    """A real photo's cached rig put where a bundled avatar's rig belongs renders the bundled
    avatar, not the photo (its MAC names the portrait it was built from)."""
    from tests.conftest import recorded_consent

    photo = load_image(data / "obama.jpg")
    build_rig(photo, recorded_consent(photo))
    mona = resolve("mona-lisa")
    honest = build_rig(mona.image, mona.consent, use_cache=False)
    for target in cached_rigs(mona.image.sha256):
        target.unlink()
    src = cached_rigs(photo.sha256)[0]
    key = src.name.replace(photo.sha256[:32], mona.image.sha256[:32])
    shutil.copyfile(src, cache_dir() / key)
    rig = build_rig(mona.image, mona.consent)
    assert rig.meta["source_sha256"] == mona.image.sha256
    assert np.array_equal(rig.image, honest.image)
    # and the cache entry now is the honest one again
    assert cached_rigs(mona.image.sha256) == [cache_dir() / key]
    with np.load(cache_dir() / key) as z:
        assert json.loads(bytes(z["meta"]).decode())["source_sha256"] == mona.image.sha256


def test_avatars_outside_the_package_need_a_provenance_signed_here(
        home: Path, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from companion.config import PACKAGE_AVATARS

    avatars = tmp_path / "avatars"
    shutil.copytree(PACKAGE_AVATARS / "mona-lisa", avatars / "mona-lisa")
    # the forgery: a real photo with a provenance file written for it
    forged = avatars / "press-photo"
    forged.mkdir()
    shutil.copyfile(data / "obama.jpg", forged / "portrait.jpg")
    (forged / "provenance.json").write_text(json.dumps({
        "name": "press-photo", "file": "portrait.jpg", "category": "artwork",
        "sha256": load_image(forged / "portrait.jpg").sha256,
        "statement": "Public-domain painting; no living person is depicted.",
        "signature": "0" * 64}))
    monkeypatch.setenv("COMPANION_AVATARS", str(avatars))
    for name in ("mona-lisa", "press-photo"):
        with pytest.raises(ConsentError, match="not signed by this installation"):
            resolve(name)
        assert not gate.is_active(f"bundled:{name}")
    r = run_cli("say", "Hello.", "--avatar", "press-photo", "--at", "0.1", "-o",
                str(tmp_path / "x.png"))
    assert r.returncode == 2 and "not signed" in r.stderr
    # the person in charge checks the licence and signs the folder: then it counts
    r = run_cli("consent", "sign-avatar", str(avatars / "mona-lisa"))
    assert r.returncode == 0, r.stderr
    av = resolve("mona-lisa")
    assert av.consent is not None and gate.is_active("bundled:mona-lisa")
    build_rig(av.image, av.consent)
    # signing checks the image is the one named; an edit after signing undoes it
    prov = json.loads((avatars / "mona-lisa" / "provenance.json").read_text())
    prov["sha256"] = load_image(forged / "portrait.jpg").sha256
    (avatars / "mona-lisa" / "provenance.json").write_text(json.dumps(prov))
    with pytest.raises(ConsentError, match="not signed"):
        resolve("mona-lisa")
    r = run_cli("consent", "sign-avatar", str(avatars / "mona-lisa"))
    assert r.returncode != 0 and "is not the image" in r.stderr
