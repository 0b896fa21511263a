"""What a consent record is: the one type every part of consent (and the face engine's gate
check) shares. It imports nothing, so nothing cycles through it."""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES = ("bundled", "artwork", "synthetic", "real-person")

# What each kind of record rests on, as an export's manifest says it: a typed attestation is a
# claim nobody checked, and the manifest says so.
BASIS = {"bundled": "bundled avatar with a provenance record",
         "real-person": "recorded consent clip, checked (phrase, code, face)",
         "artwork": "attested, not verified", "synthetic": "attested, not verified"}


@dataclass(frozen=True)
class ConsentRecord:
    consent_id: str
    image_sha256: str
    category: str
    statement: str
    revoked: bool = False
