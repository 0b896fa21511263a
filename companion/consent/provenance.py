"""Signed C2PA manifests on exported mp4s (c2pa-python), and reading them back.

The manifest declares the video AI-generated (a `c2pa.created` action with the IPTC digital
source type "trainedAlgorithmicMedia"), names companion as the generator, and carries the consent
id. It is signed offline — no timestamp authority — with an ES256 key of this installation,
whose certificate is issued by a local CA made on first use. The CA's private key is never
written anywhere: it signs the one leaf certificate and is dropped, so nothing on disk can issue
another. Readers that trust this installation's CA report "trusted"; any other C2PA reader
sees a valid signature from an unknown signer.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from companion import __version__
from companion.errors import CompanionError

AI_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
CONSENT_LABEL = "org.companion.consent"


@dataclass(frozen=True)
class Keys:
    chain_pem: bytes  # leaf certificate, then the local CA
    key_pem: bytes
    ca_pem: bytes


@dataclass(frozen=True)
class ManifestReport:
    present: bool
    state: str = ""  # "Trusted" | "Valid" | "Invalid" (C2PA validation states)
    ai_generated: bool = False
    consent_id: str | None = None
    generator: str = ""
    failures: tuple[str, ...] = field(default=())
    basis: str = ""  # what the consent rests on ("attested, not verified", a checked clip…)
    made: str = ""  # the actions' descriptions: how it was made (speech, a driving video)

    @property
    def valid(self) -> bool:
        return self.present and self.state in ("Trusted", "Valid") and not self.failures

    def summary(self) -> str:
        if not self.present:
            return "no manifest"
        if not self.valid:
            return "INVALID (" + (", ".join(self.failures) or self.state) + ")"
        who = ("valid, signed by this installation" if self.state == "Trusted"
               else "signature valid, signer unknown to this installation")
        kind = "AI-generated" if self.ai_generated else "not declared AI-generated"
        basis = f"; consent: {self.basis}" if self.basis else ""
        made = f"; {self.made}" if self.made else ""
        return f"{who}; {kind}; generator {self.generator or '?'}{basis}{made}"


def signing_dir() -> Path:
    from companion.cache import data_dir

    return data_dir() / "signing"


def _make_keys(d: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "companion (local)")])

    now = dt.datetime.now(dt.UTC)
    life = dt.timedelta(days=3650)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("companion local CA"))
          .issuer_name(name("companion local CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + life)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    # C2PA signers need an end-entity certificate with digitalSignature and a listed EKU.
    leaf = (x509.CertificateBuilder().subject_name(name("companion exports"))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + life)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                         False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    d.mkdir(parents=True, exist_ok=True)
    key_path = d / "signer.key"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    (d / "ca.pem").write_bytes(ca.public_bytes(pem))
    # written last: its presence means the set is complete
    (d / "chain.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))


def keys() -> Keys:
    d = signing_dir()
    if not (d / "chain.pem").is_file():
        _make_keys(d)
    return Keys((d / "chain.pem").read_bytes(), (d / "signer.key").read_bytes(),
                (d / "ca.pem").read_bytes())


# What a manifest says was done, unless the export says otherwise (a reenactment does).
DESCRIPTION = "talking portrait animated from one still image and speech"


def manifest(consent_id: str, basis: str, title: str,
             description: str = DESCRIPTION) -> dict[str, Any]:
    return {
        "claim_generator_info": [{"name": "companion", "version": __version__}],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [{
                "action": "c2pa.created", "digitalSourceType": AI_SOURCE,
                "softwareAgent": {"name": "companion", "version": __version__},
                "description": description}]}},
            {"label": CONSENT_LABEL, "data": {"consent_id": consent_id,
                                              "basis": basis}},
        ],
    }


def sign_mp4(path: str | Path, consent_id: str, basis: str,
             description: str = DESCRIPTION) -> Path:
    """Embed a signed manifest into the mp4 at `path` (replaced atomically); `basis` says what
    the consent rests on (`registry.consent_basis`), `description` what made the video."""
    import c2pa

    p = Path(path)
    k = keys()
    tmp = p.with_name(p.name + ".signing")
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256,
                                                           k.chain_pem, k.key_pem, None))
        doc = json.dumps(manifest(consent_id, basis, p.name, description))
        with c2pa.Builder(doc) as builder, p.open("rb") as src, tmp.open("wb") as dst:
            builder.sign(signer, "video/mp4", src, dst)
        os.replace(tmp, p)
    except c2pa.C2paError as e:
        raise CompanionError(f"could not sign the C2PA manifest of {p.name}: {e}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return p


def _mime(p: Path) -> str | None:
    return {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime",
            ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}.get(
        p.suffix.lower())


def read_manifest(path: str | Path, mime: str | None = None) -> ManifestReport:
    """The file's C2PA manifest, validated (trusting this installation's CA if it has one).
    `mime`: the file's type when its name does not say (an uploaded clip)."""
    import c2pa

    p = Path(path)
    mime = mime or _mime(p)
    if mime is None:
        return ManifestReport(False)
    ca = signing_dir() / "ca.pem"
    settings = {"verify": {"verify_trust": True}}
    if ca.is_file():
        settings["trust"] = {"trust_anchors": ca.read_text()}  # type: ignore[dict-item]
    try:
        ctx = c2pa.Context(settings=c2pa.Settings.from_json(json.dumps(settings)))
        with p.open("rb") as f:
            reader = c2pa.Reader.try_create(mime, f, context=ctx)
            if reader is None:
                return ManifestReport(False)
            with reader:
                state = reader.get_validation_state() or ""
                results = reader.get_validation_results() or {}
                active = reader.get_active_manifest() or {}
    except c2pa.C2paError as e:
        return ManifestReport(True, "Invalid", failures=(f"unreadable manifest: {e}",))
    # An unknown signer is reported as such (state "Valid"), not as a broken manifest.
    failures = tuple(sorted({f.get("code", "?") for f in
                             (results.get("activeManifest") or {}).get("failure", [])}
                            - {"signingCredential.untrusted"}))
    ai = False
    consent = None
    basis = ""
    made = []
    for a in active.get("assertions", []):
        if a.get("label", "").startswith("c2pa.actions"):
            actions = a.get("data", {}).get("actions", [])
            ai = ai or any(x.get("digitalSourceType") == AI_SOURCE for x in actions)
            made += [str(x["description"]) for x in actions if x.get("description")]
        elif a.get("label") == CONSENT_LABEL:
            consent = a.get("data", {}).get("consent_id")
            basis = str(a.get("data", {}).get("basis", ""))
    gen = ", ".join(f"{g.get('name', '')} {g.get('version', '')}".strip()
                    for g in active.get("claim_generator_info", []))
    return ManifestReport(True, state, ai, consent, gen, failures, basis, "; ".join(made))
