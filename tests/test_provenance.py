"""Signed C2PA manifests on exported mp4s, read back by `companion verify`."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.consent.provenance import read_manifest
from companion.output.mp4 import sign_export
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("c2pa") / "hello.mp4"
    r = run_cli("say", "Hello, this video is signed.", "--avatar", "mona-lisa", "-o", str(out))
    assert r.returncode == 0, r.stderr
    return out


def test_export_carries_a_valid_signed_manifest(export: Path) -> None:
    m = read_manifest(export)
    assert m.present and m.valid and m.state == "Trusted"
    assert m.ai_generated and m.consent_id == "bundled:mona-lisa"
    assert m.basis == "bundled avatar with a provenance record"  # what the consent rests on
    assert m.generator.startswith("companion")
    r = run_cli("verify", str(export))
    assert r.returncode == 0, r.stderr
    assert "C2PA:       valid, signed by this installation; AI-generated" in r.stdout


def test_another_installation_sees_a_valid_signature_from_an_unknown_signer(
        export: Path, tmp_path: Path) -> None:
    r = run_cli("verify", str(export), COMPANION_DATA=str(tmp_path / "elsewhere"))
    assert "signature valid, signer unknown to this installation; AI-generated" in r.stdout


def test_edited_video_fails_validation(export: Path, tmp_path: Path) -> None:
    data = bytearray(export.read_bytes())
    data[len(data) // 2] ^= 0x5A  # one byte of the video changed after signing
    edited = tmp_path / "edited.mp4"
    edited.write_bytes(bytes(data))
    m = read_manifest(edited)
    assert m.present and not m.valid and any("mismatch" in f for f in m.failures)
    assert "INVALID" in run_cli("verify", str(edited)).stdout


def test_unsigned_video_has_no_manifest(export: Path, tmp_path: Path) -> None:
    import av

    plain = tmp_path / "plain.mp4"
    with av.open(str(export)) as src, av.open(str(plain), "w") as dst:
        s = dst.add_stream("libx264", rate=25)
        s.width = s.height = 512
        s.pix_fmt = "yuv420p"
        for f in src.decode(video=0):
            for p in s.encode(f.reformat(format="yuv420p")):
                dst.mux(p)
        for p in s.encode():
            dst.mux(p)
    assert not read_manifest(plain).present
    # and re-signing works on any mp4 (used by chat exports too)
    sign_export(plain, "bundled:mona-lisa")
    assert read_manifest(plain).valid
