"""The consent gate the face engine calls before it builds a rig or renders a frame.

A record names the portrait it covers by SHA-256 of the image bytes. Bundled avatars carry theirs
in a provenance file; an uploader's typed attestation (artwork, synthetic or cartoon face) makes
one too. Real people's photos need a recorded consent clip (kept in the SQLite registry).
"""

from __future__ import annotations

from dataclasses import dataclass

from companion.errors import ConsentError

CATEGORIES = ("bundled", "artwork", "synthetic", "real-person")


@dataclass(frozen=True)
class ConsentRecord:
    consent_id: str
    image_sha256: str
    category: str
    statement: str
    revoked: bool = False


def require_consent(record: ConsentRecord | None, image_sha256: str) -> ConsentRecord:
    """Raise ConsentError unless `record` is valid for the image with this hash."""
    if record is None:
        raise ConsentError("no consent record for this portrait",
                           "use a bundled avatar, or attest that the image is artwork or "
                           "synthetic with --attest, or record the person's consent")
    if record.revoked:
        raise ConsentError(f"consent {record.consent_id} has been revoked")
    if record.category not in CATEGORIES:
        raise ConsentError(f"consent {record.consent_id} has an unknown category "
                           f"{record.category!r}")
    if record.image_sha256 != image_sha256:
        raise ConsentError(f"consent {record.consent_id} covers a different image")
    if not record.statement.strip():
        raise ConsentError(f"consent {record.consent_id} has no statement")
    return record


def is_active(consent_id: str) -> bool:
    """Is this consent still valid right now? Bundled avatars always are; registry records
    until they are revoked. Renderers ask this, so revoking stops live sessions too."""
    if consent_id.startswith("bundled:"):
        return True
    if consent_id.startswith("c_"):
        from companion.consent.registry import ConsentRegistry

        reg = ConsentRegistry()
        try:
            return reg.is_active(consent_id)
        finally:
            reg.close()
    return False
