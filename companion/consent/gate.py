"""The consent gate the face engine calls before it builds a rig or renders a frame.

A record names the portrait it covers by SHA-256 of the image bytes. Bundled avatars carry theirs
in a provenance file; an uploader's typed attestation (artwork, synthetic or cartoon face) makes
one too. Real people's photos need a recorded consent clip (kept in the SQLite registry).
"""

from __future__ import annotations

from companion.consent.bundled import bundled_record
from companion.consent.record import CATEGORIES, ConsentRecord
from companion.errors import ConsentError

__all__ = ["CATEGORIES", "ConsentRecord", "is_active", "lookup", "require_consent"]


def lookup(consent_id: str) -> ConsentRecord | None:
    """The authoritative record for an id: a bundled avatar's provenance file or the registry."""
    if consent_id.startswith("bundled:"):
        return bundled_record(consent_id.partition(":")[2])
    if consent_id.startswith("c_"):
        from companion.consent.registry import ConsentRegistry  # the store: it opens a file

        with ConsentRegistry() as reg:
            return reg.lookup(consent_id)  # a row that does not verify raises, with why
    return None


def require_consent(record: ConsentRecord | None, image_sha256: str) -> ConsentRecord:
    """Raise ConsentError unless `record` is valid for the image with this hash. The record is
    only a reference: what counts is the stored record it names, so a record object made up
    in code (or edited after it was issued) animates nothing."""
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
    stored = lookup(record.consent_id)
    if stored is None:
        raise ConsentError(f"consent {record.consent_id} is not a recorded consent")
    if stored.revoked:
        raise ConsentError(f"consent {record.consent_id} has been revoked")
    if stored.image_sha256 != image_sha256:
        raise ConsentError(f"consent {record.consent_id} covers a different image")
    return stored


def is_active(consent_id: str) -> bool:
    """Is this consent still valid right now? Bundled avatars are while they are installed;
    registry records until they are revoked. Renderers ask this, so revoking stops live
    sessions too."""
    try:
        stored = lookup(consent_id)
    except ConsentError:  # a record that cannot be trusted is not active
        return False
    return stored is not None and not stored.revoked
