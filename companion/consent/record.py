"""What a consent record is: the one type every part of consent (and the face engine's gate
check) shares. It imports nothing, so nothing cycles through it."""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES = ("bundled", "artwork", "synthetic", "real-person")


@dataclass(frozen=True)
class ConsentRecord:
    consent_id: str
    image_sha256: str
    category: str
    statement: str
    revoked: bool = False
